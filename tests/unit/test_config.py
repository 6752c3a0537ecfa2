"""params.yaml validation: the repo's file loads, bad keys and values fail naming the dotted key."""

from __future__ import annotations

import copy
import functools
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from seqlab.config import ConfigError, Params, load_params, load_raw, parse_override, resolve
from seqlab.datasets import (
    KINDS,
    GissStationDataset,
    HadCetDataset,
    ImageDataset,
    SyntheticDataset,
    TextDataset,
)

REPO_PARAMS = Path(__file__).resolve().parents[2] / "params.yaml"
PROFILES = ("default", "smoke", "full")
EXPECTED_DATASETS = {
    "imdb": ("aclimdb", TextDataset),
    "giss": ("giss_station", GissStationDataset),
    "cet": ("hadcet_daily", HadCetDataset),
    "synthetic": ("synthetic", SyntheticDataset),
    "mnist": ("mnist_rows", ImageDataset),
}
# A second station of the same kind, added to a copy of params.yaml: only its own entry is written.
NEW_STATION = {"source": {"kind": "giss_station", "station": "USW00094728"}, "test_size": 24}


@functools.cache
def repo_raw() -> dict[str, Any]:
    # A YAML round trip of load_raw: params.yaml's anchors (the dropout variants) become separate
    # objects, so editing one kind's copy never edits another's.
    return yaml.safe_load(yaml.safe_dump(load_raw(REPO_PARAMS), sort_keys=False))


@pytest.fixture
def raw() -> dict[str, Any]:
    return copy.deepcopy(repo_raw())


