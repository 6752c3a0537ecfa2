"""params.yaml validation: the repo's file loads, bad keys and values fail naming the dotted key."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from seqlab.config import (
    DATASETS,
    CetParams,
    ConfigError,
    GissParams,
    ImdbParams,
    Params,
    SyntheticParams,
    apply_overrides,
    load_params,
    load_raw,
    parse_override,
    validate_params,
)

REPO_PARAMS = Path(__file__).resolve().parents[2] / "params.yaml"


@pytest.fixture
def raw() -> dict[str, Any]:
    return load_raw(REPO_PARAMS)


def write_params(tmp_path: Path, raw: dict[str, Any]) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- the repo's file


def test_repo_params_validate() -> None:
    params = load_params(REPO_PARAMS)
    assert isinstance(params.imdb, ImdbParams)
    assert isinstance(params.giss, GissParams)
    assert isinstance(params.cet, CetParams)
    assert isinstance(params.synthetic, SyntheticParams)
    assert params.imdb.max_len == 200
    assert params.giss.end_date == date(2019, 12, 1)
    assert params.giss.split_index == 792
    assert params.cet.end_date == date(2020, 3, 23)
    assert params.synthetic.n_points == 1461
    assert params.synthetic.split_index == 1000
    for dataset in ("giss", "cet", "synthetic"):
        assert params.series(dataset) is getattr(params, dataset)
    with pytest.raises(ValueError, match="imdb"):
        params.series("imdb")
    assert set(DATASETS) <= set(Params.model_fields)
    assert params.profile == "default"


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [("imdb", "max_len", 5), ("giss", "window_size", 3), ("cet", "end_date", None), ("synthetic", "seed", 1)],
)
def test_each_section_is_frozen(section: str, key: str, value: Any) -> None:
    params = load_params(REPO_PARAMS)
    part = getattr(params, section)
    before = getattr(part, key)
    with pytest.raises(ValidationError, match="frozen"):
        setattr(part, key, value)
    assert getattr(part, key) == before
    with pytest.raises(ValidationError, match="frozen"):
        params.imdb = params.imdb  # type: ignore[misc]


# --------------------------------------------------------------------------- bad keys and values


@pytest.mark.parametrize(
    ("path", "value", "dotted"),
    [
        (("surprise",), {"a": 1}, "surprise"),
        (("imdb", "maxlen"), 100, "imdb.maxlen"),
        (("cet", "windowsize"), 3, "cet.windowsize"),
        (("imdb", "max_len"), "long", "imdb.max_len"),
        (("giss", "end_date"), "not a date", "giss.end_date"),
        (("synthetic", "window_size"), 0, "synthetic.window_size"),
        (("giss", "window_size"), 0, "giss.window_size"),
        (("imdb", "validation_fraction"), 1.5, "imdb.validation_fraction"),
        (("cet", "validation_fraction"), 0.0, "cet.validation_fraction"),
        (("imdb", "padding"), "middle", "imdb.padding"),
        (("giss", "gap_policy"), "guess", "giss.gap_policy"),
    ],
)
def test_bad_key_or_value_names_the_dotted_key(
    tmp_path: Path, raw: dict[str, Any], path: tuple[str, ...], value: Any, dotted: str
) -> None:
    node = raw
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    params_file = write_params(tmp_path, raw)

    with pytest.raises(ConfigError) as caught:
        load_params(params_file)
    message = str(caught.value)
    assert dotted in message
    assert str(params_file) in message


def test_unknown_key_is_reported_as_unknown(raw: dict[str, Any]) -> None:
    raw["imdb"]["maxlen"] = 3
    with pytest.raises(ConfigError, match=r"imdb\.maxlen: unknown key"):
        validate_params(raw)


def test_missing_section_and_missing_required_key(raw: dict[str, Any]) -> None:
    del raw["cet"]
    del raw["giss"]["window_size"]
    with pytest.raises(ConfigError) as caught:
        validate_params(raw)
    message = str(caught.value)
    assert "params: cet:" in message
    assert "giss.window_size" in message


def test_synthetic_split_index_must_be_below_n_points(raw: dict[str, Any]) -> None:
    raw["synthetic"]["split_index"] = raw["synthetic"]["n_points"]
    with pytest.raises(ConfigError, match="synthetic") as caught:
        validate_params(raw)
    assert "split_index 1461 must be below n_points 1461" in str(caught.value)


@pytest.mark.parametrize(
    ("stack", "message"),
    [
        ({"giss": ["dense", "gru"]}, "stack: giss: only imdb"),
        ({"imdb": ["nbsvm", "nbsvm_typo"]}, r"stack: imdb: unknown families \['nbsvm_typo'\]"),
        ({"imdb": ["nbsvm", "nbsvm"]}, "stack: imdb: expected at least 2 distinct families"),
    ],
)
def test_benchmark_stack_names_only_known_imdb_families(
    raw: dict[str, Any], stack: dict[str, list[str]], message: str
) -> None:
    raw["benchmark"]["stack"] = stack
    with pytest.raises(ConfigError, match=message) as caught:
        validate_params(raw)
    assert "benchmark" in str(caught.value)


# --------------------------------------------------------------------------- the file itself


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("imdb:\n  max_len: 200\n  padding: [post\ngiss:\n  x: 1\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_params(path)
    message = str(caught.value)
    assert str(path) in message
    assert "line 4" in message
    assert "invalid YAML" in message


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
        REPO_PARAMS, ["imdb.max_len=100", "cet.end_date=null", "giss.validation_fraction=0.25"]
    )
    assert params.imdb.max_len == 100
    assert type(params.imdb.max_len) is int
    assert params.cet.end_date is None
    assert params.giss.validation_fraction == 0.25
    assert load_params(REPO_PARAMS, ["giss.end_date=2010-06-01"]).giss.end_date == date(2010, 6, 1)


def test_override_of_an_optional_key_absent_from_the_file(tmp_path: Path, raw: dict[str, Any]) -> None:
    del raw["cet"]["end_date"]
    path = write_params(tmp_path, raw)
    assert load_params(path).cet.end_date is None
    assert load_params(path, ["cet.end_date=2000-01-31"]).cet.end_date == date(2000, 1, 31)


def test_overrides_do_not_change_the_input(raw: dict[str, Any]) -> None:
    result = apply_overrides(raw, ["imdb.max_len=7"])
    assert result["imdb"]["max_len"] == 7
    assert raw["imdb"]["max_len"] == 200


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("cet.windowsize=3", "cet.windowsize"),
        ("nope.x=1", "nope"),
        ("imdb.max_len.deeper=1", "imdb.max_len"),
        ("imdbmax_len=1", "imdbmax_len"),
    ],
)
def test_unknown_override_key_fails_naming_it(override: str, named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_params(REPO_PARAMS, [override])
    message = str(caught.value)
    assert named in message
    assert "unknown key" in message


@pytest.mark.parametrize("override", ["noequals", "=5", " =5"])
def test_override_without_key_value_fails(override: str) -> None:
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        load_params(REPO_PARAMS, [override])


def test_override_with_a_bad_value_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"imdb\.padding"):
        load_params(REPO_PARAMS, ["imdb.padding=middle"])
    with pytest.raises(ConfigError, match=r"giss\.window_size"):
        load_params(REPO_PARAMS, ["giss.window_size=0"])
    with pytest.raises(ConfigError, match=r"--param imdb\.max_len"):
        parse_override("imdb.max_len=[1, 2")


def test_override_can_break_the_synthetic_split() -> None:
    with pytest.raises(ConfigError, match="split_index"):
        load_params(REPO_PARAMS, ["synthetic.n_points=500"])


def test_override_below_a_scalar_field_is_a_config_error_not_a_crash(
    tmp_path: Path, raw: dict[str, Any]
) -> None:
    raw["imdb"]["max_len"] = {"a": {"b": 1}}
    path = write_params(tmp_path, raw)
    with pytest.raises(ConfigError, match=r"imdb\.max_len"):
        load_params(path, ["imdb.max_len.a.b=2"])


def test_profiles_override_the_default_sections() -> None:
    default = load_params(REPO_PARAMS)
    smoke = load_params(REPO_PARAMS, profile="smoke")
    assert smoke.profile == "smoke"
    assert smoke.imdb.subset is not None and default.imdb.subset is None
    assert smoke.synthetic.training.epochs < default.synthetic.training.epochs
    assert smoke.synthetic.split_index == default.synthetic.split_index  # same test data as default
    overridden = load_params(REPO_PARAMS, ["synthetic.training.epochs=1"], profile="full")
    assert overridden.synthetic.training.epochs == 1  # --param wins over the profile


def test_unknown_profile_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="profile 'fast' not found; expected one of default, full, smoke"):
        load_params(REPO_PARAMS, profile="fast")


def test_a_typo_in_any_profile_fails_at_load(tmp_path: Path) -> None:
    raw = yaml.safe_load(REPO_PARAMS.read_text())
    raw["profiles"]["full"]["cet.training.epoch"] = 3
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match=r"profiles.full: cet.training.epoch: unknown key"):
        load_params(path)  # the default run still checks the other profiles


def test_schedule_cron_is_validated(tmp_path: Path) -> None:
    raw = yaml.safe_load(REPO_PARAMS.read_text())
    raw["pipeline"]["schedule"]["cron"] = "every monday"
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match=r"pipeline.schedule: Value error, cron: expected 5 fields"):
        load_params(path)
