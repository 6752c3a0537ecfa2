"""Rolling-origin backtests: origins, refits from the past only, ageing models, the summary's figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from seqlab.artifacts import TrainSummary, VariantFit
from seqlab.backtest import MODEL, Backtest, describe, origin_starts, rolling_origin
from seqlab.config import resolve
from seqlab.datasets import SeriesDataset
from seqlab.modalities.series import SeriesData
from seqlab.prep.series import Normalizer, make_split_windows
from seqlab.stages.evaluate import chosen_variant

LENGTH, SPLIT, WINDOW, PERIOD = 240, 200, 6, 12


def _config() -> SeriesDataset:
    source = {
        "n_points": LENGTH,
        "baseline": 0.0,
        "slope": 0.0,
        "amplitude": 1.0,
        "noise_level": 0.0,
        "seed": 0,
    }
    raw = {
        "datasets": {
            "toy": {"source": {"kind": "synthetic", **source, "period": PERIOD}, "split_index": SPLIT}
        },
        "defaults": {
            "synthetic": {
                "source": {},
                "prepare": {"window_size": WINDOW, "validation_fraction": 0.1},
                "baselines": {"ar_order": 1},
                "tuning": {"space": {"units": {"value": 4}}},
                "training": {"variants": {"none": {}}},
                "backtest": {"origins": 4, "horizon": 10, "refit": 2},
            }
        },
    }
    config = resolve(raw).dataset("toy")
    assert isinstance(config, SeriesDataset)
    return config


def _values(seed: int = 0) -> np.ndarray:
    steps = np.arange(LENGTH)
    noise = np.random.default_rng(seed).normal(scale=0.5, size=LENGTH)
    return 10 + 0.01 * steps + 3 * np.sin(2 * np.pi * steps / PERIOD) + noise


def _prepared(folder: Path, values: np.ndarray) -> SeriesData:
    """A prepared folder as the series modality writes it, read back."""
    windows = make_split_windows(values, SPLIT, WINDOW, validation_fraction=0.1)
    folder.mkdir(parents=True)
    arrays: dict[str, Any] = {"values": values}
    for split in ("train", "validation", "test"):
        arrays[f"x_{split}"] = getattr(windows, f"x_{split}")
        arrays[f"y_{split}"] = getattr(windows, f"y_{split}")
        arrays[f"{split}_target_index"] = getattr(windows, f"{split}_target_index")
    np.savez(folder / "windows.npz", **arrays)
    manifest = {
        "season": {"kind": "periodic", "count": PERIOD},
        "params": {"window_size": WINDOW, "horizon": 1, "stride": 1, "validation_fraction": 0.1},
        "split_index": SPLIT,
        "normalization": windows.normalizer.to_dict(),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return SeriesData(_config(), folder, manifest)


def test_origins_end_at_the_series_end_and_too_many_are_refused() -> None:
    assert origin_starts(100, 4, 10) == [60, 70, 80, 90]
    with pytest.raises(
        ValueError, match="backtest: 11 origins × horizon 10 = 110 steps exceed the 100 values"
    ):
        origin_starts(100, 11, 10)


def test_a_view_at_an_origin_is_fitted_on_the_values_before_it_only(tmp_path: Path) -> None:
    values = _values()
    data = _prepared(tmp_path / "a", values)
    view = data.at_origin(180, 190)
    assert view.manifest["split_index"] == 180 and view.arrays["values"].size == 190
    np.testing.assert_array_equal(view.arrays["test_target_index"][:, 0], np.arange(180, 190))
    assert Normalizer(view.mean, view.std) == Normalizer.fit(values[:180])
    assert view.arrays["validation_target_index"].max() < 180
    # Another future (values from the origin on) changes nothing the view fits on.
    future = values.copy()
    future[180:] += 50.0
    other = _prepared(tmp_path / "b", future).at_origin(180, 190)
    for name in ("x_train", "y_train", "x_validation", "y_validation"):
        np.testing.assert_array_equal(view.arrays[name], other.arrays[name])
    assert view.hybrid_baseline.to_dict() == other.hybrid_baseline.to_dict()
    np.testing.assert_array_equal(view.inputs("train"), other.inputs("train"))
    # The prepared data itself is untouched.
    assert data.manifest["split_index"] == SPLIT and data.arrays["values"].size == LENGTH


class Persistence:
    """A stand-in model: forecasts each window's last value (in the normalised units of its view)."""

    def __init__(self) -> None:
        self.fitted_on: list[int] = []

    def fit(self, view: SeriesData, folder: Path) -> int:
        self.fitted_on.append(int(view.manifest["split_index"]))
        return int(view.manifest["split_index"])

    @staticmethod
    def predict(view: SeriesData, model: int) -> np.ndarray:
        assert model <= int(view.manifest["split_index"])  # an aged model predicts later origins
        return np.asarray(view.arrays["x_test"][:, -1:])


