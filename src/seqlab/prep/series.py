"""Time-series preparation: time-based split, normalisation fitted on train, and sliding windows.

Everything is vectorised with numpy (``sliding_window_view``); there is no per-window Python loop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def _as_series(values: Any, argument: str = "values") -> np.ndarray:
    """Return ``values`` as a 1-D float64 array of finite numbers, or raise a ValueError naming it."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{argument}: expected a 1-D series, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{argument}: contains NaN or infinite values")
    return array


def _check_int(value: Any, argument: str, minimum: int) -> int:
    """Return ``value`` if it is an int of at least ``minimum``, else raise a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{argument}: expected an integer >= {minimum}, got {value!r}")
    return int(value)


def split_series(values: np.ndarray, split_index: int) -> tuple[np.ndarray, np.ndarray]:
    """Split a series by time at ``split_index`` (train before, test from it) so the test is the future."""
    series = _as_series(values)
    if isinstance(split_index, bool) or not isinstance(split_index, int | np.integer):
        raise ValueError(f"split_index: expected an integer, got {split_index!r}")
    if not 0 < split_index < series.size:
        raise ValueError(
            f"split_index: {split_index} out of range; both parts must be non-empty, "
            f"so it must lie in 1..{series.size - 1} for a series of length {series.size}"
        )
    return series[:split_index].copy(), series[split_index:].copy()


@dataclass(frozen=True)
class Normalizer:
    """Standardisation ``(x - mean) / std`` whose statistics come from the training part only."""

    mean: float
    std: float

    def __post_init__(self) -> None:
        if not math.isfinite(self.mean):
            raise ValueError(f"mean: must be finite, got {self.mean!r}")
        if not math.isfinite(self.std) or self.std <= 0:
            raise ValueError(f"std: must be finite and > 0, got {self.std!r}")

    @classmethod
    def fit(cls, train_values: np.ndarray) -> Normalizer:
        """Learn mean and (population) std from training values only, so the test period does not leak."""
        series = _as_series(train_values, "train_values")
        if series.size == 0:
            raise ValueError("train_values: cannot fit a normalizer on an empty series")
        std = float(series.std())
        if std == 0:
            raise ValueError("train_values: standard deviation is 0 (constant series); cannot normalise")
        return cls(mean=float(series.mean()), std=std)

    def transform(self, values: np.ndarray) -> np.ndarray:
        """Scale values to zero mean / unit variance under the training statistics."""
        return (np.asarray(values, dtype=np.float64) - self.mean) / self.std

    def inverse_transform(self, values: np.ndarray) -> np.ndarray:
        """Map scaled values (e.g. forecasts) back to the original units."""
        return np.asarray(values, dtype=np.float64) * self.std + self.mean

    def to_dict(self) -> dict[str, float]:
        """Return the statistics as plain floats so they can be stored with a model."""
        return {"mean": self.mean, "std": self.std}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Normalizer:
        """Rebuild a normalizer saved with :meth:`to_dict`."""
        missing = [key for key in ("mean", "std") if key not in data]
        if missing:
            raise ValueError(f"normalizer: missing key(s) {', '.join(missing)}")
        try:
            return cls(mean=float(data["mean"]), std=float(data["std"]))
        except (TypeError, ValueError) as error:
            raise ValueError(f"normalizer: invalid values {data!r}: {error}") from error


def make_windows(
    values: np.ndarray, window_size: int, horizon: int = 1, stride: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Cut a series into (input window, next ``horizon`` values) pairs for supervised forecasting.

    Window ``i`` starts at ``i * stride``: inputs are ``values[i*stride : i*stride + window_size]`` and
    target ``j`` is ``values[i*stride + window_size + j]``. Returns float64 arrays of shape
    ``[n, window_size]`` and ``[n, horizon]``.
    """
    series = _as_series(values)
    size = _check_int(window_size, "window_size", 1)
    ahead = _check_int(horizon, "horizon", 1)
    step = _check_int(stride, "stride", 1)
    span = size + ahead
    if series.size < span:
        raise ValueError(
            f"values: series of length {series.size} is too short for window_size {size} + horizon {ahead}"
        )
    windows = sliding_window_view(series, span)[::step]
    return np.ascontiguousarray(windows[:, :size]), np.ascontiguousarray(windows[:, size:])


