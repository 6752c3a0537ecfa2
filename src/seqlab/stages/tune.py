"""The tune stage: a Keras Tuner search on train/validation, resumed when rerun with the same settings."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from seqlab.datasets import DatasetConfig
from seqlab.modalities import modality
from seqlab.paths import ProjectPaths

Log = Callable[[str], None]


def tune(
    dataset: DatasetConfig, paths: ProjectPaths, log: Log = print, callbacks: list[Any] | None = None
) -> dict[str, Any]:
    """Run (or resume) the search and record every trial in ``tune/trials.json``."""
    from seqlab import tuning

    settings = dataset.tuning
    data = modality(dataset).load(dataset, paths)
    x_train, y_train, x_validation, y_validation = data.fit_arrays()
    out = paths.results_dir(dataset.name, "tune")
    # Resume only the same search: a changed space, budget or prepared data starts a new one.
    fingerprint = hashlib.sha256(
        json.dumps(
            {"tuning": settings.model_dump(mode="json"), "data": data.manifest["arrays"]}, sort_keys=True
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
    )
    result.write(paths, dataset.name)
    best = result.best
    log(
        f"{dataset.name}: {len(result.trials)} trials, best {best.trial_id if best else None} "
        f"{settings.objective}={best.score if best else None} {best.hyperparameters if best else ''}"
    )
    return result.as_dict()
