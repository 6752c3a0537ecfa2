"""The train stage: the best tuned configuration retrained once per dropout variant, each saved as .keras."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from seqlab.artifacts import SearchResult, TrainSummary, VariantFit
from seqlab.datasets import DatasetConfig
from seqlab.families import DROPOUT_FREE_FAMILIES, model_label
from seqlab.fileio import atomic_path, write_json
from seqlab.modalities import modality
from seqlab.modelling import fit_variant
from seqlab.paths import ProjectPaths
from seqlab.runtime import load_keras

Log = Callable[[str], None]
CallbackFactory = Callable[[str], list[Any]]


def train(
    dataset: DatasetConfig,
    paths: ProjectPaths,
    log: Log = print,
    callbacks_for: CallbackFactory | None = None,
) -> dict[str, Any]:
    """Retrain the best configuration per dropout variant; one that makes the same model is skipped."""
    load_keras()
    from seqlab import training

    settings = dataset.training
    trials = SearchResult.read(paths, dataset.name)
    if trials.best is None:
        raise ValueError(f"{dataset.name}: the tuning stage recorded no completed trial to train")
    best_hyperparameters = dict(trials.best.hyperparameters)
    data = modality(dataset).load(dataset, paths)
    out = paths.results_dir(dataset.name, "train")
    summary = TrainSummary(best_hyperparameters=best_hyperparameters, variants={})
    arguments = {
        name: training.variant_arguments(best_hyperparameters, variant.dropout, variant.recurrent_dropout)
        for name, variant in settings.variants.items()
    }
    first: dict[str, str] = {}  # builder arguments → the first variant that makes that model
    for name, values in arguments.items():
        first.setdefault(json.dumps(values, sort_keys=True), name)
    twins = {
        name: first[json.dumps(values, sort_keys=True)]
        for name, values in arguments.items()
        if first[json.dumps(values, sort_keys=True)] != name
    }
    if twins:  # e.g. recurrent dropout of a dense or conv model: the same model, so not a variant
        family = best_hyperparameters.get("family")
        why = "no dropout layers" if family in DROPOUT_FREE_FAMILIES else "no recurrent layers"
        log(
            f"{dataset.name}: {model_label(best_hyperparameters)} has {why}, so variants "
            + ", ".join(f"{name} (= {twin})" for name, twin in twins.items())
            + " would train the same models again: not trained"
        )
    for number, name in enumerate(first.values(), start=1):
        started = time.time()
        model, result = fit_variant(
            data,
            arguments[name],
            settings,
            checkpoint_dir=out / name / "checkpoint",
            callbacks=[
                training.progress(
                    log, f"{dataset.name}: train variant {name} ({number}/{len(first)})", settings.epochs
                ),
                *(callbacks_for(name) if callbacks_for else []),
            ],
        )
        with atomic_path(out / name / "model.keras") as temporary:
            keras_path = temporary.with_suffix(".keras")
            model.save(keras_path)
            keras_path.replace(temporary)
        fit = VariantFit(
            hyperparameters=arguments[name],
            best_epoch=result.best_epoch,
            epochs_run=result.epochs_run,
            best_metrics=result.best_metrics,
            history=result.history,
            stopped_early=result.stopped_early,
            terminated_on_nan=result.terminated_on_nan,
            started_ms=int(started * 1000),
            ended_ms=int(time.time() * 1000),
        )
        write_json(out / name / "fit.json", fit.as_dict())
        summary.variants[name] = fit
        log(
            f"{dataset.name}: variant {name}: best epoch {result.best_epoch}/{result.epochs_run}, "
            + ", ".join(f"{key} {value:.4g}" for key, value in result.best_metrics.items())
        )
    summary.write(paths, dataset.name)
    return summary.as_dict()