def write_params(tmp_path: Path, raw: dict[str, Any]) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def set_path(raw: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = raw
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value


# --------------------------------------------------------------------------- the repo's file


@pytest.mark.parametrize("profile", PROFILES)
def test_repo_params_load_the_five_datasets_in_every_profile(profile: str) -> None:
    params = load_params(REPO_PARAMS, profile=profile)
    assert isinstance(params, Params)
    assert params.profile == profile
    assert list(params.datasets) == list(EXPECTED_DATASETS)
    for name, (kind, config_class) in EXPECTED_DATASETS.items():
        dataset = params.dataset(name)
        assert dataset.name == name
        assert dataset.source.kind == kind
        assert type(dataset) is config_class
        assert dataset.kind is KINDS[kind]
    assert params.dataset("giss").source.station == "USW00024233"
    assert params.dataset("cet").source.file == "cetdl1772on.dat"
    assert params.dataset("imdb").modality == "text"
    assert params.dataset("mnist").modality == "image"
    assert {params.dataset(name).modality for name in ("giss", "cet", "synthetic")} == {"series"}


def test_repo_params_default_values() -> None:
    params = load_params(REPO_PARAMS)
    imdb, giss, cet, synthetic = (params.dataset(name) for name in ("imdb", "giss", "cet", "synthetic"))
    assert imdb.prepare.max_len == 400 and imdb.training.bucket_width == imdb.tuning.bucket_width == 25
    assert imdb.prepare.subset is None
    assert giss.end_date == date(2019, 12, 1)
    assert giss.test_size == 48 and giss.split_index is None
    assert giss.split_at(840) == 792  # the book's split
    assert cet.end_date == date(2020, 3, 23)
    assert cet.split_index == 80000 and cet.test_size is None
    assert synthetic.source.n_points == 1461
    assert synthetic.split_index == 1000
    assert synthetic.split_at(synthetic.source.n_points) == 1000
    # a dataset's keys fall back to its kind's defaults
    assert giss.training.epochs == 60
    assert giss.tuning.space["family"].values == ["gru", "lstm"]  # recurrent: real dropout variants
    assert set(giss.training.variants) == {"none", "both"}  # the default run's two; `full` has four
    full = load_params(REPO_PARAMS, profile="full").dataset("giss")
    assert set(full.training.variants) == {"none", "dropout", "recurrent_dropout", "both"}
    assert params.dataset("mnist").prepare.train_images == 8000
    assert (giss.source.gap_policy, giss.source.max_gap, cet.source.max_gap) == ("interpolate", 3, 3)
    assert params.pipeline.schedule.datasets == ["all"]
    assert params.benchmark["profile"] == "full"  # free-form for src (benchmarks/ validate it)


def test_dataset_and_select() -> None:
    params = load_params(REPO_PARAMS)
    with pytest.raises(ConfigError, match="dataset 'nope' is not configured") as caught:
        params.dataset("nope")
    for name in EXPECTED_DATASETS:
        assert name in str(caught.value)
    assert params.select(["all"]) == list(EXPECTED_DATASETS)
    assert params.select(["giss", "all", "giss"]) == ["giss", "imdb", "cet", "synthetic", "mnist"]
    assert params.select(["cet", "imdb"]) == ["cet", "imdb"]
    with pytest.raises(ConfigError, match="'nope'"):
        params.select(["giss", "nope"])


@pytest.mark.parametrize(
    ("dataset", "section", "key", "value"),
    [
        ("imdb", "prepare", "max_len", 5),
        ("giss", "prepare", "window_size", 3),
        ("cet", None, "end_date", None),
        ("synthetic", "source", "seed", 1),
        ("mnist", "training", "epochs", 1),
        ("giss", "tuning", "max_trials", 1),
    ],
)
def test_each_section_is_frozen(dataset: str, section: str | None, key: str, value: Any) -> None:
    params = load_params(REPO_PARAMS)
    config = params.dataset(dataset)
    part = config if section is None else getattr(config, section)
    before = getattr(part, key)
    with pytest.raises(ValidationError, match="frozen"):
        setattr(part, key, value)
    assert getattr(part, key) == before
    with pytest.raises(ValidationError, match="frozen"):
        config.training = config.training  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        params.pipeline.fetch_retries = 5  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        params.datasets = {}  # type: ignore[misc]


# --------------------------------------------------------------------------- bad keys and values


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        (("surprise",), {"a": 1}, "unknown top-level key(s) surprise"),
        (("defaults", "aclimdb", "prepare", "maxlen"), 100, "datasets.imdb.prepare.maxlen"),
        (("defaults", "hadcet_daily", "prepare", "windowsize"), 3, "datasets.cet.prepare.windowsize"),
        (("datasets", "imdb", "prepare"), {"max_len": "long"}, "datasets.imdb.prepare.max_len"),
        (("datasets", "giss", "end_date"), "not a date", "datasets.giss.end_date"),
        (("defaults", "synthetic", "prepare", "window_size"), 0, "datasets.synthetic.prepare.window_size"),
        (("datasets", "giss", "prepare"), {"window_size": 0}, "datasets.giss.prepare.window_size"),
        (("datasets", "giss", "training"), {"epochs": 0}, "datasets.giss.training.epochs"),
        (("defaults", "giss_station", "training", "epochs"), "many", "datasets.giss.training.epochs"),
        (
            ("defaults", "aclimdb", "prepare", "validation_fraction"),
            1.5,
            "datasets.imdb.prepare.validation_fraction",
        ),
        (
            ("datasets", "cet", "prepare"),
            {"validation_fraction": 0.0},
            "datasets.cet.prepare.validation_fraction",
        ),
        (("defaults", "aclimdb", "prepare", "padding"), "middle", "datasets.imdb.prepare.padding"),
        (("defaults", "giss_station", "prepare", "horizon"), 0, "datasets.giss.prepare.horizon"),
        (("datasets", "giss", "source", "station"), "seatac", "datasets.giss.source.station"),
        (("datasets", "cet", "source", "file"), "cet.csv", "datasets.cet.source.file"),
        (("datasets", "synthetic", "source", "n_points"), 1, "datasets.synthetic.source.n_points"),
        (
            ("datasets", "giss", "tuning"),
            {"space": {"units": {"values": []}}},
            "datasets.giss.tuning.space.units",
        ),
        (("datasets", "mnist", "tuning"), {"algorithm": "annealing"}, "datasets.mnist.tuning.algorithm"),
        (("datasets", "giss", "window"), 12, "datasets.giss: unknown key(s) window"),
        (("defaults", "giss_station", "train"), {}, "defaults.giss_station: unknown section(s) train"),
        (("pipeline", "fetch_retries"), -1, "pipeline.fetch_retries"),
        (("defaults", "hadcet_daily", "source", "max_gap"), 0, "datasets.cet.source.max_gap"),
        (("datasets", "giss", "source", "max_gap"), "long", "datasets.giss.source.max_gap"),
        (("pipeline", "schedule", "timezon"), "UTC", "pipeline.schedule.timezon"),
        (("pipeline", "tensorflow_threads", "inter_op"), -2, "pipeline.tensorflow_threads.inter_op"),
    ],
)
def test_bad_key_or_value_names_the_dotted_key(
    tmp_path: Path, raw: dict[str, Any], path: tuple[str, ...], value: Any, named: str
) -> None:
    set_path(raw, path, value)
    params_file = write_params(tmp_path, raw)

    with pytest.raises(ConfigError) as caught:
        load_params(params_file)
    message = str(caught.value)
    assert named in message
    assert str(params_file) in message


