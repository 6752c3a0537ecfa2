"""The modalities on hand-made parsed data: series and image preparation written and read back, and metrics.

Each dataset's configuration is resolved from a small params mapping (``datasets:`` + ``defaults:``) the
way params.yaml is, so only the keys a test is about are spelled out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from seqlab.config import resolve
from seqlab.data.mnist import MnistFiles, MnistSplit
from seqlab.data.series_common import ParsedSeries
from seqlab.datasets import DatasetConfig, ImageDataset, SeriesDataset
from seqlab.evaluation import multiclass_metrics
from seqlab.modalities import modality, read_manifest
from seqlab.modalities.images import IMAGE, ImageData
from seqlab.modalities.series import CALENDAR_HARMONICS_MAX, SERIES, SeriesData
from seqlab.paths import ProjectPaths

NAME = "toy"
TUNING = {"space": {"units": {"value": 4}}}
TRAINING = {"variants": {"none": {}}}
SERIES_DEFAULTS = {
    "source": {},
    "prepare": {"window_size": 6, "validation_fraction": 0.2},
    "baselines": {"ar_order": 1},
    "tuning": TUNING,
    "training": TRAINING,
}
IMAGE_DEFAULTS = {
    "source": {},
    "prepare": {"train_images": 100, "test_images": 60, "validation_fraction": 0.2, "seed": 0},
    "baselines": {"logistic_c": 1.0, "dense_units": 8, "dense_max_epochs": 5},
    "tuning": TUNING,
    "training": TRAINING,
}
PERIOD = 7  # the season length of the "other" series


def _resolve(kind: str, entry: dict[str, Any], defaults: dict[str, Any]) -> DatasetConfig:
    return resolve({"datasets": {NAME: entry}, "defaults": {kind: defaults}}).dataset(NAME)


def series_config(frequency: str, **protocol: Any) -> SeriesDataset:
    """A csv_series dataset of ``frequency`` (its season comes from the frequency, or the period)."""
    source: dict[str, Any] = {"kind": "csv_series", "path": "series.csv", "value_column": "value"}
    source["frequency"] = frequency
    if frequency == "other":
        source["period"] = PERIOD
    else:
        source["date_column"] = "date"
    config = _resolve("csv_series", {"source": source, **protocol}, SERIES_DEFAULTS)
    assert isinstance(config, SeriesDataset)
    return config


def parsed_series(frequency: str, size: int, start: str = "2000-01-01") -> ParsedSeries:
    """A wavy series with a trend: "D" (daily), "MS" (monthly) or "other" (positions only)."""
    steps = np.arange(size, dtype=np.float64)
    values = 10.0 + 0.01 * steps + 3.0 * np.sin(2 * np.pi * steps / PERIOD)
    index: Any = (
        pd.RangeIndex(size) if frequency == "other" else pd.date_range(start, periods=size, freq=frequency)
    )
    series = pd.Series(values, index=index)
    return ParsedSeries(values=series, source=Path("series.csv"), frequency=frequency, missing=2, filled=1)


def prepare_series(root: Path, config: SeriesDataset, parsed: ParsedSeries) -> tuple[dict[str, Any], Any]:
    """Run SERIES.prepare into ``root``'s prepared folder and load it back as the stages do."""
    paths = ProjectPaths.at(root)
    folder = paths.prepared_dir(config.name)
    folder.mkdir(parents=True)
    messages: list[str] = []
    manifest = SERIES.prepare(config, parsed, folder, messages.append)
    assert messages and messages[-1].startswith(f"{NAME}: ")
    assert read_manifest(folder) == json.loads(json.dumps(manifest))
    data = modality(config).load(config, paths)
    assert isinstance(data, SeriesData)
    return manifest, data


# --------------------------------------------------------------------------- series


