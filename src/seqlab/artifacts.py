"""The files the modelling stages hand each other, as typed records that writer and readers share.

``tune`` writes :class:`SearchResult` (``results/<dataset>/tune/trials.json``), ``train`` a
:class:`TrainSummary` (``train/summary.json``, one :class:`VariantFit` per dropout variant),
``evaluate`` an :class:`Evaluation` (``evaluate/scores.json``) and its few headline numbers
(``evaluate/metrics.json``, what ``dvc metrics show`` lists). Each knows its file and its JSON
layout, so a reader fails with the path of a missing file and never guesses a key.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from seqlab.fileio import write_json
from seqlab.paths import ProjectPaths


def read_json(path: Path) -> Any:
    """Read a stage's JSON file, with an error naming it when the stage that writes it has not run."""
    if not path.exists():
        raise FileNotFoundError(f"{path} not found; run the stage that writes it first")
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass
class TrialRecord:
    """What one tuner trial did, as plain data a caller can log."""

    trial_id: str
    status: str
    score: float | None
    hyperparameters: dict[str, Any]
    history: dict[str, list[float]] = field(default_factory=dict)
    message: str | None = None
    started_ms: int | None = None  # when the trial began and ended (epoch ms): the MLflow run's times
    ended_ms: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the record as JSON-ready data."""
        return asdict(self)


@dataclass
class SearchResult:
    """All trials of a search and the best completed one (``tune/trials.json``)."""

    STAGE: ClassVar[str] = "tune"
    FILE: ClassVar[str] = "trials.json"

    trials: list[TrialRecord]
    best: TrialRecord | None
    objective: str
    direction: str

    def as_dict(self) -> dict[str, Any]:
        """Return the result as JSON-ready data."""
        return {
            "objective": self.objective,
            "direction": self.direction,
            "best": self.best.as_dict() if self.best else None,
            "trials": [trial.as_dict() for trial in self.trials],
        }

    @classmethod
    def path(cls, paths: ProjectPaths, dataset: str) -> Path:
        """Where the tune stage writes it."""
        return paths.results_dir(dataset, cls.STAGE) / cls.FILE

    def write(self, paths: ProjectPaths, dataset: str) -> None:
        """Write atomically."""
        write_json(self.path(paths, dataset), self.as_dict())

    @classmethod
    def read(cls, paths: ProjectPaths, dataset: str) -> SearchResult:
        """Read what the tune stage wrote."""
        payload = read_json(cls.path(paths, dataset))
        return cls(
            trials=[TrialRecord(**trial) for trial in payload["trials"]],
            best=TrialRecord(**payload["best"]) if payload.get("best") else None,
            objective=payload["objective"],
            direction=payload["direction"],
        )


@dataclass
class VariantFit:
    """One dropout variant's training: its builder arguments, curves and the epoch it kept."""

    hyperparameters: dict[str, Any]
    best_epoch: int
    epochs_run: int
    best_metrics: dict[str, float]
    history: dict[str, list[float]]
    stopped_early: bool
    terminated_on_nan: bool
    started_ms: int | None = None  # when its fit began and ended (epoch ms): the MLflow run's times
    ended_ms: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return asdict(self)


@dataclass
class TrainSummary:
    """The best tuned configuration and every variant trained from it (``train/summary.json``)."""

    STAGE: ClassVar[str] = "train"
    FILE: ClassVar[str] = "summary.json"

    best_hyperparameters: dict[str, Any]
    variants: dict[str, VariantFit]

    @classmethod
    def path(cls, paths: ProjectPaths, dataset: str) -> Path:
        """Where the train stage writes it."""
        return paths.results_dir(dataset, cls.STAGE) / cls.FILE

    def write(self, paths: ProjectPaths, dataset: str) -> None:
        """Write atomically."""
        write_json(self.path(paths, dataset), self.as_dict())

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "best_hyperparameters": self.best_hyperparameters,
            "variants": {name: fit.as_dict() for name, fit in self.variants.items()},
        }

    @classmethod
    def read(cls, paths: ProjectPaths, dataset: str) -> TrainSummary:
        """Read what the train stage wrote."""
        payload = read_json(cls.path(paths, dataset))
        return cls(
            best_hyperparameters=payload["best_hyperparameters"],
            variants={name: VariantFit(**fit) for name, fit in payload["variants"].items()},
        )


