"""Unit tests for the strict parser of a user's own CSV time series, on tiny hand-made files."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from seqlab.data.csv_series import FREQUENCIES, parse_csv_series
from seqlab.data.series_common import ParsedSeries
from seqlab.errors import DataFormatError, GapTooLongError

# ---------------------------------------------------------------- helpers


def write(directory: Path, *lines: str, name: str = "series.csv") -> Path:
    path = directory / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def daily(path: Path, **kwargs: Any) -> ParsedSeries:
    return parse_csv_series(path, date_column="date", value_column="value", frequency="daily", **kwargs)


def monthly(path: Path, **kwargs: Any) -> ParsedSeries:
    return parse_csv_series(path, date_column="date", value_column="value", frequency="monthly", **kwargs)


def other(path: Path, date_column: str | None = None, **kwargs: Any) -> ParsedSeries:
    return parse_csv_series(path, date_column=date_column, value_column="value", frequency="other", **kwargs)


def expect_error(
    path: Path, line: int | None, fragment: str, call: Any = daily, **kwargs: Any
) -> DataFormatError:
    where = f"{path}" if line is None else f"{path}, line {line}"
    with pytest.raises(DataFormatError, match=rf"^{re.escape(where)}: .*{re.escape(fragment)}") as info:
        call(path, **kwargs)
    assert info.value.path == path
    assert info.value.line == line
    return info.value


def values_of(parsed: ParsedSeries) -> list[float]:
    return parsed.values.to_list()


# ---------------------------------------------------------------- daily


def test_daily_one_day_gap_is_interpolated(tmp_path: Path) -> None:
    path = write(tmp_path, "date,value", "2000-01-01,1.0", "2000-01-02,2.0", "2000-01-04,4.0", "2000-01-05,3")
    parsed = daily(path)
    assert parsed.frequency == "D"
    assert parsed.values.index.freqstr == "D"
    assert list(parsed.values.index) == list(pd.date_range("2000-01-01", "2000-01-05", freq="D"))
    assert values_of(parsed) == pytest.approx([1.0, 2.0, 3.0, 4.0, 3.0])
    assert parsed.values.dtype == np.float64
    assert (parsed.missing, parsed.filled) == (1, 1)
    assert parsed.source == path


def test_daily_gap_with_error_policy_names_the_row_after_the_gap(tmp_path: Path) -> None:
    path = write(tmp_path, "date,value", "2000-01-01,1.0", "2000-01-02,2.0", "2000-01-05,5.0")
    error = expect_error(
        path, 4, "2 missing value(s) inside the series, first at 2000-01-03", gap_policy="error"
    )
    assert "gap_policy" in str(error)


def test_daily_empty_cell_is_a_gap_on_its_own_line(tmp_path: Path) -> None:
    path = write(tmp_path, "date,value", "2000-01-01,1", "2000-01-02,", "2000-01-03,3")
    assert values_of(daily(path)) == pytest.approx([1.0, 2.0, 3.0])
    expect_error(path, 3, "first at 2000-01-02", gap_policy="error")


def test_daily_leading_and_trailing_missing_values_are_trimmed_but_counted(tmp_path: Path) -> None:
    path = write(tmp_path, "date,value", "2000-01-01,", "2000-01-02,2", "2000-01-03,3", "2000-01-04,")
    parsed = daily(path, gap_policy="error")
    assert list(parsed.values.index) == list(pd.date_range("2000-01-02", periods=2, freq="D"))
    assert (parsed.missing, parsed.filled) == (2, 0)


def test_daily_accepts_timestamps_at_midnight(tmp_path: Path) -> None:
    path = write(tmp_path, "date,value", "2000-01-01T00:00:00,1", "2000-01-02 00:00,2")
    assert list(daily(path).values.index) == list(pd.date_range("2000-01-01", periods=2, freq="D"))


def test_daily_rejects_a_time_of_day(tmp_path: Path) -> None:
    path = write(tmp_path, "date,value", "2000-01-01,1", "2000-01-02T12:00,2")
    expect_error(path, 3, "'2000-01-02T12:00' has a time of day")


def test_daily_gap_longer_than_max_gap_names_dates_and_length(tmp_path: Path) -> None:
    path = write(tmp_path, "date,value", "2000-01-01,1", "2000-01-02,NA", "2000-01-06,6", "2000-01-07,7")
    assert daily(path, missing_value="NA", max_gap=4).filled == 4
    error = expect_error(
        path,
        3,
        "4 consecutive missing days from 2000-01-02 to 2000-01-05: longer than max_gap (3 days)",
        missing_value="NA",
        max_gap=3,
    )
    assert isinstance(error, GapTooLongError)


def test_max_gap_is_checked_before_the_file_is_read(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="^max_gap: "):
        daily(tmp_path / "absent.csv", max_gap=0)


# ---------------------------------------------------------------- monthly


def test_monthly_year_month_dates_with_an_absent_month(tmp_path: Path) -> None:
    path = write(tmp_path, "date,value", "1999-11,1", "1999-12,2", "2000-02,4")
    parsed = monthly(path)
    assert parsed.frequency == "MS"
    assert parsed.values.index.freqstr == "MS"
    assert list(parsed.values.index) == list(pd.date_range("1999-11-01", "2000-02-01", freq="MS"))
    assert values_of(parsed)[:2] == [1.0, 2.0]
    assert values_of(parsed)[3] == 4.0
    assert 2.0 < values_of(parsed)[2] < 4.0  # time-weighted interpolation
    assert (parsed.missing, parsed.filled) == (1, 1)
    expect_error(path, 4, "first at 2000-01-01", call=monthly, gap_policy="error")


def test_monthly_full_dates_on_any_day_map_to_month_start(tmp_path: Path) -> None:
    path = write(tmp_path, "date,value", "2000-01-15,1", "2000-02-29,2", "2000-03-01,3")
    parsed = monthly(path)
    assert list(parsed.values.index) == list(pd.date_range("2000-01-01", periods=3, freq="MS"))
    assert values_of(parsed) == [1.0, 2.0, 3.0]


def test_monthly_two_rows_in_one_month_are_duplicates(tmp_path: Path) -> None:
    path = write(tmp_path, "date,value", "2000-01,1", "2000-02,2", "2000-02-15,3")
    expect_error(path, 4, "duplicate month: '2000-02-15' repeats '2000-02' of line 3", call=monthly)


def test_monthly_rejects_a_year_alone(tmp_path: Path) -> None:
    path = write(tmp_path, "date,value", "2000-01,1", "2001,2")
    expect_error(path, 3, "unparseable date '2001' in column 'date'", call=monthly)


def test_monthly_gap_longer_than_max_gap(tmp_path: Path) -> None:
    path = write(tmp_path, "date,value", "1999-11,1", "1999-12,2", "2000-04,4")
    expect_error(
        path, 4, "3 consecutive missing months from 2000-01-01 to 2000-03-01", call=monthly, max_gap=2
    )
    assert monthly(path, max_gap=3).filled == 3


# ---------------------------------------------------------------- other


def test_other_without_date_column(tmp_path: Path) -> None:
    # In a one-column file a blank line is an empty cell, except blank lines at the end of the file.
    path = write(tmp_path, "value", "", "1", "", "", "4", "5", "NA", "", "")
    parsed = other(path, missing_value="NA")
    assert parsed.frequency == "other"
    assert isinstance(parsed.values.index, pd.RangeIndex)
    assert list(parsed.values.index) == [0, 1, 2, 3, 4]
    assert values_of(parsed) == pytest.approx([1.0, 2.0, 3.0, 4.0, 5.0])
    assert (parsed.missing, parsed.filled) == (4, 2)


def test_other_gap_longer_than_max_gap_names_data_rows(tmp_path: Path) -> None:
    path = write(tmp_path, "value", "1", "NA", "NA", "4")
    fragment = "2 consecutive missing steps from data row 2 to data row 3: longer than max_gap (1 steps)"
    expect_error(path, 3, fragment, call=other, missing_value="NA", max_gap=1)
    assert other(path, missing_value="NA", max_gap=2).filled == 2


def test_other_without_date_column_gap_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "value", "1", "NA", "3")
    fragment = "1 missing value(s) inside the series, first at data row 2"
    expect_error(path, 3, fragment, call=other, missing_value="NA", gap_policy="error")


def test_other_with_numeric_date_column_ignores_spacing(tmp_path: Path) -> None:
    path = write(tmp_path, "t,value", "0.5,10", "2,", "10,30")
    parsed = other(path, date_column="t")
    assert values_of(parsed) == pytest.approx([10.0, 20.0, 30.0])  # by position, not by t
    assert list(parsed.values.index) == [0, 1, 2]
    assert (parsed.missing, parsed.filled) == (1, 1)


def test_other_with_iso_date_column(tmp_path: Path) -> None:
    path = write(tmp_path, "when,value", "2000-01-01T10:00,1", "2000-01-01T10:05,2", "2000-03-01,3")
    assert values_of(other(path, date_column="when")) == [1.0, 2.0, 3.0]


def test_other_date_column_must_increase(tmp_path: Path) -> None:
    path = write(tmp_path, "t,value", "1,1", "3,2", "2,3")
    expect_error(
        path, 4, "value of 't' not increasing: '2' follows '3' of line 3", call=other, date_column="t"
    )
    path = write(tmp_path, "t,value", "1,1", "2,2", "2.0,3", name="dup.csv")
    expect_error(path, 4, "duplicate value of 't': '2.0' repeats '2' of line 3", call=other, date_column="t")


def test_other_date_column_mixing_numbers_and_dates(tmp_path: Path) -> None:
    path = write(tmp_path, "t,value", "1,1", "2000-01-02,2")
    expect_error(path, 3, "unparseable number '2000-01-02' in column 't'", call=other, date_column="t")
    path = write(tmp_path, "t,value", "2000-01-01,1", "soon,2", name="dates.csv")
    expect_error(path, 3, "unparseable ISO date 'soon' in column 't'", call=other, date_column="t")


def test_other_date_column_may_not_be_empty(tmp_path: Path) -> None:
    path = write(tmp_path, "t,value", "1,1", ",2")
    expect_error(path, 3, "empty cell in column 't'", call=other, date_column="t")


# ---------------------------------------------------------------- missing-value markers


@pytest.mark.parametrize("marker", [-999, -999.0, "-999", " -999.000 "])
def test_numeric_marker_matches_by_value(tmp_path: Path, marker: str | float) -> None:
    path = write(
        tmp_path, "date,value", "2000-01-01,1", "2000-01-02,-999.0", "2000-01-03,-999", "2000-01-04,4"
    )
    parsed = daily(path, missing_value=marker)
    assert values_of(parsed) == pytest.approx([1.0, 2.0, 3.0, 4.0])
    assert (parsed.missing, parsed.filled) == (2, 2)


def test_numeric_marker_tolerance_is_tight(tmp_path: Path) -> None:
    path = write(
        tmp_path, "date,value", "2000-01-01,1", "2000-01-02,-999.90", "2000-01-03,-999.8", "2000-01-04,4"
    )
    parsed = daily(path, missing_value=-999.9)
    assert values_of(parsed)[2] == -999.8
    assert (parsed.missing, parsed.filled) == (1, 1)


def test_string_marker_matches_exact_stripped_text(tmp_path: Path) -> None:
    path = write(tmp_path, "date,value", "2000-01-01,1", "2000-01-02, NA ", "2000-01-03,", "2000-01-04,4")
    parsed = daily(path, missing_value="NA")
    assert values_of(parsed) == pytest.approx([1.0, 2.0, 3.0, 4.0])
    assert (parsed.missing, parsed.filled) == (2, 2)
    # Without the marker, "NA" is not a number; matching is case-sensitive.
    expect_error(path, 3, "non-numeric value 'NA' in column 'value'")
    expect_error(path, 3, "non-numeric value 'NA'", missing_value="na")


def test_invalid_markers_are_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "date,value", "2000-01-01,1")
    for marker in (True, float("nan"), float("inf"), "1e999"):
        with pytest.raises(ValueError, match="missing_value"):
            daily(path, missing_value=marker)


# ---------------------------------------------------------------- layout


def test_extra_and_reordered_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "station,value,flag,date", "A,1.5,x,2000-01-01", "A,2.5,,2000-01-02")
    parsed = daily(path)
    assert values_of(parsed) == [1.5, 2.5]
    assert parsed.values.index[0] == pd.Timestamp("2000-01-01")


def test_quoted_fields(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '"date","value","note"',
        '"2000-01-01","1.5","a, b"',
        '2000-01-02, "2.5","say ""hi"""',
        '2000-01-03,3.5,"two',
        'lines"',
        "2000-01-04,x,",
    )
    # The quoted note spans lines 4-5, so the bad value is on line 6.
    expect_error(path, 6, "non-numeric value 'x' in column 'value'")
    path.write_text(path.read_text().replace(",x,", ",4.5,"))
    assert values_of(daily(path)) == [1.5, 2.5, 3.5, 4.5]


