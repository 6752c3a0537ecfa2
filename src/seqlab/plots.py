"""Report figures: learning curves, forecasts on a real date axis, residuals, ROC and confusion matrix.

Figures are built as ``matplotlib.figure.Figure`` objects on an explicit Agg canvas inside each
function: no pyplot, so no global backend switch, nothing left open in a pyplot registry (the figure
is cleared and dropped after saving) and safe from worker threads. Every PNG is written atomically.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from seqlab.fileio import atomic_path

DPI = 110


def _new_figure(rows: int = 1, columns: int = 1, size: tuple[float, float] = (10.0, 4.0)) -> tuple[Any, Any]:
    """Return a figure on an Agg canvas and its axes array (always 1-D)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, columns, squeeze=False)
    return figure, axes.ravel()


def _save(figure: Any, path: str | Path) -> Path:
    """Write ``figure`` as a PNG atomically, then release it; return the destination."""
    destination = Path(path)
    try:
        with atomic_path(destination) as temporary:
            figure.savefig(temporary, format="png")
    finally:
        figure.clear()
    return destination


def _time_axis(dates_or_index: Any, size: int, argument: str) -> np.ndarray:
    """Turn date strings into datetimes (real date axis) or keep integer positions (synthetic series)."""
    import pandas as pd

    raw = np.asarray(dates_or_index)
    if raw.ndim != 1 or raw.size != size:
        raise ValueError(f"{argument}: expected {size} dates or positions, got shape {raw.shape}")
    if np.issubdtype(raw.dtype, np.integer) or np.issubdtype(raw.dtype, np.datetime64):
        return raw
    try:
        return pd.to_datetime([str(value) for value in raw], format="ISO8601").to_numpy()
    except (ValueError, TypeError) as error:
        raise ValueError(f"{argument}: neither integer positions nor ISO dates: {error}") from error


def _series(values: Any, argument: str, size: int | None = None) -> np.ndarray:
    """Return a 1-D float array (optionally of a given length), or raise a ValueError naming it."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{argument}: expected a non-empty 1-D series, got shape {array.shape}")
    if size is not None and array.size != size:
        raise ValueError(f"{argument}: expected {size} values, got {array.size}")
    return array


def _binary(y_true: Any, probabilities: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate binary labels and matching probabilities."""
    labels = np.asarray(y_true).ravel()
    scores = np.asarray(probabilities, dtype=np.float64).ravel()
    if labels.size == 0 or labels.shape != scores.shape:
        raise ValueError(f"probabilities: {scores.size} values do not match {labels.size} labels in y_true")
    if not np.all((labels == 0) | (labels == 1)):
        raise ValueError("y_true: expected binary labels 0/1")
    return labels.astype(np.int64), scores


def plot_learning_curves(history: Mapping[str, Sequence[float]], path: str | Path) -> Path:
    """Plot each metric per epoch next to its ``val_`` twin, to see under- and over-fitting at a glance."""
    if not history or any(len(values) == 0 for values in history.values()):
        raise ValueError("history: expected at least one metric with at least one epoch")
    names: list[str] = []
    for key in history:
        base = key.removeprefix("val_")
        if base not in names:
            names.append(base)
    figure, axes = _new_figure(1, len(names), (max(5.0, 4.5 * len(names)), 3.8))
    for axis, name in zip(axes, names, strict=True):
        for key, style in ((name, "-"), (f"val_{name}", "--")):
            if key in history:
                values = np.asarray(history[key], dtype=np.float64)
                axis.plot(np.arange(1, values.size + 1), values, style, marker=".", label=key)
        axis.set_xlabel("epoch")
        axis.set_title(name)
        axis.grid(alpha=0.3)
        axis.legend()
    return _save(figure, path)


def plot_forecast(
    dates_or_index: Any,
    actual: Any,
    predictions: Mapping[str, Any],
    path: str | Path,
    title: str,
    zoom: int | None = None,
) -> Path:
    """Plot forecasts against the actual test series on a real date axis (integers for synthetic).

    One figure: the whole test period on top and, when ``zoom`` is smaller than the series, a second
    panel with its last ``zoom`` points, where forecasts and actuals can be told apart.
    """
    truth = _series(actual, "actual")
    axis_values = _time_axis(dates_or_index, truth.size, "dates_or_index")
    if not predictions:
        raise ValueError("predictions: expected at least one named forecast")
    forecasts = {
        name: _series(values, f"predictions[{name!r}]", truth.size) for name, values in predictions.items()
    }
    if zoom is not None and (isinstance(zoom, bool) or not isinstance(zoom, int) or zoom < 2):
        raise ValueError(f"zoom: expected an integer >= 2 or None, got {zoom!r}")
    windows = [slice(0, truth.size)]
    if zoom is not None and zoom < truth.size:
        windows.append(slice(truth.size - zoom, truth.size))
    figure, axes = _new_figure(len(windows), 1, (11.0, 3.6 * len(windows)))
    for axis, window in zip(axes, windows, strict=True):
        axis.plot(axis_values[window], truth[window], color="black", linewidth=1.4, label="actual")
        for name, forecast in forecasts.items():
            axis.plot(axis_values[window], forecast[window], linewidth=1.0, alpha=0.85, label=name)
        axis.grid(alpha=0.3)
    axes[0].set_title(title)
    axes[0].legend(loc="best", fontsize="small")
    if len(windows) > 1:
        axes[1].set_title(f"last {zoom} points")
    return _save(figure, path)


