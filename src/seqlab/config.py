"""params.yaml, validated once at the edge into typed, frozen objects.

Layout: ``datasets:`` (one entry per dataset: its ``source`` with a ``kind``, and its protocol),
``defaults:`` (one section per kind, every key a dataset does not give), ``pipeline:``,
``benchmark:`` (read by benchmarks/) and ``profiles:`` (named sets of overrides). Library code
never opens params.yaml: the CLI (and the flows) call :func:`load_params` and pass the resolved
datasets down. Unknown keys and bad values fail with the dotted key in the message.

An override (a profile's, or ``--param KEY=VALUE``) names a key in params.yaml's layout:
``defaults.<kind>.<key>`` sets it for every dataset of that kind (over what the dataset's own
entry says, so ``smoke`` stays small for every dataset), ``datasets.<name>.<key>`` for one dataset,
``pipeline.<key>`` for the orchestration.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationError,
    field_validator,
    model_validator,
)

from seqlab.datasets import (
    KINDS,
    OPTIONAL_SECTIONS,
    PROTOCOL_KEYS,
    SECTIONS,
    DatasetConfig,
    check_dataset_name,
    kind_named,
    merge,
)
from seqlab.fileio import yaml_problem
from seqlab.schema import Section

TOP_LEVEL: tuple[str, ...] = ("datasets", "defaults", "pipeline", "benchmark", "profiles")
ALL = "all"


class ConfigError(ValueError):
    """params.yaml or a --param override is invalid; the message names the key."""


class ScheduleParams(Section):
    """When the scheduled pipeline reruns by itself (the deployment ``seqlab deploy`` registers)."""

    cron: str = Field("0 3 * * 1", description="five-field cron expression")
    timezone: str = "UTC"
    datasets: list[str] = Field(default_factory=lambda: [ALL])
    profile: str = "default"

    @model_validator(mode="after")
    def _valid(self) -> ScheduleParams:
        fields = self.cron.split()
        if len(fields) != 5:
            raise ValueError(f"cron: expected 5 fields (minute hour day month weekday), got {self.cron!r}")
        return self


class ThreadPools(Section):
    """TensorFlow's thread pools for a whole process (they are fixed when TensorFlow starts)."""

    intra_op: int = Field(0, ge=0, description="threads sharing one operation; 0: TensorFlow's default")
    inter_op: int = Field(0, ge=0, description="operations run side by side; 0: TensorFlow's default")


class PipelineParams(Section):
    """Orchestration: the schedule, the registry and the Prefect task retries."""

    schedule: ScheduleParams = Field(default_factory=lambda: ScheduleParams.model_validate({}))
    fetch_retries: int = Field(2, ge=0, description="retries of the network step (fetch)")
    fetch_retry_delay_seconds: float = Field(10.0, ge=0.0)
    registered_model_prefix: str = Field("seqlab-", min_length=1)
    champion_alias: str = Field("champion", min_length=1)
    step_timeouts: dict[str, float] = Field(
        default_factory=dict, description="seconds a step may run before it fails (per step name)"
    )
    notify: list[str] = Field(
        default_factory=list, description="Apprise URLs told of a failed or crashed pipeline run"
    )
    tensorflow_threads: ThreadPools = Field(default_factory=lambda: ThreadPools.model_validate({}))

    @field_validator("step_timeouts")
    @classmethod
    def _positive_timeouts(cls, value: dict[str, float]) -> dict[str, float]:
        bad = {step: seconds for step, seconds in value.items() if not seconds > 0}
        if bad:
            raise ValueError(f"step_timeouts: seconds must be positive, got {bad}")
        return value