def test_other_delimiter_bom_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "semi.csv"
    path.write_bytes("\ufeffdate;value\r\n2000-01-01;1.5\r\n2000-01-02;2\r\n".encode())
    assert values_of(daily(path, delimiter=";")) == [1.5, 2.0]


def test_blank_line_in_a_one_column_file_is_a_missing_cell(tmp_path: Path) -> None:
    path = write(tmp_path, "value", "1", "", "3")
    parsed = other(path)
    assert values_of(parsed) == [1.0, 2.0, 3.0]
    assert (parsed.missing, parsed.filled) == (1, 1)


def test_all_frequencies_are_handled(tmp_path: Path) -> None:
    path = write(tmp_path, "date,value", "2000-01-01,1", "2000-02-01,2")
    for frequency in FREQUENCIES:
        parsed = parse_csv_series(path, date_column="date", value_column="value", frequency=frequency)
        assert len(parsed.values) >= 2


# ---------------------------------------------------------------- header errors


def test_missing_value_column(tmp_path: Path) -> None:
    path = write(tmp_path, "date,temp", "2000-01-01,1")
    expect_error(path, 1, "header lacks column 'value'; the header's columns are ['date', 'temp']")


def test_missing_date_column(tmp_path: Path) -> None:
    path = write(tmp_path, "day,value", "2000-01-01,1")
    expect_error(path, 1, "header lacks column 'date'; the header's columns are ['day', 'value']")


