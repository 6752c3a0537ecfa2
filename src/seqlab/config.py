"""params.yaml, validated once at the edge into typed, frozen objects.

Library code never opens params.yaml: the CLI (and the flows) call :func:`load_params` and pass
the resulting sections down. Unknown keys and bad values fail with the dotted key in the message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DATASETS: tuple[str, ...] = ("imdb", "giss", "cet", "synthetic")
SERIES_DATASETS: tuple[str, ...] = ("giss", "cet", "synthetic")


class Section(BaseModel):
    """Base of every params section: frozen, and an unknown key is an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ImdbParams(Section):
    """Text preparation for the IMDB reviews."""

    max_tokens: int = Field(20000, ge=3, description="vocabulary size including padding and [UNK]")
    max_len: int = Field(200, ge=1)
    padding: Literal["pre", "post"] = "post"
    truncating: Literal["pre", "post"] = "post"
    pad_value: int = 0
    validation_fraction: float = Field(0.2, gt=0.0, lt=1.0)
    seed: int = 42
    subset: int | None = Field(None, ge=4, description="keep this many reviews per split (smoke runs)")
    baseline_max_features: int = Field(
        200000, ge=1, description="tf-idf n-gram features of the linear baseline"
    )
    tuning: TuningParams
    training: TrainingParams


class SpaceEntry(Section):
    """One hyperparameter of a search space: a fixed value, a list of choices or a range."""

    value: Any = None
    values: list[Any] | None = None
    min: int | float | None = None  # ints give an integer range, floats a float range
    max: int | float | None = None
    step: int | float | None = None
    sampling: Literal["linear", "log"] = "linear"

    @model_validator(mode="after")
    def _one_kind(self) -> SpaceEntry:
        kinds = [
            self.value is not None,
            self.values is not None,
            self.min is not None or self.max is not None,
        ]
        if sum(kinds) != 1:
            raise ValueError("give exactly one of value, values, or min and max")
        if self.values is not None and not self.values:
            raise ValueError("values must not be empty")
        if kinds[2] and (self.min is None or self.max is None or self.min > self.max):
            raise ValueError(f"a range needs min <= max (got min={self.min}, max={self.max})")
        return self


class TuningParams(Section):
    """Keras Tuner search: algorithm, objective, budget and the search space."""

    algorithm: Literal["random", "hyperband", "bayesian"] = "random"
    objective: str = "val_loss"
    direction: Literal["min", "max"] = "min"
    max_trials: int = Field(4, ge=1)
    epochs: int = Field(5, ge=1)
    batch_size: int = Field(32, ge=1)
    executions_per_trial: int = Field(1, ge=1)
    max_consecutive_failed_trials: int = Field(3, ge=1)
    seed: int = 42
    space: dict[str, SpaceEntry]


class VariantParams(Section):
    """Dropout settings of one training variant of the best configuration."""

    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    recurrent_dropout: float = Field(0.0, ge=0.0, lt=1.0)


class TrainingParams(Section):
    """Retraining of the best configuration, once per dropout variant."""

    epochs: int = Field(20, ge=1)
    batch_size: int = Field(32, ge=1)
    patience: int = Field(5, ge=1)
    seed: int = 42
    variants: dict[str, VariantParams]

    @model_validator(mode="after")
    def _has_variants(self) -> TrainingParams:
        if not self.variants:
            raise ValueError("variants: give at least one variant")
        return self


class WindowParams(Section):
    """Time-based split, normalisation and windowing shared by the series datasets."""

    start_date: date | None = Field(None, description="first date used, inclusive (null: the whole record)")
    split_index: int = Field(ge=1, description="first index of the test period")
    end_date: date | None = Field(None, description="last date used (the protocol's end), inclusive")
    window_size: int = Field(ge=1)
    horizon: int = Field(1, ge=1)
    stride: int = Field(1, ge=1)
    validation_fraction: float = Field(0.1, gt=0.0, lt=1.0)
    period: int = Field(12, ge=1, description="season length in steps, for seasonal baselines")
    ar_order: int = Field(1, ge=0, description="AR order of the climatology + AR baseline")
    tuning: TuningParams
    training: TrainingParams


class GissParams(WindowParams):
    """GISS station series: gap policy plus windowing."""

    gap_policy: Literal["error", "interpolate"] = "interpolate"


class CetParams(WindowParams):
    """HadCET daily series: gap policy plus windowing."""

    gap_policy: Literal["error", "interpolate"] = "interpolate"


