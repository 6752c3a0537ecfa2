"""Report figures: learning curves, forecasts, residuals, ROC, confusion matrices, model comparison.

Every title names the dataset and the model it shows (:func:`subject`), every axis its quantity and
unit, and numbers in titles carry 4 significant digits. Figures are built as
``matplotlib.figure.Figure`` objects on an explicit Agg canvas inside each function: no pyplot, so no
global backend switch, nothing left open in a pyplot registry (the figure is cleared and dropped after
saving) and safe from worker threads. Every PNG is written atomically.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from seqlab.fileio import atomic_path

DPI = 110
FORECAST_ZOOM = 120  # steps in the forecast's second panel: a test period's end, where lines part
# Line styles of a forecast plot: the actual values, then the best model, then the best baseline.
ACTUAL_STYLE: dict[str, Any] = {"color": "black", "linewidth": 1.3}
FORECAST_STYLES: tuple[dict[str, Any], ...] = (
    {"color": "tab:blue", "linewidth": 1.1},
    {"color": "tab:orange", "linewidth": 1.1, "linestyle": "--"},
)
# Bars of the comparison chart: the best model and the best baseline stand out.
BAR_COLOURS = {"model": "#9ecae1", "best model": "#08519c", "baseline": "#d9d9d9", "best baseline": "#e6550d"}
METRIC_NAMES = {"mae": "MAE", "rmse": "RMSE", "auc": "AUC", "f1": "F1", "macro_f1": "macro F1"}


def subject(dataset: str, variant: str, model: str) -> str:
    """How a title names a trained model: ``giss · variant none · gru(32)``."""
    return f"{dataset} · variant {variant} · {model}"


def metric_name(metric: str) -> str:
    """Spell a metric as people write it: ``test_mae`` → ``MAE``, ``test_accuracy`` → ``accuracy``."""
    name = metric.removeprefix("test_").removeprefix("val_")
    return METRIC_NAMES.get(name, name.replace("_", " "))


def _with_unit(quantity: str, unit: str | None) -> str:
    return f"{quantity} ({unit})" if unit else quantity


def _amount(value: float, unit: str | None) -> str:
    return f"{value:.4g} {unit}" if unit else f"{value:.4g}"


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


def _label_time_axis(axis: Any, values: np.ndarray) -> None:
    """Concise date ticks (years, then months or days as the span shrinks), or "step" for positions."""
    if np.issubdtype(values.dtype, np.datetime64):
        from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

        locator = AutoDateLocator()
        axis.xaxis.set_major_locator(locator)
        axis.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        axis.set_xlabel("date")
    else:
        axis.set_xlabel("step")


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


def plot_learning_curves(
    history: Mapping[str, Sequence[float]],
    path: str | Path,
    *,
    title: str,
    best_epoch: int | None = None,
    loss: str = "loss",
    units: str | None = None,
) -> Path:
    """Plot each metric per epoch next to its ``val_`` twin, to see under- and over-fitting at a glance.

    ``loss`` names the loss (``huber_loss``) on the loss panel's y axis, ``units`` what training measured
    in (a series trains on normalised values); ``best_epoch`` (1-based), the epoch training kept, is
    marked on every panel.
    """
    if not history or any(len(values) == 0 for values in history.values()):
        raise ValueError("history: expected at least one metric with at least one epoch")
    epochs = max(len(values) for values in history.values())
    if best_epoch is not None and not 1 <= best_epoch <= epochs:
        raise ValueError(f"best_epoch: expected 1..{epochs} (the epochs in history), got {best_epoch}")
    names: list[str] = []
    for key in history:
        base = key.removeprefix("val_")
        if base not in names:
            names.append(base)
    names.sort(key=lambda name: name != "loss")  # the loss first, then the metrics in their order
    figure, axes = _new_figure(1, len(names), (max(5.5, 4.6 * len(names)), 3.9))
    for axis, name in zip(axes, names, strict=True):
        for key, style, split in ((name, "-", "training"), (f"val_{name}", "--", "validation")):
            if key in history:
                values = np.asarray(history[key], dtype=np.float64)
                axis.plot(np.arange(1, values.size + 1), values, style, marker=".", label=split)
        if best_epoch is not None:
            axis.axvline(
                best_epoch,
                color="tab:green",
                linewidth=1.2,
                alpha=0.7,
                zorder=0,
                label=f"best epoch {best_epoch}",
            )
        quantity = loss.replace("_", " ") if name == "loss" else metric_name(name)
        axis.set_ylabel(_with_unit(quantity, units))
        axis.set_xlabel("epoch")
        axis.set_title("loss" if name == "loss" else quantity)
        axis.grid(alpha=0.3)
        axis.legend(loc="best", fontsize="small")
        axis.set_xlim(0.6, epochs + 0.4)  # a best epoch at either end stays visible
        if epochs <= 20:
            axis.set_xticks(np.arange(1, epochs + 1))
    kept = f", best epoch {best_epoch} of {epochs}" if best_epoch is not None else ""
    figure.suptitle(f"{title}: learning curves{kept}")
    return _save(figure, path)


def plot_forecast(
    dates_or_index: Any,
    actual: Any,
    predictions: Mapping[str, Any],
    path: str | Path,
    *,
    title: str,
    unit: str | None = None,
    zoom: int | None = FORECAST_ZOOM,
) -> Path:
    """Plot the actual test series and at most two forecasts (the best model, the best baseline).

    Dates on the x axis (steps for a series without dates), values in ``unit``. When the test period
    is longer than ``zoom`` steps a second panel shows its last ``zoom``, where the lines can be told
    apart; a shorter test period is drawn whole in one panel. Every other model belongs in the
    leaderboard and the comparison chart, not here: more lines than colours cannot be read.
    """
    truth = _series(actual, "actual")
    axis_values = _time_axis(dates_or_index, truth.size, "dates_or_index")
    if not predictions or len(predictions) > len(FORECAST_STYLES):
        raise ValueError(
            f"predictions: expected 1 to {len(FORECAST_STYLES)} named forecasts (the best model and the best "
            f"baseline), got {len(predictions)}"
        )
    forecasts = {
        name: _series(values, f"predictions[{name!r}]", truth.size) for name, values in predictions.items()
    }
    if zoom is not None and (isinstance(zoom, bool) or not isinstance(zoom, int) or zoom < 2):
        raise ValueError(f"zoom: expected an integer >= 2 or None, got {zoom!r}")
    windows = [slice(0, truth.size)]
    if zoom is not None and zoom < truth.size:
        windows.append(slice(truth.size - zoom, truth.size))
    figure, axes = _new_figure(len(windows), 1, (11.0, 3.4 * len(windows) + 0.5))
    thin = truth.size > 2000  # a long test period drawn whole: thin lines, or it is a solid band
    for axis, window in zip(axes, windows, strict=True):
        scale = 0.5 if thin and window.start == 0 else 1.0
        axis.plot(
            axis_values[window],
            truth[window],
            label="actual",
            **{**ACTUAL_STYLE, "linewidth": ACTUAL_STYLE["linewidth"] * scale},
        )
        for (name, forecast), style in zip(forecasts.items(), FORECAST_STYLES, strict=False):
            line_style = {**style, "linewidth": style["linewidth"] * scale}
            axis.plot(axis_values[window], forecast[window], alpha=0.9, label=name, **line_style)
        _label_time_axis(axis, axis_values)
        axis.set_ylabel(_with_unit("value", unit))
        axis.grid(alpha=0.3)
        axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize="small")
    axes[0].set_title(f"whole test period, {truth.size} steps" if len(windows) > 1 else f"{truth.size} steps")
    if len(windows) > 1:
        axes[1].set_title(f"last {zoom} steps")
    figure.suptitle(f"{title}: one-step-ahead test forecasts")
    return _save(figure, path)


def plot_residuals(
    dates: Any, actual: Any, predicted: Any, path: str | Path, *, title: str, unit: str | None = None
) -> Path:
    """Plot residuals (actual - predicted) over time and their histogram, to spot bias and drift."""
    truth = _series(actual, "actual")
    forecast = _series(predicted, "predicted", truth.size)
    axis_values = _time_axis(dates, truth.size, "dates")
    residuals = truth - forecast
    figure, axes = _new_figure(1, 2, (12.0, 4.0))
    axes[0].plot(axis_values, residuals, linewidth=0.8 if residuals.size < 2000 else 0.4)
    axes[0].axhline(0.0, color="black", linewidth=0.8)
    _label_time_axis(axes[0], axis_values)
    axes[0].set_ylabel(_with_unit("actual − predicted", unit))
    axes[0].set_title("residual over time")
    axes[0].grid(alpha=0.3)
    low, high = float(residuals.min()), float(residuals.max())
    if high - low < 1e-9 * max(1.0, abs(high)):  # (near) constant residuals: give the bins a width
        low, high = low - 0.5, high + 0.5
    bins = min(50, max(5, residuals.size // 5))
    axes[1].hist(residuals, bins=bins, range=(low, high), color="tab:blue")
    axes[1].axvline(0.0, color="black", linewidth=0.8)
    axes[1].set_xlabel(_with_unit("residual", unit))
    axes[1].set_ylabel("test steps")
    axes[1].set_title(
        f"mean {_amount(residuals.mean(), unit)}, MAE {_amount(float(np.abs(residuals).mean()), unit)}"
    )
    figure.suptitle(f"{title}: test residuals")
    return _save(figure, path)


def plot_roc(
    y_true: Any,
    probabilities: Any,
    path: str | Path,
    *,
    title: str,
    reference: tuple[str, Any] | None = None,
) -> Path:
    """Plot the ROC curve with its AUC, the threshold-free view of a classifier's ranking.

    ``reference`` (a name and its probabilities, e.g. the best baseline) is drawn beside it, dashed.
    """
    from sklearn.metrics import roc_auc_score, roc_curve

    labels, scores = _binary(y_true, probabilities)
    if np.unique(labels).size < 2:
        raise ValueError("y_true: both classes must be present for a ROC curve")
    curves = [("model", scores, "-")]
    if reference is not None:
        name, values = reference
        curves.append((name, _binary(labels, values)[1], "--"))
    figure, axes = _new_figure(1, 1, (5.8, 5.6))
    for name, values, style in curves:
        false_positive, true_positive, _ = roc_curve(labels, values)
        area = roc_auc_score(labels, values)
        axes[0].plot(false_positive, true_positive, style, label=f"{name} (AUC {area:.4g})")
    axes[0].plot([0, 1], [0, 1], linestyle=":", color="grey", label="chance")
    axes[0].set_xlabel("false positive rate")
    axes[0].set_ylabel("true positive rate")
    axes[0].legend(loc="lower right", fontsize="small")
    axes[0].grid(alpha=0.3)
    axes[0].set_title(f"{title}:\ntest ROC", fontsize="medium")
    return _save(figure, path)


def _draw_matrix(figure: Any, axis: Any, matrix: np.ndarray, names: Sequence[str]) -> None:
    image = axis.imshow(matrix, cmap="Blues")
    for (row, column), count in np.ndenumerate(matrix):
        if count or matrix.shape[0] <= 2:
            colour = "white" if count > matrix.max() / 2 else "black"
            size = "large" if matrix.shape[0] <= 2 else "small"
            axis.text(column, row, str(count), ha="center", va="center", color=colour, fontsize=size)
    axis.set_xticks(range(len(names)), names)
    axis.set_yticks(range(len(names)), names)
    axis.set_xlabel("predicted")
    axis.set_ylabel("actual")
    figure.colorbar(image, ax=axis, label="test examples")


def plot_confusion_matrix(
    y_true: Any, probabilities: Any, path: str | Path, *, title: str, threshold: float = 0.5
) -> Path:
    """Plot the 2x2 confusion matrix at ``threshold`` with counts, to show which errors dominate."""
    labels, scores = _binary(y_true, probabilities)
    predicted = (scores >= threshold).astype(np.int64)
    matrix = np.zeros((2, 2), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    figure, axes = _new_figure(1, 1, (5.6, 4.6))
    _draw_matrix(figure, axes[0], matrix, ["negative", "positive"])
    accuracy = np.trace(matrix) / labels.size
    axes[0].set_title(
        f"{title}:\ntest confusion matrix at threshold {threshold:.4g}, accuracy {accuracy:.4g}",
        fontsize="medium",
    )
    return _save(figure, path)


def plot_class_confusion(y_true: Any, predicted: Any, path: str | Path, classes: int, *, title: str) -> Path:
    """Plot a classes x classes confusion matrix of predicted labels, to show which classes get mixed up."""
    labels = np.asarray(y_true).ravel().astype(np.int64)
    guesses = np.asarray(predicted).ravel().astype(np.int64)
    if labels.size == 0 or labels.shape != guesses.shape:
        raise ValueError(f"predicted: {guesses.size} labels do not match {labels.size} in y_true")
    if min(labels.min(), guesses.min()) < 0 or max(labels.max(), guesses.max()) >= classes:
        raise ValueError(f"labels must lie in 0..{classes - 1}")
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (labels, guesses), 1)
    figure, axes = _new_figure(1, 1, (6.8, 6.0))
    _draw_matrix(figure, axes[0], matrix, [str(label) for label in range(classes)])
    accuracy = np.trace(matrix) / labels.size
    axes[0].set_title(f"{title}:\ntest confusion matrix, accuracy {accuracy:.4g}", fontsize="medium")
    return _save(figure, path)


def comparison_note(
    model: tuple[str, float],
    baseline: tuple[str, float],
    metric: str,
    higher_is_better: bool,
    unit: str | None,
) -> str:
    """Say whether the best model beats the best baseline, by how much in the metric's unit and in %.

    The % is :func:`seqlab.evaluation.skill`: the share of the baseline's error removed (for MAE the
    relative MAE, for accuracy the relative error rate).
    """
    from seqlab.evaluation import skill

    (model_name, model_value), (baseline_name, baseline_value) = model, baseline
    margin = model_value - baseline_value if higher_is_better else baseline_value - model_value
    name = metric_name(metric)
    try:
        share = skill(model_value, baseline_value, higher_is_better)
    except ValueError:  # a perfect baseline: no error to remove
        share = None
    if margin == 0:
        return f"{model_name} ties the best baseline {baseline_name} ({name} {_amount(model_value, unit)})"
    if margin > 0:
        verdict, direction = "beats", ("fewer errors" if higher_is_better else f"lower {name}")
    else:
        verdict, direction = "does not beat", ("more errors" if higher_is_better else f"higher {name}")
    worse = "" if margin > 0 else " worse"
    percent = f" ({abs(share) * 100:.4g} % {direction})" if share is not None else ""
    return (
        f"{model_name} {verdict} the best baseline {baseline_name}: "
        f"{_amount(abs(margin), unit)} {name}{worse}{percent}"
    )


def plot_comparison(
    models: Mapping[str, float],
    baselines: Mapping[str, float],
    path: str | Path,
    *,
    best_model: str,
    best_baseline: str,
    metric: str,
    higher_is_better: bool,
    title: str,
    unit: str | None = None,
) -> Path:
    """Draw a horizontal bar per model and baseline on the test metric, best on top, the two best coloured.

    Baselines are labelled ``baseline <name>``, models by their names as given. The title says whether
    the best model beats the best baseline and by how much (:func:`comparison_note`); every bar carries
    its value.
    """
    for argument, entries, best in (("models", models, best_model), ("baselines", baselines, best_baseline)):
        if not entries:
            raise ValueError(f"{argument}: expected at least one named score")
        if best not in entries:
            raise ValueError(f"best_{argument.removesuffix('s')}: {best!r} is not one of {sorted(entries)}")
    rows = [(name, float(value), "model") for name, value in models.items()]
    rows += [(name, float(value), "baseline") for name, value in baselines.items()]
    if not all(np.isfinite(value) for _, value, _ in rows):
        raise ValueError(f"models, baselines: every score must be finite, got {rows}")
    rows.sort(key=lambda row: row[1], reverse=not higher_is_better)  # the best ends on top
    kinds = [
        f"best {kind}" if name == (best_model if kind == "model" else best_baseline) else kind
        for name, _, kind in rows
    ]
    figure, axes = _new_figure(1, 1, (10.0, 1.5 + 0.36 * len(rows)))
    axis = axes[0]
    positions = np.arange(len(rows))
    values = [value for _, value, _ in rows]
    axis.barh(
        positions, values, color=[BAR_COLOURS[kind] for kind in kinds], edgecolor="black", linewidth=0.4
    )
    tick_labels = [
        (name if group == "model" else f"baseline {name}") + (f" ({kind})" if kind.startswith("best") else "")
        for (name, _, group), kind in zip(rows, kinds, strict=True)
    ]
    axis.set_yticks(positions, tick_labels)
    for tick, kind in zip(axis.get_yticklabels(), kinds, strict=True):
        if kind.startswith("best"):
            tick.set_fontweight("bold")
    for position, value in zip(positions, values, strict=True):
        axis.text(value, position, f" {value:.4g}", va="center", fontsize="small")
    axis.set_xlim(0, max(max(values), 0.0) * 1.12 or 1.0)
    better = "higher" if higher_is_better else "lower"
    axis.set_xlabel(f"{_with_unit('test ' + metric_name(metric), unit)}, {better} is better")
    axis.grid(axis="x", alpha=0.3)
    note = comparison_note(
        (best_model, float(models[best_model])),
        (best_baseline, float(baselines[best_baseline])),
        metric,
        higher_is_better,
        unit,
    )
    figure.suptitle(f"{title}: test {metric_name(metric)} of every model and baseline\n{note}")
    return _save(figure, path)


def plot_backtest(
    origins: Sequence[str],
    errors: Mapping[str, Sequence[float]],
    path: str | Path,
    *,
    model: str,
    best_baseline: str,
    title: str,
    unit: str | None = None,
) -> Path:
    """Draw each origin's MAE of the model and the best baseline (the other baselines faint).

    ``errors`` maps ``model`` and every baseline to its MAE per origin; the title gives both means.
    """
    for name in (model, best_baseline):
        if name not in errors:
            raise ValueError(f"errors: no MAE per origin of {name!r} (have {sorted(errors)})")
    positions = np.arange(len(origins))
    figure, axes = _new_figure(1, 1, (10.0, 4.0))
    axis = axes[0]
    for name, values in errors.items():
        if name not in (model, best_baseline):
            axis.plot(positions, values, color="#bdbdbd", linewidth=0.8)
    baseline_label = f"baseline {best_baseline}"
    axis.plot(positions, errors[best_baseline], marker="o", label=baseline_label, **FORECAST_STYLES[1])
    axis.plot(positions, errors[model], marker="o", label=model, **FORECAST_STYLES[0])
    axis.plot([], [], color="#bdbdbd", linewidth=0.8, label="other baselines")
    axis.set_xticks(positions, list(origins), rotation=45, ha="right", fontsize="small")
    axis.set_xlabel("forecast origin (first step of its block)")
    axis.set_ylabel(_with_unit("MAE over the block", unit))
    axis.grid(alpha=0.3)
    axis.legend(fontsize="small")
    means = {name: float(np.mean(errors[name])) for name in (model, best_baseline)}
    figure.suptitle(
        f"{title}: error per backtest origin\nmean {_amount(means[model], unit)} vs "
        f"{_amount(means[best_baseline], unit)} for baseline {best_baseline}"
    )
    return _save(figure, path)


__all__ = [
    "comparison_note",
    "metric_name",
    "plot_backtest",
    "plot_class_confusion",
    "plot_comparison",
    "plot_confusion_matrix",
    "plot_forecast",
    "plot_learning_curves",
    "plot_residuals",
    "plot_roc",
    "subject",
]