def test_unknown_key_is_reported_as_unknown(raw: dict[str, Any]) -> None:
    raw["defaults"]["aclimdb"]["prepare"]["maxlen"] = 3
    raw["datasets"]["giss"]["training"] = {"epoch": 3}
    with pytest.raises(ConfigError) as caught:
        resolve(raw)
    message = str(caught.value)
    assert "params: datasets.imdb.prepare.maxlen: unknown key" in message
    assert "params: datasets.giss.training.epoch: unknown key" in message  # every problem, not the first


def test_missing_defaults_for_a_kind_in_use(raw: dict[str, Any]) -> None:
    del raw["defaults"]["hadcet_daily"]
    with pytest.raises(
        ConfigError, match="defaults.hadcet_daily: missing; every kind in use needs its defaults"
    ):
        resolve(raw)


def test_defaults_of_a_kind_not_in_use_may_be_absent(raw: dict[str, Any]) -> None:
    del raw["defaults"]["csv_series"]  # no csv_series dataset; the profiles' csv_series keys reach none
    for profile in PROFILES:
        assert list(resolve(raw, profile).datasets) == list(EXPECTED_DATASETS)


def test_missing_section_of_a_kind_in_use(raw: dict[str, Any]) -> None:
    del raw["defaults"]["giss_station"]["baselines"]
    with pytest.raises(ConfigError, match=r"defaults.giss_station: missing section\(s\) baselines"):
        resolve(raw)


def test_missing_required_key_names_it(raw: dict[str, Any]) -> None:
    del raw["defaults"]["giss_station"]["prepare"]["window_size"]
    del raw["defaults"]["aclimdb"]["tuning"]["space"]
    with pytest.raises(ConfigError) as caught:
        resolve(raw)
    message = str(caught.value)
    assert "datasets.giss.prepare.window_size: Field required" in message
    assert "datasets.imdb.tuning.space: Field required" in message


def test_unknown_kind_in_defaults_is_named(raw: dict[str, Any]) -> None:
    raw["defaults"]["giss_stations"] = raw["defaults"]["giss_station"]
    with pytest.raises(ValueError, match="defaults: unknown kind 'giss_stations'; expected one of aclimdb"):
        resolve(raw)


@pytest.mark.parametrize("datasets", [None, {}, ["giss"]])
def test_datasets_must_be_a_non_empty_mapping(raw: dict[str, Any], datasets: Any) -> None:
    raw["datasets"] = datasets
    with pytest.raises(ConfigError, match="datasets: expected a mapping of dataset names"):
        resolve(raw)


def test_benchmark_is_free_form_for_src(raw: dict[str, Any]) -> None:
    raw["benchmark"] = {"anything": {"goes": [1, 2]}, "profile": "full"}
    params = resolve(raw, overrides=["benchmark.profile=smoke"])
    assert params.benchmark == {"anything": {"goes": [1, 2]}, "profile": "smoke"}


