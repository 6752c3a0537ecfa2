"""Report plots: each writes a PNG whose titles, axis labels and lines say what a person needs to read it.

Every figure is inspected as it is saved (``drawn``: the figure's texts and lines, by file name), so the
tests check what the picture shows, not only that a PNG exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from seqlab import plots
from seqlab.config import resolve
from seqlab.data.mnist import MnistFiles
from seqlab.datasets import SeriesDataset
from seqlab.fileio import save_arrays
from seqlab.modalities.text import TextData
from seqlab.plots import (
    comparison_note,
    metric_name,
    plot_class_confusion,
    plot_comparison,
    plot_confusion_matrix,
    plot_forecast,
    plot_learning_curves,
    plot_residuals,
    plot_roc,
    subject,
)
from tests.unit.test_modalities import (
    SERIES_DEFAULTS,
    image_config,
    images_split,
    parsed_series,
    prepare_images,
    prepare_series,
)

TITLE = subject("giss", "none", "gru(32)")


@dataclass
class Panel:
    """What one axes of a saved figure shows."""

    title: str
    xlabel: str
    ylabel: str
    legend: list[str]
    lines: list[str]  # labels of the plotted lines (``_child…`` for unnamed ones)
    line_data: dict[str, np.ndarray]
    yticks: list[str]
    bar_colours: list[tuple[float, ...]] = field(default_factory=list)


@dataclass
class Drawn:
    """A saved figure's title and panels (colour bars left out)."""

    suptitle: str
    panels: list[Panel]

    @property
    def texts(self) -> str:
        """Every title and label, to search in."""
        parts = [self.suptitle]
        for panel in self.panels:
            parts += [panel.title, panel.xlabel, panel.ylabel, *panel.legend, *panel.yticks]
        return "\n".join(parts)


def _describe(figure: Any) -> Drawn:
    panels = []
    for axis in figure.axes:
        if axis.get_label() == "<colorbar>":
            continue
        legend = axis.get_legend()
        panels.append(
            Panel(
                title=axis.get_title(),
                xlabel=axis.get_xlabel(),
                ylabel=axis.get_ylabel(),
                legend=[text.get_text() for text in legend.get_texts()] if legend else [],
                lines=[line.get_label() for line in axis.get_lines()],
                line_data={line.get_label(): np.asarray(line.get_ydata()) for line in axis.get_lines()},
                yticks=[label.get_text() for label in axis.get_yticklabels()],
                bar_colours=[tuple(patch.get_facecolor()) for patch in axis.patches],
            )
        )
    return Drawn(suptitle=figure.get_suptitle(), panels=panels)


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> dict[str, Drawn]:
    """Every figure the plots save during a test, described just before it is written, by file name."""
    saved: dict[str, Drawn] = {}
    save = plots._save

    def describe_then_save(figure: Any, path: str | Path) -> Path:
        saved[Path(path).name] = _describe(figure)
        return save(figure, path)

    monkeypatch.setattr(plots, "_save", describe_then_save)
    return saved


def assert_png(path: Path) -> None:
    assert path.is_file() and path.stat().st_size > 1000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [entry.name for entry in path.parent.iterdir() if entry.name.endswith(".tmp")] == []


def monthly(count: int, start: str = "2016-01") -> list[str]:
    return pd.date_range(start, periods=count, freq="MS").strftime("%Y-%m").tolist()


# --------------------------------------------------------------------------- the plot functions


def test_names_of_models_and_metrics() -> None:
    assert TITLE == "giss · variant none · gru(32)"
    assert [metric_name(m) for m in ("test_mae", "test_accuracy", "val_loss", "test_macro_f1")] == [
        "MAE",
        "accuracy",
        "loss",
        "macro F1",
    ]


