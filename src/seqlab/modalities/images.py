"""Image datasets read row by row (MNIST): each 28-pixel row of a digit is one step of a sequence.

The split is stratified and seeded. With only the official test set (what the shared mirror holds)
it is cut into ``train_images`` and ``test_images``; with the four official files the standard
60,000 / 10,000 split is used. Validation is carved from the training images. Pixels are scaled by
1/255, a fixed constant: nothing is fitted on the data before the models see it.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from seqlab.data.mnist import NUM_CLASSES, MnistFiles
from seqlab.datasets import DatasetConfig, ImageDataset
from seqlab.fileio import save_arrays, write_json
from seqlab.modalities import (
    Builder,
    Log,
    Modality,
    PreparedData,
    array_record,
    load_arrays,
)

PIXEL_SCALE = 255.0


def _image_config(dataset: DatasetConfig) -> ImageDataset:
    if not isinstance(dataset, ImageDataset):
        raise TypeError(f"{dataset.name} is not an image dataset")
    return dataset


def _stratified(labels: np.ndarray, size: int | float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions of a stratified, seeded sample of ``size`` and of the rest."""
    from sklearn.model_selection import train_test_split

    positions = np.arange(labels.size)
    if isinstance(size, int) and size >= labels.size:
        return positions, positions[:0]
    kept, rest = train_test_split(positions, train_size=size, random_state=seed, stratify=labels)
    return np.sort(kept), np.sort(rest)