# --------------------------------------------------------------------------- the file itself


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(
        "datasets:\n  giss:\n    source: [kind\ndefaults:\n  giss_station: {}\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError) as caught:
        load_params(path)
    message = str(caught.value)
    assert str(path) in message
    assert "line 4" in message
    assert "invalid YAML" in message


@pytest.mark.parametrize(
    ("content", "line", "problem"),
    [
        (b"datasets:\n  giss: {source: {kind: giss_station}\n", 3, "invalid YAML"),  # a file cut short
        (b"datasets:\n  giss:\n    source: \x07\n", 3, "characters are not allowed"),
        (b"datasets:\n  # caf\xe9\n", 2, "not UTF-8"),
    ],
)
def test_a_corrupt_params_file_names_file_and_line(
    tmp_path: Path, content: bytes, line: int, problem: str
) -> None:
    path = tmp_path / "params.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        load_params(path)
    message = str(caught.value)
    assert message.startswith(f"{path}, line {line}: ")
    assert problem in message


def test_missing_file_names_it(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "params.yaml"
    with pytest.raises(ConfigError, match="params file not found") as caught:
        load_params(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just a string\n"])
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="mapping") as caught:
        load_params(path)
    assert str(path) in str(caught.value)


# --------------------------------------------------------------------------- --param overrides


def test_override_applies_with_yaml_types() -> None:
    params = load_params(
        REPO_PARAMS,
        [
            "datasets.imdb.prepare.max_len=100",
            "datasets.cet.end_date=null",
            "datasets.giss.prepare.validation_fraction=0.25",
            "datasets.imdb.prepare.padding=pre",
            "pipeline.fetch_retries=5",
        ],
    )
    assert params.dataset("imdb").prepare.max_len == 100
    assert type(params.dataset("imdb").prepare.max_len) is int
    assert params.dataset("imdb").prepare.padding == "pre"
    assert params.dataset("cet").end_date is None
    assert params.dataset("giss").prepare.validation_fraction == 0.25
    assert params.pipeline.fetch_retries == 5
    giss = load_params(REPO_PARAMS, ["datasets.giss.end_date=2010-06-01"]).dataset("giss")
    assert giss.end_date == date(2010, 6, 1)


def test_override_of_a_dataset_reaches_only_that_dataset(raw: dict[str, Any]) -> None:
    raw["datasets"]["giss2"] = copy.deepcopy(NEW_STATION)
    params = resolve(raw, overrides=["datasets.giss.training.epochs=3"])
    assert params.dataset("giss").training.epochs == 3
    assert params.dataset("giss2").training.epochs == 60


def test_kind_wide_override_reaches_every_dataset_of_the_kind(raw: dict[str, Any]) -> None:
    raw["datasets"]["giss2"] = {**copy.deepcopy(NEW_STATION), "training": {"epochs": 99}}
    raw["datasets"]["giss"]["training"] = {"epochs": 77}
    assert resolve(raw).dataset("giss2").training.epochs == 99  # the entry's own value over defaults

    params = resolve(raw, overrides=["defaults.giss_station.training.epochs=3"])
    assert params.dataset("giss").training.epochs == 3  # wins over the dataset's own value
    assert params.dataset("giss2").training.epochs == 3
    assert params.dataset("giss2").training.patience == 8  # the rest of the section stays
    assert params.dataset("cet").training.epochs == 6  # other kinds untouched
    assert params.dataset("synthetic").training.epochs == 100


def test_dataset_override_wins_over_a_kind_wide_one_whatever_the_order(raw: dict[str, Any]) -> None:
    raw["datasets"]["giss2"] = copy.deepcopy(NEW_STATION)
    for overrides in (
        ["datasets.giss.training.epochs=7", "defaults.giss_station.training.epochs=3"],
        ["defaults.giss_station.training.epochs=3", "datasets.giss.training.epochs=7"],
    ):
        params = resolve(raw, overrides=overrides)
        assert params.dataset("giss").training.epochs == 7
        assert params.dataset("giss2").training.epochs == 3


def test_override_of_an_optional_key_absent_from_the_file(tmp_path: Path, raw: dict[str, Any]) -> None:
    del raw["datasets"]["cet"]["end_date"]
    path = write_params(tmp_path, raw)
    assert load_params(path).dataset("cet").end_date is None
    assert load_params(path, ["datasets.cet.end_date=2000-01-31"]).dataset("cet").end_date == date(
        2000, 1, 31
    )


def test_override_of_one_search_space_entry_keeps_the_others() -> None:
    params = load_params(REPO_PARAMS, ["datasets.giss.tuning.space.units={value: 8}"])
    space = params.dataset("giss").tuning.space
    assert space["units"].value == 8 and space["units"].values is None
    assert space["family"].values == ["gru", "lstm"]


def test_overrides_and_profiles_do_not_change_the_input(raw: dict[str, Any]) -> None:
    before = copy.deepcopy(raw)
    params = resolve(
        raw,
        "smoke",
        [
            "datasets.imdb.prepare.max_len=7",
            "defaults.giss_station.training.epochs=3",
            "datasets.giss.split_index=792",
            "pipeline.schedule.cron=0 4 * * *",
        ],
    )
    assert params.dataset("imdb").prepare.max_len == 7
    assert params.pipeline.schedule.cron == "0 4 * * *"
    assert raw == before
    assert resolve(raw).dataset("imdb").prepare.max_len == 400


@pytest.mark.parametrize(
    ("override", "named"),
    [
        (
            "datasets.nope.training.epochs=1",
            "datasets.nope.training.epochs: unknown dataset 'nope'; configured: imdb",
        ),
        (
            "defaults.nope.training.epochs=1",
            "defaults.nope.training.epochs: unknown kind 'nope'; expected one of",
        ),
        ("nope.x=1", "--param nope.x: unknown key"),
        ("imdbmax_len=1", "--param imdbmax_len: unknown key"),
        ("datasets.giss=3", "expected datasets.<name>.<key>"),
        ("defaults.giss_station=3", "expected defaults.<kind>.<key>"),
        ("datasets.imdb.prepare.maxlen=1", "datasets.imdb.prepare.maxlen: unknown key"),
        ("defaults.hadcet_daily.prepare.windowsize=3", "datasets.cet.prepare.windowsize: unknown key"),
        ("datasets.giss.window=12", "datasets.giss.window: unknown key"),
        ("datasets.imdb.prepare.max_len.deeper=1", "datasets.imdb.prepare.max_len"),
        ("pipeline.schedul.cron=x", "pipeline.schedul: unknown key"),
    ],
)
def test_unknown_override_key_fails_naming_it(override: str, named: str) -> None:
    with pytest.raises(ValueError) as caught:  # ConfigError, or the registry's ValueError for a kind
        load_params(REPO_PARAMS, [override])
    assert named in str(caught.value)


@pytest.mark.parametrize("override", ["noequals", "=5", " =5"])
def test_override_without_key_value_fails(override: str) -> None:
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        load_params(REPO_PARAMS, [override])


def test_override_with_a_bad_value_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"datasets\.imdb\.prepare\.padding"):
        load_params(REPO_PARAMS, ["datasets.imdb.prepare.padding=middle"])
    with pytest.raises(ConfigError, match=r"datasets\.giss\.prepare\.window_size"):
        load_params(REPO_PARAMS, ["defaults.giss_station.prepare.window_size=0"])
    with pytest.raises(ConfigError, match=r"datasets\.giss\.training\.epochs"):
        load_params(REPO_PARAMS, ["datasets.giss.training.epochs=0"])
    with pytest.raises(ConfigError, match=r"--param datasets\.imdb\.prepare\.max_len"):
        parse_override("datasets.imdb.prepare.max_len=[1, 2")


def test_parse_override_reads_yaml_values() -> None:
    assert parse_override("a.b=3") == ("a.b", 3)
    assert parse_override(" a.b = 0.5") == ("a.b", 0.5)
    assert parse_override("a.b=null") == ("a.b", None)
    assert parse_override("a.b=") == ("a.b", "")
    assert parse_override("a.b=[1, x]") == ("a.b", [1, "x"])
    assert parse_override("a.b=k=v") == ("a.b", "k=v")


@pytest.mark.parametrize(
    "override",
    [
        "datasets.giss.source.kind=hadcet_daily",
        "defaults.giss_station.source.kind=nope",
        "datasets.giss.source={kind: nope}",
        "datasets.giss.source=null",
    ],
)
def test_a_dataset_kind_cannot_be_overridden(override: str) -> None:
    key = override.partition("=")[0].replace(".", r"\.")
    with pytest.raises(ConfigError, match=rf"{key}: a dataset's kind \(giss_station\) cannot be overridden"):
        load_params(REPO_PARAMS, [override])


@pytest.mark.parametrize("override", ["datasets.giss.name=other", "defaults.giss_station.name=x"])
def test_a_dataset_name_is_its_key_not_an_override(override: str) -> None:
    with pytest.raises(ConfigError, match=r"expected (datasets|defaults)\.<(name|kind)>\.<key>"):
        load_params(REPO_PARAMS, [override])


def test_an_unknown_kind_anywhere_is_a_config_error(tmp_path: Path, raw: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match=r"--param defaults\.nope\.x: unknown kind 'nope'"):
        load_params(REPO_PARAMS, ["defaults.nope.x=1"])
    raw["datasets"]["giss"]["source"]["kind"] = "nope"
    with pytest.raises(ConfigError, match=r"datasets\.giss\.source\.kind: unknown kind 'nope'"):
        load_params(write_params(tmp_path, raw))


def test_value_of_refuses_a_key_of_another_dataset_or_kind() -> None:
    params = load_params(REPO_PARAMS)
    with pytest.raises(KeyError, match="defaults.aclimdb.training"):
        params.value_of("defaults.aclimdb.training", "giss")
    with pytest.raises(KeyError, match="datasets.imdb"):
        params.value_of("datasets.imdb", "giss")


def test_the_scheduled_profile_must_exist(tmp_path: Path, raw: dict[str, Any]) -> None:
    raw["pipeline"]["schedule"]["profile"] = "smokee"
    with pytest.raises(ConfigError, match="pipeline.schedule.profile: unknown profile 'smokee'"):
        load_params(write_params(tmp_path, raw))


def test_override_can_leave_no_training_values() -> None:
    params = load_params(REPO_PARAMS, ["datasets.synthetic.source.n_points=500"])
    synthetic = params.dataset("synthetic")
    with pytest.raises(
        ValueError, match=r"datasets\.synthetic\.split_index: 1000 leaves no training or no test"
    ):
        synthetic.split_at(synthetic.source.n_points)


def test_override_below_a_scalar_field_is_a_config_error_not_a_crash(
    tmp_path: Path, raw: dict[str, Any]
) -> None:
    raw["defaults"]["aclimdb"]["prepare"]["max_len"] = {"a": {"b": 1}}
    path = write_params(tmp_path, raw)
    with pytest.raises(ConfigError, match=r"datasets\.imdb\.prepare\.max_len"):
        load_params(path, ["datasets.imdb.prepare.max_len.a.b=2"])


def test_setting_test_size_clears_split_index_and_back() -> None:
    giss = load_params(REPO_PARAMS, ["datasets.giss.split_index=792"]).dataset("giss")
    assert (giss.test_size, giss.split_index) == (None, 792)
    assert giss.split_at(840) == 792
    cet = load_params(REPO_PARAMS, ["datasets.cet.test_size=365"]).dataset("cet")
    assert (cet.test_size, cet.split_index) == (365, None)
    assert cet.split_at(1000) == 635
    # the last of the two given wins
    giss = load_params(REPO_PARAMS, ["datasets.giss.split_index=792", "datasets.giss.test_size=10"]).dataset(
        "giss"
    )
    assert (giss.test_size, giss.split_index) == (10, None)
    # kind-wide too
    giss = load_params(REPO_PARAMS, ["defaults.giss_station.split_index=700"]).dataset("giss")
    assert (giss.test_size, giss.split_index) == (None, 700)


def test_clearing_the_only_test_period_fails() -> None:
    with pytest.raises(ConfigError, match="datasets.giss: .*exactly one of test_size"):
        load_params(REPO_PARAMS, ["datasets.giss.test_size=null"])


# --------------------------------------------------------------------------- profiles


def test_profiles_override_the_default_sections() -> None:
    default = load_params(REPO_PARAMS)
    smoke = load_params(REPO_PARAMS, profile="smoke")
    assert smoke.profile == "smoke"
    assert smoke.dataset("imdb").prepare.subset == 300 and default.dataset("imdb").prepare.subset is None
    assert smoke.dataset("synthetic").training.epochs < default.dataset("synthetic").training.epochs
    assert (
        smoke.dataset("synthetic").split_index == default.dataset("synthetic").split_index
    )  # same test data
    assert smoke.dataset("giss").tuning.max_trials == 2
    # replaced whole: the smoke space trains hybrids only
    assert set(smoke.dataset("giss").tuning.space) == {"family", "units", "learning_rate", "anchor"}
    cet = smoke.dataset("cet")
    assert cet.start_date == date(2005, 1, 1) and cet.split_index == 4800
    full = load_params(REPO_PARAMS, profile="full")
    assert full.dataset("giss").training.epochs == 150
    assert full.dataset("giss").tuning.space == default.dataset("giss").tuning.space
    overridden = load_params(REPO_PARAMS, ["datasets.synthetic.training.epochs=1"], profile="full")
    assert overridden.dataset("synthetic").training.epochs == 1  # --param wins over the profile
    overridden = load_params(REPO_PARAMS, ["defaults.synthetic.training.epochs=1"], profile="full")
    assert overridden.dataset("synthetic").training.epochs == 1


def test_profiles_apply_kind_wide_to_a_new_dataset(tmp_path: Path, raw: dict[str, Any]) -> None:
    raw["datasets"]["giss2"] = {**copy.deepcopy(NEW_STATION), "tuning": {"max_trials": 9}}
    path = write_params(tmp_path, raw)

    assert load_params(path).dataset("giss2").tuning.max_trials == 9
    smoke = load_params(path, profile="smoke").dataset("giss2")
    assert smoke.tuning.max_trials == 2  # the profile's kind-wide key, over the entry's own value
    assert smoke.training.epochs == 2
    assert smoke.source.station == "USW00094728"
    assert load_params(path, profile="full").dataset("giss2").training.epochs == 150


def test_a_profile_may_name_one_dataset(tmp_path: Path, raw: dict[str, Any]) -> None:
    raw["datasets"]["giss2"] = copy.deepcopy(NEW_STATION)
    raw["profiles"]["smoke"]["datasets.giss2.training.epochs"] = 5
    path = write_params(tmp_path, raw)
    smoke = load_params(path, profile="smoke")
    assert smoke.dataset("giss2").training.epochs == 5  # over the profile's kind-wide 2
    assert smoke.dataset("giss").training.epochs == 2


def test_unknown_profile_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="profile 'fast' not found; expected one of default, full, smoke"):
        load_params(REPO_PARAMS, profile="fast")


