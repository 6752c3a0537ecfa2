"""The dataset registry: each kind's configuration errors (before anything runs), files and seasons."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import pytest
import yaml

from seqlab.config import ConfigError, load_raw, resolve
from seqlab.data.mnist import TEST_FILES, TRAIN_FILES
from seqlab.data.sources import SourceFile
from seqlab.datasets import (
    KINDS,
    CsvSeriesDataset,
    DatasetConfig,
    GissStationDataset,
    HadCetDataset,
    ImageDataset,
    Season,
    SeriesDataset,
    SyntheticDataset,
    TextDataset,
    check_dataset_name,
    kind_named,
    merge,
)

REPO_PARAMS = Path(__file__).resolve().parents[2] / "params.yaml"
KIND_NAMES = ("aclimdb", "giss_station", "hadcet_daily", "csv_series", "synthetic", "mnist_rows")
SEATAC = "USW00024233"
CENTRAL_PARK = "USW00094728"


@functools.cache
def repo_defaults() -> dict[str, Any]:
    # round-tripped so params.yaml's anchors are separate objects
    return yaml.safe_load(yaml.safe_dump(load_raw(REPO_PARAMS)["defaults"], sort_keys=False))


def build(entry: dict[str, Any], name: str = "x", overrides: tuple[str, ...] = ()) -> Any:
    """Resolve one dataset entry over the repo's defaults, as params.yaml would."""
    raw = {"datasets": {name: copy.deepcopy(entry)}, "defaults": copy.deepcopy(repo_defaults())}
    return resolve(raw, overrides=overrides, source="test.yaml").dataset(name)


def giss(station: str = CENTRAL_PARK, **protocol: Any) -> dict[str, Any]:
    return {"source": {"kind": "giss_station", "station": station}, **(protocol or {"test_size": 24})}


def csv_source(**source: Any) -> dict[str, Any]:
    fields = {"kind": "csv_series", "path": "data/own.csv", "date_column": "date", "value_column": "temp"}
    return {"source": {**fields, "frequency": "monthly", **source}, "test_size": 12}


# --------------------------------------------------------------------------- kinds


def test_the_kinds_and_their_configuration_classes() -> None:
    assert tuple(KINDS) == KIND_NAMES
    assert {name: KINDS[name].config for name in KIND_NAMES} == {
        "aclimdb": TextDataset,
        "giss_station": GissStationDataset,
        "hadcet_daily": HadCetDataset,
        "csv_series": CsvSeriesDataset,
        "synthetic": SyntheticDataset,
        "mnist_rows": ImageDataset,
    }
    assert {name: KINDS[name].modality for name in KIND_NAMES} == {
        "aclimdb": "text",
        "giss_station": "series",
        "hadcet_daily": "series",
        "csv_series": "series",
        "synthetic": "series",
        "mnist_rows": "image",
    }
    for name in KIND_NAMES:
        assert KINDS[name].name == name
        assert kind_named(name, "here") is KINDS[name]
    assert [name for name in KIND_NAMES if KINDS[name].generated] == ["synthetic"]


def test_a_minimal_entry_of_each_kind_resolves() -> None:
    entries = {
        "aclimdb": {"source": {"kind": "aclimdb"}},
        "giss_station": giss(),
        "hadcet_daily": {"source": {"kind": "hadcet_daily"}, "split_index": 100},
        "csv_series": csv_source(),
        "synthetic": {"source": {"kind": "synthetic"}, "test_size": 100},
        "mnist_rows": {"source": {"kind": "mnist_rows"}},
    }
    for kind, entry in entries.items():
        dataset = build(entry, name="mine")
        assert isinstance(dataset, DatasetConfig)
        assert type(dataset) is KINDS[kind].config
        assert dataset.name == "mine"
        assert dataset.kind is KINDS[kind]
        assert dataset.modality == KINDS[kind].modality
        assert isinstance(dataset, SeriesDataset) == (KINDS[kind].modality == "series")


# --------------------------------------------------------------------------- errors before anything runs