@dataclass(frozen=True)
class SeriesWindows:
    """Normalised train/validation/test windows and the time index of every target.

    ``*_target_index`` arrays have the shape of the matching ``y_*`` and hold positions in the
    original series, so a caller can attach real dates to targets and forecasts.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_validation: np.ndarray
    y_validation: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    train_target_index: np.ndarray
    validation_target_index: np.ndarray
    test_target_index: np.ndarray
    normalizer: Normalizer
    split_index: int
    window_size: int
    horizon: int
    stride: int


def make_split_windows(
    values: np.ndarray,
    split_index: int,
    window_size: int,
    horizon: int = 1,
    stride: int = 1,
    validation_fraction: float = 0.0,
) -> SeriesWindows:
    """Build leak-free train/validation/test windows around a time split, normalised with train statistics.

    Protocol:

    * The normalizer is fitted on ``values[:split_index]`` only and applied to the whole series.
    * Training candidates are the windows cut from ``values[:split_index]`` (starting at 0, every
      ``stride``), so all their targets lie before ``split_index``.
    * The last ``validation_fraction`` of those candidates (by time; at least one window when the
      fraction is > 0) become the validation set. Training windows whose targets would reach the first
      validation target are dropped, so validation targets never overlap training targets (this only
      drops windows when ``horizon > stride``).
    * Test windows start ``window_size`` before the split: the first test target is ``split_index``
      and later ones follow every ``stride``. Their inputs may reach back into the training period:
      each forecast uses the true previous values (one-step/multi-step-ahead evaluation as in the
      book), never its own earlier forecasts. Targets run up to the end of the series.
    """
    series = _as_series(values)
    size = _check_int(window_size, "window_size", 1)
    ahead = _check_int(horizon, "horizon", 1)
    step = _check_int(stride, "stride", 1)
    if isinstance(validation_fraction, bool) or not isinstance(validation_fraction, int | float):
        raise ValueError(f"validation_fraction: expected a number in [0, 1), got {validation_fraction!r}")
    if not 0 <= validation_fraction < 1:
        raise ValueError(f"validation_fraction: expected a number in [0, 1), got {validation_fraction!r}")
    train_part, test_part = split_series(series, split_index)
    split = train_part.size
    if split < size + ahead:
        raise ValueError(
            f"split_index: training part of length {split} is too short for "
            f"window_size {size} + horizon {ahead}"
        )
    if test_part.size < ahead:
        raise ValueError(f"split_index: test part of length {test_part.size} is shorter than horizon {ahead}")
    normalizer = Normalizer.fit(train_part)
    scaled = normalizer.transform(series)

    x_candidates, y_candidates = make_windows(scaled[:split], size, ahead, step)
    candidate_count = x_candidates.shape[0]
    candidate_index = (np.arange(candidate_count) * step + size)[:, np.newaxis] + np.arange(ahead)
    validation_count = math.ceil(candidate_count * validation_fraction) if validation_fraction > 0 else 0
    if validation_count:
        first_validation = candidate_count - validation_count
        first_validation_target = candidate_index[first_validation, 0]
        train_keep = candidate_index[:first_validation, -1] < first_validation_target
    else:
        first_validation = candidate_count
        train_keep = np.ones(candidate_count, dtype=bool)
    if not np.any(train_keep):
        raise ValueError(
            f"validation_fraction: {validation_fraction} leaves no training window "
            f"({candidate_count} candidate windows before split_index {split})"
        )
    train_keep = np.concatenate([train_keep, np.zeros(candidate_count - first_validation, dtype=bool)])
    validation_slice = slice(first_validation, candidate_count)

    offset = split - size
    x_test, y_test = make_windows(scaled[offset:], size, ahead, step)
    test_index = (offset + np.arange(x_test.shape[0]) * step + size)[:, np.newaxis] + np.arange(ahead)

    return SeriesWindows(
        x_train=x_candidates[train_keep],
        y_train=y_candidates[train_keep],
        x_validation=x_candidates[validation_slice],
        y_validation=y_candidates[validation_slice],
        x_test=x_test,
        y_test=y_test,
        train_target_index=candidate_index[train_keep],
        validation_target_index=candidate_index[validation_slice],
        test_target_index=test_index,
        normalizer=normalizer,
        split_index=split,
        window_size=size,
        horizon=ahead,
        stride=step,
    )


def calendar_features(season_keys: np.ndarray, season_count: int, harmonics: int) -> np.ndarray:
    """Sine and cosine of ``harmonics`` harmonics of each position's season phase, [n, 2 * harmonics].

    ``season_keys`` are integers in ``0..season_count - 1`` (month, day of a non-leap year, or
    ``t % period``; see :func:`seqlab.baselines.season_keys`). Column ``2(k-1)`` is ``sin(2πk·key/count)``
    and ``2(k-1) + 1`` its cosine. The features depend on the calendar only, known before the value is
    observed, so forecasts may use them for the target's own date.
    """
    count = _check_int(season_count, "season_count", 1)
    order = _check_int(harmonics, "harmonics", 0)
    keys = np.asarray(season_keys)
    if keys.ndim != 1 or not np.issubdtype(keys.dtype, np.integer):
        raise ValueError(f"season_keys: expected a 1-D integer array, got {keys.dtype} of shape {keys.shape}")
    if keys.size and (keys.min() < 0 or keys.max() >= count):
        raise ValueError(f"season_keys: values must lie in 0..{count - 1}, got {keys.min()}..{keys.max()}")
    angle = 2 * np.pi * keys.astype(np.float64) / count
    columns = [function(k * angle) for k in range(1, order + 1) for function in (np.sin, np.cos)]
    return np.stack(columns, axis=1) if columns else np.zeros((keys.size, 0))