def test_learning_curves_mark_the_best_epoch_and_name_the_loss(
    tmp_path: Path, drawn: dict[str, Drawn]
) -> None:
    history = {
        "loss": [1.0, 0.6, 0.4],
        "val_loss": [1.1, 0.8, 0.9],
        "mae": [0.9, 0.5, 0.3],
        "val_mae": [1, 0.7, 0.8],
    }
    written = plot_learning_curves(
        history,
        tmp_path / "curves.png",
        title=TITLE,
        best_epoch=2,
        loss="huber_loss",
        units="normalised units",
    )
    assert written == tmp_path / "curves.png"
    assert_png(written)
    figure = drawn["curves.png"]
    assert figure.suptitle == "giss · variant none · gru(32): learning curves, best epoch 2 of 3"
    loss, mae = figure.panels
    assert loss.ylabel == "huber loss (normalised units)" and mae.ylabel == "MAE (normalised units)"
    assert loss.xlabel == mae.xlabel == "epoch"
    assert loss.legend == ["training", "validation", "best epoch 2"]
    np.testing.assert_array_equal(loss.line_data["best epoch 2"], [0, 1])  # a vertical line at x=2
    with pytest.raises(ValueError, match="history"):
        plot_learning_curves({}, tmp_path / "empty.png", title=TITLE)
    with pytest.raises(ValueError, match="best_epoch: expected 1..3"):
        plot_learning_curves(history, tmp_path / "bad.png", title=TITLE, best_epoch=4)


def test_forecast_draws_actual_model_and_baseline_with_a_zoomed_panel(
    tmp_path: Path, drawn: dict[str, Drawn]
) -> None:
    dates = monthly(300)
    actual = np.sin(np.arange(300) / 2)
    forecasts = {"variant none · gru(32)": actual + 0.1, "baseline persistence": np.roll(actual, 1)}
    assert_png(plot_forecast(dates, actual, forecasts, tmp_path / "giss.png", title=TITLE, unit="°C"))
    figure = drawn["giss.png"]
    assert figure.suptitle == f"{TITLE}: one-step-ahead test forecasts"
    main, zoom = figure.panels
    assert main.lines == zoom.lines == ["actual", "variant none · gru(32)", "baseline persistence"]
    assert main.legend == zoom.legend == main.lines  # each panel has its own legend
    assert main.ylabel == zoom.ylabel == "value (°C)" and main.xlabel == "date"
    assert zoom.title == "last 120 steps" and zoom.line_data["actual"].size == 120
    np.testing.assert_array_equal(zoom.line_data["actual"], actual[-120:])

    # A test period within the zoom is drawn whole in one panel; positions instead of dates, no unit.
    assert_png(
        plot_forecast(np.arange(1000, 1048), actual[:48], {"m": actual[:48]}, tmp_path / "s.png", title="s")
    )
    (single,) = drawn["s.png"].panels
    assert (single.xlabel, single.ylabel, single.title) == ("step", "value", "48 steps")
    with pytest.raises(ValueError, match="predictions"):
        plot_forecast(dates, actual, {"short": actual[:5]}, tmp_path / "bad.png", title="bad")
    with pytest.raises(ValueError, match="predictions: expected 1 to 2"):
        plot_forecast(dates, actual, {str(n): actual for n in range(3)}, tmp_path / "bad.png", title="bad")
    with pytest.raises(ValueError, match="dates_or_index"):
        plot_forecast(dates[:5], actual, forecasts, tmp_path / "bad.png", title="bad")


def test_residuals_carry_the_unit(tmp_path: Path, drawn: dict[str, Drawn]) -> None:
    rng = np.random.default_rng(0)
    actual = rng.normal(size=48)
    assert_png(
        plot_residuals(monthly(48), actual, actual - 0.5, tmp_path / "residuals.png", title=TITLE, unit="°C")
    )
    figure = drawn["residuals.png"]
    over_time, histogram = figure.panels
    assert figure.suptitle == f"{TITLE}: test residuals"
    assert over_time.ylabel == "actual − predicted (°C)" and over_time.xlabel == "date"
    assert histogram.xlabel == "residual (°C)"
    assert histogram.title == "mean 0.5 °C, MAE 0.5 °C"


