"""The backtest stage: the chosen model and every baseline refitted and scored from many origins.

Writes ``backtest/metrics.json`` (the DVC metric: mean MAE of the model and of the best baseline over
all origins, skill, the standard error of the difference, the Diebold-Mariano p-value),
``summary.json`` (every model's mean MAE), ``origins.csv`` (MAE per origin and model) and
``plots/backtest.png``. A dataset without a time order (text, images) writes ``origins: 0`` and says why.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from seqlab import backtest as rolling
from seqlab.artifacts import Evaluation, TrainSummary
from seqlab.datasets import DatasetConfig, SeriesBacktest
from seqlab.families import model_label
from seqlab.fileio import atomic_path, write_json
from seqlab.modalities import modality
from seqlab.modelling import fit_variant
from seqlab.paths import ProjectPaths
from seqlab.runtime import load_keras

Log = Callable[[str], None]
SUMMARY = "summary.json"


def backtest(dataset: DatasetConfig, paths: ProjectPaths, log: Log = print) -> dict[str, Any]:
    """Backtest evaluate's best variant against the baselines from ``backtest.origins`` origins."""
    out = paths.results_dir(dataset.name, "backtest")
    (out / "plots").mkdir(parents=True, exist_ok=True)
    settings = dataset.backtest
    if not isinstance(settings, SeriesBacktest) or not settings.origins:
        why = (
            f"{dataset.name} has no time order ({dataset.modality}): no rolling-origin backtest"
            if not isinstance(settings, SeriesBacktest)
            else f"defaults.{dataset.source.kind}.backtest.origins is 0: no rolling-origin backtest"
        )
        return _none(dataset.name, out, why, log)

    load_keras()
    from seqlab import plots, training

    data: Any = modality(dataset).load(dataset, paths)  # a SeriesData (the settings are a series')
    length = int(data.arrays["values"].size)
    block = int(settings.horizon or 0)
    origins = rolling.origins_that_fit(length, settings.origins, block)
    if origins < 2:
        why = (
            f"the series' {length} values are too few for 2 origins of "
            f"{block} steps that leave half of them for the first fit: no rolling-origin backtest "
            f"(lower defaults.{dataset.source.kind}.backtest.horizon)"
        )
        return _none(dataset.name, out, why, log)
    if origins < settings.origins:
        log(
            f"{dataset.name}: backtest: {origins} of backtest.origins {settings.origins} origins fit "
            f"(the first fit keeps at least half of the series' {length} values)"
        )
    evaluation = Evaluation.read(paths, dataset.name)
    hyperparameters = TrainSummary.read(paths, dataset.name).variants[evaluation.best_variant].hyperparameters
    label = f"variant {evaluation.best_variant} · {model_label(hyperparameters)}"

    def fit(view: Any, folder: Path) -> Any:
        model, _ = fit_variant(
            view,
            hyperparameters,
            dataset.training,
            checkpoint_dir=folder,
            callbacks=[training.progress(log, f"{dataset.name}: backtest fit", dataset.training.epochs)],
        )
        return model

    result = rolling.rolling_origin(
        data,
        fit,
        lambda view, model: view.predict_test(model, hyperparameters),
        origins=origins,
        block=block,
        refit=settings.refit,
        workdir=out / "fits",
        log=log,
    )
    summary = result.summary()
    sentence = rolling.describe(summary, label, data.metric_unit)
    log(f"{dataset.name}: {sentence}")
    with atomic_path(out / "origins.csv") as temporary:
        pd.DataFrame(result.table()).to_csv(temporary, index=False)
    per_origin = result.mae_per_origin()
    plots.plot_backtest(
        result.labels,
        {label if name == rolling.MODEL else name: values for name, values in per_origin.items()},
        out / "plots" / "backtest.png",
        model=label,
        best_baseline=summary["best_baseline"],
        title=f"{dataset.name} · {label}",
        unit=data.metric_unit,
    )
    shutil.rmtree(out / "fits", ignore_errors=True)  # the per-origin fits are not kept
    record = {
        **summary,
        "model": label,
        "variant": evaluation.best_variant,
        "refit_every": settings.refit,
        "block": settings.horizon,
        "sentence": sentence,
    }
    write_json(out / SUMMARY, record)
    write_json(
        out / "metrics.json",
        {
            key: summary[key]
            for key in ("origins", "mae_model", "mae_baseline", "skill", "mae_difference_se", "dm_p_value")
        },
    )
    return record


def _none(name: str, out: Path, why: str, log: Log) -> dict[str, Any]:
    """Write the outputs of a dataset without a backtest (``origins: 0``) and say why."""
    log(f"{name}: {why}")
    (out / "plots" / "none.txt").write_text(why + "\n", encoding="utf-8")
    pd.DataFrame(columns=["origin", "position", "fitted_at", "model", "mae"]).to_csv(
        out / "origins.csv", index=False
    )
    write_json(out / SUMMARY, {"origins": 0, "why": why})
    write_json(out / "metrics.json", {"origins": 0})
    return {"origins": 0}
