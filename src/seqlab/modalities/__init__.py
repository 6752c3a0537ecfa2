"""What differs between text, series and image datasets once their raw files are parsed.

A :class:`Modality` prepares parsed data into ``data/prepared/<dataset>/`` and loads it back as
:class:`PreparedData`, which is all the modelling stages need: train/validation arrays, the model
builder, the baselines, test scoring, plots and the test data's fingerprint. The stages are written
once against these two classes; the registry (:mod:`seqlab.datasets`) says which modality a kind has.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from seqlab.datasets import DatasetConfig
    from seqlab.paths import ProjectPaths

Log = Callable[[str], None]
Builder = Callable[..., Any]


def array_record(array: np.ndarray) -> dict[str, Any]:
    """Shape, dtype and content hash of an array, for a manifest."""
    contiguous = np.ascontiguousarray(array)
    return {
        "shape": list(contiguous.shape),
        "dtype": str(contiguous.dtype),
        "sha256": hashlib.sha256(contiguous.tobytes()).hexdigest(),
    }


def read_manifest(folder: Path) -> dict[str, Any]:
    """Return the manifest of a prepared folder, with a clear error when preparation has not run."""
    path = folder / "manifest.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found; run `seqlab stage prepare --dataset {folder.name}` first")
    manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return manifest


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array of an .npz file, read into memory."""
    with np.load(path) as archive:
        return {name: archive[name] for name in archive.files}


class PreparedData(ABC):
    """A dataset's prepared arrays and what the modelling stages do with them."""

    def __init__(self, dataset: DatasetConfig, folder: Path, manifest: dict[str, Any]) -> None:
        self.dataset = dataset
        self.folder = folder
        self.manifest = manifest

    @abstractmethod
    def fit_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Training and validation inputs and targets (never the test split)."""

    @abstractmethod
    def builder(self) -> Builder:
        """``build(**hyperparameters)`` for this data's shape: what the tuner and training call."""

    def select_inputs(self, x: np.ndarray, hyperparameters: dict[str, Any]) -> np.ndarray:
        """Return the columns of ``x`` a model of these hyperparameters reads (all, by default)."""
        return x

    def test_errors(self, predictions: np.ndarray) -> np.ndarray | None:
        """Per-forecast test errors a Diebold-Mariano test compares (None: this modality has none)."""
        return None

    def validation_baselines(self) -> dict[str, np.ndarray] | None:
        """Baseline forecasts of the validation targets, fitted before them (None: not combinable).

        What a forecast combination's weight is chosen on; only series combine so far.
        """
        return None

    @abstractmethod
    def predict_test(self, model: Any, hyperparameters: dict[str, Any]) -> np.ndarray:
        """Return the model's test predictions, in the units the metrics use (final scoring only)."""

    @abstractmethod
    def score(self, predictions: np.ndarray) -> dict[str, float]:
        """Test metrics of predictions made by :meth:`predict_test` (or by a baseline)."""

    @abstractmethod
    def baselines(self) -> tuple[dict[str, dict[str, float]], dict[str, np.ndarray]]:
        """Statistical baselines fitted on training data only: their test metrics and predictions."""

    @abstractmethod
    def test_fingerprint(self) -> str:
        """Hash of what models are scored on, in real units: scores compare only on equal test data."""

    # What the training losses and metrics are measured in (the learning curves' y axes); None: as is.
    training_units: str | None = None

    @property
    def metric_unit(self) -> str | None:
        """Unit of the ranking metric and of a forecast's values (a series' °C); None for scores."""
        return None

    @abstractmethod
    def plots(
        self,
        best: str,
        model: str,
        predictions: dict[str, np.ndarray],
        best_baseline: str,
        baseline_predictions: dict[str, np.ndarray],
        folder: Path,
    ) -> list[Path]:
        """Draw the best variant's test plots (forecast, residuals, ROC, confusion matrix) into ``folder``.

        ``best`` names the best variant, ``model`` its configuration (:func:`seqlab.families.model_label`),
        ``best_baseline`` the strongest baseline: every title names what it shows.
        """

    CHART_FIGURE = "confusion_matrix.png"  # the figure of :meth:`plots` that :meth:`chart` shows

    def chart(
        self,
        figures: Path,
        folder: Path,
        best: str,
        predictions: dict[str, np.ndarray],
        best_baseline: str,
        baseline_predictions: dict[str, np.ndarray],
    ) -> Path:
        """Write what ``dvc plots`` shows of the test split into ``folder``.

        By default the figure :meth:`plots` drew as ``CHART_FIGURE`` (a classifier's confusion matrix).
        """
        chosen = folder / self.CHART_FIGURE
        shutil.copyfile(figures / self.CHART_FIGURE, chosen)
        return chosen

    @abstractmethod
    def input_example(
        self, hyperparameters: dict[str, Any], combination: dict[str, Any] | None = None
    ) -> Any:
        """Return a few test inputs as a user gives them to the registered model (:mod:`seqlab.serving`)."""

    @abstractmethod
    def serving_spec(
        self, hyperparameters: dict[str, Any], combination: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Return what a served model of these hyperparameters needs to turn raw inputs into its rows.

        ``combination``: the forecast combination being registered, whose baseline is one of
        :attr:`served_baselines` (:func:`seqlab.champion.serving_spec` refuses any other).
        """

    @property
    def served_baselines(self) -> tuple[str, ...]:
        """Baselines a served forecast combination reruns, by name (only series combine)."""
        return ()

    def serving_files(self) -> dict[str, Path]:
        """Files a served model reads besides its spec (the vocabulary), by artifact name."""
        return {}

    @property
    def vocabulary_size(self) -> int | None:
        """For text: the vocabulary size; else None."""
        return None


class Modality(ABC):
    """How one modality's parsed data is summarised, prepared and loaded back."""

    name: str
    metric: str  # what ranks models and picks the best baseline
    higher_is_better: bool
    test_metrics: tuple[str, ...]  # the names every model of this modality reports
    data_class: type[PreparedData]

    @abstractmethod
    def describe(self, dataset: DatasetConfig, parsed: Any) -> dict[str, Any]:
        """Return counts, dates, missing values: what ``seqlab describe`` and the validate summary show."""

    def check(self, dataset: DatasetConfig, parsed: Any) -> None:  # noqa: B027  (most modalities need none)
        """Check the dataset's protocol against its data (validate calls this before anything trains)."""

    @abstractmethod
    def prepare(self, dataset: DatasetConfig, parsed: Any, folder: Path, log: Log) -> dict[str, Any]:
        """Write the prepared arrays and manifest into ``folder`` (a temporary one); return the manifest."""

    def data_artifacts(self, folder: Path, manifest: dict[str, Any]) -> dict[str, Path | str]:
        """Files (or texts) describing the data a model needs at serving time, by artifact path."""
        return {"data/manifest.json": folder / "manifest.json"}

    def load(self, dataset: DatasetConfig, paths: ProjectPaths) -> PreparedData:
        """Return the prepared data of ``dataset``, as the modelling stages read it."""
        folder = paths.prepared_dir(dataset.name)
        return self.data_class(dataset, folder, read_manifest(folder))


def modality(dataset: DatasetConfig) -> Modality:
    """Return the modality object of a dataset (imported on demand: series code needs no text code)."""
    if dataset.modality == "text":
        from seqlab.modalities.text import TEXT

        return TEXT
    if dataset.modality == "series":
        from seqlab.modalities.series import SERIES

        return SERIES
    from seqlab.modalities.images import IMAGE

    return IMAGE