@pytest.mark.parametrize(
    ("key", "named"),
    [
        ("defaults.hadcet_daily.training.epoch", "datasets.cet.training.epoch: unknown key"),
        ("datasets.cett.training.epochs", "unknown dataset 'cett'"),
        ("cet.training.epochs", "profiles.full: cet.training.epochs: unknown key"),
        ("defaults.giss_station.tuning.max_trials", "datasets.giss.tuning.max_trials"),
    ],
)
def test_a_typo_in_any_profile_fails_at_load(
    tmp_path: Path, raw: dict[str, Any], key: str, named: str
) -> None:
    raw["profiles"]["full"][key] = 0 if key.endswith("max_trials") else 3
    path = write_params(tmp_path, raw)
    with pytest.raises(ConfigError, match="profile full") as caught:
        load_params(path)  # the default run still checks the other profiles
    assert named in str(caught.value)


def test_schedule_cron_is_validated(tmp_path: Path, raw: dict[str, Any]) -> None:
    raw["pipeline"]["schedule"]["cron"] = "every monday"
    path = write_params(tmp_path, raw)
    with pytest.raises(ConfigError, match=r"pipeline.schedule: Value error, cron: expected 5 fields"):
        load_params(path)
    with pytest.raises(ConfigError, match="cron: expected 5 fields"):
        load_params(REPO_PARAMS, ["pipeline.schedule.cron=0 3 * *"])


