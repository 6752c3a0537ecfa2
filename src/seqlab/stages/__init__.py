"""The pipeline's stages, in order: one declaration the CLI, the flow, recording and benchmarks import.

Each stage is a plain function of a resolved dataset configuration and the project's paths that
writes its outputs under ``data/`` or ``results/<dataset>/`` and returns a plain dict. ``register``
is the MLflow step (:mod:`seqlab.recording`); the others are library functions here.
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Callable
from typing import Any

from seqlab.datasets import DatasetConfig
from seqlab.fileio import replace_directory
from seqlab.paths import ProjectPaths
from seqlab.stages.backtest import backtest
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
    "backtest",
    "register",
)
# The stages that model (and so leave a FAILED MLflow run when they raise outside the flow).
MODELLING_STAGES: tuple[str, ...] = ("baselines", "tune", "train", "evaluate", "backtest", "register")
# Stages whose unfinished work is worth keeping for the next try (tuner trials, fit checkpoints).
RESUMABLE_STAGES: tuple[str, ...] = ("tune", "train")


def staged(name: str, function: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """Run a stage writing into a work folder beside ``results/<dataset>/<name>``, swapped in on success.

    Outputs are whole or absent: a stage that fails leaves the previous results in place, never a
    mix. A resumable stage keeps its work folder (``.<name>.partial``) after a failure, so the next
    run (``seqlab run`` or ``dvc repro``, which deletes the outputs themselves) resumes it; the
    others start from an empty one.
    """

    @functools.wraps(function)
    def run(dataset: DatasetConfig, paths: ProjectPaths, **kwargs: Any) -> dict[str, Any]:
        final = paths.results_dir(dataset.name, name)
        work = final.with_name(f".{name}.partial")
        if name not in RESUMABLE_STAGES:
            shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True, exist_ok=True)
        try:
            result = function(dataset, paths.staging(dataset.name, name, work), **kwargs)
        except BaseException:
            if name not in RESUMABLE_STAGES:
                shutil.rmtree(work, ignore_errors=True)
            raise
        replace_directory(work, final)
        return result

    return run


STAGE_FUNCTIONS: dict[str, Callable[..., dict[str, Any]]] = {
    "fetch": fetch,
    "validate": validate,
    "prepare": prepare,
    "baselines": staged("baselines", baselines),
    "tune": staged("tune", tune),
    "train": staged("train", train),
    "evaluate": staged("evaluate", evaluate),
    "backtest": staged("backtest", backtest),
}

__all__ = ["MODELLING_STAGES", "RESUMABLE_STAGES", "STAGES", "STAGE_FUNCTIONS", "staged"]