def test_daily_series_is_split_normalised_on_train_and_read_back_with_its_dates(tmp_path: Path) -> None:
    parsed = parsed_series("D", 200, start="2019-12-01")
    config = series_config("daily", test_size=30)
    manifest, data = prepare_series(tmp_path, config, parsed)
    values = parsed.values.to_numpy()

    assert manifest["season"] == {"kind": "daily", "count": 365}
    assert (data.season_kind, data.season_count) == ("daily", 365)
    assert manifest["split_index"] == 170
    assert manifest["series"]["count"] == 200
    assert (manifest["series"]["missing_in_raw"], manifest["series"]["filled_by_gap_policy"]) == (2, 1)
    assert manifest["series"]["train_period"] == {"first": "2019-12-01", "last": "2020-05-18", "count": 170}
    assert manifest["series"]["test_period"] == {"first": "2020-05-19", "last": "2020-06-17", "count": 30}
    assert data.dates == [stamp.strftime("%Y-%m-%d") for stamp in parsed.values.index]
    assert data.mean == pytest.approx(values[:170].mean(), rel=1e-12)
    assert data.std == pytest.approx(values[:170].std(), rel=1e-12)
    np.testing.assert_array_equal(data.arrays["values"], values)
    assert manifest["windows"]["test"] == 30
    np.testing.assert_allclose(data.arrays["y_test"][:, 0] * data.std + data.mean, values[170:], rtol=1e-12)
    # 29 February 2020 shares 28 February's key, so a calendar date always has the same season.
    keys = dict(zip(data.dates, data.season_keys.tolist(), strict=True))
    assert keys["2020-02-29"] == keys["2020-02-28"] == 58 and keys["2020-03-01"] == 59

    x_train, y_train, x_validation, y_validation = data.fit_arrays()
    # window, calendar, then the hybrids' columns: the baseline's residuals over the window and forecast
    assert x_train.shape[1] == x_validation.shape[1] == 6 + 2 * CALENDAR_HARMONICS_MAX + 6 + 1
    assert len(x_train) == len(y_train) and len(x_validation) == len(y_validation) > 0
    assert len(x_train) + len(x_validation) == 170 - 6
    assert x_train.dtype == np.float32 and y_train.dtype == np.float32
    last_validation_target = int(data.arrays["validation_target_index"][-1, 0])
    assert last_validation_target == 169  # validation is the end of the training period, before the test


def test_monthly_series_is_cut_to_the_start_and_end_dates(tmp_path: Path) -> None:
    parsed = parsed_series("MS", 120)  # 2000-01 .. 2009-12
    config = series_config("monthly", start_date="2001-01-01", end_date="2008-12-01", test_size=12)
    manifest, data = prepare_series(tmp_path, config, parsed)

    assert manifest["season"] == {"kind": "monthly", "count": 12}
    assert (data.season_kind, data.season_count) == ("monthly", 12)
    assert manifest["series"]["count"] == 96
    assert manifest["split_index"] == 84
    assert manifest["series"]["train_period"] == {"first": "2001-01", "last": "2007-12", "count": 84}
    assert manifest["series"]["test_period"] == {"first": "2008-01", "last": "2008-12", "count": 12}
    assert data.dates is not None and (data.dates[0], data.dates[-1], len(data.dates)) == (
        "2001-01",
        "2008-12",
        96,
    )
    np.testing.assert_array_equal(data.arrays["values"], parsed.values.to_numpy()[12:108])
    np.testing.assert_array_equal(data.season_keys, np.tile(np.arange(12), 8))
    assert data.test_fingerprint() == data.test_fingerprint()


def test_other_series_has_positions_and_the_sources_period(tmp_path: Path) -> None:
    parsed = parsed_series("other", 100)
    config = series_config("other", split_index=80)
    manifest, data = prepare_series(tmp_path, config, parsed)

    assert manifest["season"] == {"kind": "periodic", "count": PERIOD}
    assert (data.season_kind, data.season_count) == ("periodic", PERIOD)
    assert data.dates is None
    assert not (data.folder / "dates.txt").exists()
    assert manifest["series"]["train_period"] == {"first": "0", "last": "79", "count": 80}
    assert manifest["series"]["test_period"] == {"first": "80", "last": "99", "count": 20}
    np.testing.assert_array_equal(data.season_keys, np.arange(100) % PERIOD)
    # The calendar features of a test row are the phase of its target in the period.
    rows = data.inputs("test")
    targets = data.arrays["test_target_index"][:, 0]
    np.testing.assert_allclose(rows[:, 6], np.sin(2 * np.pi * (targets % PERIOD) / PERIOD), atol=1e-6)


@pytest.mark.parametrize(
    ("frequency", "code", "dated"),
    [("daily", "D", {}), ("monthly", "MS", {"start_date": "2000-03-01"}), ("other", "other", {})],
)
def test_test_size_and_split_index_give_the_same_split(
    tmp_path: Path, frequency: str, code: str, dated: dict[str, str]
) -> None:
    parsed = parsed_series(code, 90)
    size = 90 - (2 if dated else 0)  # the start date drops two months
    by_size, _ = prepare_series(tmp_path / "size", series_config(frequency, test_size=15, **dated), parsed)
    by_index, _ = prepare_series(
        tmp_path / "index", series_config(frequency, split_index=size - 15, **dated), parsed
    )
    assert by_size["split_index"] == by_index["split_index"] == size - 15
    assert by_size["arrays"] == by_index["arrays"]  # every prepared array, by content hash
    assert by_size["series"] == by_index["series"]
    assert by_size["normalization"] == by_index["normalization"]


