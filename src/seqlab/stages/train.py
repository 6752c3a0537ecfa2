"""The train stage: the best tuned configuration retrained once per dropout variant, each saved as .keras."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from typing import Any

from seqlab.artifacts import SearchResult, TrainSummary, VariantFit
from seqlab.datasets import DatasetConfig
from seqlab.fileio import atomic_path, write_json
from seqlab.modalities import modality
from seqlab.modelling import fit_variant
from seqlab.paths import ProjectPaths

Log = Callable[[str], None]
CallbackFactory = Callable[[str], list[Any]]


def train(
    dataset: DatasetConfig,
    paths: ProjectPaths,
    log: Log = print,
    callbacks_for: CallbackFactory | None = None,
) -> dict[str, Any]:
    """Retrain the best configuration per variant; a variant that makes the same model is trained once."""
    from seqlab import training

    settings = dataset.training
    trials = SearchResult.read(paths, dataset.name)
    if trials.best is None:
        raise ValueError(f"{dataset.name}: the tuning stage recorded no completed trial to train")
    best_hyperparameters = dict(trials.best.hyperparameters)
    data = modality(dataset).load(dataset, paths)
    out = paths.results_dir(dataset.name, "train")
    summary = TrainSummary(best_hyperparameters=best_hyperparameters, variants={})
    trained: dict[str, str] = {}  # builder arguments → the variant that already trained them
    for name, variant in settings.variants.items():
        arguments = training.variant_arguments(
            best_hyperparameters, variant.dropout, variant.recurrent_dropout
        )
        signature = json.dumps(arguments, sort_keys=True)
        if signature in trained:
            # Same model, same seed, same data: train once (e.g. recurrent dropout of a conv model).
            twin = trained[signature]
            shutil.rmtree(out / name, ignore_errors=True)
            shutil.copytree(out / twin, out / name, ignore=shutil.ignore_patterns("checkpoint"))
            fit = VariantFit(**{**summary.variants[twin].as_dict(), "same_as": twin})
            write_json(out / name / "fit.json", fit.as_dict())
            summary.variants[name] = fit
            log(f"{dataset.name}: variant {name}: the same model as {twin}, not trained again")
            continue
        model, result = fit_variant(
            data,
            arguments,
            settings,
            checkpoint_dir=out / name / "checkpoint",
            callbacks=callbacks_for(name) if callbacks_for else None,
        )
        with atomic_path(out / name / "model.keras") as temporary:
            keras_path = temporary.with_suffix(".keras")
            model.save(keras_path)
            keras_path.replace(temporary)
        fit = VariantFit(
            hyperparameters=arguments,
            best_epoch=result.best_epoch,
            epochs_run=result.epochs_run,
            best_metrics=result.best_metrics,
            history=result.history,
            stopped_early=result.stopped_early,
            terminated_on_nan=result.terminated_on_nan,
        )
        write_json(out / name / "fit.json", fit.as_dict())
        summary.variants[name] = fit
        trained[signature] = name
        log(
            f"{dataset.name}: variant {name}: best epoch {result.best_epoch}/{result.epochs_run} "
            f"{result.best_metrics}"
        )
    summary.write(paths, dataset.name)
    return summary.as_dict()
