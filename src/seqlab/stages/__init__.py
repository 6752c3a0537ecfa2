"""The pipeline's stages, in order: one declaration the CLI, the flow, recording and benchmarks import.

Each stage is a plain function of a resolved dataset configuration and the project's paths that
writes its outputs under ``data/`` or ``results/<dataset>/`` and returns a plain dict. ``register``
is the MLflow step (:mod:`seqlab.recording`); the others are library functions here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from seqlab.stages.baselines import baselines
from seqlab.stages.data import fetch, prepare, validate
from seqlab.stages.evaluate import evaluate
from seqlab.stages.train import train
from seqlab.stages.tune import tune

STAGES: tuple[str, ...] = (
    "fetch",
    "validate",
    "prepare",
    "baselines",
    "tune",
    "train",
    "evaluate",
    "register",
)
# The stages that model (and so leave a FAILED MLflow run when they raise outside the flow).
MODELLING_STAGES: tuple[str, ...] = ("baselines", "tune", "train", "evaluate", "register")
STAGE_FUNCTIONS: dict[str, Callable[..., dict[str, Any]]] = {
    "fetch": fetch,
    "validate": validate,
    "prepare": prepare,
    "baselines": baselines,
    "tune": tune,
    "train": train,
    "evaluate": evaluate,
}

__all__ = ["MODELLING_STAGES", "STAGES", "STAGE_FUNCTIONS"]
