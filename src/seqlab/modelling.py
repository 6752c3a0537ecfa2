"""Fitting and scoring one configuration: what train, evaluate and the benchmarks share.

The fit reads training and validation arrays only; the score is the one place a model meets the
test split, through the modality's :meth:`~seqlab.modalities.PreparedData.predict_test`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from seqlab.modalities import PreparedData
from seqlab.schema import TrainingParams


def fit_variant(
    data: PreparedData,
    hyperparameters: dict[str, Any],
    settings: TrainingParams,
    checkpoint_dir: Path,
    seed: int | None = None,
    callbacks: list[Any] | None = None,
) -> tuple[Any, Any]:
    """Build and train one configuration (seeded, early-stopped, resumable); return the model and its fit.

    The model ends with the weights of its best validation epoch (:func:`seqlab.training.fit_model`).
    """
    from seqlab import training

    seed = settings.seed if seed is None else seed
    training.set_determinism(seed)
    model = data.builder()(**{**hyperparameters, "seed": seed})
    x_train, y_train, x_validation, y_validation = data.fit_arrays()
    result = training.fit_model(
        model,
        data.select_inputs(x_train, hyperparameters),
        y_train,
        data.select_inputs(x_validation, hyperparameters),
        y_validation,
        epochs=settings.epochs,
        batch_size=settings.batch_size,
        bucket_width=settings.bucket_width,
        patience=settings.patience,
        checkpoint_dir=checkpoint_dir,
        callbacks=callbacks,
    )
    return model, result


def score_model(
    data: PreparedData, model: Any, hyperparameters: dict[str, Any]
) -> tuple[dict[str, float], np.ndarray]:
    """Test metrics of a trained model (same names and units for every model) and its predictions."""
    predictions = data.predict_test(model, hyperparameters)
    return data.score(predictions), predictions


def load_keras_model(path: Path) -> Any:
    """Load a saved variant (seqlab's custom layers registered first)."""
    import keras

    import seqlab.models  # noqa: F401  (registers the custom layers that saved models use)

    return keras.models.load_model(path)


Log = Callable[[str], None]