class SyntheticParams(WindowParams):
    """The book's synthetic trend + seasonality + noise series, plus windowing."""

    n_points: int = Field(1461, ge=2)
    baseline: float = 10.0
    slope: float = 0.09
    amplitude: float = 20.0
    noise_level: float = Field(5.0, ge=0.0)
    seed: int = 42

    @model_validator(mode="after")
    def _split_inside(self) -> SyntheticParams:
        if self.split_index >= self.n_points:
            raise ValueError(f"split_index {self.split_index} must be below n_points {self.n_points}")
        return self


class ScheduleParams(Section):
    """When the scheduled pipeline reruns by itself (``seqlab schedule`` and prefect.yaml)."""

    cron: str = Field("0 3 * * 1", description="five-field cron expression")
    timezone: str = "UTC"
    datasets: list[str] = Field(default_factory=lambda: ["all"])
    profile: str = "default"

    @model_validator(mode="after")
    def _valid(self) -> ScheduleParams:
        fields = self.cron.split()
        if len(fields) != 5:
            raise ValueError(f"cron: expected 5 fields (minute hour day month weekday), got {self.cron!r}")
        unknown = [name for name in self.datasets if name not in (*DATASETS, "all")]
        if unknown:
            raise ValueError(f"datasets: unknown {unknown}; expected some of {', '.join(DATASETS)} or all")
        return self


class PipelineParams(Section):
    """Orchestration: the schedule, the registry and the Prefect task retries."""

    schedule: ScheduleParams = Field(default_factory=lambda: ScheduleParams.model_validate({}))
    fetch_retries: int = Field(2, ge=0, description="retries of the network step (fetch)")
    fetch_retry_delay_seconds: float = Field(10.0, ge=0.0)
    registered_model_prefix: str = Field("seqlab-", min_length=1)
    champion_alias: str = Field("champion", min_length=1)


class BenchmarkParams(Section):
    """The benchmark protocol (``make bench``): profile, seeds per dataset, model families compared."""

    profile: str = "full"
    seeds: dict[str, int] = Field(
        default_factory=dict, description="seeds per dataset (>= 3 for small test sets)"
    )
    families: dict[str, dict[str, dict[str, Any]]] = Field(
        default_factory=dict, description="per dataset: name -> builder arguments over the tuned best"
    )
    stack: dict[str, list[str]] = Field(
        default_factory=dict,
        description="per dataset (imdb only): families whose validation predictions a logistic "
        "regression combines into one more model, a stacked ensemble",
    )

    @model_validator(mode="after")
    def _known_datasets(self) -> BenchmarkParams:
        for dataset, members in self.stack.items():
            if dataset != "imdb":
                raise ValueError(f"stack: {dataset}: only imdb (a classifier) can be stacked")
            unknown = sorted(set(members) - set(self.families.get(dataset, {})))
            if unknown:
                raise ValueError(f"stack: {dataset}: unknown families {unknown}; list them under families")
            if len(set(members)) < 2:
                raise ValueError(f"stack: {dataset}: expected at least 2 distinct families, got {members}")
        for section in ("seeds", "families"):
            unknown = sorted(set(getattr(self, section)) - set(DATASETS))
            if unknown:
                raise ValueError(f"{section}: unknown datasets {unknown}; expected {', '.join(DATASETS)}")
        bad = {name: count for name, count in self.seeds.items() if count < 1}
        if bad:
            raise ValueError(f"seeds: expected at least 1 per dataset, got {bad}")
        return self


class Params(Section):
    """All tunables of seqlab, one section per concern."""

    imdb: ImdbParams
    giss: GissParams
    cet: CetParams
    synthetic: SyntheticParams
    pipeline: PipelineParams = Field(default_factory=lambda: PipelineParams.model_validate({}))
    benchmark: BenchmarkParams = Field(default_factory=lambda: BenchmarkParams.model_validate({}))
    profiles: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="named sets of dotted-key overrides (smoke, full)"
    )
    profile: str = Field("default", description="the profile applied (set by load_params)")

    def series(self, dataset: str) -> WindowParams:
        """Return the windowing section of a series dataset."""
        if dataset not in SERIES_DATASETS:
            raise ValueError(
                f"{dataset!r} is not a series dataset; expected one of {', '.join(SERIES_DATASETS)}"
            )
        section: WindowParams = getattr(self, dataset)
        return section


class ConfigError(ValueError):
    """params.yaml or a --param override is invalid; the message names the key."""


