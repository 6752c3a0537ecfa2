"""Training with early stopping, NaN protection and resumable checkpoints; seeded for determinism.

Tracking is injected: callers pass ``callbacks=`` (MLflow logging lives in seqlab.tracking), and
the function returns plain data (per-epoch history, best epoch).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


def set_determinism(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow and force deterministic ops, so reruns match on CPU."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


@dataclass
class FitResult:
    """What a fit did: the full per-epoch history (across resumes) and the epoch it kept."""

    history: dict[str, list[float]]
    best_epoch: int
    epochs_run: int
    best_metrics: dict[str, float]
    stopped_early: bool
    terminated_on_nan: bool


def _read_history(csv_path: Path) -> dict[str, list[float]]:
    if not csv_path.exists():
        return {}
    with open(csv_path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    history: dict[str, list[float]] = {}
    for row in rows:
        for key, value in row.items():
            if key != "epoch":
                history.setdefault(key, []).append(float(value))
    return history


def _direction(monitor: str) -> str:
    """Return "max" for accuracy-like metrics and "min" for losses and errors."""
    name = monitor.removeprefix("val_")
    return "max" if any(word in name for word in ("acc", "auc", "precision", "recall")) else "min"


def fit_model(
    model: Any,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_validation: np.ndarray,
    y_validation: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    patience: int,
    checkpoint_dir: str | Path,
    monitor: str = "val_loss",
    callbacks: list[Any] | None = None,
    verbose: int = 0,
) -> FitResult:
    """Fit with EarlyStopping(restore_best_weights), TerminateOnNaN and BackupAndRestore.

    ``checkpoint_dir`` holds the backup an interrupted fit resumes from, the CSV history
    (appended across resumes) and the best epoch's weights; a finished fit removes the backup but
    keeps the history. The model ends with the weights of ``best_epoch`` counted over the whole
    history, also when the best epoch came before an interruption (EarlyStopping alone only
    remembers the epochs of the current ``model.fit`` call). Patience restarts on a resume.
    """
    import keras

    checkpoint_dir = Path(checkpoint_dir)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    history_csv = checkpoint_dir / "history.csv"
    backup_dir = checkpoint_dir / "backup"
    best_weights = checkpoint_dir / "best.weights.h5"
    if not backup_dir.exists():
        history_csv.unlink(missing_ok=True)  # a fresh fit, not a resume
        best_weights.unlink(missing_ok=True)
    mode = _direction(monitor)
    earlier = [value for value in _read_history(history_csv).get(monitor, []) if math.isfinite(value)]
    early_stopping = keras.callbacks.EarlyStopping(
        monitor=monitor, patience=patience, restore_best_weights=True, mode=mode
    )
    keep_best = keras.callbacks.ModelCheckpoint(
        str(best_weights),
        monitor=monitor,
        mode=mode,
        save_best_only=True,
        save_weights_only=True,
        initial_value_threshold=(min(earlier) if mode == "min" else max(earlier)) if earlier else None,
    )
    terminate = keras.callbacks.TerminateOnNaN()
    model.fit(
        x_train,
        y_train,
        validation_data=(x_validation, y_validation),
        epochs=epochs,
        batch_size=batch_size,
        shuffle=True,
        verbose=verbose,
        callbacks=[
            keras.callbacks.BackupAndRestore(str(backup_dir)),
            keras.callbacks.CSVLogger(str(history_csv), append=True),
            keep_best,
            early_stopping,
            terminate,
            *(callbacks or []),
        ],
    )
    history = _read_history(history_csv)
    monitored = history.get(monitor, [])
    finite = [(value, index) for index, value in enumerate(monitored) if math.isfinite(value)]
    if not finite:
        raise RuntimeError(f"training produced no finite {monitor}; history: {history}")
    # Earliest epoch among ties, as the callbacks only count a strict improvement.
    best_value, best_index = min(finite, key=lambda item: (item[0] if mode == "min" else -item[0], item[1]))
    if best_weights.exists():
        model.load_weights(str(best_weights))
    return FitResult(
        history=history,
        best_epoch=best_index + 1,
        epochs_run=len(monitored),
        best_metrics={
            name: values[best_index] for name, values in history.items() if best_index < len(values)
        },
        stopped_early=len(monitored) < epochs,
        terminated_on_nan=any(not math.isfinite(value) for values in history.values() for value in values),
    )


NON_RECURRENT_FAMILIES: tuple[str, ...] = ("dense", "conv1d")


def variant_arguments(best: dict[str, Any], dropout: float, recurrent_dropout: float) -> dict[str, Any]:
    """Return the best configuration's builder arguments with a variant's dropout settings.

    A family without recurrent layers has no recurrent dropout, so it gets 0.0 there: its
    ``recurrent_dropout`` variant is then the same model as ``none`` (and ``both`` as ``dropout``),
    which lets the caller train it once.
    """
    if best.get("family") in NON_RECURRENT_FAMILIES:
        recurrent_dropout = 0.0
    return {**best, "dropout": dropout, "recurrent_dropout": recurrent_dropout}
