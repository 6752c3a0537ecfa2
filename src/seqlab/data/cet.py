"""Strict parsers for the Central England Temperature (HadCET) daily series in its two layouts."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from seqlab.data.giss import _read_utf8_lines
from seqlab.data.series_common import ParsedSeries, finish_series
from seqlab.errors import DataFormatError

DAT_FIELDS = 14  # year, day of month, then one column per month
DAT_MISSING_VALUE = -999  # tenths of a degree; also marks dates that do not exist (Feb 30, ...)
DAILY_MISSING_VALUES: tuple[float, ...] = (-999.9, -999.0)  # KNMI and Met Office codes, in degrees
# Any other value this large is not a temperature (in tenths for .dat, degrees for the daily lines).
IMPLAUSIBLE_MAGNITUDE = 999
FIRST_SUPPORTED_YEAR = 1678
LAST_SUPPORTED_YEAR = 2261
MONTH_NAMES: tuple[str, ...] = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)

_Describe = Callable[[int], str]
_KeyOf = Callable[[np.ndarray], np.ndarray]

_INTEGER = re.compile(r"-?\d{1,6}", re.ASCII)
_DAT_LINE = re.compile(r"\s*-?\d{1,6}(?:\s+-?\d{1,6}){13}\s*", re.ASCII)
_NUMBER_PATTERN = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_NUMBER = re.compile(_NUMBER_PATTERN, re.ASCII)
_DAILY_LINE = re.compile(r"\s*\d{8}\s+" + _NUMBER_PATTERN + r"\s*", re.ASCII)
_DATE = re.compile(r"\d{8}", re.ASCII)


def parse_cet(path: str | Path, gap_policy: str = "interpolate", max_gap: int | None = None) -> ParsedSeries:
    """Parse either CET layout, so callers need not know which copy of the series they were given."""
    source = Path(path)
    lines = _read_utf8_lines(source)
    for line_number, text in enumerate(lines, start=1):
        fields = text.split()
        if not fields:
            continue
        if len(fields) == DAT_FIELDS:
            return _parse_dat_lines(source, lines, gap_policy, max_gap)
        if len(fields) == 2 and _DATE.fullmatch(fields[0]):
            return _parse_daily_lines(source, lines, gap_policy, max_gap)
        raise DataFormatError(
            source,
            f"unrecognised CET layout: first data line has {len(fields)} field(s); expected "
            f"{DAT_FIELDS} (HadCET .dat: year, day, 12 monthly columns) or 2 (YYYYMMDD value)",
            line=line_number,
        )
    raise DataFormatError(source, "empty file: no data", line=1)  # unreachable: blank files fail earlier


def parse_cet_dat(
    path: str | Path, gap_policy: str = "interpolate", max_gap: int | None = None
) -> ParsedSeries:
    """Parse the Met Office cetdl1772on.dat grid (tenths of °C, -999 missing) into a daily °C series."""
    source = Path(path)
    return _parse_dat_lines(source, _read_utf8_lines(source), gap_policy, max_gap)


def parse_cet_daily_lines(
    path: str | Path, gap_policy: str = "interpolate", max_gap: int | None = None
) -> ParsedSeries:
    """Parse the book's tdaily_cet.dat.txt (one 'YYYYMMDD value' per line, °C) into a daily series."""
    source = Path(path)
    return _parse_daily_lines(source, _read_utf8_lines(source), gap_policy, max_gap)