def test_schedule_datasets_must_be_configured_ones(tmp_path: Path, raw: dict[str, Any]) -> None:
    raw["pipeline"]["schedule"]["datasets"] = ["giss", "nope"]
    path = write_params(tmp_path, raw)
    with pytest.raises(ConfigError, match=r"pipeline.schedule.datasets: unknown \['nope'\]") as caught:
        load_params(path)
    assert "imdb, giss, cet, synthetic, mnist or all" in str(caught.value)
    params = load_params(REPO_PARAMS, ["pipeline.schedule.datasets=[giss, all]"])
    assert params.select(params.pipeline.schedule.datasets) == ["giss", "imdb", "cet", "synthetic", "mnist"]


# --------------------------------------------------------------------------- value_of (dvc.yaml's keys)


def test_value_of_the_dataset_entry_is_its_source_and_protocol() -> None:
    params = load_params(REPO_PARAMS)
    giss = params.dataset("giss")
    entry = params.value_of("datasets.giss", "giss")
    assert entry == {
        "name": "giss",
        "source": giss.source.model_dump(mode="json"),
        "start_date": None,
        "end_date": "2019-12-01",
        "test_size": 48,
        "split_index": None,
    }  # no sections: those are the defaults.<kind>.<section> keys
    assert entry["source"]["kind"] == "giss_station"
    assert entry["source"]["station"] == "USW00024233"
    assert params.value_of("datasets.cet.split_index", "cet") == 80000
    assert params.value_of("datasets.giss.source", "giss") == entry["source"]
    assert set(params.value_of("datasets.imdb", "imdb")) == {
        "name",
        "source",
    }  # a text dataset has no protocol keys
    with pytest.raises(KeyError, match="datasets.giss.training"):
        params.value_of("datasets.giss.training", "giss")


