"""Honest statistical baselines on exactly the neural models' test targets.

Conventions shared by every series baseline:

* ``values`` is the raw series in real units; ``target_index`` holds positions into it, one row per
  forecast window (shape ``[n]`` or ``[n, horizon]``, as ``SeriesWindows.test_target_index``).
* The *forecast origin* of a row is ``target_index[row, 0] - 1``: the last value observed when the
  window's forecast is issued. A target ``t`` of that row is forecast ``step = t - origin`` ahead.
  Baselines only read ``values`` at or before the origin (and training values for fitting), so a
  value at or after a target can never leak into its forecast; values after the origin may even be
  NaN.
* Fitted baselines (climatology, trend, AR) learn only from ``values[:split_index]`` (validation
  is part of training here) and refuse targets before ``split_index``, which would be in-sample.
* Forecasts come back with the shape of ``target_index``; everything is vectorised (a loop runs
  over horizon steps or AR lags only, never over targets).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

SEASON_KINDS = ("monthly", "daily", "periodic")
# Day-of-year (0-based) of 1 March in a non-leap year; later days of a leap year shift down by one.
_MARCH_FIRST_NON_LEAP = 59


# --------------------------------------------------------------------------- validation helpers


def _as_values(values: Any) -> np.ndarray:
    """Return ``values`` as a 1-D float64 array (NaN allowed: only used positions are checked)."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"values: expected a non-empty 1-D series, got shape {array.shape}")
    return array


def _as_targets(target_index: Any, size: int) -> np.ndarray:
    """Return ``target_index`` as a 2-D int64 array of in-range, increasing positions per row."""
    array = np.asarray(target_index)
    if array.ndim not in (1, 2) or array.size == 0:
        raise ValueError(f"target_index: expected a non-empty [n] or [n, horizon] array, got {array.shape}")
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"target_index: expected integer positions, got dtype {array.dtype}")
    targets = array.astype(np.int64).reshape(array.shape[0], -1)
    if targets.min() < 1 or targets.max() >= size:
        raise ValueError(
            f"target_index: positions must lie in 1..{size - 1} (a target needs an observed value "
            f"before it), got {targets.min()}..{targets.max()}"
        )
    if targets.shape[1] > 1 and np.any(np.diff(targets, axis=1) <= 0):
        raise ValueError("target_index: positions must increase along each row (horizon steps)")
    return targets