def _parse_dat_lines(source: Path, lines: list[str], gap_policy: str, max_gap: int | None) -> ParsedSeries:
    """Validate and convert the year/day x month grid, keeping line numbers for every error."""
    for line_number, text in enumerate(lines, start=1):
        if not _DAT_LINE.fullmatch(text):
            _raise_dat_line_error(source, text, line_number)
    table = np.array(" ".join(lines).split(), dtype=np.int64).reshape(-1, DAT_FIELDS)
    years, days, cells = table[:, 0], table[:, 1], table[:, 2:]
    line_numbers = np.arange(1, len(lines) + 1)

    _check_years(source, years, line_numbers)
    bad_day = np.flatnonzero((days < 1) | (days > 31))
    if bad_day.size:
        row = bad_day[0]
        raise DataFormatError(source, f"day {days[row]} is not in 1..31", line=int(line_numbers[row]))
    keys = years * 32 + days
    _check_increasing(source, keys, line_numbers, lambda row: f"{years[row]} day {days[row]}")

    month_starts = ((years - 1970) * 12)[:, None] + np.arange(12)
    month_starts = month_starts.astype("datetime64[M]")
    first_days = month_starts.astype("datetime64[D]")
    month_lengths = ((month_starts + 1).astype("datetime64[D]") - first_days).astype(np.int64)
    exists = days[:, None] <= month_lengths
    is_missing_code = cells == DAT_MISSING_VALUE

    wrong_cells = np.argwhere(~exists & ~is_missing_code)
    if wrong_cells.size:
        row, month = wrong_cells[0]
        raise DataFormatError(
            source,
            f"value {cells[row, month]} on non-existent date {years[row]}-{month + 1:02d}-{days[row]:02d} "
            f"({MONTH_NAMES[month]} column); only {DAT_MISSING_VALUE} is allowed there",
            line=int(line_numbers[row]),
        )
    implausible = np.argwhere(exists & ~is_missing_code & (np.abs(cells) >= IMPLAUSIBLE_MAGNITUDE))
    if implausible.size:
        row, month = implausible[0]
        raise DataFormatError(
            source,
            f"implausible value {cells[row, month]} (tenths of °C) in the {MONTH_NAMES[month]} column: "
            f"not a temperature and not the missing-value code {DAT_MISSING_VALUE}",
            line=int(line_numbers[row]),
        )

    dates = first_days + (days - 1)[:, None]
    start = np.datetime64(f"{years[0]:04d}-01-01", "D")
    end = np.datetime64(f"{years[-1]:04d}-12-31", "D")
    raw_values = np.full(int((end - start).astype(np.int64)) + 1, np.nan)
    present = exists & ~is_missing_code
    positions = (dates[present] - start).astype(np.int64)
    raw_values[positions] = cells[present] / 10.0
    index = pd.date_range(pd.Timestamp(start), periods=raw_values.size, freq="D")

    def key_of(missing_dates: np.ndarray) -> np.ndarray:
        """Sort key (year * 32 + day) of dates, comparable with the rows' keys."""
        as_index = pd.DatetimeIndex(missing_dates)
        return np.asarray(as_index.year * 32 + as_index.day, dtype=np.int64)

    line_of = _lines_of_missing(raw_values, index, keys, line_numbers, key_of)
    return finish_series(pd.Series(raw_values, index=index), source, "D", gap_policy, line_of, max_gap)


def _parse_daily_lines(source: Path, lines: list[str], gap_policy: str, max_gap: int | None) -> ParsedSeries:
    """Validate and convert one 'YYYYMMDD value' per line, keeping line numbers for every error."""
    for line_number, text in enumerate(lines, start=1):
        if not _DAILY_LINE.fullmatch(text):
            _raise_daily_line_error(source, text, line_number)
    tokens = " ".join(lines).split()
    date_numbers = np.array(tokens[0::2], dtype=np.int64)
    values = np.array(tokens[1::2], dtype=np.float64)
    line_numbers = np.arange(1, len(lines) + 1)

    years = date_numbers // 10000
    months = date_numbers // 100 % 100
    days = date_numbers % 100
    _check_years(source, years, line_numbers)
    bad_month = np.flatnonzero((months < 1) | (months > 12))
    if bad_month.size:
        row = bad_month[0]
        raise DataFormatError(
            source,
            f"invalid date {date_numbers[row]}: month {months[row]} is not in 1..12",
            line=int(row + 1),
        )
    month_starts = ((years - 1970) * 12 + months - 1).astype("datetime64[M]")
    first_days = month_starts.astype("datetime64[D]")
    month_lengths = ((month_starts + 1).astype("datetime64[D]") - first_days).astype(np.int64)
    bad_day = np.flatnonzero((days < 1) | (days > month_lengths))
    if bad_day.size:
        row = bad_day[0]
        raise DataFormatError(
            source,
            f"invalid date {date_numbers[row]}: {MONTH_NAMES[months[row] - 1]} {years[row]} "
            f"has no day {days[row]}",
            line=int(row + 1),
        )
    dates = first_days + (days - 1)
    day_numbers = dates.astype(np.int64)
    _check_increasing(source, day_numbers, line_numbers, lambda row: str(dates[row]))

    is_missing_code = np.zeros(values.shape, dtype=bool)
    for code in DAILY_MISSING_VALUES:
        is_missing_code |= np.isclose(values, code, rtol=0.0, atol=1e-6)
    implausible = np.flatnonzero(~is_missing_code & (np.abs(values) >= IMPLAUSIBLE_MAGNITUDE))
    if implausible.size:
        row = implausible[0]
        raise DataFormatError(
            source,
            f"implausible value {tokens[2 * row + 1]}: not a temperature in °C and not a missing-value "
            f"code ({', '.join(str(code) for code in DAILY_MISSING_VALUES)})",
            line=int(row + 1),
        )

    raw_values = np.full(int(day_numbers[-1] - day_numbers[0]) + 1, np.nan)
    present = ~is_missing_code
    raw_values[day_numbers[present] - day_numbers[0]] = values[present]
    index = pd.date_range(pd.Timestamp(dates[0]), periods=raw_values.size, freq="D")

    def key_of(missing_dates: np.ndarray) -> np.ndarray:
        """Sort key (days since 1970) of dates, comparable with the rows' keys."""
        return np.asarray(missing_dates.astype("datetime64[D]").astype(np.int64), dtype=np.int64)

    line_of = _lines_of_missing(raw_values, index, day_numbers, line_numbers, key_of)
    return finish_series(pd.Series(raw_values, index=index), source, "D", gap_policy, line_of, max_gap)