def test_unknown_kind_names_the_dataset_key_and_lists_the_kinds() -> None:
    with pytest.raises(ValueError) as caught:
        build({"source": {"kind": "giss"}})
    message = str(caught.value)
    assert "datasets.x.source.kind: unknown kind 'giss'" in message
    assert "expected one of " + ", ".join(KIND_NAMES) in message
    with pytest.raises(ValueError, match="datasets.x.source.kind: unknown kind None"):
        build({"source": {"station": SEATAC}})
    with pytest.raises(ValueError, match=r"somewhere: unknown kind 'nope'; expected one of aclimdb"):
        kind_named("nope", "somewhere")


@pytest.mark.parametrize("entry", [{}, {"source": "giss_station"}, {"source": None}, None])
def test_an_entry_without_a_source_mapping_is_named(entry: Any) -> None:
    with pytest.raises(ConfigError, match="datasets.x.source: expected a mapping with a kind"):
        build(entry)  # type: ignore[arg-type]


def test_giss_station_needs_a_station() -> None:
    with pytest.raises(ConfigError, match=r"datasets\.x\.source\.station: Field required"):
        build({"source": {"kind": "giss_station"}, "test_size": 24})


@pytest.mark.parametrize(
    "station", ["USW0002423", "USW000242333", "usw00024233", "US-00024233", "seatac", "", "12W00024233"]
)
def test_giss_station_id_must_be_a_ghcn_id(station: str) -> None:
    with pytest.raises(
        ConfigError, match=r"datasets\.x\.source\.station: String should match pattern"
    ) as caught:
        build(giss(station))
    assert repr(station) in str(caught.value)


def test_csv_series_needs_a_value_column() -> None:
    entry = csv_source()
    del entry["source"]["value_column"]
    with pytest.raises(ConfigError, match=r"datasets\.x\.source\.value_column: Field required"):
        build(entry)


def test_csv_series_needs_a_path_and_a_known_frequency() -> None:
    entry = csv_source()
    del entry["source"]["path"]
    with pytest.raises(ConfigError, match=r"datasets\.x\.source\.path: Field required"):
        build(entry)
    with pytest.raises(ConfigError, match=r"datasets\.x\.source\.frequency"):
        build(csv_source(frequency="weekly"))


def test_csv_series_other_frequency_needs_a_period() -> None:
    with pytest.raises(
        ConfigError, match=r"datasets\.x\.source: .*period: required when frequency is 'other'"
    ):
        build(csv_source(frequency="other"))
    with pytest.raises(ConfigError, match=r"datasets\.x\.source\.period"):
        build(csv_source(frequency="other", period=0))
    entry = csv_source(frequency="other", period=7)
    del entry["source"]["date_column"]  # an index-only series needs no dates
    assert build(entry).source.period == 7


@pytest.mark.parametrize("frequency", ["daily", "monthly"])
def test_csv_series_dated_frequency_needs_a_date_column(frequency: str) -> None:
    entry = csv_source(frequency=frequency)
    del entry["source"]["date_column"]
    with pytest.raises(
        ConfigError, match=rf"datasets\.x\.source: .*date_column: required for frequency '{frequency}'"
    ):
        build(entry)


@pytest.mark.parametrize(
    "entry",
    [
        giss(test_size=24, split_index=800),
        giss(end_date="2019-12-01"),
        {"source": {"kind": "synthetic"}, "test_size": 10, "split_index": 1000},
        {"source": {"kind": "synthetic"}},
        {"source": {"kind": "hadcet_daily"}},
        {**csv_source(), "split_index": 100},
    ],
)
def test_a_series_needs_exactly_one_of_test_size_and_split_index(entry: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match=r"datasets\.x: .*exactly one of test_size .* or split_index"):
        build(entry)


@pytest.mark.parametrize(("key", "value"), [("test_size", 0), ("split_index", 0), ("test_size", -3)])
def test_the_test_period_is_positive(key: str, value: int) -> None:
    with pytest.raises(ConfigError, match=rf"datasets\.x\.{key}: Input should be greater than or equal to 1"):
        build(giss(**{key: value}))