def parse_override(text: str) -> tuple[str, Any]:
    """Parse ``key.sub=value`` (value read as YAML, so ``3``, ``0.5``, ``post``, ``null`` work)."""
    key, separator, raw_value = text.partition("=")
    key = key.strip()
    if not separator or not key:
        raise ConfigError(f"--param {text!r}: expected KEY=VALUE, e.g. imdb.max_len=100")
    try:
        value = yaml.safe_load(raw_value) if raw_value.strip() else ""
    except yaml.YAMLError as error:
        raise ConfigError(f"--param {key}: cannot read value {raw_value!r}: {error}") from error
    return key, value


def apply_overrides(raw: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Return a copy of ``raw`` with ``KEY=VALUE`` overrides applied; an unknown key is an error."""
    return apply_items(raw, (parse_override(text) for text in overrides), source="--param")


def apply_items(raw: dict[str, Any], items: Iterable[tuple[str, Any]], source: str) -> dict[str, Any]:
    """Return a copy of ``raw`` with ``(dotted.key, value)`` pairs set; ``source`` names them in errors."""
    result = _deep_copy(raw)
    for key, value in items:
        node: Any = result
        parts = key.split(".")
        for depth, part in enumerate(parts[:-1]):
            if not isinstance(node, dict) or part not in node:
                raise ConfigError(f"{source} {key}: unknown key {'.'.join(parts[: depth + 1])!r}")
            node = node[part]
        if not isinstance(node, dict) or parts[-1] not in _known_keys(parts[:-1], node):
            raise ConfigError(f"{source} {key}: unknown key {key!r}")
        node[parts[-1]] = _deep_copy(value)
    return result


def apply_profile(raw: dict[str, Any], profile: str, source: str = "params") -> dict[str, Any]:
    """Return ``raw`` with the named profile's overrides applied (``default`` applies none)."""
    profiles = raw.get("profiles") or {}
    if not isinstance(profiles, dict):
        raise ConfigError(f"{source}: profiles: expected a mapping of profile names to overrides")
    if profile == "default" and profile not in profiles:
        return _deep_copy(raw)
    if profile not in profiles:
        known = ", ".join(sorted({"default", *profiles}))
        raise ConfigError(f"{source}: profile {profile!r} not found; expected one of {known}")
    overrides = profiles[profile] or {}
    if not isinstance(overrides, dict):
        raise ConfigError(f"{source}: profiles.{profile}: expected a mapping of dotted keys to values")
    return apply_items(raw, overrides.items(), source=f"{source}: profiles.{profile}:")


def _known_keys(prefix: list[str], node: dict[str, Any]) -> set[str]:
    """Keys present in the file plus fields the schema knows (optional ones may be absent)."""
    model: Any = Params
    for part in prefix:
        is_model = isinstance(model, type) and issubclass(model, BaseModel)
        field = model.model_fields.get(part) if is_model else None
        model = field.annotation if field is not None else None
    known = set(node)
    if isinstance(model, type) and issubclass(model, BaseModel):
        known |= set(model.model_fields)
    return known


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _deep_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_deep_copy(item) for item in value]
    return value


def validate_params(raw: Mapping[str, Any], source: str = "params") -> Params:
    """Validate a raw mapping into :class:`Params`, naming each bad key in the error."""
    try:
        return Params.model_validate(raw)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            key = ".".join(str(part) for part in item["loc"]) or "(top level)"
            message = item["msg"]
            if item["type"] == "extra_forbidden":
                message = "unknown key"
            elif "input" in item and item["type"] != "missing":
                message = f"{message} (got {item['input']!r})"
            problems.append(f"{source}: {key}: {message}")
        raise ConfigError("\n".join(problems)) from None


def load_raw(path: str | Path) -> dict[str, Any]:
    """Read params.yaml as a mapping, with errors that name the file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: params file not found") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{where}: invalid YAML: {getattr(error, 'problem', error)}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    return raw


def load_params(
    path: str | Path = "params.yaml", overrides: Iterable[str] = (), profile: str = "default"
) -> Params:
    """Load params.yaml, apply a profile then ``--param`` overrides, and validate: the one reader.

    Every profile in the file is validated too, so a typo in ``full`` fails today, not at the
    benchmark run.
    """
    raw = load_raw(path)
    for name in raw.get("profiles") or {}:
        if name != profile:
            validate_params(apply_profile(raw, name, source=str(path)), source=f"{path} (profile {name})")
    raw = apply_overrides(apply_profile(raw, profile, source=str(path)), overrides)
    raw["profile"] = profile
    return validate_params(raw, source=str(path))
