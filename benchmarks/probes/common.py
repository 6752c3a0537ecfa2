"""What the IMDB probes share: a quality workspace of make bench loaded as the pipeline sees it,
protocol A's split (80% of x_train to train on, 20% held out, stratified, seed 42), and each family
built as the bench builds it (tuned settings, no dropout variant, the family's spec, seed 42).

The probes run as scripts (``python benchmarks/probes/<name>.py``), so they import this as ``common``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the project root: benchmarks.quality

from benchmarks.quality import BenchmarkParams, stacked_ensemble  # noqa: E402
from seqlab import training  # noqa: E402
from seqlab.artifacts import TrainSummary  # noqa: E402
from seqlab.config import load_params  # noqa: E402
from seqlab.datasets import DatasetConfig  # noqa: E402
from seqlab.modalities import modality  # noqa: E402
from seqlab.paths import ProjectPaths  # noqa: E402

__all__ = ["ImdbProbe", "accuracy", "load", "stacked_ensemble"]

SEED = 42
FAMILIES = ["nbsvm", "bag_of_embeddings", "conv1d", "conv1d_gru_max_pool", "bilstm"]


@dataclass
class ImdbProbe:
    """The workspace's IMDB arrays, protocol A's split and the bench's family builder."""

    config: DatasetConfig
    families: dict[str, dict[str, Any]]
    build: Any
    tuned: dict[str, Any]
    x: np.ndarray
    y: np.ndarray
    xv: np.ndarray
    yv: np.ndarray
    index_a: np.ndarray
    index_aval: np.ndarray

    def model(self, name: str) -> Any:
        """A fresh model of family ``name``, built as the bench builds it (deterministic, seed 42)."""
        spec = self.families[name]
        training.set_determinism(SEED)
        return self.build(**{**self.tuned, "dropout": 0.0, "recurrent_dropout": 0.0, **spec, "seed": SEED})


def load(workspace: Path) -> ImdbProbe:
    """Load a quality workspace (e.g. benchmarks/work/quality/project) with the ``full`` profile."""
    params = load_params(workspace / "params.yaml", [f"datasets.imdb.training.seed={SEED}"], "full")
    config = params.dataset("imdb")
    paths = ProjectPaths.at(workspace)
    data = modality(config).load(config, paths)
    x, y, xv, yv = data.fit_arrays()
    best = TrainSummary.read(paths, "imdb").best_hyperparameters
    index_a, index_aval = train_test_split(np.arange(len(y)), test_size=0.2, stratify=y, random_state=SEED)
    return ImdbProbe(
        config=config,
        families=BenchmarkParams.model_validate(params.benchmark).families[config.source.kind],
        build=data.builder(),
        tuned={k: v for k, v in best.items() if k != "family"},
        x=x,
        y=y,
        xv=xv,
        yv=yv,
        index_a=index_a,
        index_aval=index_aval,
    )


def accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Share of rows whose probability falls on the side of 0.5 of their label."""
    return float(np.mean((probabilities >= 0.5) == (labels >= 0.5)))