def test_value_of_a_defaults_section_is_the_resolved_section() -> None:
    params = load_params(REPO_PARAMS, ["datasets.giss.training.epochs=5"], profile="smoke")
    training = params.value_of("defaults.giss_station.training", "giss")
    assert training == params.dataset("giss").training.model_dump(mode="json")
    assert training["epochs"] == 5  # --param applied
    tuning = params.value_of("defaults.giss_station.tuning", "giss")
    assert tuning["max_trials"] == 2  # profile applied
    assert tuning["space"]["units"] == {
        "value": 8,
        "values": None,
        "min": None,
        "max": None,
        "step": None,
        "sampling": "linear",
    }
    source = params.value_of("defaults.synthetic.source", "synthetic")
    assert source["n_points"] == 1461 and source["kind"] == "synthetic"
    assert params.value_of("defaults.aclimdb.prepare", "imdb")["subset"] == 300


def test_value_of_other_keys_and_errors() -> None:
    params = load_params(REPO_PARAMS)
    assert params.value_of("pipeline.fetch_retries", "giss") == 2
    assert params.value_of("pipeline.schedule.cron", "giss") == "0 3 * * 1"
    with pytest.raises(KeyError, match="pipeline.nope"):
        params.value_of("pipeline.nope", "giss")
    with pytest.raises(KeyError, match="defaults.giss_station.trainin"):
        params.value_of("defaults.giss_station.trainin", "giss")
    with pytest.raises(ConfigError, match="not configured"):
        params.value_of("datasets.nope", "nope")