def test_roc_and_confusion_matrix_are_titled_with_the_model(tmp_path: Path, drawn: dict[str, Drawn]) -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    probabilities = np.clip(labels * 0.3 + rng.uniform(0, 0.7, 200), 0, 1)
    title = subject("imdb", "dropout", "dense(32)")
    reference = ("baseline tfidf_logreg", rng.uniform(size=200))
    assert_png(plot_roc(labels, probabilities, tmp_path / "roc.png", title=title, reference=reference))
    assert_png(plot_confusion_matrix(labels, probabilities, tmp_path / "confusion.png", title=title))
    (roc,) = drawn["roc.png"].panels
    assert roc.title == f"{title}:\ntest ROC"
    assert roc.legend[0].startswith("model (AUC 0.") and roc.legend[1].startswith(
        "baseline tfidf_logreg (AUC"
    )
    (matrix,) = drawn["confusion.png"].panels
    accuracy = np.mean((probabilities >= 0.5) == labels)
    assert matrix.title == f"{title}:\ntest confusion matrix at threshold 0.5, accuracy {accuracy:.4g}"
    with pytest.raises(ValueError, match="y_true"):
        plot_roc(np.ones(5), np.ones(5) / 2, tmp_path / "bad.png", title=title)


def test_class_confusion(tmp_path: Path, drawn: dict[str, Drawn]) -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 300)
    guesses = np.where(rng.random(300) < 0.8, labels, rng.integers(0, 10, 300))
    title = subject("mnist", "none", "lstm(64)")
    assert_png(plot_class_confusion(labels, guesses, tmp_path / "classes.png", 10, title=title))
    (matrix,) = drawn["classes.png"].panels
    assert matrix.title.startswith(f"{title}:\ntest confusion matrix, accuracy 0.")
    assert (matrix.xlabel, matrix.ylabel) == ("predicted", "actual")
    with pytest.raises(ValueError, match="do not match"):
        plot_class_confusion(labels, guesses[:-1], tmp_path / "bad.png", 10, title=title)
    with pytest.raises(ValueError, match=r"labels must lie in 0\.\.9"):
        plot_class_confusion(labels, np.full(300, 10), tmp_path / "bad.png", 10, title=title)
    assert not (tmp_path / "bad.png").exists()


def test_comparison_puts_the_best_on_top_and_colours_the_two_best(
    tmp_path: Path, drawn: dict[str, Drawn]
) -> None:
    models = {"variant both": 0.9, "variant none": 0.6}
    baselines = {"persistence": 1.2, "seasonal_naive": 0.8, "climatology": 1.0}
    plot_comparison(
        models,
        baselines,
        tmp_path / "comparison.png",
        best_model="variant none",
        best_baseline="seasonal_naive",
        metric="test_mae",
        higher_is_better=False,
        title="giss · gru(32)",
        unit="°C",
    )
    assert_png(tmp_path / "comparison.png")
    figure = drawn["comparison.png"]
    (chart,) = figure.panels
    # Bottom to top: worst to best.
    assert chart.yticks == [
        "baseline persistence",
        "baseline climatology",
        "variant both",
        "baseline seasonal_naive (best baseline)",
        "variant none (best model)",
    ]
    colours = [
        plots.BAR_COLOURS[kind] for kind in ("baseline", "baseline", "model", "best baseline", "best model")
    ]
    from matplotlib.colors import to_rgba

    assert chart.bar_colours[:5] == [to_rgba(colour) for colour in colours]
    assert chart.xlabel == "test MAE (°C), lower is better"
    assert figure.suptitle == (
        "giss · gru(32): test MAE of every model and baseline\n"
        "variant none beats the best baseline seasonal_naive: 0.2 °C MAE (25 % lower MAE)"
    )
    with pytest.raises(ValueError, match="best_model: 'variant dropout' is not one of"):
        plot_comparison(
            models,
            baselines,
            tmp_path / "bad.png",
            best_model="variant dropout",
            best_baseline="seasonal_naive",
            metric="test_mae",
            higher_is_better=False,
            title="t",
        )


def test_comparison_note_for_accuracy_and_a_model_that_loses() -> None:
    note = comparison_note(("variant none", 0.9), ("logreg", 0.8), "test_accuracy", True, None)
    assert note == "variant none beats the best baseline logreg: 0.1 accuracy (50 % fewer errors)"
    note = comparison_note(("variant none", 0.55), ("persistence", 0.5), "test_mae", False, "°C")
    assert (
        note
        == "variant none does not beat the best baseline persistence: 0.05 °C MAE worse (10 % higher MAE)"
    )
    note = comparison_note(("variant none", 0.98), ("logreg", 1.0), "test_accuracy", True, None)
    assert note == "variant none does not beat the best baseline logreg: 0.02 accuracy worse"
    note = comparison_note(("variant none", 1 / 3), ("logreg", 1 / 3), "test_mae", False, None)
    assert note == "variant none ties the best baseline logreg (MAE 0.3333)"


