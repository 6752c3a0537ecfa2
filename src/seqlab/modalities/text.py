"""Text datasets (IMDB): a vocabulary fitted on the training part, padded token ids, sentiment models."""

from __future__ import annotations

import hashlib
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqlab.data.imdb import Review
from seqlab.datasets import DatasetConfig, TextDataset
from seqlab.errors import DataFormatError
from seqlab.fileio import save_arrays, sha256_file, write_json
from seqlab.modalities import (
    Builder,
    Log,
    Modality,
    PreparedData,
    array_record,
    load_arrays,
)
from seqlab.prep.text import LengthStats, encode, fit_vocabulary, pad

# A table of reviews given to a served model (seqlab.serving): the first of these columns it has.
REVIEW_COLUMNS: tuple[str, ...] = ("review", "text")


def _text_config(dataset: DatasetConfig) -> TextDataset:
    if not isinstance(dataset, TextDataset):
        raise TypeError(f"{dataset.name} is not a text dataset")
    return dataset


def split_validation(reviews: list[Review], fraction: float, seed: int) -> tuple[list[Review], list[Review]]:
    """Carve a stratified, seeded validation set out of the training reviews."""
    from sklearn.model_selection import train_test_split

    fit, validation = train_test_split(
        reviews, test_size=fraction, random_state=seed, stratify=[review.label for review in reviews]
    )
    return list(fit), list(validation)