def test_duplicate_column_name(tmp_path: Path) -> None:
    path = write(tmp_path, "date,value, value", "2000-01-01,1,2")
    expect_error(path, 1, "header names column 'value' twice (columns 2 and 3)")


def test_unnamed_columns_are_allowed(tmp_path: Path) -> None:
    path = write(tmp_path, ",date,value,", "0,2000-01-01,1,", "1,2000-01-02,2,")
    assert values_of(daily(path)) == [1.0, 2.0]


def test_blank_header(tmp_path: Path) -> None:
    path = write(tmp_path, "", "date,value", "2000-01-01,1")
    expect_error(path, 1, "the header line is blank")


def test_empty_file_and_header_only(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("\n\n")
    expect_error(empty, 1, "empty file")
    expect_error(write(tmp_path, "date,value", name="header.csv"), 2, "header only")


# ---------------------------------------------------------------- row and cell errors


def test_wrong_field_count(tmp_path: Path) -> None:
    path = write(tmp_path, "date,value", "2000-01-01,1", "2000-01-02,2,3")
    expect_error(path, 3, "expected 2 fields as in the header, found 3")
    path = write(tmp_path, "date,value", "2000-01-01", "2000-01-02,2", name="short.csv")
    expect_error(path, 2, "expected 2 fields as in the header, found 1")


def test_blank_line_inside_the_data(tmp_path: Path) -> None:
    path = write(tmp_path, "date,value", "2000-01-01,1", "", "2000-01-02,2")
    expect_error(path, 3, "blank line inside the data")


def test_malformed_quoting(tmp_path: Path) -> None:
    path = write(tmp_path, "date,value", "2000-01-01,1", '2000-01-02,"2"x')
    expect_error(path, 3, "malformed CSV")
    path = write(tmp_path, "date,value", "2000-01-01,1", '2000-01-02,"2', name="open.csv")
    expect_error(path, 3, "malformed CSV")


@pytest.mark.parametrize("bad", ["2000/01/02", "02-01-2000", "2000-02-30", "yesterday", "2000-01-02+01:00"])
def test_unparseable_daily_date(tmp_path: Path, bad: str) -> None:
    path = write(tmp_path, "date,value", "2000-01-01,1", f"{bad},2")
    expect_error(path, 3, f"unparseable date {bad!r} in column 'date'; expected YYYY-MM-DD")


def test_empty_date(tmp_path: Path) -> None:
    path = write(tmp_path, "date,value", "2000-01-01,1", ",2")
    expect_error(path, 3, "empty date in column 'date'")


def test_date_outside_pandas_range(tmp_path: Path) -> None:
    path = write(tmp_path, "date,value", "1500-01-01,1")
    expect_error(path, 2, "date '1500-01-01' outside the supported years 1678..2261")


def test_duplicate_daily_date_names_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "date,value", "2000-01-01,1", "2000-01-02,2", "2000-01-03,3", "2000-01-02T00:00,4")
    expect_error(path, 5, "duplicate date: '2000-01-02T00:00' repeats '2000-01-02' of line 3")


