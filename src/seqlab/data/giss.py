"""Strict parser for NASA GISS (GISTEMP v4) station CSV downloads, for any station."""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from seqlab.data.series_common import ParsedSeries, finish_series
from seqlab.errors import DataFormatError

MONTH_COLUMNS: tuple[str, ...] = (
    "JAN",
    "FEB",
    "MAR",
    "APR",
    "MAY",
    "JUN",
    "JUL",
    "AUG",
    "SEP",
    "OCT",
    "NOV",
    "DEC",
)
YEAR_COLUMN = "YEAR"
GISS_MISSING_VALUE = 999.9
# Any other value this large is not a temperature: most likely a mangled missing-value code.
IMPLAUSIBLE_MAGNITUDE = 999.0
# pandas nanosecond timestamps cover 1677-09-21 .. 2262-04-11; keep to whole years inside that.
FIRST_SUPPORTED_YEAR = 1678
LAST_SUPPORTED_YEAR = 2261

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_YEAR = re.compile(r"[+-]?\d+", re.ASCII)


def parse_giss_csv(
    path: str | Path, gap_policy: str = "interpolate", max_gap: int | None = None
) -> ParsedSeries:
    """Read a GISS station CSV into a month-start series so any station's download can feed the models."""
    source = Path(path)
    lines = _read_utf8_lines(source)
    header = _split_csv_line(source, lines[0], 1)
    year_column, month_columns = _locate_columns(source, header)
    if len(lines) == 1:
        raise DataFormatError(source, "header only: the file has no data rows", line=2)

    row_years: list[int] = []
    row_lines: list[int] = []
    row_values: list[list[float]] = []
    for line_number, text in enumerate(lines[1:], start=2):
        if not text.strip():
            raise DataFormatError(source, "blank line inside the data", line=line_number)
        fields = _split_csv_line(source, text, line_number)
        if len(fields) != len(header):
            raise DataFormatError(
                source,
                f"expected {len(header)} comma-separated fields as in the header, found {len(fields)} "
                "(truncated or malformed line)",
                line=line_number,
            )
        year = _parse_year(source, fields[year_column].strip(), line_number)
        if row_years:
            previous_year, previous_line = row_years[-1], row_lines[-1]
            if year == previous_year:
                raise DataFormatError(
                    source, f"duplicate year {year} (already on line {previous_line})", line=line_number
                )
            if year < previous_year:
                raise DataFormatError(
                    source,
                    f"years not increasing: {year} after {previous_year} (line {previous_line})",
                    line=line_number,
                )
        values = [
            _parse_month_value(source, fields[column].strip(), MONTH_COLUMNS[month_index], line_number)
            for month_index, column in enumerate(month_columns)
        ]
        row_years.append(year)
        row_lines.append(line_number)
        row_values.append(values)

    first_year, last_year = row_years[0], row_years[-1]
    years_array = np.asarray(row_years, dtype=np.int64)
    lines_array = np.asarray(row_lines, dtype=np.int64)
    grid = np.full((last_year - first_year + 1, 12), np.nan)
    # Years absent from the file stay NaN: they are gaps, handled by the gap policy like any other.
    grid[years_array - first_year] = np.asarray(row_values, dtype=np.float64)
    index = pd.date_range(f"{first_year}-01-01", periods=grid.size, freq="MS")
    raw = pd.Series(grid.ravel(), index=index)

    # For each missing month: its own row's line, or for a whole missing year the row after the gap.
    missing_positions = np.flatnonzero(np.isnan(grid.ravel()))
    missing_years = first_year + missing_positions // 12
    row_of_missing = np.minimum(np.searchsorted(years_array, missing_years), len(row_years) - 1)
    line_of = {
        index[position]: int(lines_array[row])
        for position, row in zip(missing_positions, row_of_missing, strict=True)
    }
    return finish_series(raw, source, "MS", gap_policy, line_of, max_gap)


def _read_utf8_lines(source: Path) -> list[str]:
    """Decode the file as UTF-8 and split it into lines, dropping only blank lines at the very end."""
    data = source.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise DataFormatError(
            source,
            f"not UTF-8 text: byte 0x{data[error.start]:02x} at offset {error.start} cannot be decoded",
            line=line,
        ) from None
    lines = [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise DataFormatError(source, "empty file: no header and no data", line=1)
    if lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    return lines


def _split_csv_line(source: Path, text: str, line_number: int) -> list[str]:
    """Split one CSV line with the csv module so quoted fields work, reporting bad quoting by line."""
    try:
        return next(csv.reader([text], strict=True))
    except csv.Error as error:
        raise DataFormatError(source, f"malformed CSV: {error}", line=line_number) from None


def _locate_columns(source: Path, header: list[str]) -> tuple[int, list[int]]:
    """Find YEAR and JAN..DEC by name, so column order and extra columns do not matter."""
    names = [name.strip().upper() for name in header]
    positions: dict[str, int] = {}
    for position, name in enumerate(names):
        if name in positions and name in (YEAR_COLUMN, *MONTH_COLUMNS):
            raise DataFormatError(source, f"header names column {name} twice", line=1)
        positions.setdefault(name, position)
    absent = [name for name in (YEAR_COLUMN, *MONTH_COLUMNS) if name not in positions]
    if absent:
        raise DataFormatError(
            source,
            f"header lacks column(s) {', '.join(absent)}; expected YEAR,JAN,...,DEC "
            f"(found: {','.join(header)!r})",
            line=1,
        )
    return positions[YEAR_COLUMN], [positions[name] for name in MONTH_COLUMNS]


def _parse_year(source: Path, text: str, line_number: int) -> int:
    """Parse the YEAR cell, which must be a whole year pandas can represent."""
    if not _YEAR.fullmatch(text):
        raise DataFormatError(source, f"YEAR is not an integer: {text!r}", line=line_number)
    year = int(text)
    if not FIRST_SUPPORTED_YEAR <= year <= LAST_SUPPORTED_YEAR:
        raise DataFormatError(
            source,
            f"year {year} outside the supported range {FIRST_SUPPORTED_YEAR}..{LAST_SUPPORTED_YEAR}",
            line=line_number,
        )
    return year


def _parse_month_value(source: Path, text: str, column: str, line_number: int) -> float:
    """Parse one monthly cell: a finite number, NaN for the 999.9 missing code, an error otherwise."""
    if not _NUMBER.fullmatch(text):
        raise DataFormatError(source, f"non-numeric value {text!r} in column {column}", line=line_number)
    value = float(text)
    if math.isclose(value, GISS_MISSING_VALUE, rel_tol=0.0, abs_tol=1e-6):
        return math.nan
    if abs(value) >= IMPLAUSIBLE_MAGNITUDE:
        raise DataFormatError(
            source,
            f"implausible value {text} in column {column}: not a temperature and not the "
            f"missing-value code {GISS_MISSING_VALUE}",
            line=line_number,
        )
    return value
