"""Series model inputs: calendar features, the anchored/calendar stem of the builder, and input selection."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from seqlab.config import resolve
from seqlab.datasets import SeriesDataset
from seqlab.modalities.series import CALENDAR_HARMONICS_MAX, SeriesData, model_inputs
from seqlab.models import ColumnSlice, ShiftByAnchor, WindowAnchor, build_series_model
from seqlab.prep.series import calendar_features

WINDOW = 6


def test_calendar_features_are_harmonics_of_the_season_phase() -> None:
    features = calendar_features(np.array([0, 3, 6, 9]), 12, 2)
    assert features.shape == (4, 4)
    np.testing.assert_allclose(features[:, 0], [0.0, 1.0, 0.0, -1.0], atol=1e-12)  # sin(2π·m/12)
    np.testing.assert_allclose(features[:, 1], [1.0, 0.0, -1.0, 0.0], atol=1e-12)  # cos
    np.testing.assert_allclose(features[:, 2], [0.0, 0.0, 0.0, 0.0], atol=1e-12)  # sin(4π·m/12)
    np.testing.assert_allclose(features[:, 3], [1.0, -1.0, 1.0, -1.0], atol=1e-12)
    assert calendar_features(np.array([1, 2]), 12, 0).shape == (2, 0)


@pytest.mark.parametrize(
    ("keys", "count", "harmonics", "message"),
    [
        (np.array([0, 12]), 12, 1, "season_keys: values must lie in 0..11"),
        (np.array([-1]), 12, 1, "season_keys: values must lie in 0..11"),
        (np.array([0.5]), 12, 1, "season_keys: expected a 1-D integer array"),
        (np.array([0]), 0, 1, "season_count"),
        (np.array([0]), 12, -1, "harmonics"),
    ],
)
def test_calendar_features_reject_bad_input(
    keys: np.ndarray, count: int, harmonics: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        calendar_features(keys, count, harmonics)


def test_anchored_model_is_shift_equivariant() -> None:
    """Relative to the last value, adding a constant to a window adds it to the forecast."""
    model = build_series_model("gru", WINDOW, 2, units=4, anchor="last", seed=0)
    x = np.random.default_rng(0).normal(size=(5, WINDOW)).astype("float32")
    base = model.predict(x, verbose=0)
    shifted = model.predict(x + 7.5, verbose=0)
    np.testing.assert_allclose(shifted, base + 7.5, atol=1e-4)
    plain = build_series_model("gru", WINDOW, 2, units=4, seed=0)
    assert not np.allclose(plain.predict(x + 7.5, verbose=0), plain.predict(x, verbose=0) + 7.5, atol=1e-3)


def test_mean_anchor_and_calendar_inputs_change_the_forecast() -> None:
    model = build_series_model("dense", WINDOW, 1, units=4, anchor="mean", calendar_harmonics=2, seed=1)
    assert model.input_shape == (None, WINDOW + 4)
    rng = np.random.default_rng(1)
    window = rng.normal(size=(3, WINDOW)).astype("float32")
    winter = np.concatenate([window, np.tile([0.0, 1.0, 0.0, 1.0], (3, 1))], axis=1).astype("float32")
    summer = np.concatenate([window, np.tile([0.0, -1.0, 0.0, 1.0], (3, 1))], axis=1).astype("float32")
    assert not np.allclose(model.predict(winter, verbose=0), model.predict(summer, verbose=0))
    # The calendar columns are not part of the level: shifting only the window shifts the forecast.
    moved = winter.copy()
    moved[:, :WINDOW] += 3.0
    np.testing.assert_allclose(
        model.predict(moved, verbose=0), model.predict(winter, verbose=0) + 3.0, atol=1e-4
    )


def test_anchored_calendar_model_saves_and_loads(tmp_path: Path) -> None:
    model = build_series_model("lstm", WINDOW, 1, units=4, anchor="last", calendar_harmonics=1, seed=2)
    x = np.random.default_rng(2).normal(size=(4, WINDOW + 2)).astype("float32")
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    kinds = {type(layer) for layer in loaded.layers}
    assert {ColumnSlice, WindowAnchor, ShiftByAnchor} <= kinds


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"anchor": "first"}, "anchor must be one of none, last, mean"),
        ({"calendar_harmonics": -1}, "calendar_harmonics must be an integer >= 0"),
        ({"calendar_harmonics": 1.5}, "calendar_harmonics must be an integer >= 0"),
        ({"anchor": "last", "mask_value": -9.0}, "cannot be combined with mask_value"),
    ],
)
def test_builder_rejects_bad_stem_arguments(arguments: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_series_model("dense", WINDOW, **arguments)  # type: ignore[arg-type]


def test_layers_reject_bad_configuration() -> None:
    with pytest.raises(ValueError, match="stop must be an integer > start"):
        ColumnSlice(3, 3)
    with pytest.raises(ValueError, match="mode must be one of last, mean"):
        WindowAnchor("none")
    with pytest.raises(ValueError, match="sign must be -1 or 1"):
        ShiftByAnchor(0)


def _config() -> SeriesDataset:
    """A tiny synthetic dataset's configuration (SeriesData reads its seasons from the manifest, not it)."""
    source = {"n_points": 10, "baseline": 0.0, "slope": 0.0, "amplitude": 1.0, "noise_level": 0.0, "seed": 0}
    raw = {
        "datasets": {"toy": {"source": {"kind": "synthetic", **source, "period": 4}, "split_index": 6}},
        "defaults": {
            "synthetic": {
                "source": {},
                "prepare": {"window_size": 3, "validation_fraction": 0.1},
                "baselines": {"ar_order": 1},
                "tuning": {"space": {"units": {"value": 4}}},
                "training": {"variants": {"none": {}}},
            }
        },
    }
    config = resolve(raw).dataset("toy")
    assert isinstance(config, SeriesDataset)
    return config


