"""Test metrics, skill against baselines and leaderboards, with fixed metric names across models."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqlab.fileio import atomic_open

ROW_KINDS = ("baseline", "trial", "variant", "combination")
SKILL_COLUMN = "skill_vs_best_baseline"
DECISION_THRESHOLD = 0.5  # a binary classifier says positive from this probability on


def _finite_array(values: Any, argument: str) -> np.ndarray:
    """Return ``values`` as a float64 array of finite numbers, or raise a ValueError naming it."""
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        raise ValueError(f"{argument}: expected at least one value")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{argument}: contains NaN or infinite values")
    return array


def _as_horizon_matrix(values: Any, argument: str) -> np.ndarray:
    """Return ``values`` as ``[n, horizon]`` (a 1-D array is horizon 1)."""
    array = _finite_array(values, argument)
    if array.ndim == 1:
        return array[:, np.newaxis]
    if array.ndim != 2:
        raise ValueError(f"{argument}: expected shape [n] or [n, horizon], got {array.shape}")
    return array


# --------------------------------------------------------------------------- regression


def regression_metrics(
    y_true: Any,
    y_pred: Any,
    normalizer_mean: float,
    normalizer_std: float,
    *,
    normalized_inputs: bool,
) -> dict[str, float]:
    """Score forecasts in real units (and normalised units) so every model reports comparable numbers.

    With ``normalized_inputs`` the arrays are in the normalised space and are mapped back with
    ``x * std + mean``; otherwise they are already in real units. Returns ``test_mae``,
    ``test_rmse`` (real units), ``test_mae_normalized`` (= ``test_mae / std``) and, when the
    horizon is above 1, ``test_mae_h1``, ``test_mae_h2``, ... (real units, per horizon step).
    """
    truth = _as_horizon_matrix(y_true, "y_true")
    forecast = _as_horizon_matrix(y_pred, "y_pred")
    if truth.shape != forecast.shape:
        raise ValueError(f"y_pred: shape {forecast.shape} does not match y_true {truth.shape}")
    mean = float(normalizer_mean)
    std = float(normalizer_std)
    if not math.isfinite(mean):
        raise ValueError(f"normalizer_mean: must be finite, got {normalizer_mean!r}")
    if not math.isfinite(std) or std <= 0:
        raise ValueError(f"normalizer_std: must be finite and > 0, got {normalizer_std!r}")
    if normalized_inputs:
        truth, forecast = truth * std + mean, forecast * std + mean
    errors = forecast - truth
    absolute = np.abs(errors)
    mae = float(absolute.mean())
    metrics = {
        "test_mae": mae,
        "test_rmse": float(np.sqrt(np.mean(errors**2))),
        "test_mae_normalized": mae / std,
    }
    if truth.shape[1] > 1:
        for step, value in enumerate(absolute.mean(axis=0), start=1):
            metrics[f"test_mae_h{step}"] = float(value)
    return metrics


# --------------------------------------------------------------------------- classification


def classification_metrics(
    y_true: Any, probabilities: Any, threshold: float = DECISION_THRESHOLD
) -> dict[str, float]:
    """Score binary probabilities: accuracy/F1/confusion at ``threshold`` and the threshold-free AUC."""
    from sklearn.metrics import roc_auc_score

    labels = _finite_array(y_true, "y_true").ravel()
    scores = _finite_array(probabilities, "probabilities").ravel()
    if labels.shape != scores.shape:
        raise ValueError(f"probabilities: {scores.size} values do not match {labels.size} labels in y_true")
    if not np.all((labels == 0) | (labels == 1)):
        raise ValueError("y_true: expected binary labels 0/1")
    if np.unique(labels).size < 2:
        raise ValueError("y_true: both classes must be present for the AUC")
    if scores.min() < 0 or scores.max() > 1:
        raise ValueError("probabilities: expected values in [0, 1]")
    if not (isinstance(threshold, int | float) and 0 <= threshold <= 1):
        raise ValueError(f"threshold: expected a number in [0, 1], got {threshold!r}")
    actual = labels == 1
    predicted = scores >= threshold
    tp = int(np.sum(actual & predicted))
    fp = int(np.sum(~actual & predicted))
    tn = int(np.sum(~actual & ~predicted))
    fn = int(np.sum(actual & ~predicted))
    return {
        "test_accuracy": (tp + tn) / labels.size,
        "test_auc": float(roc_auc_score(actual, scores)),
        "test_f1": 2 * tp / (2 * tp + fp + fn),  # > 0 denominator: positives exist
        "test_tp": float(tp),
        "test_fp": float(fp),
        "test_tn": float(tn),
        "test_fn": float(fn),
    }


def _normalised(probabilities: np.ndarray) -> np.ndarray:
    """Rows clipped away from 0 and rescaled to sum to 1 (float32 softmax rows sum to 1 only roughly)."""
    clipped = np.clip(probabilities, 1e-7, 1.0)
    return np.asarray(clipped / clipped.sum(axis=1, keepdims=True))


def multiclass_metrics(y_true: Any, probabilities: Any) -> dict[str, float]:
    """Score class probabilities [n, classes]: accuracy, macro-averaged F1 and log loss."""
    from sklearn.metrics import f1_score, log_loss

    labels = _finite_array(y_true, "y_true").ravel().astype(np.int64)
    scores = _finite_array(probabilities, "probabilities")
    if scores.ndim != 2 or scores.shape[0] != labels.size:
        raise ValueError(f"probabilities: expected shape [{labels.size}, classes], got {scores.shape}")
    classes = scores.shape[1]
    if labels.min() < 0 or labels.max() >= classes:
        raise ValueError(f"y_true: labels must lie in 0..{classes - 1}")
    predicted = scores.argmax(axis=1)
    return {
        "test_accuracy": float(np.mean(predicted == labels)),
        "test_macro_f1": float(f1_score(labels, predicted, average="macro", labels=range(classes))),
        "test_log_loss": float(log_loss(labels, _normalised(scores), labels=range(classes))),
    }


# --------------------------------------------------------------------------- skill


def skill(score: float, baseline_score: float, higher_is_better: bool) -> float:
    """Return the fraction of the baseline's error a model removes (1 perfect, 0 as good, < 0 worse).

    For errors (``higher_is_better=False``, e.g. MAE): ``1 - score / baseline_score``. For scores
    where higher is better (accuracy, AUC in [0, 1]) the error rates are compared:
    ``1 - (1 - score) / (1 - baseline_score)``.
    """
    value, reference = float(score), float(baseline_score)
    if not math.isfinite(value):
        raise ValueError(f"score: must be finite, got {score!r}")
    if not math.isfinite(reference):
        raise ValueError(f"baseline_score: must be finite, got {baseline_score!r}")
    if higher_is_better:
        if not (0 <= value <= 1 and 0 <= reference <= 1):
            raise ValueError("score: higher-is-better skill compares error rates; scores must lie in [0, 1]")
        value, reference = 1 - value, 1 - reference
    if reference <= 0:
        raise ValueError(f"baseline_score: the baseline is perfect ({baseline_score!r}); skill is undefined")
    return 1 - value / reference


def diebold_mariano(model_errors: Any, baseline_errors: Any, horizon: int = 1) -> tuple[float, float]:
    """Return the Diebold-Mariano statistic and two-sided p-value of equal mean absolute error.

    Loss differential per forecast row ``d = mean|model error| - mean|baseline error|`` (the mean
    over the row's horizon steps); its long-run variance is Newey-West with ``horizon - 1`` lags
    (overlapping multi-step forecasts are correlated that far); the statistic carries Harvey,
    Leybourne and Newbold's (1997) small-sample correction and is read against Student's t with
    n - 1 degrees of freedom. Negative: the model's errors are smaller. A few lines of numpy and
    scipy: statsmodels has no Diebold-Mariano test.
    """
    from scipy import stats

    first, second = (
        _as_horizon_matrix(errors, name)
        for errors, name in ((model_errors, "model_errors"), (baseline_errors, "baseline_errors"))
    )
    if first.shape != second.shape:
        raise ValueError(f"model_errors, baseline_errors: shapes differ, {first.shape} vs {second.shape}")
    lags = _positive(horizon, "horizon") - 1
    differential = np.abs(first).mean(axis=1) - np.abs(second).mean(axis=1)
    count = differential.size
    if count < 2 * (lags + 1):
        raise ValueError(f"model_errors: {count} forecasts are too few for a test at horizon {horizon}")
    centred = differential - differential.mean()
    variance = float(centred @ centred) / count
    for lag in range(1, lags + 1):
        variance += 2 * (1 - lag / (lags + 1)) * float(centred[lag:] @ centred[:-lag]) / count
    mean = float(differential.mean())
    if variance <= 0:  # a constant differential: no noise to test against
        return (0.0, 1.0) if mean == 0 else (math.copysign(math.inf, mean), 0.0)
    statistic = mean / math.sqrt(variance / count)
    statistic *= math.sqrt((count + 1 - 2 * horizon + horizon * (horizon - 1) / count) / count)
    return statistic, float(2 * stats.t.sf(abs(statistic), df=count - 1))


def _positive(value: Any, argument: str) -> int:
    """Return ``value`` as an int of at least 1, or raise a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{argument}: expected an integer >= 1, got {value!r}")
    return int(value)


COMBINATION_WEIGHTS = np.linspace(0.0, 1.0, 21)  # the model's share in a forecast combination, step 0.05


def combination_weight(model: Any, baseline: Any, actual: Any) -> tuple[float, float]:
    """Return the model's weight w in ``w * model + (1 - w) * baseline`` with the least MAE, and that MAE.

    Chosen on validation forecasts only (never on test), from :data:`COMBINATION_WEIGHTS`; w = 0 is the
    baseline alone and w = 1 the model alone, so a combination is never worse on validation than
    either. Ties go to the smaller weight (the simpler forecast).
    """
    forecasts = [_finite_array(values, name) for values, name in ((model, "model"), (baseline, "baseline"))]
    truth = _finite_array(actual, "actual")
    if not forecasts[0].shape == forecasts[1].shape == truth.shape:
        raise ValueError(
            f"model, baseline, actual: expected one shape, got {forecasts[0].shape}, "
            f"{forecasts[1].shape}, {truth.shape}"
        )
    errors = [
        float(np.mean(np.abs(w * forecasts[0] + (1 - w) * forecasts[1] - truth))) for w in COMBINATION_WEIGHTS
    ]
    least = min(errors)
    best = next(index for index, error in enumerate(errors) if error <= least * (1 + 1e-9))  # rounding ties
    return float(COMBINATION_WEIGHTS[best]), errors[best]


def best_baseline(
    results: Mapping[str, Mapping[str, Any]], metric: str, higher_is_better: bool
) -> tuple[str, float]:
    """Pick the strongest baseline on ``metric``, the honest reference a model has to beat."""
    candidates: dict[str, float] = {}
    for name, scores in results.items():
        value = _number_or_none(scores.get(metric))
        if value is not None:
            candidates[name] = value
    if not candidates:
        raise ValueError(f"results: no baseline has a finite {metric!r}")
    pick = max if higher_is_better else min
    name = pick(candidates, key=lambda key: candidates[key])
    return name, candidates[name]


def _number_or_none(value: Any) -> float | None:
    """Return ``value`` as a finite float, or None when it is missing or not a finite number."""
    if value is None or isinstance(value, bool | str):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _safe_skill(score: Any, baseline_score: float | None, higher_is_better: bool) -> float:
    """Skill or NaN where it is undefined (no baseline, missing score, perfect baseline)."""
    value = _number_or_none(score)
    if baseline_score is None or value is None:
        return math.nan
    try:
        return skill(value, baseline_score, higher_is_better)
    except ValueError:
        return math.nan


# --------------------------------------------------------------------------- leaderboard


def leaderboard(rows: Sequence[Mapping[str, Any]], metric: str, higher_is_better: bool) -> pd.DataFrame:
    """Rank models and baselines best first on ``metric``, with skill against the best baseline.

    Each row needs ``model`` and ``kind`` (one of :data:`ROW_KINDS`); other keys (metric
    values, run ids) become columns in first-seen order after ``model, kind, <metric>``, then
    ``skill_vs_best_baseline`` (NaN without a baseline row). Rows missing ``metric`` sort last.
    """
    if not rows:
        raise ValueError("rows: expected at least one row")
    for position, row in enumerate(rows):
        if "model" not in row or "kind" not in row:
            raise ValueError(f"rows: row {position} lacks 'model' or 'kind'")
        if row["kind"] not in ROW_KINDS:
            raise ValueError(
                f"rows: row {position} kind {row['kind']!r} is not one of {', '.join(ROW_KINDS)}"
            )
    columns = ["model", "kind", metric]
    for row in rows:
        columns.extend(key for key in row if key not in columns and key != SKILL_COLUMN)
    frame = pd.DataFrame([dict(row) for row in rows]).reindex(columns=columns)
    frame[metric] = pd.to_numeric(frame[metric], errors="coerce")
    baselines = {str(row["model"]): {metric: row.get(metric)} for row in rows if row["kind"] == "baseline"}
    reference: float | None
    try:
        reference = best_baseline(baselines, metric, higher_is_better)[1]
    except ValueError:
        reference = None
    frame[SKILL_COLUMN] = [_safe_skill(value, reference, higher_is_better) for value in frame[metric]]
    frame = frame.sort_values(metric, ascending=not higher_is_better, na_position="last", kind="stable")
    return frame.reset_index(drop=True)


def write_leaderboard(frame: pd.DataFrame, csv_path: str | Path, md_path: str | Path) -> tuple[Path, Path]:
    """Write a leaderboard as CSV (for machines) and Markdown (for the report), each atomically."""
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"frame: expected a pandas DataFrame, got {type(frame).__name__}")
    csv_target, md_target = Path(csv_path), Path(md_path)
    with atomic_open(csv_target) as handle:
        handle.write(frame.to_csv(index=False, lineterminator="\n"))
    with atomic_open(md_target) as handle:
        handle.write(frame.to_markdown(index=False, floatfmt=".4g"))
        handle.write("\n")
    return csv_target, md_target


__all__ = [
    "best_baseline",
    "classification_metrics",
    "multiclass_metrics",
    "leaderboard",
    "regression_metrics",
    "skill",
    "write_leaderboard",
]
