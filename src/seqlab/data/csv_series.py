"""Strict parser for a user's own time series in a CSV file: one value column, optionally a date column.

Tokenising uses the ``csv`` module rather than ``pandas.read_csv``: pandas silently pads short rows,
drops the extra fields of a long first row, renames duplicate header names and accepts text after a
closing quote, and it cannot say on which line of the file a record starts. The cells are then
converted column-wise with pandas/numpy.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from seqlab.data.giss import FIRST_SUPPORTED_YEAR, LAST_SUPPORTED_YEAR, _read_utf8_lines
from seqlab.data.series_common import (
    GAP_POLICIES,
    ParsedSeries,
    check_max_gap,
    finish_series,
    first_long_gap,
    gap_too_long,
)
from seqlab.errors import DataFormatError

FREQUENCIES: tuple[str, ...] = ("daily", "monthly", "other")
# ParsedSeries.frequency for each of FREQUENCIES: pandas offsets for the calendar ones.
_SERIES_FREQUENCY = {"daily": "D", "monthly": "MS", "other": "other"}
# A numeric missing-value marker matches cells within this absolute distance of it.
MISSING_TOLERANCE = 1e-9

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_INFINITY = re.compile(r"[+-]?inf(?:inity)?", re.ASCII | re.IGNORECASE)
# ISO dates, optionally with a time of day (rejected later unless midnight); no time zones.
_DAILY_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?", re.ASCII)
_MONTHLY_DATE = re.compile(r"\d{4}-\d{2}(?:-\d{2})?", re.ASCII)


@dataclass(frozen=True)
class _Table:
    """The tokenised file: header names (stripped), data rows, and the file line each row starts on."""

    header: list[str]
    rows: list[list[str]]
    lines: np.ndarray

    def column(self, position: int) -> pd.Series:
        """One column's cells, stripped, as strings in file order."""
        return pd.Series([row[position] for row in self.rows], dtype=object).str.strip()


@dataclass(frozen=True)
class _Marker:
    """The user's missing-value marker: compared as a number when it is one, else as exact text."""

    number: float | None = None
    text: str | None = None


def parse_csv_series(
    path: str | Path,
    *,
    date_column: str | None,
    value_column: str,
    frequency: str,
    missing_value: str | float | None = None,
    gap_policy: str = "interpolate",
    delimiter: str = ",",
    max_gap: int | None = None,
) -> ParsedSeries:
    """Read one column of a user's CSV into a regular, gap-free series, rejecting anything ambiguous.

    ``frequency`` "daily" or "monthly" needs ``date_column`` and yields a "D"/"MS" DatetimeIndex in
    which absent dates are gaps; "other" has no calendar, yields an integer index 0..n-1 and only
    checks that ``date_column`` (numbers or ISO dates), when given, increases strictly. Empty cells are
    always missing; ``missing_value`` adds a marker such as -999 or "NA". Interior missing values
    follow ``gap_policy`` (interpolation fills runs of at most ``max_gap`` steps); leading and
    trailing ones are trimmed.
    """
    source = Path(path)
    _check_arguments(date_column, value_column, frequency, gap_policy, delimiter)
    check_max_gap(max_gap)
    marker = _missing_marker(missing_value)
    table = _read_table(source, delimiter)
    wanted = [value_column] if date_column is None else [value_column, date_column]
    positions = _locate_columns(source, table.header, wanted)
    values = _parse_values(source, table.column(positions[value_column]), value_column, table.lines, marker)

    # _check_arguments allows no date column only for "other", so this is the "other" branch.
    if frequency == "other" or date_column is None:
        if date_column is not None:
            _check_other_keys(source, table.column(positions[date_column]), date_column, table.lines)
        return _finish_positional(values, source, gap_policy, table.lines, max_gap)

    texts = table.column(positions[date_column])
    dates = _parse_calendar_dates(source, texts, date_column, table.lines, frequency)
    noun = "date" if frequency == "daily" else "month"
    _check_increasing(source, dates.asi8, texts, table.lines, noun)

    offset = _SERIES_FREQUENCY[frequency]
    full_index = pd.date_range(dates[0], dates[-1], freq=offset)
    raw = pd.Series(values, index=dates).reindex(full_index)
    # Each missing date maps to its own row's line, or for an absent date to the row after the gap.
    missing_positions = np.flatnonzero(raw.isna().to_numpy())
    rows = np.searchsorted(dates.asi8, full_index.asi8[missing_positions])
    line_of = {
        full_index[position]: int(table.lines[row])
        for position, row in zip(missing_positions, rows, strict=True)
    }
    return finish_series(raw, source, offset, gap_policy, line_of, max_gap)