@pytest.mark.parametrize("key", ["start_date", "end_date"])
def test_a_date_on_a_series_without_dates_raises_naming_the_key(tmp_path: Path, key: str) -> None:
    config = series_config("other", split_index=80, **{key: "2020-01-01"})
    parsed = parsed_series("other", 100)
    message = rf"datasets\.{NAME}\.{key}: this series has no dates; use split_index"
    with pytest.raises(ValueError, match=message):
        SERIES.check(config, parsed)
    with pytest.raises(ValueError, match=message):
        SERIES.prepare(config, parsed, tmp_path, lambda _: None)
    assert list(tmp_path.iterdir()) == []


def test_check_accepts_a_test_period_that_fits() -> None:
    SERIES.check(series_config("daily", test_size=30), parsed_series("D", 200))
    SERIES.check(series_config("other", split_index=1), parsed_series("other", 2))


@pytest.mark.parametrize(
    ("protocol", "message"),
    [
        (
            {"test_size": 500},
            r"datasets\.toy\.test_size: 500 leaves no training or no test values in the 200",
        ),
        ({"test_size": 200}, r"datasets\.toy\.test_size: 200 leaves no training"),
        ({"split_index": 200}, r"datasets\.toy\.split_index: 200 leaves no training or no test values"),
        # counted between the start and end dates, not in the whole record
        (
            {"test_size": 50, "start_date": "2000-01-01", "end_date": "2000-02-19"},
            r"datasets\.toy\.test_size: 50 leaves .* in the 50 values between start_date and end_date",
        ),
        (
            {"test_size": 5, "start_date": "2001-01-01"},
            r"datasets\.toy: no values between start_date 2001-01-01 and end_date None "
            r"\(the data runs 2000-01-01 \.\. 2000-07-18\)",
        ),
    ],
)
def test_check_rejects_a_test_period_the_data_cannot_hold(
    tmp_path: Path, protocol: dict[str, Any], message: str
) -> None:
    config = series_config("daily", **protocol)
    parsed = parsed_series("D", 200)
    with pytest.raises(ValueError, match=message):
        SERIES.check(config, parsed)
    with pytest.raises(ValueError, match=message):
        SERIES.prepare(config, parsed, tmp_path, lambda _: None)


def test_describe_summarises_dated_and_positional_series() -> None:
    daily = SERIES.describe(series_config("daily", test_size=30), parsed_series("D", 200))
    assert daily["frequency"] == "daily" and daily["valid_records"] == 200
    assert (daily["first_date"], daily["last_date"]) == ("2000-01-01", "2000-07-18")
    assert (daily["missing"], daily["filled_by_gap_policy"]) == (2, 1)
    other = SERIES.describe(series_config("other", split_index=80), parsed_series("other", 100))
    assert other["frequency"] == "other"
    assert (other["first_index"], other["last_index"]) == (0, 99)
    assert "first_date" not in other


def test_a_series_modality_refuses_another_modalitys_dataset(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=f"{NAME} is not a series dataset"):
        SERIES.prepare(image_config(), parsed_series("D", 50), tmp_path, lambda _: None)


# --------------------------------------------------------------------------- images

CLASSES = 10


def image_config(**prepare: Any) -> ImageDataset:
    config = _resolve("mnist_rows", {"source": {"kind": "mnist_rows"}, "prepare": prepare}, IMAGE_DEFAULTS)
    assert isinstance(config, ImageDataset)
    return config