class ImageData(PreparedData):
    """Prepared images (uint8 on disk, scaled to [0, 1] when read) and their labels."""

    def __init__(self, dataset: DatasetConfig, folder: Path, manifest: dict[str, Any]) -> None:
        super().__init__(dataset, folder, manifest)
        self.arrays = load_arrays(folder / "images.npz")

    def images(self, split: str) -> np.ndarray:
        """Pixels of a split in [0, 1], [n, rows, columns] float32."""
        return (self.arrays[f"x_{split}"].astype(np.float32) / PIXEL_SCALE).astype(np.float32)

    @property
    def classes(self) -> int:
        """Number of classes (10 digits)."""
        return int(self.manifest["classes"])

    def fit_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Training and validation images with their labels."""
        return (
            self.images("train"),
            self.arrays["y_train"].astype(np.int32),
            self.images("validation"),
            self.arrays["y_validation"].astype(np.int32),
        )

    def builder(self) -> Builder:
        """Return a classifier reading one row per step."""
        from seqlab.models.builders import build_rows_model

        rows, columns = (int(size) for size in self.manifest["image_shape"])

        def build(**values: Any) -> Any:
            return build_rows_model(rows=rows, columns=columns, classes=self.classes, **values)

        return build

    def predict_test(self, model: Any, hyperparameters: dict[str, Any]) -> np.ndarray:
        """Class probabilities of the test images."""
        return np.asarray(model.predict(self.images("test"), batch_size=512, verbose=0))

    def score(self, predictions: np.ndarray) -> dict[str, float]:
        """Accuracy, macro F1 and log loss."""
        from seqlab.evaluation import multiclass_metrics

        return multiclass_metrics(self.arrays["y_test"], predictions)

    def baselines(self) -> tuple[dict[str, dict[str, float]], dict[str, np.ndarray]]:
        """Logistic regression on the pixels and a one-hidden-layer dense network, on the training images."""
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression
        from sklearn.neural_network import MLPClassifier

        settings = _image_config(self.dataset).baselines
        x_fit = np.concatenate([self.images("train"), self.images("validation")]).reshape(-1, self._pixels)
        y_fit = np.concatenate([self.arrays["y_train"], self.arrays["y_validation"]]).astype(np.int64)
        x_test = self.images("test").reshape(-1, self._pixels)
        models: dict[str, Any] = {
            "logistic_regression": LogisticRegression(C=settings.logistic_c, max_iter=1000),
            "dense_network": MLPClassifier(
                hidden_layer_sizes=(settings.dense_units,),
                early_stopping=True,
                max_iter=settings.dense_max_epochs,
                random_state=settings.seed,
            ),
        }
        predictions = {}
        for name, model in models.items():
            with warnings.catch_warnings():  # the dense network stops at its epoch budget by design
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(x_fit, y_fit)
            probabilities = np.zeros((len(x_test), self.classes))
            probabilities[:, model.classes_] = model.predict_proba(x_test)
            predictions[name] = probabilities
        return {name: self.score(values) for name, values in predictions.items()}, predictions

    @property
    def _pixels(self) -> int:
        rows, columns = (int(size) for size in self.manifest["image_shape"])
        return rows * columns

    def test_fingerprint(self) -> str:
        """The test images' pixels and labels."""
        digest = hashlib.sha256(self.dataset.name.encode())
        digest.update(np.ascontiguousarray(self.arrays["x_test"]).tobytes())
        digest.update(np.ascontiguousarray(self.arrays["y_test"]).tobytes())
        return digest.hexdigest()

    def plots(
        self,
        best: str,
        model: str,
        predictions: dict[str, np.ndarray],
        best_baseline: str,
        baseline_predictions: dict[str, np.ndarray],
        folder: Path,
    ) -> list[Path]:
        """Draw the best variant's confusion matrix over the classes."""
        from seqlab import plots

        guesses = np.asarray(predictions[best]).argmax(axis=1)
        return [
            plots.plot_class_confusion(
                self.arrays["y_test"],
                guesses,
                folder / "confusion_matrix.png",
                self.classes,
                title=plots.subject(self.dataset.name, best, model),
            )
        ]

    def input_example(
        self, hyperparameters: dict[str, Any], combination: dict[str, Any] | None = None
    ) -> np.ndarray:
        """Return the first two test images as in the MNIST files: pixel values 0..255."""
        return self.arrays["x_test"][:2]

    def serving_spec(
        self, hyperparameters: dict[str, Any], combination: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Return the image shape, pixel scaling and class names."""
        return {
            "image_shape": [int(size) for size in self.manifest["image_shape"]],
            "pixel_scale": PIXEL_SCALE,
            "classes": [str(digit) for digit in range(self.classes)],
        }


class ImageModality(Modality):
    """10-class classification of images read as sequences of rows."""

    name = "image"
    metric = "test_accuracy"
    higher_is_better = True
    test_metrics = ("test_accuracy", "test_macro_f1", "test_log_loss")
    data_class = ImageData

    def describe(self, dataset: DatasetConfig, parsed: MnistFiles) -> dict[str, Any]:
        """Images per split, their size, and the count of each digit."""
        summary: dict[str, Any] = {}
        splits = {"test": parsed.test, **({"train": parsed.train} if parsed.train is not None else {})}
        for name, split in splits.items():
            counts = np.bincount(split.labels, minlength=NUM_CLASSES)
            summary[name] = {
                "images": int(split.labels.size),
                "digit_counts": {str(digit): int(count) for digit, count in enumerate(counts)},
                "mean_pixel": round(float(split.images.mean()), 4),
            }
        rows, columns = parsed.test.images.shape[1:]
        summary["valid_records"] = int(sum(split.labels.size for split in splits.values()))
        summary["image_shape"] = [int(rows), int(columns)]
        summary["protocol"] = (
            "official 60k/10k" if parsed.train is not None else "stratified split of the test set"
        )
        return summary

    def check(self, dataset: DatasetConfig, parsed: MnistFiles) -> None:
        """Check that the split has the images it asks for, and every part at least one per class."""
        settings = _image_config(dataset).prepare
        wanted = settings.train_images + settings.test_images
        if parsed.train is None and wanted > parsed.test.labels.size:
            raise ValueError(
                f"datasets.{dataset.name}.prepare: train_images + test_images = {wanted} exceeds the "
                f"{parsed.test.labels.size} images of the official test set"
            )
        train = parsed.train.labels.size if parsed.train is not None else settings.train_images
        test = parsed.test.labels.size if parsed.train is not None else settings.test_images
        if settings.subset is not None:
            train, test = min(train, settings.subset), min(test, settings.subset)
        smallest = min(
            test, int(train * settings.validation_fraction), int(train * (1 - settings.validation_fraction))
        )
        if smallest < NUM_CLASSES:
            raise ValueError(
                f"datasets.{dataset.name}.prepare: this split leaves a part of {smallest} images, fewer than "
                f"the {NUM_CLASSES} classes (raise subset, train_images, test_images or validation_fraction)"
            )

    def prepare(self, dataset: DatasetConfig, parsed: MnistFiles, folder: Path, log: Log) -> dict[str, Any]:
        """Split (stratified, seeded), carve validation from training, keep pixels as uint8."""
        config = _image_config(dataset)
        settings = config.prepare
        self.check(config, parsed)
        if parsed.train is not None:
            protocol = "official"
            pools = {"train": parsed.train, "test": parsed.test}
            chosen = {
                "train": np.arange(parsed.train.labels.size),
                "test": np.arange(parsed.test.labels.size),
            }
        else:
            protocol = "test_set_split"
            labels = parsed.test.labels
            train, rest = _stratified(labels, settings.train_images, settings.seed)
            test_part, _ = _stratified(labels[rest], settings.test_images, settings.seed)
            pools = {"train": parsed.test, "test": parsed.test}
            chosen = {"train": train, "test": rest[test_part]}
        if settings.subset is not None:
            for name in chosen:
                kept, _ = _stratified(pools[name].labels[chosen[name]], settings.subset, settings.seed)
                chosen[name] = chosen[name][kept]
        fit, validation = _stratified(
            pools["train"].labels[chosen["train"]], 1 - settings.validation_fraction, settings.seed
        )
        positions = {
            "train": chosen["train"][fit],
            "validation": chosen["train"][validation],
            "test": chosen["test"],
        }
        arrays: dict[str, np.ndarray] = {}
        for name, index in positions.items():
            pool = pools["test" if name == "test" else "train"]
            arrays[f"x_{name}"] = pool.images[index]
            arrays[f"y_{name}"] = pool.labels[index]
            arrays[f"index_{name}"] = index.astype(np.int32)  # position in its official file
        counts = {
            name: {
                "total": int(arrays[f"y_{name}"].size),
                "per_class": np.bincount(arrays[f"y_{name}"], minlength=NUM_CLASSES).tolist(),
            }
            for name in positions
        }
        manifest: dict[str, Any] = {
            "dataset": config.name,
            "kind": config.source.kind,
            "params": settings.model_dump(mode="json"),
            "protocol": protocol,
            "classes": NUM_CLASSES,
            "image_shape": list(parsed.test.images.shape[1:]),
            "scaling": f"pixels / {PIXEL_SCALE:g}",
            "counts": counts,
            "arrays": {name: array_record(array) for name, array in arrays.items()},
        }
        save_arrays(folder / "images.npz", arrays)
        write_json(folder / "manifest.json", manifest)
        log(
            f"{config.name}: {protocol}: {counts['train']['total']} training, "
            f"{counts['validation']['total']} validation, {counts['test']['total']} test images"
        )
        return manifest


IMAGE = ImageModality()
