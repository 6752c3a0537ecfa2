"""The synthetic trend + seasonality + noise series of "AI and Machine Learning for Coders", ch. 10-11."""

from __future__ import annotations

import math
import numbers
from pathlib import Path

import numpy as np
import pandas as pd

from seqlab.data.series_common import ParsedSeries
from seqlab.errors import DataFormatError
from seqlab.fileio import atomic_open


def seasonal_pattern(season_time: np.ndarray) -> np.ndarray:
    """Give one season's arbitrary shape (cosine, then exponential decay) exactly as the book does."""
    return np.where(season_time < 0.4, np.cos(season_time * 2 * np.pi), 1 / np.exp(3 * season_time))


def make_synthetic_series(
    n_points: int = 1461,
    baseline: float = 10.0,
    slope: float = 0.09,
    amplitude: float = 20.0,
    period: int = 365,
    noise_level: float = 5.0,
    seed: int = 42,
) -> np.ndarray:
    """Rebuild the book's synthetic series bit-for-bit so model results compare with the book's."""
    if isinstance(n_points, bool) or not isinstance(n_points, numbers.Integral) or n_points <= 0:
        raise ValueError(f"n_points must be a positive integer, got {n_points!r}")
    if isinstance(period, bool) or not isinstance(period, numbers.Real) or not period > 0:
        raise ValueError(f"period must be positive, got {period!r}")
    if not isinstance(noise_level, numbers.Real) or not noise_level >= 0 or math.isinf(noise_level):
        raise ValueError(f"noise_level must be a finite number >= 0, got {noise_level!r}")
    time = np.arange(n_points, dtype="float32")
    season_time = (time % period) / period
    series = baseline + slope * time + amplitude * seasonal_pattern(season_time)
    noise = np.random.RandomState(seed).randn(n_points) * noise_level
    series += noise
    return np.asarray(series, dtype=np.float32)


def write_synthetic_csv(series: np.ndarray, destination: str | Path) -> Path:
    """Write the series as a raw ``time,value`` CSV, so it is versioned like real data."""
    destination = Path(destination)
    with atomic_open(destination) as handle:
        handle.write("time,value\n")
        # repr of a float32 round-trips exactly, so the prepared data equals the generated series.
        handle.writelines(f"{index},{value!r}\n" for index, value in enumerate(series.tolist()))
    return destination


def read_synthetic(path: str | Path) -> ParsedSeries:
    """Read the generated CSV back strictly (time must be 0, 1, 2, …), as float32 values."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype={"time": "int64", "value": "float32"})
    except (ValueError, pd.errors.ParserError) as error:
        raise DataFormatError(path, f"not a time,value CSV: {error}") from error
    if list(frame.columns) != ["time", "value"] or frame.empty:
        raise DataFormatError(path, "expected the header 'time,value' and at least one row", line=1)
    expected_time = np.arange(len(frame))
    bad = np.flatnonzero(frame["time"].to_numpy() != expected_time)
    if bad.size:
        raise DataFormatError(path, f"time should be {bad[0]}", line=int(bad[0]) + 2)
    values = frame["value"].to_numpy(dtype=np.float32).astype(np.float64)
    return ParsedSeries(values=pd.Series(values), source=path, frequency="other", missing=0, filled=0)