def test_start_date_after_end_date_fails() -> None:
    with pytest.raises(
        ConfigError, match=r"datasets\.x: .*start_date 2020-01-01 is after end_date 2019-12-01"
    ):
        build(giss(start_date="2020-01-01", end_date="2019-12-01", test_size=12))


def test_protocol_keys_are_for_series_only() -> None:
    with pytest.raises(ConfigError, match=r"datasets\.x\.test_size: unknown key"):
        build({"source": {"kind": "aclimdb"}, "test_size": 100})


def test_split_at_checks_the_test_period_against_the_data() -> None:
    dataset = build(giss(test_size=48), name="station")
    assert dataset.split_at(840) == 792
    assert dataset.split_at(49) == 1
    for length in (48, 40, 0):
        with pytest.raises(ValueError) as caught:
            dataset.split_at(length)
        message = str(caught.value)
        assert (
            f"datasets.station.test_size: 48 leaves no training or no test values in the {length} values"
            in message
        )
    by_index = build(giss(split_index=1000), name="station")
    assert by_index.split_at(1461) == 1000
    for length in (1000, 999):
        with pytest.raises(ValueError, match=r"datasets\.station\.split_index: 1000 leaves no training"):
            by_index.split_at(length)


@pytest.mark.parametrize("name", ["Giss", "2giss", "my-data", "my data", "giss.2", "", "_giss", 7])
def test_dataset_names_must_be_simple_identifiers(name: Any) -> None:
    with pytest.raises(ConfigError, match="is not a valid dataset name") as caught:
        build(giss(), name=name)
    assert repr(name) in str(caught.value)
    with pytest.raises(ValueError, match="lowercase letters, digits and _"):
        check_dataset_name(name)


@pytest.mark.parametrize("name", ["giss", "giss_2", "a", "seatac_1950s"])
def test_simple_dataset_names_are_accepted(name: str) -> None:
    assert check_dataset_name(name) == name
    assert build(giss(), name=name).name == name


# --------------------------------------------------------------------------- the merge rule


def test_merge_is_key_by_key_except_space_and_variants() -> None:
    base = {"a": {"b": 1, "c": 2}, "space": {"x": {"value": 1}}, "variants": {"none": {}}, "d": [1, 2]}
    override = {"a": {"b": 3}, "space": {"y": {"value": 2}}, "variants": {"only": {"dropout": 0.1}}, "d": [3]}
    before = copy.deepcopy(base)
    assert merge(base, override) == {
        "a": {"b": 3, "c": 2},
        "space": {"y": {"value": 2}},
        "variants": {"only": {"dropout": 0.1}},
        "d": [3],
    }
    assert base == before
    assert merge({"tuning": {"space": {"x": 1}, "epochs": 3}}, {"tuning": {"space": {"y": 2}}}) == {
        "tuning": {"space": {"y": 2}, "epochs": 3}
    }
    assert merge({"a": 1}, None) is None
    assert merge(5, {"a": 1}) == {"a": 1}


def test_a_dataset_s_space_replaces_its_kind_s_whole() -> None:
    dataset = build({**giss(), "tuning": {"space": {"units": {"value": 8}}, "max_trials": 9}})
    assert set(dataset.tuning.space) == {"units"}
    assert dataset.tuning.space["units"].value == 8
    assert dataset.tuning.max_trials == 9
    assert dataset.tuning.epochs == repo_defaults()["giss_station"]["tuning"]["epochs"]  # merged key by key


def test_a_dataset_s_entry_values_win_but_its_space_entries_do_not_merge() -> None:
    # {values: [..]} over {value: x} would be neither a choice nor a fixed value if merged
    dataset = build({**giss(), "tuning": {"space": {"family": {"value": "gru"}}}})
    assert dataset.tuning.space["family"].value == "gru"
    assert dataset.tuning.space["family"].values is None


