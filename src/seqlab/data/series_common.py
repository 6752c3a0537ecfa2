"""What every series parser returns, and the explicit policy for gaps inside a series.

Interior gaps fail (``gap_policy: error``) or are interpolated, but only up to ``max_gap``
consecutive missing values: a longer gap (a year lost in a cut file) would be invented data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from seqlab.errors import DataFormatError, GapTooLongError

GapPolicy = Literal["error", "interpolate"]
GAP_POLICIES: tuple[str, ...] = ("error", "interpolate")
# What one step of a series is, for messages about gaps.
STEP_NAMES: dict[str, str] = {"MS": "months", "D": "days"}


@dataclass(frozen=True)
class ParsedSeries:
    """A regular, gap-free series parsed from a file, with the bookkeeping of what was missing.

    ``values`` has a DatetimeIndex at ``frequency`` ("MS" monthly, "D" daily), float64 values
    and no NaN. ``missing`` counts missing-value cells at real dates (leading and trailing ones
    are trimmed, interior ones are handled by the gap policy); ``filled`` counts the interior
    gaps the policy filled.
    """

    values: pd.Series
    source: Path
    frequency: str
    missing: int
    filled: int


def check_max_gap(max_gap: int | None) -> None:
    """Reject a ``max_gap`` that is not a positive whole number of steps (None: no limit)."""
    if max_gap is not None and (isinstance(max_gap, bool) or not isinstance(max_gap, int) or max_gap < 1):
        raise ValueError(
            f"max_gap: expected a whole number of steps >= 1 or null (no limit), got {max_gap!r}"
        )


def first_long_gap(missing: np.ndarray, max_gap: int | None) -> tuple[int, int] | None:
    """Return (position, length) of the first run of missing values longer than ``max_gap``, if any."""
    if max_gap is None or not missing.any():
        return None
    edges = np.flatnonzero(np.diff(np.concatenate(([0], missing.astype(np.int8), [0]))))
    starts, lengths = edges[0::2], edges[1::2] - edges[0::2]
    too_long = np.flatnonzero(lengths > max_gap)
    if not too_long.size:
        return None
    return int(starts[too_long[0]]), int(lengths[too_long[0]])


def gap_too_long(
    source: Path, first: str, last: str, length: int, frequency: str, max_gap: int, line: int | None
) -> GapTooLongError:
    """Build the error for a gap too long to interpolate: where it starts, how long it is, the key."""
    steps = STEP_NAMES.get(frequency, "steps")
    return GapTooLongError(
        source,
        f"{length} consecutive missing {steps} from {first} to {last}: longer than max_gap "
        f"({max_gap} {steps}), the longest gap interpolation fills; fix the file, or raise the "
        "source's max_gap (null: no limit)",
        line=line,
    )


def finish_series(
    raw: pd.Series,
    source: Path,
    frequency: str,
    gap_policy: str,
    line_of: dict[pd.Timestamp, int] | None = None,
    max_gap: int | None = None,
) -> ParsedSeries:
    """Trim leading/trailing missing values and apply ``gap_policy`` to interior ones.

    ``raw`` is indexed by real dates at ``frequency``, NaN where the file said "missing". With
    ``interpolate``, a run of more than ``max_gap`` missing values fails instead of being filled.
    """
    if gap_policy not in GAP_POLICIES:
        raise ValueError(
            f"gap_policy: unknown value {gap_policy!r}; expected one of {', '.join(GAP_POLICIES)}"
        )
    check_max_gap(max_gap)
    missing_mask = raw.isna().to_numpy()
    missing = int(missing_mask.sum())
    valid_positions = np.flatnonzero(~missing_mask)
    if valid_positions.size == 0:
        raise DataFormatError(source, "no valid values: every value is missing")
    trimmed = raw.iloc[valid_positions[0] : valid_positions[-1] + 1]
    interior = trimmed.isna()
    filled = int(interior.sum())
    if filled:
        if gap_policy == "error":
            first_gap = trimmed.index[interior.to_numpy()][0]
            line = line_of.get(first_gap) if line_of else None
            raise DataFormatError(
                source,
                f"{filled} missing value(s) inside the series, first at {first_gap.date()}; "
                "set gap_policy to 'interpolate' to fill them",
                line=line,
            )
        long_gap = first_long_gap(interior.to_numpy(), max_gap)
        if long_gap is not None and max_gap is not None:
            start, length = long_gap
            first, last = trimmed.index[start], trimmed.index[start + length - 1]
            line = line_of.get(first) if line_of else None
            raise gap_too_long(source, str(first.date()), str(last.date()), length, frequency, max_gap, line)
        trimmed = trimmed.interpolate(method="time")
    values = trimmed.astype("float64")
    values.index.freq = frequency
    return ParsedSeries(
        values=values, source=Path(source), frequency=frequency, missing=missing, filled=filled
    )
