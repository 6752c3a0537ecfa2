"""The evaluate stage: every variant scored on the held-out test split beside the baselines.

The only stage that reads the test split for models. Writes ``evaluate/scores.json`` (an
:class:`~seqlab.artifacts.Evaluation`) and its headline ``metrics.json``, a leaderboard, learning
curves, the modality's figures (``plots/``, logged to MLflow) and what ``dvc plots`` shows of the test
split (``charts/``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqlab import evaluation
from seqlab.artifacts import Evaluation, SearchResult, TrainSummary, read_baseline_metrics
from seqlab.datasets import DatasetConfig
from seqlab.families import model_label
from seqlab.fileio import atomic_directory, atomic_path
from seqlab.modalities import modality
from seqlab.modelling import load_keras_model, score_model
from seqlab.paths import ProjectPaths
from seqlab.runtime import load_keras

Log = Callable[[str], None]
VALIDATION_LOSS = "val_loss"  # what picks the best variant: its fit's best epoch, never a test score


def evaluate(dataset: DatasetConfig, paths: ProjectPaths, log: Log = print) -> dict[str, Any]:
    """Score each variant, rank everything against the best baseline, write the leaderboard and plots."""
    load_keras()
    kind = modality(dataset)
    data = kind.load(dataset, paths)
    metric, higher_is_better = kind.metric, kind.higher_is_better
    out = paths.results_dir(dataset.name, "evaluate")
    baseline_metrics = read_baseline_metrics(paths, dataset.name)
    trials = SearchResult.read(paths, dataset.name)
    summary = TrainSummary.read(paths, dataset.name)
    best_name, best_value = evaluation.best_baseline(baseline_metrics, metric, higher_is_better)

    variant_metrics: dict[str, dict[str, float]] = {}
    predictions: dict[str, np.ndarray] = {}
    losses: dict[str, str] = {}
    for name, fit in summary.variants.items():
        model = load_keras_model(paths.results_dir(dataset.name, "train") / name / "model.keras")
        losses[name] = loss_name(model)
        metrics, predictions[name] = score_model(data, model, fit.hyperparameters)
        metrics["skill_vs_best_baseline"] = evaluation.skill(metrics[metric], best_value, higher_is_better)
        variant_metrics[name] = metrics
        log(
            f"{dataset.name}: variant {name}: {metric}={metrics[metric]:.4g} "
            f"(best baseline {best_name} {best_value:.4g})"
        )
    best_variant = chosen_variant(summary)
    log(
        f"{dataset.name}: best variant {best_variant} (least validation loss "
        f"{summary.variants[best_variant].best_metrics[VALIDATION_LOSS]:.4g}; chosen before the test scores)"
    )

    with np.load(paths.results_dir(dataset.name, "baselines") / "predictions.npz") as archive:
        baseline_predictions = {name: archive[name] for name in archive.files}
    combination = combine(
        data,
        load_keras_model(paths.results_dir(dataset.name, "train") / best_variant / "model.keras"),
        summary.variants[best_variant].hyperparameters,
        best_variant,
        predictions[best_variant],
        baseline_predictions,
        (metric, higher_is_better, best_value),
        log,
    )
    significance = compare_errors(data, predictions[best_variant], baseline_predictions[best_name], best_name)
    if combination is not None:  # its own test, for when it is the registered model
        blend_test = compare_errors(
            data,
            blended(combination, predictions[best_variant], baseline_predictions),
            baseline_predictions[best_name],
            best_name,
        )
        if blend_test is not None:
            combination.update(dm_statistic=blend_test["statistic"], dm_p_value=blend_test["p_value"])
    if significance is not None:
        log(
            f"{dataset.name}: variant {best_variant} vs {best_name}: Diebold-Mariano "
            f"{significance['statistic']:.3g}, p = {significance['p_value']:.3g}"
        )
    if combination is not None:
        log(
            f"{dataset.name}: combination {combination['weight']:.2f} × variant {best_variant} + "
            f"{1 - combination['weight']:.2f} × {combination['baseline']} (weight chosen on validation): "
            f"{metric}={combination[metric]:.4g}"
        )

    rows: list[dict[str, Any]] = [
        {"model": name, "kind": "baseline", **values} for name, values in baseline_metrics.items()
    ]
    for trial in trials.trials:
        rows.append(
            {
                "model": f"trial_{trial.trial_id}",
                "kind": "trial",
                "status": trial.status,
                f"val_{trials.objective.removeprefix('val_')}": trial.score,
                "hyperparameters": json.dumps(trial.hyperparameters, sort_keys=True),
            }
        )
    rows.extend(
        {"model": f"variant_{name}", "kind": "variant", **values} for name, values in variant_metrics.items()
    )
    if combination is not None:
        rows.append({"model": combination_name(combination), "kind": "combination", **_scores(combination)})
    board = evaluation.leaderboard(rows, metric, higher_is_better)
    evaluation.write_leaderboard(board, out / "leaderboard.csv", out / "leaderboard.md")

    from seqlab import plots

    labels = {name: model_label(fit.hyperparameters) for name, fit in summary.variants.items()}
    with atomic_directory(out / "plots") as folder:  # the plots of this evaluation, whole, or the old ones
        for name, fit in summary.variants.items():
            plots.plot_learning_curves(
                fit.history,
                folder / f"learning_curves_{name}.png",
                title=plots.subject(dataset.name, name, labels[name]),
                best_epoch=fit.best_epoch,
                loss=losses[name],
                units=data.training_units,
            )
        data.plots(best_variant, labels[best_variant], predictions, best_name, baseline_predictions, folder)
        plots.plot_comparison(
            {f"variant {name}": values[metric] for name, values in variant_metrics.items()},
            {
                name: values[metric]
                for name, values in baseline_metrics.items()
                if _finite(values.get(metric))
            },
            folder / "comparison.png",
            best_model=f"variant {best_variant}",
            best_baseline=best_name,
            metric=metric,
            higher_is_better=higher_is_better,
            title=f"{dataset.name} · {labels[best_variant]}",
            unit=data.metric_unit,
        )
    with atomic_directory(out / "charts") as folder:
        data.chart(out / "plots", folder, best_variant, predictions, best_name, baseline_predictions)
    write_learning_curves(summary, out / "learning_curves.csv")
    result = Evaluation(
        metric=metric,
        higher_is_better=higher_is_better,
        test_data_sha256=data.test_fingerprint(),
        best_baseline=best_name,
        best_variant=best_variant,
        variants=variant_metrics,
        baselines=baseline_metrics,
        combination=combination,
        significance=significance,
    )
    result.write(paths, dataset.name, best_epoch=summary.variants[best_variant].best_epoch)
    return result.as_dict()


def chosen_variant(summary: TrainSummary) -> str:
    """Return the variant of least validation loss (ties: the first trained), chosen without the test split.

    Picking the variant with the best test score would report an optimistic test score: the choice
    would itself have been fitted on the test period.
    """
    return min(
        summary.variants,
        key=lambda name: summary.variants[name].best_metrics.get(VALIDATION_LOSS, math.inf),
    )


def combine(
    data: Any,
    model: Any,
    hyperparameters: dict[str, Any],
    variant: str,
    test_predictions: np.ndarray,
    baseline_predictions: dict[str, np.ndarray],
    ranking: tuple[str, bool, float],
    log: Log,
) -> dict[str, Any] | None:
    """Score ``w`` × the best variant + (1 - ``w``) × a baseline, both chosen on validation only.

    The baseline partner is the one with the least validation MAE, and ``w`` minimises the
    combination's validation MAE (:func:`seqlab.evaluation.combination_weight`); the test split only
    scores the result. None where the modality does not combine, or its validation is too short.
    """
    metric, higher_is_better, best_value = ranking
    try:
        validation = data.validation_baselines()
    except ValueError as error:
        log(f"{data.dataset.name}: no forecast combination: the validation baselines failed: {error}")
        return None
    if not validation:
        return None
    _, _, x_validation, y_validation = data.fit_arrays()
    candidates = {name: forecast for name, forecast in validation.items() if name in baseline_predictions}
    if not candidates:
        return None
    actual = np.asarray(y_validation, dtype=np.float64)
    partner = min(
        candidates, key=lambda name: float(np.mean(np.abs(candidates[name].reshape(actual.shape) - actual)))
    )
    forecast = model.predict(data.select_inputs(x_validation, hyperparameters), batch_size=1024, verbose=0)
    weight, validation_error = evaluation.combination_weight(
        np.asarray(forecast).reshape(actual.shape), candidates[partner].reshape(actual.shape), actual
    )
    metrics = data.score(
        blended({"weight": weight, "baseline": partner}, test_predictions, baseline_predictions)
    )
    metrics["skill_vs_best_baseline"] = evaluation.skill(metrics[metric], best_value, higher_is_better)
    return {
        "variant": variant,
        "baseline": partner,
        "weight": weight,
        "validation_mae_normalized": validation_error,
        **metrics,
    }


def blended(
    combination: dict[str, Any], predictions: np.ndarray, baseline_predictions: dict[str, np.ndarray]
) -> np.ndarray:
    """Return ``weight`` × the model's test predictions + (1 - ``weight``) × its baseline's."""
    weight, partner = float(combination["weight"]), str(combination["baseline"])
    model = np.asarray(predictions)
    return weight * model + (1 - weight) * baseline_predictions[partner].reshape(np.shape(model))


def compare_errors(
    data: Any, model: np.ndarray, baseline: np.ndarray, baseline_name: str
) -> dict[str, Any] | None:
    """Diebold-Mariano test of the model's test errors against the best baseline's (series only)."""
    errors = data.test_errors(model)
    if errors is None:
        return None
    horizon = errors.shape[1] if errors.ndim == 2 else 1
    statistic, p_value = evaluation.diebold_mariano(errors, data.test_errors(baseline), horizon)
    return {"against": baseline_name, "statistic": statistic, "p_value": p_value}


def combination_name(combination: dict[str, Any]) -> str:
    """Name a combination by its parts and weights, as the leaderboard lists it."""
    weight, variant, baseline = combination["weight"], combination["variant"], combination["baseline"]
    return f"combination {weight:.2f}×variant_{variant}+{1 - weight:.2f}×{baseline}"


def _scores(combination: dict[str, Any]) -> dict[str, float]:
    """Return the test metrics and skill of a combination (what a leaderboard row shows)."""
    return {
        key: value
        for key, value in combination.items()
        if key.startswith("test_") or key == "skill_vs_best_baseline"
    }


def loss_name(model: Any) -> str:
    """Return the name of a compiled Keras model's loss (``huber_loss``, ``binary_crossentropy``)."""
    loss = getattr(model, "loss", None)
    return str(getattr(loss, "name", loss or "loss"))


def _finite(value: Any) -> bool:
    """Whether a baseline's score is a number to draw (a baseline may lack a metric or score NaN)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def write_learning_curves(summary: TrainSummary, destination: Path) -> None:
    """One CSV row per (variant, epoch): what ``dvc plots`` draws as learning curves."""
    rows = []
    for name, fit in summary.variants.items():
        history = fit.history
        for epoch in range(len(next(iter(history.values()), []))):
            rows.append(
                {
                    "variant": name,
                    "epoch": epoch + 1,
                    **{key: values[epoch] for key, values in history.items()},
                }
            )
    with atomic_path(destination) as temporary:
        pd.DataFrame(rows).to_csv(temporary, index=False)
