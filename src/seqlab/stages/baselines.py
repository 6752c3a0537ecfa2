"""The baselines stage: every statistical baseline of the dataset's modality, on the models' test targets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from seqlab.artifacts import BASELINE_SCORES
from seqlab.datasets import DatasetConfig
from seqlab.fileio import save_arrays, write_json
from seqlab.modalities import modality
from seqlab.paths import ProjectPaths

Log = Callable[[str], None]


def baselines(dataset: DatasetConfig, paths: ProjectPaths, log: Log = print) -> dict[str, Any]:
    """Fit the baselines on training data and score them on the test split; write scores and predictions."""
    data = modality(dataset).load(dataset, paths)
    results, predictions = data.baselines()
    out = paths.results_dir(dataset.name, "baselines")
    out.mkdir(parents=True, exist_ok=True)
    save_arrays(out / "predictions.npz", predictions)
    write_json(out / BASELINE_SCORES, results)
    for name, metrics in results.items():
        shown = ", ".join(
            f"{key}={value:.0f}" if float(value).is_integer() else f"{key}={value:.4g}"  # counts whole
            for key, value in metrics.items()
            if "_h" not in key
        )
        log(f"{dataset.name}: baseline {name}: {shown}")
    return results
