"""The served model (seqlab.serving) on hand-made prepared data and tiny Keras models.

The rows a served model builds from raw inputs must be exactly the prepared test rows evaluate scores:
each modality's input example (what a user sends) is turned into rows and compared bit for bit.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pandas as pd
import pytest

from seqlab import champion
from seqlab.config import resolve
from seqlab.data.imdb import Review
from seqlab.data.mnist import MnistFiles, MnistSplit
from seqlab.data.series_common import ParsedSeries
from seqlab.modalities import PreparedData, modality
from seqlab.modalities.series import model_inputs
from seqlab.paths import ProjectPaths
from seqlab.prep.series import calendar_features
from seqlab.serving.model import (
    InputError,
    check_spec,
    custom_objects,
    load_keras_model,
    output_columns,
    serving,
)

NAME = "toy"
TUNING = {"space": {"units": {"value": 4}}}
TRAINING: dict[str, Any] = {"variants": {"none": {}}}
SERIES_HYPERPARAMETERS = {
    "family": "dense",
    "units": 4,
    "window_size": 4,
    "calendar_harmonics": 2,
    "anchor": "last",
}
# A hybrid: the climatology + trend + AR baseline's forecast plus a correction (its residuals as inputs).
HYBRID_HYPERPARAMETERS = {**SERIES_HYPERPARAMETERS, "family": "gru", "anchor": "baseline"}


def _prepared(root: Path, kind: str, entry: dict[str, Any], defaults: dict[str, Any], parsed: Any) -> Any:
    config = resolve({"datasets": {NAME: entry}, "defaults": {kind: defaults}}).dataset(NAME)
    paths = ProjectPaths.at(root)
    folder = paths.prepared_dir(NAME)
    folder.mkdir(parents=True)
    modality(config).prepare(config, parsed, folder, lambda _: None)
    return modality(config).load(config, paths)


def series_data(
    root: Path, frequency: str, size: int | None = None, start: str = "2019-11-01", horizon: int = 1
) -> Any:
    """A prepared csv_series: "MS" monthly, "D" daily, "other" (positions, period 7).

    60 values, 800 of a daily one: the baseline's trend needs each season in training twice.
    """
    size = size or (800 if frequency == "D" else 60)
    source: dict[str, Any] = {"kind": "csv_series", "path": "series.csv", "value_column": "value"}
    if frequency == "other":
        source.update(frequency="other", period=7)
        index: Any = pd.RangeIndex(size)
    else:
        source.update(frequency="monthly" if frequency == "MS" else "daily", date_column="date")
        index = pd.date_range(start, periods=size, freq=frequency)
    steps = np.arange(size, dtype=np.float64)
    values = pd.Series(10.0 + 0.05 * steps + 3.0 * np.sin(2 * np.pi * steps / 7), index=index)
    parsed = ParsedSeries(values=values, source=Path("series.csv"), frequency=frequency, missing=0, filled=0)
    defaults = {
        "source": {},
        "prepare": {"window_size": 6, "horizon": horizon, "validation_fraction": 0.2},
        "baselines": {"ar_order": 1},
        "tuning": TUNING,
        "training": TRAINING,
    }
    return _prepared(root, "csv_series", {"source": source, "test_size": 10}, defaults, parsed)


@pytest.fixture(scope="module")
def monthly(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return series_data(tmp_path_factory.mktemp("monthly"), "MS")


@pytest.fixture(scope="module")
def daily(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return series_data(tmp_path_factory.mktemp("daily"), "D")


def spec_of(data: PreparedData, hyperparameters: dict[str, Any]) -> dict[str, Any]:
    """The spec as a registered model stores it (through JSON)."""
    spec = json.loads(json.dumps(champion.serving_spec(data, hyperparameters)))
    assert spec == champion.serving_spec(data, hyperparameters)
    return spec


# --------------------------------------------------------------------------- series


@pytest.mark.parametrize(
    ("frequency", "hyperparameters"),
    [
        ("MS", SERIES_HYPERPARAMETERS),
        ("D", SERIES_HYPERPARAMETERS),
        ("other", SERIES_HYPERPARAMETERS),
        ("MS", HYBRID_HYPERPARAMETERS),
        ("D", HYBRID_HYPERPARAMETERS),
        ("other", HYBRID_HYPERPARAMETERS),
    ],
)
def test_a_served_forecast_reads_exactly_evaluates_last_test_row(
    tmp_path: Path, frequency: str, hyperparameters: dict[str, Any]
) -> None:
    data = series_data(tmp_path, frequency)
    spec = spec_of(data, hyperparameters)
    assert spec["window_size"] == 4 != data.manifest["params"]["window_size"]  # the model's, not prepare's
    served = serving(spec, data.serving_files())
    history = data.input_example(hyperparameters)
    assert list(history.columns) == (["time", "value"] if frequency == "other" else ["date", "value"])

    rows, targets = served.rows(history)
    expected = model_inputs(data.inputs("test"), hyperparameters, data.horizon)[-1:]
    assert rows.dtype == expected.dtype == np.float32
    np.testing.assert_array_equal(rows, expected)  # bit for bit: window, normalisation, calendar
    last_target = int(data.arrays["test_target_index"][-1, 0])
    assert targets == [data.dates[last_target] if data.dates else last_target]

    model = data.builder()(**hyperparameters, seed=0)
    table = served.predict(model, history)
    evaluated = data.predict_test(model, hyperparameters)[-1, 0] * data.std + data.mean
    assert list(table.columns) == [history.columns[0], "step", "forecast"]
    assert table["step"].tolist() == [1]
    np.testing.assert_allclose(table["forecast"], [evaluated], rtol=1e-6)


@pytest.mark.parametrize(
    ("frequency", "hyperparameters", "partner", "horizon"),
    [
        ("MS", SERIES_HYPERPARAMETERS, "climatology_trend_ar", 1),
        ("D", SERIES_HYPERPARAMETERS, "climatology_ar", 1),
        ("other", HYBRID_HYPERPARAMETERS, "climatology_trend", 1),
        ("MS", HYBRID_HYPERPARAMETERS, "climatology", 3),
        ("MS", SERIES_HYPERPARAMETERS, "climatology_trend_ar", 3),
    ],
)
def test_a_served_combination_blends_exactly_as_evaluate_scored_it(
    tmp_path: Path, frequency: str, hyperparameters: dict[str, Any], partner: str, horizon: int
) -> None:
    data = series_data(tmp_path, frequency, horizon=horizon)
    combination = {"weight": 0.3, "baseline": partner}
    spec = json.loads(json.dumps(champion.serving_spec(data, hyperparameters, combination)))
    assert spec["combination"]["weight"] == 0.3 and spec["combination"]["baseline"] == partner
    served = serving(spec, data.serving_files())
    history = data.input_example(hyperparameters, combination)
    model = data.builder()(**hyperparameters, seed=0)
    table = served.predict(model, history)

    _, baselines = data.baselines()  # the baselines' normalised test forecasts, as evaluate blends them
    blended = (
        0.3 * data.predict_test(model, hyperparameters)[-1].astype(np.float64)
        + 0.7 * baselines[partner].reshape(-1, horizon)[-1]
    )
    np.testing.assert_allclose(table["forecast"], blended * data.std + data.mean, rtol=1e-6)
    alone = serving(spec_of(data, hyperparameters), data.serving_files()).predict(model, history)
    if hyperparameters["anchor"] != "baseline":  # an untrained hybrid is its baseline: the blend is too
        assert not np.allclose(alone["forecast"], table["forecast"])  # the blend is not the model alone


def test_only_a_climatology_is_served_in_a_combination(monthly: Any, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="persistence: a served combination reruns climatology, "):
        champion.serving_spec(monthly, SERIES_HYPERPARAMETERS, {"weight": 0.5, "baseline": "persistence"})
    assert set(monthly.served_baselines) == {
        "climatology",
        "climatology_trend",
        "climatology_ar",
        "climatology_trend_ar",
    }
    text = text_data(tmp_path)
    assert text.served_baselines == ()
    with pytest.raises(ValueError, match="a served combination reruns nothing here"):
        champion.serving_spec(text, {}, {"weight": 0.5, "baseline": "tfidf_logistic_regression"})


@pytest.mark.parametrize("hyperparameters", [SERIES_HYPERPARAMETERS, HYBRID_HYPERPARAMETERS])
def test_a_forecast_of_several_steps_dates_each_one(tmp_path: Path, hyperparameters: dict[str, Any]) -> None:
    data = series_data(tmp_path, "MS", horizon=3)
    served = serving(spec_of(data, hyperparameters), {})
    history = data.input_example(hyperparameters)
    rows, targets = served.rows(history)
    np.testing.assert_array_equal(rows, model_inputs(data.inputs("test"), hyperparameters, 3)[-1:])
    assert targets == [data.dates[int(index)] for index in data.arrays["test_target_index"][-1]]
    model = data.builder()(**hyperparameters, seed=0)
    table = served.predict(model, history)
    assert table["date"].tolist() == targets and table["step"].tolist() == [1, 2, 3]
    evaluated = data.predict_test(model, hyperparameters)[-1].astype(np.float64) * data.std + data.mean
    np.testing.assert_allclose(table["forecast"], evaluated, rtol=1e-6)


def test_a_history_is_sorted_and_only_its_last_window_read(monthly: Any) -> None:
    data = monthly
    served = serving(spec_of(data, SERIES_HYPERPARAMETERS), {})
    history = data.input_example(SERIES_HYPERPARAMETERS)
    older = pd.DataFrame({"date": ["1990-01-01", "1990-07"], "value": [1e6, -1e6]})  # gap and far off
    shuffled = pd.concat([history.iloc[::-1], older])
    shuffled["date"] = [f"{date}-01" if len(date) == 7 else date for date in shuffled["date"]]
    np.testing.assert_array_equal(served.rows(shuffled)[0], served.rows(history)[0])


@pytest.mark.parametrize(
    ("last_date", "target", "key"),
    [("2020-02-28", "2020-02-29", 58), ("2020-02-29", "2020-03-01", 59), ("2019-12-31", "2020-01-01", 0)],
)
def test_a_daily_target_has_the_season_key_of_its_calendar_date(
    daily: Any, last_date: str, target: str, key: int
) -> None:
    data = daily
    served = serving(spec_of(data, SERIES_HYPERPARAMETERS), {})
    dates = pd.date_range(end=last_date, periods=4, freq="D").strftime("%Y-%m-%d")
    rows, targets = served.rows(pd.DataFrame({"date": dates, "value": [1.0, 2.0, 3.0, 4]}))
    assert targets == [target]
    np.testing.assert_array_equal(
        rows[0, 4:], calendar_features(np.array([key]), 365, 2)[0].astype("float32")
    )


def test_a_monthly_target_is_the_next_month(monthly: Any) -> None:
    data = monthly
    served = serving(spec_of(data, SERIES_HYPERPARAMETERS), {})
    history = pd.DataFrame({"date": ["2019-09", "2019-10", "2019-11", "2019-12"], "value": [1, 2, 3, 4]})
    rows, targets = served.rows(history)
    assert targets == ["2020-01"]
    np.testing.assert_array_equal(rows[0, 4:], calendar_features(np.array([0]), 12, 2)[0].astype("float32"))


def _monthly(values: list[Any], dates: list[Any] | None = None) -> pd.DataFrame:
    return pd.DataFrame({"date": dates or ["2019-09", "2019-10", "2019-11", "2019-12"], "value": values})


@pytest.mark.parametrize(
    ("model_input", "message"),
    [
        (pd.DataFrame({"when": ["2019-12"] * 4, "value": [1] * 4}), r"missing column\(s\) date"),
        (pd.DataFrame({"date": ["2019-12"] * 4}), r"missing column\(s\) value"),
        (_monthly([1, 2, 3], ["2019-10", "2019-11", "2019-12"]), r"3 row\(s\); this model reads the last 4"),
        (_monthly([1, 2, "warm", 4]), r"value: row 3 \('warm'\) is not a finite number"),
        (_monthly([1, 2, float("nan"), 4]), "value: row 3"),
        (_monthly([1, 2, 3, 4], ["2019-09", "2019-10", "September", "2019-12"]), "date: row 3"),
        (_monthly([1, 2, 3, 4], ["2019-09", "2019-10", "2019-10", "2019-12"]), "2019-10 appears twice"),
        (
            _monthly([1, 2, 3, 4], ["2019-08", "2019-10", "2019-11", "2019-12"]),
            "2019-08 is followed by 2019-10",
        ),
        ([1.0, 2.0, 3.0, 4.0], "expected a table with columns date, value, got list"),
    ],
)
def test_bad_histories_raise_value_errors_naming_the_problem(
    monthly: Any, model_input: Any, message: str
) -> None:
    data = monthly
    served = serving(spec_of(data, SERIES_HYPERPARAMETERS), {})
    with pytest.raises(ValueError, match=message):
        served.rows(model_input)


def test_a_series_without_dates_counts_time_in_steps(tmp_path: Path) -> None:
    data = series_data(tmp_path, "other")
    served = serving(spec_of(data, SERIES_HYPERPARAMETERS), {})
    _, targets = served.rows(pd.DataFrame({"time": [10, 11, 12, 13.0], "value": [1, 2, 3, 4]}))
    assert targets == [14]
    with pytest.raises(ValueError, match=r"time: row 2 \(1.5\) is not a step number"):
        served.rows(pd.DataFrame({"time": [1, 1.5, 2, 3], "value": [1, 2, 3, 4]}))
    with pytest.raises(ValueError, match="missing column"):
        served.rows(pd.DataFrame({"date": ["2019-01"] * 4, "value": [1, 2, 3, 4]}))


def test_input_errors_are_value_errors() -> None:
    assert issubclass(InputError, ValueError)  # the pyfunc adapter (seqlab.tracking) answers them with 400


# --------------------------------------------------------------------------- text


def text_data(root: Path, **prepare: Any) -> Any:
    words = ["great", "awful", "film", "plot", "actors", "boring", "loved", "hated"]
    reviews = [
        Review(
            text=f"{words[index % 8]} {words[(index + 3) % 8]} film number {index}",
            label=index % 2,
            split="train" if index < 20 else "test",
            rating=8 if index % 2 else 2,
            id=index,
        )
        for index in range(26)
    ]
    defaults = {
        "source": {},
        "prepare": {
            "max_tokens": 12,
            "max_len": 4,
            "validation_fraction": 0.2,
            "truncating": "pre",
            **prepare,
        },
        "baselines": {"max_features": 100},
        "tuning": TUNING,
        "training": TRAINING,
    }
    return _prepared(root, "aclimdb", {"source": {"kind": "aclimdb"}}, defaults, reviews)


@pytest.fixture(scope="module")
def reviews(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return text_data(tmp_path_factory.mktemp("reviews"))


@pytest.mark.parametrize("padding", ["pre", "post"])
def test_served_reviews_are_the_prepared_test_ids(tmp_path: Path, padding: str) -> None:
    data = text_data(tmp_path, padding=padding)
    spec = spec_of(data, {})
    served = serving(spec, {name: str(path) for name, path in data.serving_files().items()})
    example = data.input_example({})
    assert list(example.columns) == ["review"] and len(example) == 2
    rows, _ = served.rows(example)
    np.testing.assert_array_equal(rows, data.arrays["x_test"][:2])
    # line breaks as the IMDB parser reads them, a table column named text, or a plain list
    broken = [text.replace(" ", "<br /><br />", 1) for text in example["review"]]
    np.testing.assert_array_equal(served.rows(broken)[0], rows)
    np.testing.assert_array_equal(served.rows(pd.DataFrame({"text": example["review"]}))[0], rows)


@pytest.mark.parametrize("family", ["dense", "nbsvm"])
def test_served_reviews_give_probabilities_and_labels(reviews: Any, family: str) -> None:
    data = reviews
    served = serving(spec_of(data, {}), {name: str(path) for name, path in data.serving_files().items()})
    model = data.builder()(
        family=family, embedding_dim=4, units=4, bigram_buckets=8, ngram_buckets=64, seed=0
    )
    table = served.predict(model, data.input_example({}))
    assert list(table.columns) == list(output_columns(served.spec)) == ["probability_positive", "label"]
    expected = data.predict_test(model, {})[:2]
    np.testing.assert_allclose(table["probability_positive"], expected, rtol=1e-6)
    assert table["label"].tolist() == ["positive" if value >= 0.5 else "negative" for value in expected]


@pytest.mark.parametrize(
    ("model_input", "message"),
    [
        (pd.DataFrame({"comment": ["fine"]}), "expected a column review or text"),
        ([], "none given"),
        (["fine", 3.5], "review 2: float 3.5 is not text"),
        (["fine", b"caf\xe9"], "review 2: not UTF-8 text"),
        (["fine", "   "], "review 2: empty"),
        (42, "expected a table or a list of strings, got int"),
    ],
)
def test_bad_reviews_raise_value_errors_naming_the_problem(
    reviews: Any, model_input: Any, message: str
) -> None:
    data = reviews
    served = serving(spec_of(data, {}), {name: str(path) for name, path in data.serving_files().items()})
    with pytest.raises(ValueError, match=re.escape(message)):
        served.rows(model_input)


# --------------------------------------------------------------------------- images


def image_data(root: Path) -> Any:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(100, 4, 4), dtype=np.uint8)
    labels = np.tile(np.arange(10, dtype=np.uint8), 10)
    defaults = {
        "source": {},
        "prepare": {"train_images": 60, "test_images": 30, "validation_fraction": 0.2, "seed": 0},
        "baselines": {"logistic_c": 1.0, "dense_units": 8, "dense_max_epochs": 5},
        "tuning": TUNING,
        "training": TRAINING,
    }
    parsed = MnistFiles(test=MnistSplit(images=images, labels=labels), train=None)
    return _prepared(root, "mnist_rows", {"source": {"kind": "mnist_rows"}}, defaults, parsed)


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return image_data(tmp_path_factory.mktemp("images"))


def test_served_images_are_the_prepared_test_images_and_give_class_probabilities(images: Any) -> None:
    data = images
    served = serving(spec_of(data, {}), {})
    example = data.input_example({})
    assert example.dtype == np.uint8 and example.shape == (2, 4, 4)
    rows, _ = served.rows(example)
    np.testing.assert_array_equal(rows, data.images("test")[:2])
    for other in (example.tolist(), example.reshape(2, 16), pd.DataFrame(example.reshape(2, 16))):
        np.testing.assert_array_equal(served.rows(other)[0], rows)
    np.testing.assert_array_equal(served.rows(example[0])[0], rows[:1])  # one image alone

    model = data.builder()(family="gru", units=4, seed=0)
    table = served.predict(model, example)
    assert list(table.columns) == ["digit", *(f"probability_{digit}" for digit in range(10))]
    probabilities = table.iloc[:, 1:].to_numpy()
    np.testing.assert_allclose(probabilities, data.predict_test(model, {})[:2], rtol=1e-6)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert table["digit"].tolist() == probabilities.argmax(axis=1).tolist()


@pytest.mark.parametrize(
    ("model_input", "message"),
    [
        (np.zeros((2, 4, 5)), "expected an array [n, 4, 4] or [n, 16], got shape [2, 4, 5]"),
        (np.zeros((2, 15)), "got shape [2, 15]"),
        (np.full((1, 4, 4), 256.0), "pixel values must be numbers in 0..255"),
        (np.full((1, 4, 4), -1.0), "pixel values must be numbers in 0..255"),
        ([["a"] * 4] * 4, "expected numbers in an array"),
    ],
)
def test_bad_images_raise_value_errors_naming_the_problem(
    images: Any, model_input: Any, message: str
) -> None:
    served = serving(spec_of(images, {}), {})
    with pytest.raises(ValueError, match=re.escape(message)):
        served.rows(model_input)


# --------------------------------------------------------------------------- spec, model, shipped code


def test_a_spec_of_another_format_or_modality_is_refused(monthly: Any) -> None:
    spec = spec_of(monthly, SERIES_HYPERPARAMETERS)
    assert spec["format"] == 3 and spec["modality"] == "series" and spec["dataset"] == NAME
    assert output_columns(spec) == {"date": "string", "step": "long", "forecast": "double"}
    with pytest.raises(ValueError, match="format 1; this code reads format 3"):  # before the hybrids
        check_spec({**spec, "format": 1})
    with pytest.raises(ValueError, match="modality 'audio' is not one of series, text, image"):
        check_spec({**spec, "modality": "audio"})


def test_a_saved_variant_loads_with_seqlabs_own_layer_classes(tmp_path: Path) -> None:
    import seqlab.models

    data = series_data(tmp_path, "other")
    model = data.builder()(**SERIES_HYPERPARAMETERS, seed=0)
    model.save(tmp_path / "model.keras")
    objects = custom_objects()
    assert objects["seqlab>ColumnSlice"] is seqlab.models.ColumnSlice  # this process's, never a copy
    assert objects["seqlab>NaiveBayesNgrams"] is seqlab.models.NaiveBayesNgrams
    loaded = load_keras_model(tmp_path / "model.keras")
    rows = model_inputs(data.inputs("test"), SERIES_HYPERPARAMETERS, data.horizon)
    np.testing.assert_array_equal(loaded.predict(rows, verbose=0), model.predict(rows, verbose=0))
    assert keras.saving.get_registered_object("seqlab>ColumnSlice") is seqlab.models.ColumnSlice


def test_the_shipped_code_imports_only_itself_and_the_serving_requirements(tmp_path: Path) -> None:
    package = champion.stage_code(tmp_path)
    shipped = {path.relative_to(package).as_posix() for path in package.rglob("*.py")}
    assert {"serving/model.py", "models/cells.py", "models/series_layers.py", "prep/series.py"} <= shipped
    assert (
        package / "models" / "__init__.py"
    ).read_text() == champion.STUB  # not seqlab's: it imports builders
    for path in package.rglob("*.py"):
        for line in path.read_text().splitlines():
            assert not re.match(r"\s*(from|import)\s+seqlab\b(?!_champion)", line), f"{path}: {line}"


def test_served_code_that_needs_more_is_refused_naming_the_line(tmp_path: Path) -> None:
    (tmp_path / "serving").mkdir()
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "__init__.py").write_text("X = 1\n")
    (tmp_path / "serving" / "model.py").write_text("import os\n\nimport yaml\n")
    with pytest.raises(ValueError, match=r"model.py, line 3: served code imports yaml"):
        champion.shipped_modules(("seqlab.serving.model",), tmp_path)
    (tmp_path / "serving" / "model.py").write_text(
        "def f():\n    import yaml\n    from seqlab.models import X\n"
    )
    with pytest.raises(ValueError, match=r"line 3: served code imports X from the package seqlab.models"):
        champion.shipped_modules(("seqlab.serving.model",), tmp_path)


# --------------------------------------------------------------------------- the predict command


class _Registry:
    """A registry as `seqlab predict` asks it: versions 1 and 2, the alias where given."""

    uri = "sqlite:///store.db"

    def __init__(self, alias_on: str | None) -> None:
        self.alias_on = alias_on

    def version_exists(self, name: str, version: str) -> bool:
        return version in ("1", "2")

    def alias_version(self, name: str, alias: str) -> tuple[str, dict[str, str]] | None:
        return None if self.alias_on is None else (self.alias_on, {})

    def latest_version(self, name: str) -> tuple[str, dict[str, str]] | None:
        return ("2", {"seqlab.champion_decision": "not promoted: test_mae 1.3 is 0.2 worse than climatology"})


def test_predict_uses_the_alias_or_a_version_and_says_why_there_is_no_champion() -> None:
    from seqlab.predict import model_uri

    assert model_uri(_Registry("1"), "seqlab-giss", "champion", None) == (
        "models:/seqlab-giss@champion",
        "seqlab-giss v1 (champion)",
    )
    assert model_uri(_Registry(None), "seqlab-giss", "champion", "1")[0] == "models:/seqlab-giss/1"
    with pytest.raises(RuntimeError) as refused:
        model_uri(_Registry(None), "seqlab-giss", "champion", None)
    assert str(refused.value) == (
        "seqlab-giss has no champion; its latest version, v2: not promoted: test_mae 1.3 is 0.2 worse than "
        "climatology. To predict with that version anyway: --version 2"
    )
    with pytest.raises(RuntimeError, match="seqlab-giss has no version 7 in sqlite:///store.db"):
        model_uri(_Registry("1"), "seqlab-giss", "champion", "7")


def test_predict_reads_each_modalitys_files_and_names_a_file_it_cannot_read(tmp_path: Path) -> None:
    from seqlab.predict import format_table, read_input

    history = tmp_path / "recent.csv"
    history.write_text("date,value\n2019-11,7.25\n2019-12,5.5\n")
    assert read_input(history, "series").to_dict(orient="list") == {
        "date": ["2019-11", "2019-12"],
        "value": [7.25, 5.5],
    }
    reviews = tmp_path / "reviews.txt"
    reviews.write_text("A fine film.\n\nDull, <br />too long.\n", encoding="utf-8")
    assert read_input(reviews, "text")["review"].tolist() == ["A fine film.", "Dull, <br />too long."]
    images = tmp_path / "digits.npy"
    np.save(images, np.zeros((2, 28, 28), dtype=np.uint8))
    assert read_input(images, "image").shape == (2, 28, 28)

    latin = tmp_path / "latin.txt"
    latin.write_bytes("café\n".encode("latin-1"))
    with pytest.raises(ValueError, match=f"{latin}: not UTF-8 text \\(byte 3"):
        read_input(latin, "text")
    with pytest.raises(ValueError, match=f"{reviews}: .*magic"):
        read_input(reviews, "image")  # neither .npy nor an IDX file
    with pytest.raises(FileNotFoundError, match="no such input file"):
        read_input(tmp_path / "missing.csv", "series")
    table = pd.DataFrame({"date": ["2020-01"], "step": [1], "forecast": [5.814159]})
    assert format_table(table).splitlines() == ["   date  step  forecast", "2020-01     1     5.814"]


def test_shipped_imports_are_renamed_whatever_their_form(tmp_path: Path) -> None:
    source = tmp_path / "source"
    for module in ("serving/model.py", "prep/__init__.py", "prep/series.py", "prep/text.py", "runtime.py"):
        (source / module).parent.mkdir(parents=True, exist_ok=True)
        (source / module).write_text('"""A module."""\n')
    (source / "serving" / "model.py").write_text(
        "import numpy as np\nimport seqlab.prep.series as series\nfrom seqlab.prep import text\n\n\n"
        "def late():\n    from seqlab.runtime import x\n    import sklearn\n"
    )
    assert set(champion.shipped_modules(("seqlab.serving.model",), source)) == {
        "seqlab.serving.model",
        "seqlab.prep.series",
        "seqlab.prep.text",
        "seqlab.runtime",
    }
    package = champion.stage_code(tmp_path / "staged", ("seqlab.serving.model",), source)
    assert (package / "serving" / "model.py").read_text().splitlines() == [
        "import numpy as np",
        "import seqlab_champion.prep.series as series",
        "from seqlab_champion.prep import text",
        "",
        "",
        "def late():",
        "    from seqlab_champion.runtime import x",
        "    import sklearn",  # inside a function: never run by the served code that needs no sklearn
    ]
    assert (
        (package / "__init__.py").read_text()
        == (package / "prep" / "__init__.py").read_text()
        == champion.STUB
    )