# --------------------------------------------------------------------------- the modalities' plots


def series_with_unit(size: int, test_size: int) -> SeriesDataset:
    source = {"kind": "csv_series", "path": "s.csv", "value_column": "v", "date_column": "d"}
    entry = {"source": {**source, "frequency": "monthly", "unit": "mm"}, "test_size": test_size}
    config = resolve({"datasets": {"toy": entry}, "defaults": {"csv_series": SERIES_DEFAULTS}}).dataset("toy")
    assert isinstance(config, SeriesDataset)
    return config


def test_series_plots_show_the_best_variant_and_baseline_only(
    tmp_path: Path, drawn: dict[str, Drawn]
) -> None:
    _, data = prepare_series(tmp_path, series_with_unit(300, 150), parsed_series("MS", 300))
    truth = data.arrays["y_test"]
    # "both" comes first, "none" is the best; the baselines' first is not the best either.
    predictions = {"both": truth + 5.0, "dropout": truth + 3.0, "none": truth + 0.1}
    baselines = {"climatology": truth - 4.0, "persistence": truth - 0.2, "seasonal_naive": truth + 2.0}
    folder = tmp_path / "plots"
    folder.mkdir()
    written = data.plots("none", "gru(32)", predictions, "persistence", baselines, folder)
    assert [path.name for path in written] == ["forecast.png", "residuals.png"]
    name = "toy · variant none · gru(32)"
    forecast = drawn["forecast.png"]
    assert forecast.suptitle == f"{name} vs baseline persistence: one-step-ahead test forecasts"
    main, zoom = forecast.panels
    assert main.lines == ["actual", "variant none · gru(32)", "baseline persistence"]
    assert main.ylabel == "value (mm)" and main.xlabel == "date"
    real = data.arrays["values"][data.arrays["test_target_index"][:, 0]]
    np.testing.assert_allclose(main.line_data["variant none · gru(32)"], real + 0.1 * data.std)
    np.testing.assert_allclose(main.line_data["baseline persistence"], real - 0.2 * data.std)
    assert len(zoom.lines) == 3
    residuals = drawn["residuals.png"]
    assert residuals.suptitle == f"{name}: test residuals"
    assert residuals.panels[1].title == f"mean {-0.1 * data.std:.4g} mm, MAE {0.1 * data.std:.4g} mm"


def test_text_plots_show_the_best_variant(tmp_path: Path, drawn: dict[str, Drawn]) -> None:
    labels = np.tile([0, 1], 50).astype(np.int8)
    save_arrays(tmp_path / "arrays.npz", {"y_test": labels})
    data = TextData(SimpleNamespace(name="imdb"), tmp_path, {})  # type: ignore[arg-type]
    perfect, wrong = labels.astype(float), 1.0 - labels
    predictions = {"both": wrong, "none": perfect}
    data.plots("none", "dense(32)", predictions, "tfidf_logreg", {"tfidf_logreg": wrong}, tmp_path)
    (roc,) = drawn["roc.png"].panels
    assert roc.title == "imdb · variant none · dense(32):\ntest ROC"
    assert roc.legend[:2] == ["model (AUC 1)", "baseline tfidf_logreg (AUC 0)"]
    (matrix,) = drawn["confusion_matrix.png"].panels
    assert matrix.title.endswith("accuracy 1")


def test_image_plots_show_the_best_variant(tmp_path: Path, drawn: dict[str, Drawn]) -> None:
    config = image_config(train_images=100, test_images=60)
    _, data = prepare_images(tmp_path, config, MnistFiles(test=images_split(200, seed=0), train=None))
    truth = np.eye(10)[data.arrays["y_test"]]
    predictions = {"both": np.roll(truth, 1, axis=1), "none": truth}
    folder = tmp_path / "plots"
    folder.mkdir()
    data.plots("none", "lstm(64)", predictions, "logistic_regression", {}, folder)
    (matrix,) = drawn["confusion_matrix.png"].panels
    assert matrix.title == "toy · variant none · lstm(64):\ntest confusion matrix, accuracy 1"