def test_rolling_origin_refits_every_k_origins_and_scores_every_baseline_at_each(tmp_path: Path) -> None:
    data = _prepared(tmp_path / "a", _values())
    model = Persistence()
    result = rolling_origin(
        data, model.fit, model.predict, origins=4, block=10, refit=2, workdir=tmp_path, log=lambda _: None
    )
    assert result.origins == [200, 210, 220, 230]
    assert model.fitted_on == [200, 220]  # refit at origins 1 and 3; origins 2 and 4 use the aged fit
    assert result.fitted_at == ["200", "200", "220", "220"]
    assert set(result.errors) >= {MODEL, "persistence", "climatology_trend_ar"}
    for blocks in result.errors.values():
        assert [block.shape for block in blocks] == [(10, 1)] * 4
    # Persistence as the model gives persistence's errors, whichever origin's normalisation it used.
    for mine, theirs in zip(result.errors[MODEL], result.errors["persistence"], strict=True):
        np.testing.assert_allclose(mine, theirs, atol=1e-9)
    summary = result.summary()
    assert summary["mae_model"] == pytest.approx(summary["mae"]["persistence"])
    assert summary["best_baseline"] == min(
        (name for name in summary["mae"] if name != MODEL), key=lambda name: summary["mae"][name]
    )
    assert summary["best_baseline"] != "persistence"  # the seasonal baselines beat it on a seasonal series
    assert summary["skill"] < 0 and summary["origins_won"] < 4 and 0 <= summary["dm_p_value"] <= 1
    table = result.table()
    assert len(table) == 4 * len(result.errors) and table[0]["origin"] == "200"


def test_summary_reads_skill_standard_error_and_wins_from_the_errors() -> None:
    rng = np.random.default_rng(3)
    baseline = [rng.normal(scale=1.0, size=(50, 1)) for _ in range(10)]
    weak = [rng.normal(scale=2.0, size=(50, 1)) for _ in range(10)]
    better = [block * 0.8 for block in baseline]  # 20% smaller errors at every step
    labels = [f"20{number:02d}-01" for number in range(10)]
    result = Backtest(origins=list(range(10)), labels=labels, fitted_at=labels)
    for number in range(10):
        result.add(MODEL, better[number])
        result.add("climatology", baseline[number])
        result.add("persistence", weak[number])
    summary = result.summary()
    assert summary["best_baseline"] == "climatology"
    assert summary["skill"] == pytest.approx(0.2)
    assert summary["origins_won"] == 10 and summary["dm_p_value"] < 1e-6
    assert summary["mae_difference_se"] > 0
    sentence = describe(summary, "variant none · hybrid gru(8)", "°C")
    assert "backtest over 10 origins (2000-01 .. 2009-01)" in sentence
    assert "better at 10 of 10 origins" in sentence and ", significant)" in sentence


def test_the_best_variant_is_chosen_on_validation_loss_never_on_a_test_score() -> None:
    def fit(val_loss: float) -> VariantFit:
        return VariantFit(
            hyperparameters={},
            best_epoch=1,
            epochs_run=1,
            best_metrics={"val_loss": val_loss},
            history={},
            stopped_early=False,
            terminated_on_nan=False,
        )

    summary = TrainSummary(
        best_hyperparameters={}, variants={"none": fit(0.30), "dropout": fit(0.25), "both": fit(0.25)}
    )
    assert chosen_variant(summary) == "dropout"  # least validation loss; ties: the first trained


def test_hybrid_training_rows_read_a_baseline_fitted_before_the_validation_period(tmp_path: Path) -> None:
    values = _values()
    data = _prepared(tmp_path / "a", values)
    first_validation = int(data.arrays["validation_target_index"].min())
    changed = values.copy()
    changed[first_validation:SPLIT] += 5.0  # another validation period, the same training part before it
    other = _prepared(tmp_path / "b", changed)
    assert data.fit_baseline.to_dict() == other.fit_baseline.to_dict()
    assert data.hybrid_baseline.to_dict() != other.hybrid_baseline.to_dict()  # the test rows' baseline
    # the training rows' baseline forecast, in real units (normalisation is the training period's)
    forecasts = [series.inputs("train")[:, -1] * series.std + series.mean for series in (data, other)]
    np.testing.assert_allclose(forecasts[0], forecasts[1], rtol=1e-5)


def test_a_short_series_gets_the_origins_that_leave_half_of_it_for_the_first_fit() -> None:
    from seqlab.backtest import origins_that_fit

    assert origins_that_fit(840, 12, 12) == 12  # GISS: 144 of 840 months
    assert origins_that_fit(108, 12, 12) == 4  # a ten-year station: 4 yearly origins over its last half
    assert origins_that_fit(30, 12, 12) == 1  # too few: the stage then writes origins 0 and says why