@dataclass
class Evaluation:
    """Test metrics of every variant beside the baselines (``evaluate/scores.json``).

    The full record, names and hashes included. Its headline numbers go to ``evaluate/metrics.json``
    (:meth:`headline`): DVC's metrics file, numbers only, the same few keys for every dataset of a
    modality, so ``dvc metrics show`` is one row per dataset.
    """

    STAGE: ClassVar[str] = "evaluate"
    FILE: ClassVar[str] = "scores.json"
    METRICS_FILE: ClassVar[str] = "metrics.json"

    metric: str
    higher_is_better: bool
    test_data_sha256: str
    best_baseline: str
    best_variant: str
    variants: dict[str, dict[str, float]]
    baselines: dict[str, dict[str, float]]
    # w × the best variant + (1 - w) × a baseline, both chosen on validation (series; else None)
    combination: dict[str, Any] | None = None
    # the best variant's test errors against the best baseline's: Diebold-Mariano (series; else None)
    significance: dict[str, Any] | None = None

    @property
    def best_baseline_value(self) -> float:
        """The ranking metric of the strongest baseline."""
        return float(self.baselines[self.best_baseline][self.metric])

    @property
    def best_variant_metrics(self) -> dict[str, float]:
        """The best variant's test metrics."""
        return self.variants[self.best_variant]

    @classmethod
    def path(cls, paths: ProjectPaths, dataset: str) -> Path:
        """Where the evaluate stage writes it."""
        return paths.results_dir(dataset, cls.STAGE) / cls.FILE

    def headline(self, best_epoch: int) -> dict[str, float | int]:
        """Return the numbers a teammate compares across commits (``evaluate/metrics.json``).

        The best model's test metric, the best baseline's on the same test data, the skill between
        them and the epoch training kept. Short names (``mae``, ``mae_baseline``: every number here
        is a test-set number) keep ``dvc metrics show`` of all five datasets 121 characters wide.
        """
        name = self.metric.removeprefix("test_")
        combined = {} if self.combination is None else {f"{name}_combined": self.combination[self.metric]}
        if self.significance is not None:  # how sure: the Diebold-Mariano p-value against the baseline
            combined["dm_p_value"] = self.significance["p_value"]
        return {
            name: self.best_variant_metrics[self.metric],
            f"{name}_baseline": self.best_baseline_value,
            **combined,
            "skill": self.best_variant_metrics["skill_vs_best_baseline"],
            "best_epoch": best_epoch,
        }

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data, the best baseline and variant spelled out."""
        return {
            "metric": self.metric,
            "higher_is_better": self.higher_is_better,
            "test_data_sha256": self.test_data_sha256,
            "best_baseline": {"name": self.best_baseline, self.metric: self.best_baseline_value},
            "best_variant": {"name": self.best_variant, **self.best_variant_metrics},
            "variants": self.variants,
            "baselines": self.baselines,
            "combination": self.combination,
            "significance": self.significance,
        }

    def write(self, paths: ProjectPaths, dataset: str, best_epoch: int) -> None:
        """Write the record and its headline metrics, each atomically."""
        write_json(self.path(paths, dataset), self.as_dict())
        write_json(self.path(paths, dataset).with_name(self.METRICS_FILE), self.headline(best_epoch))

    @classmethod
    def read(cls, paths: ProjectPaths, dataset: str) -> Evaluation:
        """Read what the evaluate stage wrote."""
        payload = read_json(cls.path(paths, dataset))
        return cls(
            metric=payload["metric"],
            higher_is_better=payload["higher_is_better"],
            test_data_sha256=payload["test_data_sha256"],
            best_baseline=payload["best_baseline"]["name"],
            best_variant=payload["best_variant"]["name"],
            variants=payload["variants"],
            baselines=payload["baselines"],
            combination=payload.get("combination"),
            significance=payload.get("significance"),
        )


BASELINE_SCORES = "scores.json"


def read_baseline_metrics(paths: ProjectPaths, dataset: str) -> dict[str, dict[str, float]]:
    """Test metrics of every baseline (``baselines/scores.json``)."""
    metrics: dict[str, dict[str, float]] = read_json(
        paths.results_dir(dataset, "baselines") / BASELINE_SCORES
    )
    return metrics