def _series(folder: Path, season: tuple[str, int], dates: list[str] | None, split: int = 6) -> SeriesData:
    """A prepared folder as the series modality writes it (test split only), read back as SeriesData."""
    values = np.arange(split + 4, dtype="float64")
    target_index = np.array([[split], [split + 1], [split + 2]])
    folder.mkdir()
    np.savez(
        folder / "windows.npz",
        values=values,
        x_test=np.stack([values[i - 3 : i] for i in target_index[:, 0]]),
        test_target_index=target_index,
    )
    if dates is not None:
        (folder / "dates.txt").write_text("\n".join(dates) + "\n", encoding="utf-8")
    manifest = {
        "season": {"kind": season[0], "count": season[1]},
        "params": {"window_size": 3, "horizon": 1},
        "split_index": split,
        "normalization": {"mean": 1.0, "std": 2.0},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return SeriesData(_config(), folder, manifest)


def test_inputs_append_the_targets_calendar_and_model_inputs_select_from_them(tmp_path: Path) -> None:
    series = _series(tmp_path / "toy", ("periodic", 4), None)
    assert (series.season_kind, series.season_count, series.dates) == ("periodic", 4, None)
    rows = series.inputs("test")
    calendar_end = 3 + 2 * CALENDAR_HARMONICS_MAX
    assert rows.shape == (3, calendar_end + 3 + 1)  # window, calendar, baseline residuals, baseline forecast
    # Targets 6, 7, 8 have phases 2/4, 3/4, 0/4 of the period.
    np.testing.assert_allclose(rows[:, 3], np.sin(2 * np.pi * np.array([2, 3, 0]) / 4), atol=1e-6)
    np.testing.assert_allclose(rows[:, 4], np.cos(2 * np.pi * np.array([2, 3, 0]) / 4), atol=1e-6)
    np.testing.assert_array_equal(model_inputs(rows, {"window_size": 2}, 1), rows[:, 1:3])
    chosen = model_inputs(rows, {"window_size": 2, "calendar_harmonics": 1}, 1)
    np.testing.assert_array_equal(chosen, np.concatenate([rows[:, 1:3], rows[:, 3:5]], axis=1))
    np.testing.assert_array_equal(model_inputs(rows, {}, 1), rows[:, :3])
    assert model_inputs(rows, None, 1) is rows
    hybrid = model_inputs(rows, {"window_size": 2, "calendar_harmonics": 1, "anchor": "baseline"}, 1)
    residuals = rows[:, calendar_end + 1 : calendar_end + 3]
    np.testing.assert_array_equal(hybrid, np.concatenate([residuals, rows[:, 3:5], rows[:, -1:]], axis=1))
    with pytest.raises(ValueError, match="calendar_harmonics: at most"):
        model_inputs(rows, {"calendar_harmonics": CALENDAR_HARMONICS_MAX + 1}, 1)


def test_hybrid_rows_carry_the_reported_baseline_and_an_untrained_hybrid_forecasts_it(
    tmp_path: Path,
) -> None:
    """The baseline column is exactly climatology_trend_ar's test forecast, normalised; zero correction."""
    from seqlab.baselines import climatology_ar

    series = _series(tmp_path / "toy", ("periodic", 4), None)
    values = np.arange(10, dtype="float64") + np.array([0.0, 2.0, -1.0, 0.5] * 3)[:10]
    np.savez(tmp_path / "toy" / "windows.npz", **{**dict(series.arrays), "values": values})
    series = SeriesData(_config(), tmp_path / "toy", series.manifest)
    rows = series.inputs("test")
    reported = climatology_ar(values, np.array([[6], [7], [8]]), series.season_keys, 6, order=1, trend=True)
    np.testing.assert_allclose(rows[:, -1:] * 2.0 + 1.0, reported, atol=1e-5)
    hyperparameters = {"window_size": 2, "calendar_harmonics": 1, "anchor": "baseline"}
    model = build_series_model("gru", 2, 1, units=4, calendar_harmonics=1, anchor="baseline", seed=0)
    np.testing.assert_allclose(
        model.predict(model_inputs(rows, hyperparameters, 1), verbose=0), rows[:, -1:], atol=1e-6
    )


def test_monthly_calendar_comes_from_the_dates(tmp_path: Path) -> None:
    # Two training years (the baseline's trend needs each month twice); target 24 is 2019-09.
    dates = [f"{2017 + (month - 1) // 12}-{(month - 1) % 12 + 1:02d}" for month in range(9, 37)]
    series = _series(tmp_path / "toy", ("monthly", 12), dates, split=24)
    assert series.dates == dates
    rows = series.inputs("test")
    months = np.array([8, 9, 10])  # September, October, November as 0-based months
    np.testing.assert_allclose(rows[:, 3], np.sin(2 * np.pi * months / 12), atol=1e-6)