def _check_arguments(
    date_column: str | None, value_column: str, frequency: str, gap_policy: str, delimiter: str
) -> None:
    """Reject bad arguments up front, before the file is read, naming the argument at fault."""
    if frequency not in FREQUENCIES:
        raise ValueError(f"frequency: unknown value {frequency!r}; expected one of {', '.join(FREQUENCIES)}")
    if gap_policy not in GAP_POLICIES:
        raise ValueError(
            f"gap_policy: unknown value {gap_policy!r}; expected one of {', '.join(GAP_POLICIES)}"
        )
    if date_column is None and frequency != "other":
        raise ValueError(f"date_column: required for frequency {frequency!r}")
    if not value_column.strip() or (date_column is not None and not date_column.strip()):
        raise ValueError("value_column and date_column: a column name must not be blank")
    if date_column is not None and date_column.strip() == value_column.strip():
        raise ValueError(f"date_column and value_column: both name column {value_column!r}")
    if len(delimiter) != 1 or delimiter in '"\r\n':
        raise ValueError(f"delimiter: must be one character other than a quote or newline, got {delimiter!r}")


def _missing_marker(missing_value: str | float | None) -> _Marker:
    """Classify the marker once: numeric markers match by value (-999 matches -999.0), others by text."""
    if missing_value is None:
        return _Marker()
    if isinstance(missing_value, bool) or not isinstance(missing_value, str | int | float):
        raise ValueError(f"missing_value: expected a string or a number, got {missing_value!r}")
    if isinstance(missing_value, str):
        text = missing_value.strip()
        if not _NUMBER.fullmatch(text):
            return _Marker(text=text)
        number = float(text)
    else:
        number = float(missing_value)
    if not math.isfinite(number):
        raise ValueError(f"missing_value: a numeric marker must be finite, got {missing_value!r}")
    return _Marker(number=number)


def _read_table(source: Path, delimiter: str) -> _Table:
    """Tokenise the file strictly, keeping the first line of every record for error messages."""
    lines = _read_utf8_lines(source)
    reader = csv.reader(
        (line + "\n" for line in lines), delimiter=delimiter, strict=True, skipinitialspace=True
    )
    records: list[list[str]] = []
    starts: list[int] = []
    start = 1
    try:
        for record in reader:
            records.append(record)
            starts.append(start)
            start = reader.line_num + 1
    except csv.Error as error:
        raise DataFormatError(source, f"malformed CSV: {error}", line=start) from None
    header = [name.strip() for name in records[0]]
    if not any(header):
        raise DataFormatError(source, "the header line is blank", line=1)
    if len(records) == 1:
        raise DataFormatError(source, "header only: the file has no data rows", line=2)
    rows = records[1:]
    for fields, line in zip(rows, starts[1:], strict=True):
        if len(fields) == len(header):
            continue
        if not any(field.strip() for field in fields):
            if len(header) == 1:
                fields[:] = [""]  # in a one-column file a blank line is an empty (missing) cell
                continue
            raise DataFormatError(source, "blank line inside the data", line=line)
        raise DataFormatError(
            source,
            f"expected {len(header)} fields as in the header, found {len(fields)} "
            "(truncated or malformed line)",
            line=line,
        )
    return _Table(header=header, rows=rows, lines=np.asarray(starts[1:], dtype=np.int64))