def test_daily_dates_not_increasing_names_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "date,value", "2000-01-01,1", "2000-01-05,2", "2000-01-03,3")
    expect_error(path, 4, "date not increasing: '2000-01-03' follows '2000-01-05' of line 3")


@pytest.mark.parametrize("bad", ["abc", "1,5", "nan", "1.2.3", "0x10", "1_000"])
def test_non_numeric_value(tmp_path: Path, bad: str) -> None:
    path = write(tmp_path, "date,value", "2000-01-01,1", f'2000-01-02,"{bad}"')
    expect_error(path, 3, f"non-numeric value {bad!r} in column 'value'")


@pytest.mark.parametrize("bad", ["inf", "-Infinity", "1e999"])
def test_infinite_value(tmp_path: Path, bad: str) -> None:
    path = write(tmp_path, "date,value", "2000-01-01,1", f"2000-01-02,{bad}")
    expect_error(path, 3, f"infinite value {bad!r} in column 'value'")


def test_no_valid_values(tmp_path: Path) -> None:
    path = write(tmp_path, "date,value", "2000-01-01,", "2000-01-02,-999")
    expect_error(path, None, "no valid values", missing_value=-999)
    path = write(tmp_path, "value", "NA", "", name="other.csv")
    expect_error(path, None, "no valid values", call=other, missing_value="NA")


# ---------------------------------------------------------------- argument errors


def test_bad_arguments_name_the_argument(tmp_path: Path) -> None:
    path = write(tmp_path, "date,value", "2000-01-01,1")
    with pytest.raises(
        ValueError, match=r"^frequency: unknown value 'weekly'; expected one of daily, monthly, other"
    ):
        parse_csv_series(path, date_column="date", value_column="value", frequency="weekly")
    with pytest.raises(
        ValueError, match=r"^gap_policy: unknown value 'drop'; expected one of error, interpolate"
    ):
        daily(path, gap_policy="drop")
    with pytest.raises(ValueError, match=r"^date_column: required for frequency 'monthly'"):
        parse_csv_series(path, date_column=None, value_column="value", frequency="monthly")
    with pytest.raises(ValueError, match=r"^date_column and value_column: both name column 'value'"):
        parse_csv_series(path, date_column="value", value_column="value", frequency="daily")
    with pytest.raises(ValueError, match=r"^delimiter"):
        daily(path, delimiter=";;")
    # Arguments are checked before the file is read.
    with pytest.raises(ValueError, match=r"^frequency"):
        parse_csv_series(tmp_path / "absent.csv", date_column=None, value_column="v", frequency="hourly")