def _check_years(source: Path, years: np.ndarray, line_numbers: np.ndarray) -> None:
    """Reject years pandas timestamps cannot hold."""
    bad = np.flatnonzero((years < FIRST_SUPPORTED_YEAR) | (years > LAST_SUPPORTED_YEAR))
    if bad.size:
        row = bad[0]
        raise DataFormatError(
            source,
            f"year {years[row]} outside the supported range {FIRST_SUPPORTED_YEAR}..{LAST_SUPPORTED_YEAR}",
            line=int(line_numbers[row]),
        )


def _check_increasing(source: Path, keys: np.ndarray, line_numbers: np.ndarray, describe: _Describe) -> None:
    """Require strictly increasing row keys, naming duplicates and out-of-order rows by line."""
    steps = np.diff(keys)
    bad = np.flatnonzero(steps <= 0)
    if not bad.size:
        return
    previous, row = bad[0], bad[0] + 1
    kind = "duplicate date" if steps[previous] == 0 else "dates not increasing:"
    raise DataFormatError(
        source,
        f"{kind} {describe(row)} after {describe(previous)} (line {line_numbers[previous]})",
        line=int(line_numbers[row]),
    )


def _lines_of_missing(
    raw_values: np.ndarray,
    index: pd.DatetimeIndex,
    row_keys: np.ndarray,
    line_numbers: np.ndarray,
    key_of: _KeyOf,
) -> dict[pd.Timestamp, int]:
    """Map each missing date to its row's line, or for a skipped date to the line after the gap."""
    positions = np.flatnonzero(np.isnan(raw_values))
    if not positions.size:
        return {}
    missing_dates = index[positions]
    rows = np.minimum(np.searchsorted(row_keys, key_of(missing_dates.to_numpy())), len(row_keys) - 1)
    return {date: int(line_numbers[row]) for date, row in zip(missing_dates, rows, strict=True)}


def _raise_dat_line_error(source: Path, text: str, line_number: int) -> None:
    """Explain why a .dat line does not have the year, day, 12 integers layout."""
    fields = text.split()
    if not fields:
        raise DataFormatError(source, "blank line inside the data", line=line_number)
    if len(fields) != DAT_FIELDS:
        raise DataFormatError(
            source,
            f"expected {DAT_FIELDS} whitespace-separated fields (year, day, 12 months), found {len(fields)} "
            "(truncated or malformed line)",
            line=line_number,
        )
    names = ("year", "day", *MONTH_NAMES)
    for name, field in zip(names, fields, strict=True):
        if not _INTEGER.fullmatch(field):
            raise DataFormatError(
                source,
                f"non-numeric value {field!r} in the {name} column (expected an integer)",
                line=line_number,
            )
    raise DataFormatError(source, f"malformed line {text!r}", line=line_number)


def _raise_daily_line_error(source: Path, text: str, line_number: int) -> None:
    """Explain why a daily line does not have the 'YYYYMMDD value' layout."""
    fields = text.split()
    if not fields:
        raise DataFormatError(source, "blank line inside the data", line=line_number)
    if len(fields) != 2:
        raise DataFormatError(
            source,
            f"expected 2 whitespace-separated fields (YYYYMMDD value), found {len(fields)} "
            "(truncated or malformed line)",
            line=line_number,
        )
    if not _DATE.fullmatch(fields[0]):
        raise DataFormatError(source, f"date {fields[0]!r} is not 8 digits YYYYMMDD", line=line_number)
    if not _NUMBER.fullmatch(fields[1]):
        raise DataFormatError(source, f"non-numeric value {fields[1]!r}", line=line_number)
    raise DataFormatError(source, f"malformed line {text!r}", line=line_number)