def _locate_columns(source: Path, header: list[str], wanted: list[str]) -> dict[str, int]:
    """Find the wanted columns by name, so column order and extra columns do not matter."""
    positions: dict[str, int] = {}
    for position, name in enumerate(header):
        if name in positions and name:  # unnamed columns (e.g. a saved index) cannot be asked for
            raise DataFormatError(
                source,
                f"header names column {name!r} twice (columns {positions[name] + 1} and {position + 1})",
                line=1,
            )
        positions.setdefault(name, position)
    for wanted_name in wanted:
        if wanted_name.strip() not in positions:
            raise DataFormatError(
                source, f"header lacks column {wanted_name!r}; the header's columns are {header!r}", line=1
            )
    return {wanted_name: positions[wanted_name.strip()] for wanted_name in wanted}


def _parse_values(
    source: Path, texts: pd.Series, column: str, lines: np.ndarray, marker: _Marker
) -> np.ndarray:
    """Turn the value cells into floats, NaN where missing; a non-number or an infinity is an error."""
    blank = (texts == "").to_numpy(dtype=bool)
    if marker.text is not None:
        blank = blank | (texts == marker.text).to_numpy(dtype=bool)
    numeric = texts.str.fullmatch(_NUMBER).to_numpy(dtype=bool)
    numbers = np.full(len(texts), np.nan)
    numbers[numeric] = texts.to_numpy(dtype=object)[numeric].astype(np.float64)
    bad = ~(blank | numeric) | np.isinf(numbers)
    if bad.any():
        row = int(np.argmax(bad))
        text = texts.iloc[row]
        what = (
            "infinite value" if np.isinf(numbers[row]) or _INFINITY.fullmatch(text) else "non-numeric value"
        )
        raise DataFormatError(source, f"{what} {text!r} in column {column!r}", line=int(lines[row]))
    if marker.number is not None:
        blank = blank | (np.abs(numbers - marker.number) <= MISSING_TOLERANCE)
    return np.where(blank, np.nan, numbers)


def _parse_calendar_dates(
    source: Path, texts: pd.Series, column: str, lines: np.ndarray, frequency: str
) -> pd.DatetimeIndex:
    """Parse ISO dates (month starts for "monthly"), requiring every one valid and in pandas' range."""
    pattern = _DAILY_DATE if frequency == "daily" else _MONTHLY_DATE
    shaped = texts.str.fullmatch(pattern).to_numpy(dtype=bool)
    # "2019-12" and "2019-12-15" both name December 2019; pandas reads the former as its first day.
    parsed = pd.to_datetime(texts.where(shaped, ""), format="ISO8601", errors="coerce")
    bad = ~shaped | parsed.isna().to_numpy()
    if bad.any():
        row = int(np.argmax(bad))
        text = texts.iloc[row]
        problem = "empty date" if text == "" else f"unparseable date {text!r}"
        expected = "YYYY-MM-DD" if frequency == "daily" else "YYYY-MM or YYYY-MM-DD"
        raise DataFormatError(
            source, f"{problem} in column {column!r}; expected {expected}", line=int(lines[row])
        )
    years = parsed.dt.year.to_numpy()
    outside = (years < FIRST_SUPPORTED_YEAR) | (years > LAST_SUPPORTED_YEAR)
    if outside.any():
        row = int(np.argmax(outside))
        raise DataFormatError(
            source,
            f"date {texts.iloc[row]!r} outside the supported years "
            f"{FIRST_SUPPORTED_YEAR}..{LAST_SUPPORTED_YEAR}",
            line=int(lines[row]),
        )
    if frequency == "daily":
        timed = (parsed != parsed.dt.normalize()).to_numpy(dtype=bool)
        if timed.any():
            row = int(np.argmax(timed))
            raise DataFormatError(
                source,
                f"date {texts.iloc[row]!r} has a time of day; daily dates must be at midnight",
                line=int(lines[row]),
            )
        return pd.DatetimeIndex(parsed.to_numpy().astype("datetime64[ns]"))
    return pd.DatetimeIndex(parsed.to_numpy().astype("datetime64[M]").astype("datetime64[ns]"))