def test_a_dataset_s_variants_replace_its_kind_s_whole() -> None:
    dataset = build({**giss(), "training": {"variants": {"only": {"dropout": 0.1}}}})
    assert set(dataset.training.variants) == {"only"}
    assert dataset.training.variants["only"].dropout == 0.1
    assert dataset.training.epochs == repo_defaults()["giss_station"]["training"]["epochs"]


def test_other_sections_merge_key_by_key() -> None:
    dataset = build({**giss(), "prepare": {"window_size": 36}})
    defaults = repo_defaults()["giss_station"]["prepare"]
    assert dataset.prepare.window_size == 36
    assert dataset.prepare.validation_fraction == defaults["validation_fraction"]
    synthetic = build({"source": {"kind": "synthetic", "n_points": 200, "period": 50}, "split_index": 150})
    assert (synthetic.source.n_points, synthetic.source.period) == (200, 50)
    assert synthetic.source.slope == repo_defaults()["synthetic"]["source"]["slope"]


# --------------------------------------------------------------------------- source files


def only_file(dataset: Any, root: Path) -> SourceFile:
    files = dataset.kind.source_files(dataset, root)
    assert len(files) == 1
    return files[0]


def test_giss_url_is_built_from_the_station_id(tmp_path: Path) -> None:
    source = only_file(build(giss(CENTRAL_PARK)), tmp_path)
    assert source.filename == f"{CENTRAL_PARK}.csv"
    assert len(source.urls) == 1
    assert source.urls[0].startswith("https://data.giss.nasa.gov/")
    assert f"id={CENTRAL_PARK}" in source.urls[0]
    assert source.mirror_folder == "giss"
    assert source.mirror_names == ()
    assert not source.optional and source.pinned_sha256 == {}


def test_seatac_keeps_its_earlier_mirror_names(tmp_path: Path) -> None:
    source = only_file(build(giss(SEATAC)), tmp_path)
    assert source.filename == f"{SEATAC}.csv"
    assert f"id={SEATAC}" in source.urls[0]
    assert "seatac_station.csv" in source.mirror_names
    assert source.mirror_folder == "giss"


@pytest.mark.parametrize(
    ("file", "host"),
    [
        ("cetdl1772on.dat", "https://www.metoffice.gov.uk/"),
        ("tdaily_cet.dat.txt", "https://storage.googleapis.com/"),
    ],
)
def test_hadcet_file_choice_picks_the_url(tmp_path: Path, file: str, host: str) -> None:
    source = only_file(
        build({"source": {"kind": "hadcet_daily", "file": file}, "split_index": 100}), tmp_path
    )
    assert source.filename == file
    assert source.urls == (source.urls[0],)
    assert source.urls[0].startswith(host) and source.urls[0].endswith("/" + file)
    assert source.mirror_folder == "cet"


def test_hadcet_default_file_and_unknown_file() -> None:
    assert build({"source": {"kind": "hadcet_daily"}, "split_index": 100}).source.file == "cetdl1772on.dat"
    with pytest.raises(ConfigError, match=r"datasets\.x\.source\.file"):
        build({"source": {"kind": "hadcet_daily", "file": "cet.csv"}, "split_index": 100})


def test_csv_series_local_relative_path_is_resolved_against_the_project_root(tmp_path: Path) -> None:
    source = only_file(build(csv_source(path="data/own/temps.csv"), name="own"), tmp_path)
    assert source.filename == "temps.csv"
    assert source.urls == (str(tmp_path / "data" / "own" / "temps.csv"),)
    assert source.mirror_folder is None  # a local file is not looked for in a mirror


def test_csv_series_absolute_path_is_kept(tmp_path: Path) -> None:
    location = tmp_path / "elsewhere" / "series.csv"
    source = only_file(build(csv_source(path=str(location))), tmp_path / "project")
    assert source.filename == "series.csv"
    assert source.urls == (str(location),)