def take_subset(reviews: list[Review], per_split: int) -> list[Review]:
    """Keep the first ``per_split`` reviews of each split, half of each label (smoke runs)."""
    kept: list[Review] = []
    for split in sorted({review.split for review in reviews}):
        for label in (0, 1):
            matching = [review for review in reviews if review.split == split and review.label == label]
            kept.extend(matching[: per_split // 2])
    return kept


def _length_record(stats: LengthStats) -> dict[str, Any]:
    return {
        "count": stats.count,
        "min": stats.minimum,
        "max": stats.maximum,
        "mean": round(stats.mean, 3),
        "median": stats.median,
        "truncated_fraction": round(stats.truncated_fraction, 5),
    }


class TextData(PreparedData):
    """Prepared id matrices, labels and texts (texts only for the linear baseline and the fingerprint)."""

    def __init__(self, dataset: DatasetConfig, folder: Path, manifest: dict[str, Any]) -> None:
        super().__init__(dataset, folder, manifest)
        self.arrays = load_arrays(folder / "arrays.npz")

    @cached_property
    def texts(self) -> pd.DataFrame:
        """The reviews' texts, labels and splits (read when first asked for)."""
        return pd.read_parquet(self.folder / "texts.parquet")

    @property
    def vocabulary_size(self) -> int:
        """Ids in the vocabulary, padding and [UNK] included."""
        return int(self.manifest["vocabulary"]["size"])

    def fit_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Token ids and labels of the training and validation reviews."""
        return (
            self.arrays["x_train"],
            self.arrays["y_train"].astype("float32"),
            self.arrays["x_validation"],
            self.arrays["y_validation"].astype("float32"),
        )

    def builder(self) -> Builder:
        """Return a sentiment classifier over this vocabulary and length."""
        from seqlab.models.builders import build_text_model

        vocab_size, max_len = self.vocabulary_size, int(self.manifest["params"]["max_len"])

        def build(**values: Any) -> Any:
            return build_text_model(vocab_size=vocab_size, max_len=max_len, **values)

        return build

    def predict_test(self, model: Any, hyperparameters: dict[str, Any]) -> np.ndarray:
        """P(positive) of every test review."""
        return np.asarray(model.predict(self.arrays["x_test"], batch_size=512, verbose=0)).reshape(-1)

    def score(self, predictions: np.ndarray) -> dict[str, float]:
        """Accuracy, AUC, F1 and the confusion counts at 0.5."""
        from seqlab.evaluation import classification_metrics

        return classification_metrics(self.arrays["y_test"], predictions)

    def baselines(self) -> tuple[dict[str, dict[str, float]], dict[str, np.ndarray]]:
        """tf-idf + logistic regression, fitted on the training reviews."""
        from seqlab.baselines import text_baseline

        config = _text_config(self.dataset)
        train = self.texts[self.texts["split"] == "train"]
        test = self.texts[self.texts["split"] == "test"]
        probabilities = text_baseline(
            train["text"].tolist(),
            train["label"].to_numpy(),
            test["text"].tolist(),
            max_features=config.baselines.max_features,
        )
        return {"tfidf_logreg": self.score(probabilities)}, {"tfidf_logreg": probabilities}

    def test_fingerprint(self) -> str:
        """The test reviews' texts and labels (independent of the vocabulary)."""
        digest = hashlib.sha256(self.dataset.name.encode())
        test = self.texts[self.texts["split"] == "test"]
        for text, label in zip(test["text"], test["label"], strict=True):
            digest.update(f"{int(label)}\t{text}\n".encode())
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
        """ROC curve (beside the best baseline's) and confusion matrix of the best variant."""
        from seqlab import plots
        from seqlab.evaluation import DECISION_THRESHOLD

        y_test = self.arrays["y_test"]
        name = plots.subject(self.dataset.name, best, model)
        reference = (f"baseline {best_baseline}", baseline_predictions[best_baseline])
        return [
            plots.plot_roc(y_test, predictions[best], folder / "roc.png", title=name, reference=reference),
            plots.plot_confusion_matrix(
                y_test,
                predictions[best],
                folder / "confusion_matrix.png",
                title=name,
                threshold=DECISION_THRESHOLD,
            ),
        ]

    def input_example(
        self, hyperparameters: dict[str, Any], combination: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """Return the first two test reviews' texts."""
        test = self.texts[self.texts["split"] == "test"]
        return pd.DataFrame({REVIEW_COLUMNS[0]: test["text"].head(2).tolist()})

    def serving_spec(
        self, hyperparameters: dict[str, Any], combination: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Return padding and truncation to ``max_len``, the vocabulary size, the labels and threshold."""
        from seqlab.evaluation import DECISION_THRESHOLD

        settings = self.manifest["params"]
        return {
            "columns": list(REVIEW_COLUMNS),
            "max_len": int(settings["max_len"]),
            "padding": settings["padding"],
            "truncating": settings["truncating"],
            "pad_value": int(settings["pad_value"]),
            "vocabulary_size": self.vocabulary_size,
            "labels": ["negative", "positive"],  # label 0 and 1 (seqlab.data.imdb.LABELS)
            "threshold": DECISION_THRESHOLD,
        }

    def serving_files(self) -> dict[str, Path]:
        """Return the vocabulary the reviews are encoded with."""
        return {"vocabulary": self.folder / str(self.manifest["vocabulary"]["file"])}


class TextModality(Modality):
    """Binary sentiment classification of reviews."""

    name = "text"
    metric = "test_accuracy"
    higher_is_better = True
    test_metrics = ("test_accuracy", "test_auc", "test_f1")
    data_class = TextData

    def data_artifacts(self, folder: Path, manifest: dict[str, Any]) -> dict[str, Path | str]:
        """Return the manifest and the vocabulary ids are read against."""
        return {
            "data/manifest.json": folder / "manifest.json",
            "data/vocabulary.txt": folder / "vocabulary.txt",
        }

    def describe(self, dataset: DatasetConfig, parsed: list[Review]) -> dict[str, Any]:
        """Reviews per split and label, balance, distinct texts."""
        counts: dict[str, dict[str, int]] = {}
        for review in parsed:
            per_split = counts.setdefault(review.split, {"pos": 0, "neg": 0, "total": 0})
            per_split["pos" if review.label == 1 else "neg"] += 1
            per_split["total"] += 1
        return {
            "valid_records": len(parsed),
            "splits": counts,
            "balanced": all(split["pos"] == split["neg"] for split in counts.values()),
            "unique_texts": len({review.text for review in parsed}),
        }

    def prepare(self, dataset: DatasetConfig, parsed: list[Review], folder: Path, log: Log) -> dict[str, Any]:
        """Tokenise and pad: vocabulary fitted on the training part only, validation carved from train."""
        config = _text_config(dataset)
        settings = config.prepare
        reviews = parsed if settings.subset is None else take_subset(parsed, settings.subset)
        train = [review for review in reviews if review.split == "train"]
        test = [review for review in reviews if review.split == "test"]
        if not train or not test:
            raise DataFormatError(
                folder, f"{config.name}: expected train and test reviews, got {len(train)} and {len(test)}"
            )
        fit_part, validation_part = split_validation(train, settings.validation_fraction, settings.seed)
        log(
            f"{config.name}: fitting a {settings.max_tokens}-token vocabulary "
            f"on {len(fit_part)} training reviews"
        )
        vocabulary = fit_vocabulary([review.text for review in fit_part], settings.max_tokens)

        parts = {"train": fit_part, "validation": validation_part, "test": test}
        arrays: dict[str, np.ndarray] = {}
        lengths: dict[str, Any] = {}
        for name, part in parts.items():
            encoded = encode([review.text for review in part], vocabulary)
            x, mask = pad(
                encoded, settings.max_len, settings.padding, settings.truncating, settings.pad_value
            )
            arrays[f"x_{name}"] = x
            arrays[f"mask_{name}"] = mask
            arrays[f"y_{name}"] = np.array([review.label for review in part], dtype=np.int8)
            arrays[f"id_{name}"] = np.array([review.id for review in part], dtype=np.int32)
            sizes = np.fromiter((len(sequence) for sequence in encoded), dtype=np.int64, count=len(encoded))
            lengths[name] = _length_record(LengthStats.from_lengths(sizes, settings.max_len))
            log(f"{config.name}: encoded {len(part)} {name} reviews into {x.shape}")

        manifest: dict[str, Any] = {
            "dataset": config.name,
            "kind": config.source.kind,
            "params": settings.model_dump(mode="json"),
            "counts": {
                name: {"total": len(part), "pos": sum(r.label for r in part)} for name, part in parts.items()
            },
            "vocabulary": {"size": len(vocabulary), "file": "vocabulary.txt", "fitted_on": "train"},
            "lengths_before_padding": lengths,
            "arrays": {name: array_record(array) for name, array in arrays.items()},
        }
        save_arrays(folder / "arrays.npz", arrays)
        (folder / "vocabulary.txt").write_text("\n".join(vocabulary) + "\n", encoding="utf-8")
        texts = pd.DataFrame(
            {
                "split": [name for name, part in parts.items() for _ in part],
                "id": [review.id for part in parts.values() for review in part],
                "label": [review.label for part in parts.values() for review in part],
                "rating": [review.rating for part in parts.values() for review in part],
                "text": [review.text for part in parts.values() for review in part],
            }
        )
        texts.to_parquet(folder / "texts.parquet", index=False)
        manifest["arrays"]["texts.parquet"] = {
            "rows": len(texts),
            "sha256": sha256_file(folder / "texts.parquet"),
        }
        write_json(folder / "manifest.json", manifest)
        return manifest


TEXT = TextModality()
