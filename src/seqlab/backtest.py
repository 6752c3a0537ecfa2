"""Rolling-origin backtests: one test period cannot tell 1.06 °C from 1.05 °C; many origins can.

From each of the last ``origins`` block starts of a series, every baseline is refitted on the values
before that origin and the chosen model is refitted (every ``refit`` origins, with its tuned
configuration; in between the last fit ages, as a deployed model would), and each forecasts the next
block one step at a time from the true history, as the test period is scored. The errors of all
origins then give each model's mean MAE, its skill against the baseline with the least mean MAE, the
standard error of that difference across origins and a Diebold-Mariano test of the two error series.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from seqlab.evaluation import diebold_mariano

Log = Callable[[str], None]
MODEL = "model"  # the chosen model's key among the baselines' in :class:`Backtest`


def origin_starts(length: int, count: int, block: int) -> list[int]:
    """Positions of ``count`` origins ``block`` steps apart whose last block ends the series."""
    starts = [length - (count - number) * block for number in range(count)]
    if starts[0] < 1:
        raise ValueError(
            f"backtest: {count} origins × horizon {block} = {count * block} steps exceed the "
            f"{length} values of the series; lower backtest.origins or backtest.horizon"
        )
    return starts


def origins_that_fit(length: int, count: int, block: int) -> int:
    """How many of ``count`` origins fit a series while the first fit keeps half of its values.

    A short series (a new station of ten years) gets fewer origins rather than a failed pipeline.
    """
    return max(0, min(count, (length // 2) // block))


@dataclass
class Backtest:
    """Real-unit forecast errors per origin and model (``model`` and every baseline's name)."""

    origins: list[int]
    labels: list[str]  # each origin's first target, as a date or a position
    fitted_at: list[str]  # the origin whose data the model in use was fitted on
    errors: dict[str, list[np.ndarray]] = field(default_factory=dict)
    horizon: int = 1  # steps of each forecast row (the prepared horizon), for the test's lags

    def add(self, name: str, errors: np.ndarray) -> None:
        """Append one origin's errors of a model."""
        self.errors.setdefault(name, []).append(np.asarray(errors, dtype=np.float64))

    def mae_per_origin(self) -> dict[str, list[float]]:
        """Every model's MAE at each origin."""
        return {
            name: [float(np.mean(np.abs(block))) for block in blocks] for name, blocks in self.errors.items()
        }

    def summary(self) -> dict[str, Any]:
        """Mean MAE per model over all origins, and the model against the best baseline.

        The best baseline is the one of least mean MAE over the origins. ``mae_difference_se`` is the
        standard error of the per-origin MAE differences (model − baseline); the Diebold-Mariano test
        compares the two series of absolute errors of all origins (:func:`seqlab.evaluation.diebold_mariano`).
        """
        per_origin = self.mae_per_origin()
        pooled = {
            name: float(np.mean(np.abs(np.concatenate(blocks)))) for name, blocks in self.errors.items()
        }
        baselines = {name: value for name, value in pooled.items() if name != MODEL}
        best = min(baselines, key=lambda name: baselines[name])
        differences = np.subtract(per_origin[MODEL], per_origin[best])
        statistic, p_value = diebold_mariano(
            _rows(self.errors[MODEL], self.horizon), _rows(self.errors[best], self.horizon), self.horizon
        )
        return {
            "origins": len(self.origins),
            "first_origin": self.labels[0],
            "last_origin": self.labels[-1],
            "mae": pooled,
            "best_baseline": best,
            "mae_model": pooled[MODEL],
            "mae_baseline": pooled[best],
            "skill": 1.0 - pooled[MODEL] / pooled[best] if pooled[best] > 0 else math.nan,
            "mae_difference_se": float(differences.std(ddof=1) / math.sqrt(differences.size)),
            "origins_won": int(np.sum(differences < 0)),
            "dm_statistic": statistic,
            "dm_p_value": p_value,
        }

    def table(self) -> list[dict[str, Any]]:
        """One row per (origin, model): what origins.csv holds."""
        per_origin = self.mae_per_origin()
        return [
            {
                "origin": self.labels[number],
                "position": self.origins[number],
                "fitted_at": self.fitted_at[number],
                "model": name,
                "mae": round(values[number], 6),
            }
            for number in range(len(self.origins))
            for name, values in per_origin.items()
        ]


def _rows(blocks: list[np.ndarray], horizon: int) -> np.ndarray:
    """All origins' errors as one [forecasts, horizon] matrix."""
    return np.concatenate([block.reshape(-1, horizon) for block in blocks])


def rolling_origin(
    data: Any,
    fit: Callable[[Any, Path], Any],
    predict: Callable[[Any, Any], np.ndarray],
    origins: int,
    block: int,
    refit: int,
    workdir: Path,
    log: Log = print,
) -> Backtest:
    """Refit and forecast the next ``block`` from each origin; return every model's real-unit errors.

    ``data`` is a prepared series (:class:`seqlab.modalities.series.SeriesData`); ``fit(view, folder)``
    trains the chosen configuration on a view's training part and returns the model, and
    ``predict(view, model)`` its normalised forecasts of the view's test rows.
    """
    values = data.arrays["values"]
    starts = origin_starts(int(values.size), origins, block)
    labels = [data.dates[start] if data.dates else str(start) for start in starts]
    result = Backtest(origins=starts, labels=labels, fitted_at=[], horizon=data.horizon)
    model: Any = None
    fitted = starts[0]
    for number, origin in enumerate(starts):
        end = origin + block
        try:
            view = data.at_origin(origin, end)
        except ValueError as error:
            raise ValueError(f"backtest: origin {labels[number]} (position {origin}): {error}") from error
        targets = view.arrays["test_target_index"]
        actual = values[targets]
        _, forecasts = view.baselines()
        for name, forecast in forecasts.items():
            result.add(name, _real(forecast, view).reshape(actual.shape) - actual)
        if number % refit == 0:
            fitted = origin
            log(f"{data.dataset.name}: backtest origin {number + 1}/{len(starts)} ({labels[number]}): refit")
            model = fit(view, workdir / f"fit_{number + 1}")
        aged = view if fitted == origin else data.at_origin(fitted, end)
        rows = np.isin(aged.arrays["test_target_index"][:, 0], targets[:, 0])
        if int(rows.sum()) != targets.shape[0]:
            raise ValueError(
                f"backtest.horizon: {block} must be a multiple of prepare.stride so that every origin's "
                "forecasts fall on the same steps"
            )
        forecast = np.asarray(predict(aged, model))[rows]
        result.add(MODEL, _real(forecast, aged).reshape(actual.shape) - actual)
        result.fitted_at.append(labels[starts.index(fitted)])
    partial = [name for name, blocks in result.errors.items() if len(blocks) != len(starts)]
    for name in partial:  # a baseline a short training part could not fit at some origin
        log(f"{data.dataset.name}: backtest: baseline {name} left out (not fitted at every origin)")
        del result.errors[name]
    return result


def _real(forecast: np.ndarray, view: Any) -> np.ndarray:
    """Normalised forecasts of a view back in the series' units."""
    return np.asarray(forecast, dtype=np.float64) * view.std + view.mean


def describe(summary: Mapping[str, Any], model: str, unit: str | None) -> str:
    """One sentence: the model's mean MAE over the origins against the best baseline's, and the test."""
    amount = f" {unit}" if unit else ""
    difference = summary["mae_model"] - summary["mae_baseline"]
    verdict = "better" if difference < 0 else "worse" if difference > 0 else "level"
    significant = "significant" if summary["dm_p_value"] < 0.05 else "not significant"
    return (
        f"backtest over {summary['origins']} origins "
        f"({summary['first_origin']} .. {summary['last_origin']}): "
        f"{model} {summary['mae_model']:.4g}{amount} vs {summary['best_baseline']} "
        f"{summary['mae_baseline']:.4g}{amount}, {abs(difference):.4g}{amount} {verdict} "
        f"(± {summary['mae_difference_se']:.2g} standard error, better at {summary['origins_won']} of "
        f"{summary['origins']} origins; Diebold-Mariano p = {summary['dm_p_value']:.2g}, {significant})"
    )