def test_csv_series_url_source_keeps_the_url(tmp_path: Path) -> None:
    url = "https://example.org/files/temps.csv?version=2"
    source = only_file(build(csv_source(path=url), name="own"), tmp_path)
    assert source.filename == "temps.csv"
    assert source.urls == (url,)
    assert source.mirror_folder == "own"  # <mirror>/<dataset>/<file>


def test_mnist_has_four_files_the_test_ones_pinned_the_train_ones_optional(tmp_path: Path) -> None:
    dataset = build({"source": {"kind": "mnist_rows"}})
    files = dataset.kind.source_files(dataset, tmp_path)
    assert len(files) == 4
    assert [source.filename for source in files] == [*TEST_FILES, *TRAIN_FILES]
    by_name = {source.filename: source for source in files}
    for name in TEST_FILES:
        assert not by_name[name].optional
        assert len(by_name[name].pinned_sha256) == 1
        (digest,) = by_name[name].pinned_sha256
        assert len(digest) == 64 and int(digest, 16) >= 0
    for name in TRAIN_FILES:
        assert by_name[name].optional
        assert by_name[name].pinned_sha256 == {}
    for source in files:
        assert source.mirror_folder == "mnist"
        assert source.urls and all(
            url.startswith("https://") and url.endswith(source.filename) for url in source.urls
        )


def test_aclimdb_archive_is_pinned_and_its_url_configurable(tmp_path: Path) -> None:
    source = only_file(build({"source": {"kind": "aclimdb"}}), tmp_path)
    assert source.filename == "aclImdb.tar.gz"
    assert source.urls == ("https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",)
    assert len(source.pinned_sha256) == 2
    assert source.mirror_folder == "imdb"
    assert "aclImdb_v1.tar.gz" in source.mirror_names
    other = only_file(build({"source": {"kind": "aclimdb", "url": "https://example.org/a.tar.gz"}}), tmp_path)
    assert other.urls == ("https://example.org/a.tar.gz",)
    assert other.filename == "aclImdb.tar.gz"


def test_synthetic_is_generated_not_fetched(tmp_path: Path) -> None:
    dataset = build({"source": {"kind": "synthetic"}, "split_index": 1000})
    assert dataset.kind.source_files(dataset, tmp_path) == []
    written = dataset.kind.generate(dataset, tmp_path)
    assert [path.name for path in written] == ["synthetic.csv"]
    assert written[0].exists()
    station = build(giss())
    with pytest.raises(ValueError, match="datasets.x: a giss_station dataset is fetched, not generated"):
        station.kind.generate(station, tmp_path)


# --------------------------------------------------------------------------- seasons


@pytest.mark.parametrize(
    ("entry", "season"),
    [
        (giss(), Season("monthly", 12)),
        ({"source": {"kind": "hadcet_daily"}, "split_index": 100}, Season("daily", 365)),
        (csv_source(frequency="monthly"), Season("monthly", 12)),
        (csv_source(frequency="daily"), Season("daily", 365)),
        (csv_source(frequency="other", period=7), Season("periodic", 7)),
        ({"source": {"kind": "synthetic", "period": 52}, "split_index": 1000}, Season("periodic", 52)),
    ],
)
def test_season_of_each_series_kind(entry: dict[str, Any], season: Season) -> None:
    dataset = build(entry)
    assert dataset.kind.season(dataset) == season


def test_season_counts_match_the_kinds() -> None:
    assert KINDS["giss_station"].season(build(giss())).count == 12
    assert (
        KINDS["hadcet_daily"].season(build({"source": {"kind": "hadcet_daily"}, "test_size": 9})).count == 365
    )
    assert KINDS["csv_series"].season(build(csv_source(frequency="other", period=24))).count == 24


@pytest.mark.parametrize("kind", ["aclimdb", "mnist_rows"])
def test_non_series_kinds_have_no_season(kind: str) -> None:
    dataset = build({"source": {"kind": kind}}, name="mine")
    with pytest.raises(ValueError, match=f"datasets.mine: a {kind} dataset is not a series"):
        dataset.kind.season(dataset)