def _check_int(value: Any, argument: str, minimum: int) -> int:
    """Return ``value`` if it is an int of at least ``minimum``, else raise a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{argument}: expected an integer >= {minimum}, got {value!r}")
    return int(value)


def _origins(targets: np.ndarray) -> np.ndarray:
    """Forecast origin of each row: the last position observed before its first target."""
    return targets[:, 0] - 1


def _gather(values: np.ndarray, positions: np.ndarray, what: str) -> np.ndarray:
    """Read ``values`` at ``positions`` (already checked to be observed), refusing non-finite inputs."""
    gathered = values[positions]
    if not np.all(np.isfinite(gathered)):
        bad = positions[~np.isfinite(gathered)]
        raise ValueError(f"values: NaN or infinite value at position {int(bad.flat[0])} used as {what}")
    return gathered


def _check_split(split_index: Any, targets: np.ndarray, size: int) -> int:
    """Validate ``split_index`` and that every target lies after it (out-of-sample)."""
    split = _check_int(split_index, "split_index", 2)
    if split >= size:
        raise ValueError(f"split_index: {split} must be smaller than the series length {size}")
    if targets.min() < split:
        raise ValueError(
            f"target_index: target {int(targets.min())} lies before split_index {split}; a baseline "
            "fitted on the training part would be evaluated in-sample"
        )
    return split


def _as_seasons(season_of: Any, size: int) -> np.ndarray:
    """Return ``season_of`` as non-negative int64 keys, one per series position."""
    array = np.asarray(season_of)
    if array.shape != (size,):
        raise ValueError(f"season_of: expected shape ({size},) (one key per value), got {array.shape}")
    if not np.issubdtype(array.dtype, np.integer) or (array.size and array.min() < 0):
        raise ValueError("season_of: expected non-negative integer season keys")
    return array.astype(np.int64)


# --------------------------------------------------------------------------- season keys


def season_keys(dataset_kind: str, dates: Sequence[str] | None, n: int, period: int) -> np.ndarray:
    """Build one season key per position so climatologies can average like with like.

    * ``"monthly"``: month - 1 (0..11) from ``"%Y-%m"`` dates (``period`` is ignored).
    * ``"daily"``: day of a non-leap year (0..364) from ``"%Y-%m-%d"`` dates; 29 February shares
      28 February's key and later days of a leap year shift down by one, so a calendar date always
      has the same key (``period`` is ignored).
    * ``"periodic"``: ``t % period`` for integer time (the synthetic series); ``dates`` is ignored.
    """
    count = _check_int(n, "n", 1)
    if dataset_kind == "periodic":
        return np.arange(count, dtype=np.int64) % _check_int(period, "period", 1)
    if dataset_kind not in SEASON_KINDS:
        raise ValueError(f"dataset_kind: expected one of {', '.join(SEASON_KINDS)}, got {dataset_kind!r}")
    if dates is None or len(dates) != count:
        got = "None" if dates is None else f"{len(dates)} dates"
        raise ValueError(f"dates: expected {count} date strings for {dataset_kind!r} seasons, got {got}")
    import pandas as pd

    date_format = "%Y-%m" if dataset_kind == "monthly" else "%Y-%m-%d"
    try:
        stamps = pd.DatetimeIndex(pd.to_datetime(list(dates), format=date_format))
    except (ValueError, TypeError) as error:
        raise ValueError(f"dates: not all in the {date_format!r} format: {error}") from error
    if dataset_kind == "monthly":
        return stamps.month.to_numpy(dtype=np.int64) - 1
    day = stamps.dayofyear.to_numpy(dtype=np.int64) - 1
    leap_shift = stamps.is_leap_year & (day >= _MARCH_FIRST_NON_LEAP)  # 29 Feb is day 59 in a leap year
    return day - leap_shift.astype(np.int64)


# --------------------------------------------------------------------------- naive baselines


def persistence(values: Any, target_index: Any) -> np.ndarray:
    """Forecast every target with the last value observed at the origin (the naive forecast to beat)."""
    series = _as_values(values)
    targets = _as_targets(target_index, series.size)
    last = _gather(series, _origins(targets), "the persistence forecast")
    return np.broadcast_to(last[:, np.newaxis], targets.shape).reshape(np.shape(target_index)).copy()


def seasonal_naive(values: Any, target_index: Any, period: int) -> np.ndarray:
    """Forecast a target with the value one period earlier, so seasonality alone is the reference.

    For a target ``step`` ahead of its origin the forecast is ``values[t - k * period]`` with
    ``k = ceil(step / period)``: one period back when ``step <= period`` and otherwise the latest
    same-season value observed at the origin (never a value after it).
    """
    series = _as_values(values)
    targets = _as_targets(target_index, series.size)
    season = _check_int(period, "period", 1)
    steps = targets - _origins(targets)[:, np.newaxis]
    source = targets - np.ceil(steps / season).astype(np.int64) * season
    if source.min() < 0:
        raise ValueError(
            f"target_index: target {int(targets.flat[np.argmin(source)])} has no observed value one "
            f"period ({season}) earlier"
        )
    return _gather(series, source, "the seasonal-naive forecast").reshape(np.shape(target_index))


def moving_average_differencing(
    values: Any, target_index: Any, period: int, window: int, smooth: int = 10
) -> np.ndarray:
    """Forecast with the book's "differencing + moving average" recipe, a strong classical reference.

    With origin ``o`` and target ``t`` (``d[s] = values[s] - values[s - period]``)::

        forecast[t] = mean(d[o - window + 1 .. o])                          # trend of the seasonal change
                    + mean(values[t - period - smooth // 2 .. t - period - smooth // 2 + smooth - 1])

    i.e. the moving average of the last ``window`` seasonally differenced values plus the past
    value one period before the target, smoothed by a ``smooth``-wide window around it. With
    ``horizon = 1``, ``period = 365``, ``window = 50`` and ``smooth = 10`` this is exactly
    "AI and Machine Learning for Coders" ch. 10 (``series[t-370:t-360]`` smoothing); ``smooth = 1``
    gives the unsmoothed ``values[t - period] + moving average`` variant. Every value read must be
    observed at the origin, otherwise a ValueError is raised (``t - period + smooth // 2`` roughly
    must not pass ``o``, i.e. the horizon must stay below ``period - smooth // 2``).
    """
    series = _as_values(values)
    targets = _as_targets(target_index, series.size)
    season = _check_int(period, "period", 1)
    span = _check_int(window, "window", 1)
    width = _check_int(smooth, "smooth", 1)
    origins = _origins(targets)
    first_needed = int(origins.min()) - span + 1 - season
    if first_needed < 0:
        raise ValueError(
            f"target_index: the first origin {int(origins.min())} has fewer than window ({span}) + "
            f"period ({season}) observed values before it"
        )
    recent = origins[:, np.newaxis] - np.arange(span)[::-1]
    differences = _gather(series, recent, "a differenced input") - _gather(
        series, recent - season, "a differenced input"
    )
    level = differences.mean(axis=1)

    start = targets - season - width // 2
    last = start + width - 1
    if start.min() < 0:
        raise ValueError(f"target_index: a target has no full smoothing window ({width}) one period back")
    if np.any(last > origins[:, np.newaxis]):
        raise ValueError(
            f"smooth: a {width}-wide window one period ({season}) before a target would read values "
            "after the forecast origin; lower smooth or the horizon"
        )
    past = _gather(series, start[..., np.newaxis] + np.arange(width), "a smoothed past value").mean(axis=-1)
    return (past + level[:, np.newaxis]).reshape(np.shape(target_index))


# --------------------------------------------------------------------------- climatology (+ trend)


@dataclass(frozen=True)
class Climatology:
    """Per-season means (and an optional linear trend in time) fitted on the training part.

    ``smoothing`` is the width of the circular moving average applied to the means (1: none).
    """

    season_means: np.ndarray
    slope: float
    smoothing: int = 1

    def predict(self, positions: np.ndarray, season_of: np.ndarray) -> np.ndarray:
        """Return the climatological value at ``positions`` (trend evaluated at the position itself)."""
        keys = season_of[positions]
        if keys.max() >= self.season_means.size or np.any(np.isnan(self.season_means[keys])):
            raise ValueError("season_of: a target's season never occurs in the training part")
        return self.season_means[keys] + self.slope * positions


def _season_means(
    values: np.ndarray, keys: np.ndarray, positions: np.ndarray, length: int, trend: bool
) -> tuple[np.ndarray, float]:
    """Per-season means (NaN where a season is absent) and slope fitted on ``values[positions]``.

    With ``trend`` the model is ``values[t] = c[season(t)] + slope * t`` by least squares, solved in
    closed form (Frisch-Waugh): the slope regresses within-season-demeaned values on
    within-season-demeaned time, then ``c[k] = mean_k(values) - slope * mean_k(t)``. This is exact
    for a linear trend plus any seasonal profile and costs O(n), not an n x seasons design matrix.
    """
    observed = values[positions]
    season = keys[positions]
    counts = np.bincount(season, minlength=length).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.bincount(season, weights=observed, minlength=length) / counts
        slope = 0.0
        if trend:
            time = positions.astype(np.float64)
            time_means = np.bincount(season, weights=time, minlength=length) / counts
            centred_time = time - time_means[season]
            denominator = float(np.dot(centred_time, centred_time))
            if denominator == 0:
                raise ValueError(
                    "split_index: every season occurs once in training; a trend is not identified"
                )
            slope = float(np.dot(centred_time, observed - means[season]) / denominator)
            means = means - slope * time_means
    means[counts == 0] = np.nan
    return means, slope


def smooth_seasons(means: Any, width: int) -> np.ndarray:
    """Average each season's mean with its ``width - 1`` nearest seasons, the cycle closing on itself.

    A per-day climatology of a few years averages only a few values per day, so most of its
    day-to-day wiggle is noise; a circular moving average keeps the seasonal shape and removes it.
    Seasons never observed stay NaN; the others average the observed means in their window.
    """
    array = np.asarray(means, dtype=np.float64)
    span = _check_int(width, "width", 1)
    if span % 2 == 0:
        raise ValueError(f"width: expected an odd number of seasons (centred window), got {span}")
    if span == 1 or array.size < 2:
        return array.copy()
    half = min(span // 2, (array.size - 1) // 2)
    seen = np.isfinite(array)
    offsets = np.arange(-half, half + 1)
    neighbours = (np.arange(array.size)[:, np.newaxis] + offsets) % array.size
    filled = np.where(seen, array, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        smoothed = filled[neighbours].sum(axis=1) / seen[neighbours].sum(axis=1)
    smoothed[~seen] = np.nan
    return smoothed


def choose_season_smoothing(
    values: Any,
    season_of: Any,
    split_index: int,
    widths: Sequence[int],
    trend: bool = False,
    folds: int = 10,
) -> int:
    """Pick the smoothing width whose climatology forecasts held-out training years best.

    The training part (``values[:split_index]``, never later) is cut into up to ``folds`` blocks of
    whole seasonal cycles (the last may be partial); each block is forecast by the climatology
    (+ trend) fitted on the others, smoothed by each width. The width with the least mean absolute
    error over the positions every width forecasts wins (ties: the narrower). Fewer than two whole
    cycles, or no block whose rest identifies the trend: the narrowest width.
    """
    candidates = sorted({_check_int(width, "width", 1) for width in widths})
    if not candidates:
        raise ValueError("widths: give at least one smoothing width")
    series = _as_values(values)
    seasons = _as_seasons(season_of, series.size)
    split = _check_int(split_index, "split_index", 2)
    length = int(seasons[:split].max()) + 1
    cycles = -(-split // length)  # the last, partial cycle is a block of its own
    blocks = min(_check_int(folds, "folds", 2), cycles)
    if len(candidates) == 1 or split < 2 * length:
        return candidates[0]
    edges = np.minimum(np.round(np.linspace(0, cycles, blocks + 1)).astype(np.int64) * length, split)
    totals = np.zeros(len(candidates))
    positions = np.arange(split)
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        held = (positions >= low) & (positions < high)
        try:
            means, slope = _season_means(series, seasons, positions[~held], length, trend)
        except ValueError:  # the rest holds each season once: no trend to fit, no score from this block
            continue
        targets = positions[held]
        forecasts = np.stack(
            [smooth_seasons(means, width)[seasons[targets]] + slope * targets for width in candidates]
        )
        scored = np.all(np.isfinite(forecasts), axis=0)
        totals += np.abs(forecasts[:, scored] - series[targets][scored]).sum(axis=1)
    return candidates[int(np.argmin(totals))]


def fit_climatology(
    values: Any,
    season_of: Any,
    split_index: int,
    trend: bool = False,
    smoothing: int | Sequence[int] = 1,
) -> Climatology:
    """Fit per-season means (plus a common linear trend) on ``values[:split_index]`` only.

    ``smoothing`` is the width of a circular moving average over the season means
    (:func:`smooth_seasons`), or several widths to choose from by cross-validation on the training
    part (:func:`choose_season_smoothing`).
    """
    series = _as_values(values)
    seasons = _as_seasons(season_of, series.size)
    split = _check_int(split_index, "split_index", 2)
    if split > series.size:
        raise ValueError(f"split_index: {split} is beyond the series length {series.size}")
    if not np.all(np.isfinite(series[:split])):
        raise ValueError("values: the training part (before split_index) contains NaN or infinite values")
    width = (
        smoothing
        if isinstance(smoothing, int)
        else choose_season_smoothing(series, seasons, split, smoothing, trend=trend)
    )
    length = int(seasons.max()) + 1
    means, slope = _season_means(series, seasons, np.arange(split), length, trend)
    return Climatology(season_means=smooth_seasons(means, width), slope=slope, smoothing=width)


def climatology(
    values: Any,
    target_index: Any,
    season_of: Any,
    split_index: int,
    trend: bool = False,
    smoothing: int | Sequence[int] = 1,
) -> np.ndarray:
    """Forecast each target with its season's training mean (plus trend): the "normal" for the date."""
    series = _as_values(values)
    targets = _as_targets(target_index, series.size)
    seasons = _as_seasons(season_of, series.size)
    _check_split(split_index, targets, series.size)
    model = fit_climatology(series, seasons, split_index, trend=trend, smoothing=smoothing)
    return model.predict(targets, seasons).reshape(np.shape(target_index))


# --------------------------------------------------------------------------- climatology + AR(p)


AR_SELECTIONS = ("none", "aic", "bic")  # how the AR order is chosen: fixed, or by an information criterion


def fit_ar(anomalies: Any, order: int, selection: str = "none") -> np.ndarray:
    """Fit AR(``order``) coefficients ``phi`` by least squares, without intercept.

    ``a[t] = phi[0] * a[t-1] + ... + phi[p-1] * a[t-p] + noise``; no intercept because anomalies from
    a climatology fitted on the same data have mean zero by construction. Conditional least squares
    equals statsmodels ``AutoReg(anomalies, lags=order, trend="n")``.

    ``selection`` ``"aic"`` or ``"bic"`` lets statsmodels' ``ar_select_order`` choose the order
    ``p <= order`` (0 included) on the same anomalies; lags past ``p`` get coefficient 0, so the
    result always has ``order`` entries and callers read the same history. Why: an AR term fitted
    to noise (white-noise anomalies give a small spurious phi) makes the baseline, and every hybrid
    anchored on it, worse out of sample.
    """
    series = _as_values(anomalies)
    lags = _check_int(order, "order", 1)
    if selection not in AR_SELECTIONS:
        raise ValueError(f"selection: expected one of {', '.join(AR_SELECTIONS)}, got {selection!r}")
    if not np.all(np.isfinite(series)):
        raise ValueError("anomalies: contains NaN or infinite values")
    if series.size <= 2 * lags:
        raise ValueError(f"anomalies: {series.size} values are too few to fit AR({lags})")
    chosen = lags if selection == "none" else selected_ar_order(series, lags, selection)
    coefficients = np.zeros(lags, dtype=np.float64)
    if chosen:
        size = series.size
        design = np.column_stack([series[chosen - lag : size - lag] for lag in range(1, chosen + 1)])
        coefficients[:chosen], *_ = np.linalg.lstsq(design, series[chosen:], rcond=None)
    return coefficients


def selected_ar_order(anomalies: np.ndarray, order: int, criterion: str) -> int:
    """Return the AR order in ``0..order`` of least ``criterion`` (``aic`` or ``bic``), ties: the lower.

    Every order is fitted by least squares on the same targets (those after the first ``order``
    values), as statsmodels' ``ar_select_order`` does: ``n log(RSS / n) + k p`` with ``k = 2`` (AIC)
    or ``log n`` (BIC). A few lines of numpy because statsmodels 0.15's ``ar_select_order`` builds an
    n x n array for the order-0 candidate (47.7 GiB on CET's 80,000 days).
    """
    targets = anomalies[order:]
    count = targets.size
    penalty = 2.0 if criterion == "aic" else math.log(count)
    scores = []
    for lags in range(order + 1):
        residuals = targets
        if lags:
            design = np.column_stack(
                [anomalies[order - lag : anomalies.size - lag] for lag in range(1, lags + 1)]
            )
            coefficients, *_ = np.linalg.lstsq(design, targets, rcond=None)
            residuals = targets - design @ coefficients
        scores.append(
            count * math.log(max(float(np.dot(residuals, residuals)) / count, 1e-300)) + penalty * lags
        )
    return int(np.argmin(scores))


def ar_forecast(history: np.ndarray, phi: np.ndarray, steps: int) -> np.ndarray:
    """Iterate an AR model ``steps`` ahead for every row of ``history`` (oldest lag first).

    ``history`` has shape ``[n, p]`` (the true anomalies up to each origin); returns ``[n, steps]``
    with step ``h`` in column ``h - 1``: one-step for ``h = 1``, earlier forecasts fed back after.
    """
    state = np.array(history, dtype=np.float64)
    ahead = _check_int(steps, "steps", 1)
    reversed_phi = np.asarray(phi, dtype=np.float64)[::-1]
    if state.ndim != 2 or state.shape[1] != reversed_phi.size:
        raise ValueError(f"history: expected shape [n, {reversed_phi.size}], got {state.shape}")
    forecasts = np.empty((state.shape[0], ahead))
    for step in range(ahead):
        forecasts[:, step] = state @ reversed_phi
        state = np.column_stack([state[:, 1:], forecasts[:, step]])
    return forecasts


@dataclass(frozen=True)
class ClimatologyAR:
    """Climatology (+ trend) plus an AR model of its anomalies, fitted on the training part once.

    The hybrid forecasters (``anchor="baseline"``) start from this forecast and learn only what it
    misses, so it is computed by one function (:func:`baseline_rows`) for training, evaluation and
    serving alike.
    """

    climatology: Climatology
    phi: np.ndarray

    @property
    def order(self) -> int:
        """The AR order p: how many values before a position its one-step forecast reads."""
        return int(self.phi.size)

    def normal(self, times: np.ndarray, keys: np.ndarray) -> np.ndarray:
        """Return the climatology (+ trend) at absolute ``times`` whose season keys are ``keys``."""
        if keys.max() >= self.climatology.season_means.size or np.any(
            np.isnan(self.climatology.season_means[keys])
        ):
            raise ValueError("season_of: a target's season never occurs in the training part")
        return self.climatology.season_means[keys] + self.climatology.slope * times

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able record (a served hybrid rebuilds its baseline from it)."""
        return {
            "season_means": [None if np.isnan(m) else float(m) for m in self.climatology.season_means],
            "slope": self.climatology.slope,
            "phi": [float(value) for value in self.phi],
        }

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> ClimatologyAR:
        """Rebuild a fitted baseline from :meth:`to_dict`."""
        means = np.array([np.nan if m is None else m for m in record["season_means"]], dtype=np.float64)
        return cls(Climatology(means, float(record["slope"])), np.asarray(record["phi"], dtype=np.float64))


def fit_climatology_ar(
    values: Any,
    season_of: Any,
    split_index: int,
    order: int = 1,
    trend: bool = False,
    smoothing: int | Sequence[int] = 1,
    selection: str = "none",
) -> ClimatologyAR:
    """Fit climatology (+ trend) and AR(``order``) coefficients on ``values[:split_index]`` only.

    ``selection``: how the AR order up to ``order`` is chosen (:func:`fit_ar`).
    """
    series = _as_values(values)
    seasons = _as_seasons(season_of, series.size)
    lags = _check_int(order, "order", 1)
    model = fit_climatology(series, seasons, split_index, trend=trend, smoothing=smoothing)
    train_positions = np.arange(split_index)
    phi = fit_ar(series[:split_index] - model.predict(train_positions, seasons), lags, selection)
    return ClimatologyAR(model, phi)


def baseline_rows(
    model: ClimatologyAR,
    values: np.ndarray,
    times: np.ndarray,
    keys: np.ndarray,
    origins: np.ndarray,
    horizon: int,
    window: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Return, per forecast origin, the baseline's recent residuals and its forecast of the next steps.

    ``values`` is a stretch of the series (observed up to each origin), ``times`` and ``keys`` the
    absolute position and season key of each of its indices, extended ``horizon`` steps past the last
    origin. Returns ``residuals`` [n, window]: value minus the baseline's one-step forecast at the
    ``window`` positions ending at the origin (0 where fewer than ``order`` values precede a
    position), and ``forecasts`` [n, horizon]: the climatology of each target plus the AR forecast of
    its anomaly from the ``order`` anomalies up to the origin (iterated past one step). Only values at
    or before an origin are read.
    """
    lags = model.order
    last = int(origins.max())
    if int(origins.min()) - lags + 1 < 0 or int(origins.min()) - window + 1 < 0:
        raise ValueError(
            f"origins: the first origin {int(origins.min())} has fewer than max(window {window}, "
            f"order {lags}) values before it"
        )
    if times.size < last + 1 + horizon or keys.size != times.size:
        raise ValueError(f"times, keys: expected {last + 1 + horizon} positions (the targets included)")
    observed = np.asarray(values[: last + 1], dtype=np.float64)
    anomalies = observed - model.normal(times[: last + 1], keys[: last + 1])
    one_step = np.zeros_like(anomalies)
    for lag in range(1, lags + 1):
        one_step[lags:] += model.phi[lag - 1] * anomalies[lags - lag : anomalies.size - lag]
    residuals = np.where(np.arange(anomalies.size) >= lags, anomalies - one_step, 0.0)
    residual_windows = residuals[origins[:, np.newaxis] - np.arange(window)[::-1]]
    history = anomalies[origins[:, np.newaxis] - np.arange(lags)[::-1]]
    if not (np.all(np.isfinite(history)) and np.all(np.isfinite(residual_windows))):
        raise ValueError("values: NaN or infinite value before a forecast origin")
    target_positions = origins[:, np.newaxis] + np.arange(1, horizon + 1)
    forecasts = ar_forecast(history, model.phi, horizon) + model.normal(
        times[target_positions], keys[target_positions]
    )
    return residual_windows, forecasts


def climatology_ar(
    values: Any,
    target_index: Any,
    season_of: Any,
    split_index: int,
    order: int = 1,
    trend: bool = False,
    smoothing: int | Sequence[int] = 1,
    selection: str = "none",
) -> np.ndarray:
    """Forecast climatology (+ trend) plus an AR(``order``) on anomalies: persistence of the departure.

    Climatology, trend and AR coefficients are fitted on ``values[:split_index]`` once. Each target is
    then forecast from the true anomalies observed up to its origin (the last ``order`` of them),
    one-step for horizon 1 and by iterating the AR for later steps. No per-target refit.
    """
    series = _as_values(values)
    targets = _as_targets(target_index, series.size)
    seasons = _as_seasons(season_of, series.size)
    split = _check_split(split_index, targets, series.size)
    lags = _check_int(order, "order", 1)
    model = fit_climatology_ar(
        series, seasons, split, order=lags, trend=trend, smoothing=smoothing, selection=selection
    )
    origins = _origins(targets)
    if origins.min() - lags + 1 < 0:
        raise ValueError(
            f"target_index: a first target has fewer than order ({lags}) observed values before it"
        )
    history_positions = origins[:, np.newaxis] - np.arange(lags)[::-1]
    history = _gather(series, history_positions, "an AR input") - model.climatology.predict(
        history_positions, seasons
    )
    steps = targets - origins[:, np.newaxis]
    anomaly_paths = ar_forecast(history, model.phi, int(steps.max()))
    anomalies = np.take_along_axis(anomaly_paths, steps - 1, axis=1)
    return (model.climatology.predict(targets, seasons) + anomalies).reshape(np.shape(target_index))


# --------------------------------------------------------------------------- all series baselines


def series_baselines(
    values: Any,
    target_index: Any,
    split_index: int,
    season_of: Any,
    period: int,
    ar_order: int = 1,
    *,
    ma_window: int = 50,
    ma_smooth: int | None = None,
    season_smoothing: int | Sequence[int] = 1,
    ar_selection: str = "none",
) -> dict[str, np.ndarray]:
    """Compute every series baseline by name so a leaderboard can show what a model must beat.

    Names: ``persistence``, ``seasonal_naive``, ``climatology``, ``climatology_trend``,
    ``climatology_ar`` (AR(``ar_order``) on anomalies), ``climatology_trend_ar`` (GISS protocol:
    monthly climatology + trend + AR) and ``moving_average_differencing`` (``ma_window``,
    ``ma_smooth``; left out when the series or horizon is too short for it). ``ma_smooth`` defaults
    to the book's 10 for long (daily-like, ``period >= 100``) seasons and to 1 otherwise, since a
    10-month smoothing window would average the seasonal cycle away. ``season_smoothing`` smooths
    the climatologies' season means (one width, or widths to choose from; :func:`fit_climatology`);
    ``ar_selection`` chooses the AR order up to ``ar_order`` (:func:`fit_ar`).
    """
    season = _check_int(period, "period", 1)
    if ma_smooth is None:
        ma_smooth = 10 if season >= 100 else 1
    results: dict[str, np.ndarray] = {
        "persistence": persistence(values, target_index),
        "seasonal_naive": seasonal_naive(values, target_index, period),
        "climatology": climatology(values, target_index, season_of, split_index, smoothing=season_smoothing),
        "climatology_trend": climatology(
            values, target_index, season_of, split_index, trend=True, smoothing=season_smoothing
        ),
        "climatology_ar": climatology_ar(
            values,
            target_index,
            season_of,
            split_index,
            order=ar_order,
            smoothing=season_smoothing,
            selection=ar_selection,
        ),
        "climatology_trend_ar": climatology_ar(
            values,
            target_index,
            season_of,
            split_index,
            order=ar_order,
            trend=True,
            smoothing=season_smoothing,
            selection=ar_selection,
        ),
    }
    # left out where not applicable: too little history, or a horizon reaching past the smoothing window
    with contextlib.suppress(ValueError):
        results["moving_average_differencing"] = moving_average_differencing(
            values, target_index, season, ma_window, ma_smooth
        )
    return results


# --------------------------------------------------------------------------- text


def _strip_markup(text: str) -> str:
    """Lowercase a review and blank out the ``<br />`` tags IMDB reviews are full of."""
    return text.lower().replace("<br />", " ")


def text_baseline(
    train_texts: Sequence[str],
    train_labels: Any,
    test_texts: Sequence[str],
    *,
    ngram_range: tuple[int, int] = (1, 2),
    max_features: int | None = 200_000,
    C: float = 4.0,
    min_df: int = 2,
) -> np.ndarray:
    """Return P(label = 1) from tf-idf + logistic regression, the classic strong sentiment baseline.

    The vectorizer (word n-grams, sublinear tf, ``min_df`` documents, top ``max_features`` terms) is
    fitted on ``train_texts`` only; an L2 logistic regression (liblinear, inverse strength ``C``)
    is fitted on the resulting features. About 20-40 s on the 25k IMDB reviews with bigrams.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    labels = np.asarray(train_labels)
    if len(train_texts) == 0 or labels.shape != (len(train_texts),):
        raise ValueError(
            f"train_labels: expected one label per training text ({len(train_texts)}), "
            f"got shape {labels.shape}"
        )
    if set(np.unique(labels).tolist()) != {0, 1}:
        raise ValueError("train_labels: expected binary labels with both 0 and 1 present")
    if len(test_texts) == 0:
        raise ValueError("test_texts: expected at least one text")
    if not (isinstance(C, int | float) and math.isfinite(C) and C > 0):
        raise ValueError(f"C: expected a positive number, got {C!r}")
    vectorizer = TfidfVectorizer(
        preprocessor=_strip_markup,
        ngram_range=ngram_range,
        max_features=max_features,
        min_df=min_df,
        sublinear_tf=True,
        dtype=np.float32,
    )
    features = vectorizer.fit_transform(list(train_texts))
    classifier = LogisticRegression(C=C, solver="liblinear", max_iter=1000)
    classifier.fit(features, labels.astype(np.int64))
    probabilities = classifier.predict_proba(vectorizer.transform(list(test_texts)))
    return np.asarray(probabilities[:, 1], dtype=np.float64)


__all__ = [
    "AR_SELECTIONS",
    "Climatology",
    "ClimatologyAR",
    "ar_forecast",
    "baseline_rows",
    "choose_season_smoothing",
    "climatology",
    "climatology_ar",
    "fit_ar",
    "fit_climatology",
    "fit_climatology_ar",
    "moving_average_differencing",
    "persistence",
    "season_keys",
    "seasonal_naive",
    "selected_ar_order",
    "series_baselines",
    "smooth_seasons",
    "text_baseline",
]
