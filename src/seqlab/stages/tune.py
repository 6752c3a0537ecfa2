"""The tune stage: a Keras Tuner search on train/validation, resumed when rerun with the same settings."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from seqlab.datasets import DatasetConfig
from seqlab.families import model_label
from seqlab.modalities import modality
from seqlab.paths import ProjectPaths
from seqlab.runtime import load_keras

Log = Callable[[str], None]


def tune(
    dataset: DatasetConfig, paths: ProjectPaths, log: Log = print, callbacks: list[Any] | None = None
) -> dict[str, Any]:
    """Run (or resume) the search and record every trial in ``tune/trials.json``."""
    load_keras()
    from seqlab import tuning

    settings = dataset.tuning
    data = modality(dataset).load(dataset, paths)
    x_train, y_train, x_validation, y_validation = data.fit_arrays()
    out = paths.results_dir(dataset.name, "tune")
    # Resume only the same search: a changed space, budget, baseline (a hybrid's start) or prepared
    # data starts a new one.
    fingerprint = hashlib.sha256(
        json.dumps(
            {
                "tuning": settings.model_dump(mode="json"),
                "baselines": dataset.baselines.model_dump(mode="json"),
                "data": data.manifest["arrays"],
            },
            sort_keys=True,
        ).encode()
    ).hexdigest()[:12]
    result = tuning.search(
        data.builder(),
        settings,
        x_train,
        y_train,
        x_validation,
        y_validation,
        directory=out / "tuner",
        project_name=f"{dataset.name}-{fingerprint}",
        input_slicer=data.select_inputs,
        callbacks=callbacks,
        log=log,
        label=f"{dataset.name}: tune",
    )
    result.write(paths, dataset.name)
    best = result.best
    if best is not None:
        log(
            f"{dataset.name}: {len(result.trials)} trials; best: trial {best.trial_id}, "
            f"{model_label(best.hyperparameters)}, {settings.objective} {best.score:.4g}"
        )
    return result.as_dict()
