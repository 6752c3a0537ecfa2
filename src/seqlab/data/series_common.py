"""What every series parser returns, and the explicit policy for gaps inside a series."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from seqlab.errors import DataFormatError

GapPolicy = Literal["error", "interpolate"]
GAP_POLICIES: tuple[str, ...] = ("error", "interpolate")


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


def finish_series(
    raw: pd.Series, source: Path, frequency: str, gap_policy: str, line_of: dict[pd.Timestamp, int] | None = None
) -> ParsedSeries:
    """Trim leading/trailing missing values and apply ``gap_policy`` to interior ones.

    ``raw`` is indexed by real dates at ``frequency``, NaN where the file said "missing".
    """
    if gap_policy not in GAP_POLICIES:
        raise ValueError(f"gap_policy: unknown value {gap_policy!r}; expected one of {', '.join(GAP_POLICIES)}")
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
        trimmed = trimmed.interpolate(method="time")
    values = trimmed.astype("float64")
    values.index.freq = frequency
    return ParsedSeries(values=values, source=Path(source), frequency=frequency, missing=missing, filled=filled)