class Params(BaseModel):
    """All tunables of seqlab: the resolved datasets and the orchestration settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    datasets: dict[str, SerializeAsAny[DatasetConfig]]
    pipeline: PipelineParams = Field(default_factory=lambda: PipelineParams.model_validate({}))
    benchmark: dict[str, Any] = Field(default_factory=dict, description="validated by benchmarks/")
    profiles: dict[str, dict[str, Any]] = Field(default_factory=dict)
    profile: str = "default"
    overrides: tuple[str, ...] = ()  # the --param KEY=VALUE texts applied, as given (what reproduces a run)

    @model_validator(mode="after")
    def _schedule_names_what_exists(self) -> Params:
        schedule = self.pipeline.schedule
        unknown = [name for name in schedule.datasets if name not in (*self.datasets, ALL)]
        if unknown:
            raise ValueError(
                f"pipeline.schedule.datasets: unknown {unknown}; expected some of "
                f"{', '.join(self.datasets)} or {ALL}"
            )
        if schedule.profile != "default" and schedule.profile not in self.profiles:
            raise ValueError(
                f"pipeline.schedule.profile: unknown profile {schedule.profile!r}; "
                f"expected default or one of {', '.join(self.profiles)}"
            )
        return self

    def dataset(self, name: str) -> DatasetConfig:
        """Return the resolved configuration of one dataset, with an error listing the configured ones."""
        if name not in self.datasets:
            raise ConfigError(
                f"dataset {name!r} is not configured; params.yaml's datasets are {', '.join(self.datasets)}"
            )
        return self.datasets[name]

    def select(self, names: Sequence[str]) -> list[str]:
        """Expand ``all`` and check each name: what ``--dataset`` and the schedule choose."""
        chosen: list[str] = []
        for name in names:
            for item in self.datasets if name == ALL else [self.dataset(name).name]:
                if item not in chosen:
                    chosen.append(item)
        return chosen

    def value_of(self, key: str, dataset: str) -> Any:
        """Effective value, for ``dataset``, of a params key as dvc.yaml names it (the flow's cache keys).

        ``datasets.<name>`` is the dataset's source and protocol, ``defaults.<kind>.<section>`` its
        resolved section (profile and overrides applied), anything else a key of the other sections.
        """
        parts = key.split(".")
        config = self.dataset(dataset)
        named = {"datasets": dataset, "defaults": config.source.kind}.get(parts[0])
        if named is not None and (len(parts) < 2 or parts[1] != named):
            raise KeyError(
                f"dvc.yaml names params key {key!r} for a stage of {dataset} ({config.source.kind})"
            )
        if parts[0] == "datasets" and len(parts) >= 2:
            node: Any = config.model_dump(mode="json", exclude=set(SECTIONS) - {"source"})
            rest = parts[2:]
        elif parts[0] == "defaults" and len(parts) >= 3:
            node, rest = config.model_dump(mode="json"), parts[2:]
        else:
            node, rest = self.model_dump(mode="json", exclude={"datasets"}), parts
        for part in rest:
            if not isinstance(node, dict) or part not in node:
                raise KeyError(f"dvc.yaml names params key {key!r}, which the params of {dataset} lack")
            node = node[part]
        return node


# --------------------------------------------------------------------------- overrides


def parse_override(text: str) -> tuple[str, Any]:
    """Parse ``key.sub=value`` (value read as YAML, so ``3``, ``0.5``, ``post``, ``null`` work)."""
    key, separator, raw_value = text.partition("=")
    key = key.strip()
    if not separator or not key:
        raise ConfigError(f"--param {text!r}: expected KEY=VALUE, e.g. datasets.imdb.prepare.max_len=100")
    try:
        value = yaml.safe_load(raw_value) if raw_value.strip() else ""
    except yaml.YAMLError as error:
        if raw_value.strip()[:1] in ("[", "{", '"', "'"):
            raise ConfigError(f"--param {key}: cannot read value {raw_value!r}: {error}") from error
        value = raw_value.strip()  # plain text YAML cannot read, e.g. a cron: * * * * *
    return key, value


def _set(node: dict[str, Any], parts: list[str], value: Any) -> None:
    """Set a dotted path inside a resolved entry (the schema check names any unknown key later)."""
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = _copy(value)
    if len(parts) == 1 and parts[0] in ("test_size", "split_index") and value is not None:
        # the test period is one of the two: setting one replaces the other
        node["split_index" if parts[0] == "test_size" else "test_size"] = None


def _kind(name: Any, where: str) -> str:
    try:
        return kind_named(name, where).name
    except ValueError as error:
        raise ConfigError(str(error)) from None


def _apply(
    resolved: dict[str, dict[str, Any]], other: dict[str, Any], items: Iterable[tuple[str, Any]], origin: str
) -> None:
    """Apply dotted-key overrides: kind-wide ones first, then per-dataset and other sections."""
    ordered = sorted(items, key=lambda item: not item[0].startswith("defaults."))
    for key, value in ordered:
        parts = key.split(".")
        head = parts[0]
        if head in ("defaults", "datasets") and (len(parts) < 3 or parts[2] == "name"):
            raise ConfigError(
                f"{origin} {key}: expected {head}.<{'kind' if head == 'defaults' else 'name'}>.<key>"
            )
        if head == "defaults":
            kind = _kind(parts[1], f"{origin} {key}")
            targets = [entry for entry in resolved.values() if entry["source"]["kind"] == kind]
        elif head == "datasets":
            if parts[1] not in resolved:
                raise ConfigError(
                    f"{origin} {key}: unknown dataset {parts[1]!r}; configured: {', '.join(resolved)}"
                )
            targets = [resolved[parts[1]]]
        if head in ("defaults", "datasets"):
            for entry in targets:
                kind = entry["source"]["kind"]
                _set(entry, parts[2:], value)
                if not isinstance(entry.get("source"), dict) or entry["source"].get("kind") != kind:
                    raise ConfigError(f"{origin} {key}: a dataset's kind ({kind}) cannot be overridden")
        elif head in ("pipeline", "benchmark") and len(parts) >= 2:
            _set(other.setdefault(head, {}), parts[1:], value)
        else:
            raise ConfigError(
                f"{origin} {key}: unknown key; overrides start with datasets.<name>., defaults.<kind>., "
                "pipeline. or benchmark."
            )


def _profile_items(raw: Mapping[str, Any], profile: str, source: str) -> list[tuple[str, Any]]:
    profiles = raw.get("profiles") or {}
    if not isinstance(profiles, dict):
        raise ConfigError(f"{source}: profiles: expected a mapping of profile names to overrides")
    if profile == "default" and profile not in profiles:
        return []
    if profile not in profiles:
        known = ", ".join(sorted({"default", *profiles}))
        raise ConfigError(f"{source}: profile {profile!r} not found; expected one of {known}")
    overrides = profiles[profile] or {}
    if not isinstance(overrides, dict):
        raise ConfigError(f"{source}: profiles.{profile}: expected a mapping of dotted keys to values")
    return list(overrides.items())


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


# --------------------------------------------------------------------------- resolution


def _entries(raw: Mapping[str, Any], source: str) -> dict[str, dict[str, Any]]:
    """Each dataset's entry merged over its kind's defaults, checked for shape before validation."""
    unknown = sorted(set(raw) - set(TOP_LEVEL))
    if unknown:
        raise ConfigError(
            f"{source}: unknown top-level key(s) {', '.join(map(str, unknown))}; "
            f"expected {', '.join(TOP_LEVEL)}"
        )
    datasets, defaults = raw.get("datasets"), raw.get("defaults") or {}
    if not isinstance(datasets, dict) or not datasets:
        raise ConfigError(f"{source}: datasets: expected a mapping of dataset names to entries")
    if not isinstance(defaults, dict):
        raise ConfigError(f"{source}: defaults: expected a mapping of kinds to default sections")
    for kind, sections in defaults.items():
        _kind(kind, f"{source}: defaults")
        if not isinstance(sections, dict):
            raise ConfigError(f"{source}: defaults.{kind}: expected a mapping of sections")
        extra = sorted(set(sections) - set(SECTIONS))
        if extra:
            raise ConfigError(
                f"{source}: defaults.{kind}: unknown section(s) {', '.join(extra)}; "
                f"expected {', '.join(SECTIONS)}"
            )
    resolved: dict[str, dict[str, Any]] = {}
    for name, entry in datasets.items():
        try:
            check_dataset_name(name)
        except ValueError as error:
            raise ConfigError(f"{source}: {error}") from None
        if not isinstance(entry, dict) or not isinstance(entry.get("source"), dict):
            raise ConfigError(f"{source}: datasets.{name}.source: expected a mapping with a kind")
        kind = _kind(entry["source"].get("kind"), f"{source}: datasets.{name}.source.kind")
        sections = defaults.get(kind)
        if not isinstance(sections, dict):
            raise ConfigError(f"{source}: defaults.{kind}: missing; every kind in use needs its defaults")
        sections = {**dict.fromkeys(OPTIONAL_SECTIONS, {}), **sections}
        absent = [section for section in SECTIONS if section not in sections]
        if absent:
            raise ConfigError(
                f"{source}: defaults.{kind}: missing section(s) {', '.join(absent)} (dvc.yaml's stages read "
                "each; write {} where the kind has no such keys)"
            )
        unknown_keys = sorted(set(entry) - set(SECTIONS) - set(PROTOCOL_KEYS))
        if unknown_keys:
            raise ConfigError(
                f"{source}: datasets.{name}: unknown key(s) {', '.join(unknown_keys)}; expected source, "
                f"{', '.join(PROTOCOL_KEYS)} or a section of defaults ({', '.join(SECTIONS[1:])})"
            )
        resolved[name] = {**merge(_copy(sections), _copy(entry)), "name": name}
    return resolved


def _validate(
    resolved: dict[str, dict[str, Any]],
    other: dict[str, Any],
    source: str,
    profile: str,
    overrides: tuple[str, ...] = (),
) -> Params:
    problems: list[str] = []
    datasets: dict[str, DatasetConfig] = {}
    for name, entry in resolved.items():
        try:
            datasets[name] = KINDS[entry["source"]["kind"]].config.model_validate(entry)
        except ValidationError as error:
            problems.extend(_messages(error, source, f"datasets.{name}."))
    try:
        params = Params.model_validate(
            {**other, "datasets": datasets, "profile": profile, "overrides": overrides}
        )
    except ValidationError as error:
        problems.extend(_messages(error, source, ""))
    if problems:
        raise ConfigError("\n".join(problems))
    return params


def _messages(error: ValidationError, source: str, prefix: str) -> list[str]:
    problems = []
    for item in error.errors():
        location = [str(part) for part in item["loc"] if not str(part).startswith("function-")]
        key = prefix + ".".join(location) if location else prefix.rstrip(".") or "(top level)"
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        elif "input" in item and item["type"] != "missing" and not isinstance(item["input"], dict):
            message = f"{message} (got {item['input']!r})"
        problems.append(f"{source}: {key}: {message}")
    return problems


def resolve(
    raw: Mapping[str, Any], profile: str = "default", overrides: Iterable[str] = (), source: str = "params"
) -> Params:
    """Resolve a raw params mapping into :class:`Params`: defaults, entries, profile, then overrides."""
    resolved = _entries(raw, source)
    other = {
        key: _copy(raw[key]) for key in ("pipeline", "benchmark", "profiles") if raw.get(key) is not None
    }
    _apply(resolved, other, _profile_items(raw, profile, source), f"{source}: profiles.{profile}:")
    overrides = tuple(overrides)
    _apply(resolved, other, (parse_override(text) for text in overrides), "--param")
    return _validate(resolved, other, source, profile, overrides)


def load_raw(path: str | Path) -> dict[str, Any]:
    """Read params.yaml as a mapping, with errors that name the file and line."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: params file not found") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        byte_line = data.count(b"\n", 0, error.start) + 1
        raise ConfigError(f"{path}, line {byte_line}: not UTF-8 text ({error.reason})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        line, problem = yaml_problem(error, text)
        where = f", line {line}" if line is not None else ""
        raise ConfigError(f"{path}{where}: invalid YAML: {problem}") from None
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
            resolve(raw, name, source=f"{path} (profile {name})")
    return resolve(raw, profile, overrides, source=str(path))


__all__ = ["ALL", "ConfigError", "Params", "PipelineParams", "ScheduleParams", "load_params", "resolve"]