def images_split(count: int, seed: int) -> MnistSplit:
    """``count`` random 4x4 images, the same number of each of the 10 labels (some pixels 0 and 255)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(count, 4, 4), dtype=np.uint8)
    images[:, 0, 0], images[:, 0, 1] = 0, 255
    labels = np.tile(np.arange(CLASSES, dtype=np.uint8), count // CLASSES)
    return MnistSplit(images=images, labels=rng.permutation(labels))


def prepare_images(root: Path, config: ImageDataset, parsed: MnistFiles) -> tuple[dict[str, Any], ImageData]:
    paths = ProjectPaths.at(root)
    folder = paths.prepared_dir(config.name)
    folder.mkdir(parents=True)
    messages: list[str] = []
    manifest = IMAGE.prepare(config, parsed, folder, messages.append)
    assert messages and messages[-1].startswith(f"{NAME}: {manifest['protocol']}: ")
    data = modality(config).load(config, paths)
    assert isinstance(data, ImageData)
    return manifest, data


def per_class(labels: np.ndarray) -> list[int]:
    return np.bincount(labels, minlength=CLASSES).tolist()


def test_test_set_protocol_splits_stratified_and_carves_validation(tmp_path: Path) -> None:
    parsed = MnistFiles(test=images_split(200, seed=0), train=None)
    manifest, data = prepare_images(tmp_path, image_config(), parsed)

    assert manifest["protocol"] == "test_set_split"
    assert manifest["classes"] == data.classes == CLASSES
    assert manifest["image_shape"] == [4, 4]
    assert manifest["scaling"] == "pixels / 255"
    # 100 training images (20% of them validation) and 60 test images, 1/10 of each split per class
    expected = {"train": [8] * CLASSES, "validation": [2] * CLASSES, "test": [6] * CLASSES}
    for split, counts in expected.items():
        assert manifest["counts"][split] == {"total": sum(counts), "per_class": counts}
        assert per_class(data.arrays[f"y_{split}"]) == counts
    # The three splits are different images of the official test file, each with its own label.
    positions = {split: data.arrays[f"index_{split}"] for split in expected}
    assert sum(len(set(index.tolist())) for index in positions.values()) == 160
    assert len(set().union(*(set(index.tolist()) for index in positions.values()))) == 160
    for split, index in positions.items():
        np.testing.assert_array_equal(data.arrays[f"x_{split}"], parsed.test.images[index])
        np.testing.assert_array_equal(data.arrays[f"y_{split}"], parsed.test.labels[index])

    x_train, y_train, x_validation, y_validation = data.fit_arrays()
    assert x_train.shape == (80, 4, 4) and x_validation.shape == (20, 4, 4)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int32
    for split in ("train", "validation", "test"):
        scaled = data.images(split)
        assert scaled.dtype == np.float32
        assert scaled.min() == 0.0 and scaled.max() == 1.0
        np.testing.assert_allclose(scaled, data.arrays[f"x_{split}"] / 255.0, rtol=1e-6)


def test_subset_keeps_a_stratified_share_of_each_split(tmp_path: Path) -> None:
    parsed = MnistFiles(test=images_split(200, seed=1), train=None)
    manifest, data = prepare_images(tmp_path, image_config(subset=50), parsed)
    assert manifest["counts"]["train"]["per_class"] == [4] * CLASSES
    assert manifest["counts"]["validation"]["per_class"] == [1] * CLASSES
    assert manifest["counts"]["test"]["per_class"] == [5] * CLASSES
    assert len(data.images("test")) == 50


def test_official_protocol_uses_both_files_whole(tmp_path: Path) -> None:
    parsed = MnistFiles(test=images_split(60, seed=2), train=images_split(150, seed=3))
    manifest, data = prepare_images(tmp_path, image_config(), parsed)
    assert manifest["protocol"] == "official"
    assert manifest["counts"]["train"]["total"] + manifest["counts"]["validation"]["total"] == 150
    assert manifest["counts"]["validation"]["per_class"] == [3] * CLASSES
    np.testing.assert_array_equal(np.sort(data.arrays["index_test"]), np.arange(60))
    np.testing.assert_array_equal(data.arrays["x_test"], parsed.test.images[data.arrays["index_test"]])
    train_positions = np.concatenate([data.arrays["index_train"], data.arrays["index_validation"]])
    np.testing.assert_array_equal(np.sort(train_positions), np.arange(150))
    np.testing.assert_array_equal(data.arrays["x_train"], parsed.train.images[data.arrays["index_train"]])


def test_fingerprint_is_stable_and_covers_the_test_pixels_only(tmp_path: Path) -> None:
    config = image_config()
    parsed = MnistFiles(test=images_split(200, seed=4), train=None)
    _, first = prepare_images(tmp_path / "a", config, parsed)
    _, again = prepare_images(tmp_path / "b", config, parsed)
    assert first.test_fingerprint() == again.test_fingerprint()
    assert len(first.test_fingerprint()) == 64

    def with_pixel_changed(position: int) -> MnistFiles:
        images = parsed.test.images.copy()
        images[position, 2, 2] ^= 0xFF
        return MnistFiles(test=MnistSplit(images=images, labels=parsed.test.labels), train=None)

    test_position = int(first.arrays["index_test"][0])
    _, changed = prepare_images(tmp_path / "c", config, with_pixel_changed(test_position))
    assert changed.test_fingerprint() != first.test_fingerprint()
    train_position = int(first.arrays["index_train"][0])
    _, trained_on = prepare_images(tmp_path / "d", config, with_pixel_changed(train_position))
    assert trained_on.test_fingerprint() == first.test_fingerprint()


def test_check_rejects_more_images_than_the_test_set_holds(tmp_path: Path) -> None:
    config = image_config(train_images=150, test_images=100)
    parsed = MnistFiles(test=images_split(200, seed=5), train=None)
    message = rf"datasets\.{NAME}\.prepare: train_images \+ test_images = 250 exceeds the 200 images"
    with pytest.raises(ValueError, match=message):
        IMAGE.check(config, parsed)
    with pytest.raises(ValueError, match=message):
        IMAGE.prepare(config, parsed, tmp_path, lambda _: None)
    assert list(tmp_path.iterdir()) == []
    # With the official training file the two numbers do not apply.
    IMAGE.check(config, MnistFiles(test=parsed.test, train=images_split(100, seed=6)))


def test_describe_counts_digits_per_split() -> None:
    parsed = MnistFiles(test=images_split(200, seed=7), train=None)
    summary = IMAGE.describe(image_config(), parsed)
    assert summary["valid_records"] == 200
    assert summary["image_shape"] == [4, 4]
    assert summary["test"]["digit_counts"] == {str(digit): 20 for digit in range(CLASSES)}
    assert summary["protocol"] == "stratified split of the test set"
    assert "train" not in summary


# --------------------------------------------------------------------------- multiclass metrics


def test_multiclass_metrics_of_perfect_predictions() -> None:
    labels = np.tile(np.arange(CLASSES), 3)
    metrics = multiclass_metrics(labels, np.eye(CLASSES)[labels])
    assert set(metrics) == {"test_accuracy", "test_macro_f1", "test_log_loss"}
    assert metrics["test_accuracy"] == 1.0
    assert metrics["test_macro_f1"] == pytest.approx(1.0)
    assert metrics["test_log_loss"] == pytest.approx(0.0, abs=1e-5)


def test_multiclass_metrics_of_uniform_predictions() -> None:
    labels = np.tile(np.arange(CLASSES), 3)
    metrics = multiclass_metrics(labels, np.full((labels.size, CLASSES), 1 / CLASSES))
    assert metrics["test_log_loss"] == pytest.approx(np.log(CLASSES))
    assert metrics["test_accuracy"] == pytest.approx(1 / CLASSES)  # argmax picks class 0 every time
    # F1 of class 0: precision 1/10, recall 1; every other class 0
    assert metrics["test_macro_f1"] == pytest.approx((2 * 0.1 / 1.1) / CLASSES)


def test_multiclass_metrics_count_classes_never_predicted() -> None:
    labels = np.array([0, 1, 2, 2])
    probabilities = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]])
    metrics = multiclass_metrics(labels, probabilities)
    assert metrics["test_accuracy"] == pytest.approx(0.75)
    assert metrics["test_macro_f1"] == pytest.approx((1.0 + 2 / 3 + 2 / 3) / 3)


@pytest.mark.parametrize(
    ("labels", "probabilities", "message"),
    [
        (np.arange(4), np.full(4, 0.25), r"probabilities: expected shape \[4, classes\], got \(4,\)"),
        (np.arange(4), np.full((3, 4), 0.25), r"probabilities: expected shape \[4, classes\], got \(3, 4\)"),
        (np.arange(4), np.full((4, 2, 2), 0.25), r"probabilities: expected shape \[4, classes\]"),
        (np.array([0, 1, 2, 3]), np.full((4, 3), 1 / 3), r"y_true: labels must lie in 0\.\.2"),
        (np.array([0, -1, 1, 2]), np.full((4, 3), 1 / 3), r"y_true: labels must lie in 0\.\.2"),
        (
            np.arange(3),
            np.array([[1.0, 0.0, 0.0], [np.nan, 0.5, 0.5], [0, 0, 1]]),
            "probabilities: contains NaN",
        ),
        (np.array([]), np.zeros((0, 3)), "y_true: expected at least one value"),
    ],
)
def test_multiclass_metrics_reject_bad_shapes_and_labels(
    labels: np.ndarray, probabilities: np.ndarray, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        multiclass_metrics(labels, probabilities)