def test_a_plain_value_yaml_cannot_read_is_taken_as_text() -> None:
    from seqlab.config import parse_override

    assert parse_override("pipeline.schedule.cron=* * * * *") == ("pipeline.schedule.cron", "* * * * *")
    with pytest.raises(ConfigError, match="cannot read value"):
        parse_override("pipeline.notify=[unclosed")


def test_an_even_season_smoothing_width_names_the_key_and_value() -> None:
    with pytest.raises(ConfigError, match=r"season_smoothing.*got 4") as caught:
        load_params(REPO_PARAMS, overrides=["defaults.synthetic.baselines.season_smoothing=[1, 4]"])
    assert "synthetic" in str(caught.value)


def test_an_ar_order_of_zero_is_refused_at_load_not_deep_in_a_stage() -> None:
    with pytest.raises(
        ConfigError, match=r"datasets.synthetic.baselines.ar_order: .*greater than or equal to 1"
    ):
        load_params(REPO_PARAMS, overrides=["defaults.synthetic.baselines.ar_order=0"])


def test_an_unknown_ar_selection_names_the_key_and_the_choices() -> None:
    with pytest.raises(ConfigError, match=r"datasets.synthetic.baselines.ar_selection: .*'aic' or 'bic'"):
        load_params(REPO_PARAMS, overrides=["defaults.synthetic.baselines.ar_selection=hqic"])


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("defaults.giss_station.training.bucket_width=25", r"datasets.giss: .*training.bucket_width: .*text"),
        ("defaults.mnist_rows.tuning.bucket_width=25", r"datasets.mnist: .*tuning.bucket_width: .*text"),
        ("defaults.aclimdb.tuning.bucket_width=0", r"datasets.imdb.tuning.bucket_width: .*greater than"),
    ],
)
def test_length_bucketing_is_refused_where_there_are_no_token_ids(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_params(REPO_PARAMS, overrides=[override])


def test_length_bucketing_needs_padding_id_zero() -> None:
    with pytest.raises(ConfigError, match=r"datasets.imdb: .*tuning.bucket_width: .*pad_value 0.*got 3"):
        load_params(REPO_PARAMS, overrides=["defaults.aclimdb.prepare.pad_value=3"])  # bucketed by default
    unbucketed = ["defaults.aclimdb.tuning.bucket_width=null", "defaults.aclimdb.training.bucket_width=null"]
    assert load_params(REPO_PARAMS, ["defaults.aclimdb.prepare.pad_value=3", *unbucketed])