def _check_other_keys(source: Path, texts: pd.Series, column: str, lines: np.ndarray) -> None:
    """For "other", the date column only orders rows: all numbers or all ISO dates, strictly increasing."""
    empty = (texts == "").to_numpy(dtype=bool)
    if empty.any():
        row = int(np.argmax(empty))
        raise DataFormatError(source, f"empty cell in column {column!r}", line=int(lines[row]))
    # The first cell decides whether the column holds numbers or dates; every other cell must agree.
    if _NUMBER.fullmatch(texts.iloc[0]):
        kind = "number"
        shaped = texts.str.fullmatch(_NUMBER).to_numpy(dtype=bool)
        keys = np.full(len(texts), np.nan)
        keys[shaped] = texts.to_numpy(dtype=object)[shaped].astype(np.float64)
        bad = ~shaped
    else:
        kind = "ISO date"
        parsed = pd.to_datetime(texts, format="ISO8601", errors="coerce", utc=True)
        bad = parsed.isna().to_numpy()
        keys = pd.DatetimeIndex(parsed).asi8
    if bad.any():
        row = int(np.argmax(bad))
        raise DataFormatError(
            source,
            f"unparseable {kind} {texts.iloc[row]!r} in column {column!r} "
            f"(its first cell {texts.iloc[0]!r} makes it a column of {kind}s)",
            line=int(lines[row]),
        )
    _check_increasing(source, keys, texts, lines, "value of " + repr(column))


def _check_increasing(source: Path, keys: np.ndarray, texts: pd.Series, lines: np.ndarray, noun: str) -> None:
    """Require strictly increasing keys; at the first offender, tell a repeat from a step backwards."""
    if len(keys) < 2:
        return
    offenders = np.flatnonzero(keys[1:] <= keys[:-1])
    if offenders.size == 0:
        return
    row = int(offenders[0]) + 1
    # keys[:row] increase strictly, so a binary search finds an earlier row with the same key.
    earlier = int(np.searchsorted(keys[:row], keys[row]))
    if keys[earlier] == keys[row]:
        raise DataFormatError(
            source,
            f"duplicate {noun}: {texts.iloc[row]!r} repeats {texts.iloc[earlier]!r} of line {lines[earlier]}",
            line=int(lines[row]),
        )
    raise DataFormatError(
        source,
        f"{noun} not increasing: {texts.iloc[row]!r} follows {texts.iloc[row - 1]!r} "
        f"of line {lines[row - 1]}",
        line=int(lines[row]),
    )


def _finish_positional(
    values: np.ndarray, source: Path, gap_policy: str, lines: np.ndarray, max_gap: int | None = None
) -> ParsedSeries:
    """Like ``finish_series`` for a series without a calendar: trim, apply the gap policy, index 0..n-1."""
    missing_mask = np.isnan(values)
    missing = int(missing_mask.sum())
    valid_positions = np.flatnonzero(~missing_mask)
    if valid_positions.size == 0:
        raise DataFormatError(source, "no valid values: every value is missing")
    first, last = int(valid_positions[0]), int(valid_positions[-1])
    trimmed = pd.Series(values[first : last + 1], dtype=np.float64)
    interior = np.flatnonzero(missing_mask[first : last + 1])
    filled = int(interior.size)
    if filled:
        if gap_policy == "error":
            row = first + int(interior[0])
            raise DataFormatError(
                source,
                f"{filled} missing value(s) inside the series, first at data row {row + 1}; "
                "set gap_policy to 'interpolate' to fill them",
                line=int(lines[row]),
            )
        long_gap = first_long_gap(missing_mask[first : last + 1], max_gap)
        if long_gap is not None and max_gap is not None:
            start, length = long_gap
            row = first + start
            raise gap_too_long(
                source,
                f"data row {row + 1}",
                f"data row {row + length}",
                length,
                "other",
                max_gap,
                int(lines[row]),
            )
        trimmed = trimmed.interpolate(method="linear")
    return ParsedSeries(values=trimmed, source=source, frequency="other", missing=missing, filled=filled)