def plot_residuals(dates: Any, actual: Any, predicted: Any, path: str | Path) -> Path:
    """Plot residuals (actual - predicted) over time and their histogram, to spot bias and drift."""
    truth = _series(actual, "actual")
    forecast = _series(predicted, "predicted", truth.size)
    axis_values = _time_axis(dates, truth.size, "dates")
    residuals = truth - forecast
    figure, axes = _new_figure(1, 2, (12.0, 3.8))
    axes[0].plot(axis_values, residuals, linewidth=0.8)
    axes[0].axhline(0.0, color="black", linewidth=0.8)
    axes[0].set_title("residual (actual - predicted)")
    axes[0].grid(alpha=0.3)
    axes[1].hist(residuals, bins=min(50, max(5, residuals.size // 5)))
    axes[1].set_title(f"mean {residuals.mean():.3g}, MAE {np.abs(residuals).mean():.3g}")
    return _save(figure, path)


def plot_roc(y_true: Any, probabilities: Any, path: str | Path) -> Path:
    """Plot the ROC curve with its AUC, the threshold-free view of a classifier's ranking."""
    from sklearn.metrics import roc_auc_score, roc_curve

    labels, scores = _binary(y_true, probabilities)
    if np.unique(labels).size < 2:
        raise ValueError("y_true: both classes must be present for a ROC curve")
    false_positive, true_positive, _ = roc_curve(labels, scores)
    figure, axes = _new_figure(1, 1, (5.0, 5.0))
    axes[0].plot(false_positive, true_positive, label=f"AUC = {roc_auc_score(labels, scores):.4f}")
    axes[0].plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
    axes[0].set_xlabel("false positive rate")
    axes[0].set_ylabel("true positive rate")
    axes[0].legend(loc="lower right")
    axes[0].grid(alpha=0.3)
    return _save(figure, path)


def plot_confusion_matrix(y_true: Any, probabilities: Any, path: str | Path, threshold: float = 0.5) -> Path:
    """Plot the 2x2 confusion matrix at ``threshold`` with counts, to show which errors dominate."""
    labels, scores = _binary(y_true, probabilities)
    predicted = (scores >= threshold).astype(np.int64)
    matrix = np.zeros((2, 2), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    figure, axes = _new_figure(1, 1, (4.5, 4.0))
    image = axes[0].imshow(matrix, cmap="Blues")
    for (row, column), count in np.ndenumerate(matrix):
        colour = "white" if count > matrix.max() / 2 else "black"
        axes[0].text(column, row, str(count), ha="center", va="center", color=colour)
    axes[0].set_xticks([0, 1], ["negative", "positive"])
    axes[0].set_yticks([0, 1], ["negative", "positive"])
    axes[0].set_xlabel("predicted")
    axes[0].set_ylabel("actual")
    axes[0].set_title(f"threshold {threshold:g}")
    figure.colorbar(image, ax=axes[0])
    return _save(figure, path)


def plot_class_confusion(y_true: Any, predicted: Any, path: str | Path, classes: int) -> Path:
    """Plot a classes x classes confusion matrix of predicted labels, to show which classes get mixed up."""
    labels = np.asarray(y_true).ravel().astype(np.int64)
    guesses = np.asarray(predicted).ravel().astype(np.int64)
    if labels.size == 0 or labels.shape != guesses.shape:
        raise ValueError(f"predicted: {guesses.size} labels do not match {labels.size} in y_true")
    if min(labels.min(), guesses.min()) < 0 or max(labels.max(), guesses.max()) >= classes:
        raise ValueError(f"labels must lie in 0..{classes - 1}")
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (labels, guesses), 1)
    figure, axes = _new_figure(1, 1, (6.5, 5.5))
    image = axes[0].imshow(matrix, cmap="Blues")
    for (row, column), count in np.ndenumerate(matrix):
        if count:
            colour = "white" if count > matrix.max() / 2 else "black"
            axes[0].text(column, row, str(count), ha="center", va="center", color=colour, fontsize="small")
    axes[0].set_xticks(range(classes))
    axes[0].set_yticks(range(classes))
    axes[0].set_xlabel("predicted")
    axes[0].set_ylabel("actual")
    axes[0].set_title(f"accuracy {np.trace(matrix) / labels.size:.4f}")
    figure.colorbar(image, ax=axes[0])
    return _save(figure, path)


__all__ = [
    "plot_class_confusion",
    "plot_confusion_matrix",
    "plot_forecast",
    "plot_learning_curves",
    "plot_residuals",
    "plot_roc",
]
