"""Unit tests for the GISS and CET series parsers and the book's synthetic series, on tiny hand-made files."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqlab.data.cet import parse_cet, parse_cet_daily_lines, parse_cet_dat
from seqlab.data.giss import parse_giss_csv
from seqlab.data.series_common import ParsedSeries
from seqlab.data.synthetic import make_synthetic_series, read_synthetic, write_synthetic_csv
from seqlab.errors import DataFormatError, GapTooLongError

Parser = Callable[..., ParsedSeries]

GISS_HEADER = "YEAR,JAN,FEB,MAR,APR,MAY,JUN,JUL,AUG,SEP,OCT,NOV,DEC,D-J-F,M-A-M,J-J-A,S-O-N,metANN"
SEASONAL = "1.00,2.00,999.90,4.00,5.00"
PROPERTY_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# ---------------------------------------------------------------- helpers


def write_bytes(directory: Path, name: str, content: bytes | str) -> Path:
    path = directory / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def expect_format_error(
    parser: Parser, path: Path, line: int | None, *fragments: str, **kwargs: str | int
) -> str:
    with pytest.raises(DataFormatError) as info:
        parser(path, **kwargs)
    message = str(info.value)
    assert path.name in message
    assert info.value.path == path
    if line is not None:
        assert f"line {line}" in message
        assert info.value.line == line
    for fragment in fragments:
        assert fragment in message
    return message


def giss_row(year: int, months: list[str], seasonal: str = SEASONAL) -> str:
    assert len(months) == 12
    return f"{year},{','.join(months)},{seasonal}"


def giss_months(start: float) -> list[str]:
    return [f"{start + month:.2f}" for month in range(12)]


def giss_text(*rows: str) -> str:
    return "\n".join([GISS_HEADER, *rows]) + "\n"


def dat_line(year: int, day: int, cells: list[int]) -> str:
    return f"{year:5d}{day:5d}" + "".join(f"{cell:5d}" for cell in cells) + "          "


def dat_year_lines(year: int, value_of: Callable[[dt.date], int]) -> list[str]:
    """31 rows of a .dat year block, -999 on dates that do not exist."""
    lines = []
    for day in range(1, 32):
        cells = []
        for month in range(1, 13):
            if day <= calendar.monthrange(year, month)[1]:
                cells.append(value_of(dt.date(year, month, day)))
            else:
                cells.append(-999)
        lines.append(dat_line(year, day, cells))
    return lines


def tenths_of(date: dt.date) -> int:
    """A deterministic, varied value in tenths of a degree for a date."""
    return (date.toordinal() * 37) % 400 - 100


def daily_text(entries: list[tuple[dt.date, str]]) -> str:
    """The book layout: 'YYYYMMDD value ' per line, no final newline."""
    return "\n".join(f"{date:%Y%m%d} {value} " for date, value in entries)


def consecutive_days(start: dt.date, values: list[float]) -> list[tuple[dt.date, str]]:
    return [(start + dt.timedelta(days=offset), f"{value:.6f}") for offset, value in enumerate(values)]


# ---------------------------------------------------------------- GISS: happy paths


def test_giss_reads_dates_and_values_and_trims_trailing_sentinels(tmp_path: Path) -> None:
    second_year = giss_months(20.0)[:9] + ["999.90"] * 3
    path = write_bytes(
        tmp_path, "station.csv", giss_text(giss_row(1950, giss_months(-3.0)), giss_row(1951, second_year))
    )
    parsed = parse_giss_csv(path)
    series = parsed.values
    assert parsed.frequency == "MS"
    assert series.index.freqstr == "MS"
    assert parsed.source == path
    assert len(series) == 21
    assert series.index[0] == pd.Timestamp("1950-01-01")
    assert series.index[-1] == pd.Timestamp("1951-09-01")
    assert series.iloc[0] == pytest.approx(-3.0)
    assert series.loc["1950-12-01"] == pytest.approx(8.0)
    assert series.loc["1951-09-01"] == pytest.approx(28.0)
    assert parsed.missing == 3
    assert parsed.filled == 0
    assert not series.isna().any()
    assert (series < 999).all()
    assert series.dtype == np.float64


def test_giss_sentinel_spellings_are_all_missing(tmp_path: Path) -> None:
    months = ["999.9", "999.90", "999.900", *giss_months(1.0)[3:]]
    path = write_bytes(tmp_path, "spell.csv", giss_text(giss_row(2000, months)))
    parsed = parse_giss_csv(path)
    assert parsed.missing == 3
    assert parsed.values.index[0] == pd.Timestamp("2000-04-01")
    assert len(parsed.values) == 9


def test_giss_interior_sentinel_is_interpolated_in_time(tmp_path: Path) -> None:
    months = giss_months(0.0)
    months[2] = "999.90"  # March, between Feb = 1.0 and Apr = 3.0
    path = write_bytes(tmp_path, "gap.csv", giss_text(giss_row(2001, months)))
    parsed = parse_giss_csv(path)
    assert parsed.missing == 1
    assert parsed.filled == 1
    # time-weighted: 28 days from Feb 1 to Mar 1, 59 days from Feb 1 to Apr 1 (2001 is not leap)
    assert parsed.values.loc["2001-03-01"] == pytest.approx(1.0 + 2.0 * 28 / 59)


def test_giss_interior_gap_with_error_policy_names_date_and_line(tmp_path: Path) -> None:
    months = giss_months(0.0)
    months[2] = "999.9"
    path = write_bytes(
        tmp_path, "gap.csv", giss_text(giss_row(2000, giss_months(0.0)), giss_row(2001, months))
    )
    expect_format_error(parse_giss_csv, path, 3, "2001-03-01", "gap_policy", gap_policy="error")


def test_giss_missing_year_row_is_a_gap(tmp_path: Path) -> None:
    path = write_bytes(
        tmp_path, "hole.csv", giss_text(giss_row(1950, giss_months(0.0)), giss_row(1952, giss_months(0.0)))
    )
    parsed = parse_giss_csv(path)
    assert len(parsed.values) == 36
    assert parsed.missing == 12
    assert parsed.filled == 12
    assert parsed.values.loc["1951-01-01"] == pytest.approx(
        11.0 - 11.0 * 31 / 396
    )  # Dec 1950 -> Jan 1952 is 396 days
    # the error points at the row after the hole, where the jump in years shows
    expect_format_error(parse_giss_csv, path, 3, "12 missing", "1951-01-01", gap_policy="error")


def test_giss_gap_longer_than_max_gap_is_not_interpolated(tmp_path: Path) -> None:
    path = write_bytes(
        tmp_path, "hole.csv", giss_text(giss_row(1950, giss_months(0.0)), giss_row(1952, giss_months(0.0)))
    )
    with pytest.raises(GapTooLongError):
        parse_giss_csv(path, max_gap=11)
    expect_format_error(
        parse_giss_csv,
        path,
        3,
        "12 consecutive missing months from 1951-01-01 to 1951-12-01",
        "max_gap (3 months)",
        max_gap=3,
    )
    assert parse_giss_csv(path, max_gap=12).filled == 12  # a gap of exactly max_gap is filled


@pytest.mark.parametrize("max_gap", [0, -1, 2.5, True, "3"])
def test_a_max_gap_that_is_not_a_positive_whole_number_is_rejected(tmp_path: Path, max_gap: object) -> None:
    path = write_bytes(tmp_path, "station.csv", giss_text(giss_row(1950, giss_months(0.0))))
    with pytest.raises(ValueError, match=rf"^max_gap: .*got {max_gap!r}"):
        parse_giss_csv(path, max_gap=max_gap)  # type: ignore[arg-type]


def test_giss_columns_are_found_by_name_in_any_order(tmp_path: Path) -> None:
    header = "metANN, dec ,NOV,OCT,SEP,AUG,JUL,JUN,MAY,APR,MAR,FEB,JAN,Year,Extra"
    months = giss_months(1.0)  # JAN..DEC = 1..12
    row = "9.99," + ",".join(reversed(months)) + ",1999,x"
    path = write_bytes(tmp_path, "other_station.csv", f"{header}\n{row}\n")
    parsed = parse_giss_csv(path)
    assert parsed.values.index[0] == pd.Timestamp("1999-01-01")
    np.testing.assert_allclose(parsed.values.to_numpy(), np.arange(1.0, 13.0))


def test_giss_crlf_and_byte_order_mark_are_accepted(tmp_path: Path) -> None:
    text = giss_text(giss_row(1960, giss_months(2.0))).replace("\n", "\r\n")
    path = write_bytes(tmp_path, "windows.csv", b"\xef\xbb\xbf" + text.encode("utf-8"))
    parsed = parse_giss_csv(path)
    assert len(parsed.values) == 12
    assert parsed.values.iloc[-1] == pytest.approx(13.0)


def test_giss_all_missing_is_an_error(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "void.csv", giss_text(giss_row(1950, ["999.90"] * 12)))
    expect_format_error(parse_giss_csv, path, None, "no valid values")


def test_giss_unknown_gap_policy_is_rejected(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "station.csv", giss_text(giss_row(1950, giss_months(0.0))))
    with pytest.raises(ValueError, match="gap_policy"):
        parse_giss_csv(path, gap_policy="drop")


# ---------------------------------------------------------------- GISS: malformed input

_GOOD_ROW = giss_row(1950, giss_months(0.0))
_GOOD_ROW_2 = giss_row(1951, giss_months(0.0))


def _with_month(month_index: int, text: str, year: int = 1950) -> str:
    months = giss_months(0.0)
    months[month_index] = text
    return giss_row(year, months)


GISS_ERRORS: list[tuple[str, bytes, int, str]] = [
    ("empty", b"", 1, "empty file"),
    ("blank_only", b"\n \n\n", 1, "empty file"),
    ("header_only", (GISS_HEADER + "\n").encode(), 2, "header only"),
    ("no_jan", giss_text(_GOOD_ROW).replace(",JAN,", ",JNA,").encode(), 1, "JAN"),
    ("no_year", giss_text(_GOOD_ROW).replace("YEAR,", "YR,").encode(), 1, "YEAR"),
    ("duplicate_column", giss_text(_GOOD_ROW).replace(",metANN", ",JAN").encode(), 1, "twice"),
    ("truncated", giss_text(_GOOD_ROW, _GOOD_ROW_2[:30]).encode(), 3, "expected 18"),
    ("extra_field", giss_text(_GOOD_ROW + ",7.0").encode(), 2, "found 19"),
    ("non_numeric", giss_text(_with_month(2, "abc")).encode(), 2, "'abc' in column MAR"),
    ("empty_cell", giss_text(_with_month(11, "")).encode(), 2, "column DEC"),
    ("nan_text", giss_text(_with_month(0, "nan")).encode(), 2, "'nan'"),
    ("non_numeric_year", giss_text(_GOOD_ROW.replace("1950", "19x0", 1)).encode(), 2, "YEAR"),
    ("year_out_of_range", giss_text(_GOOD_ROW.replace("1950", "1500", 1)).encode(), 2, "1500"),
    ("implausible", giss_text(_with_month(4, "1000.0")).encode(), 2, "implausible"),
    ("other_sentinel", giss_text(_with_month(4, "9999")).encode(), 2, "implausible"),
    ("non_utf8", giss_text(_GOOD_ROW).encode() + b"1951,\xff\xfe,1\n", 3, "UTF-8"),
    ("duplicate_year", giss_text(_GOOD_ROW, _GOOD_ROW).encode(), 3, "duplicate year 1950"),
    ("decreasing_year", giss_text(_GOOD_ROW_2, _GOOD_ROW).encode(), 3, "not increasing"),
    ("blank_line_inside", giss_text(_GOOD_ROW, "", _GOOD_ROW_2).encode(), 3, "blank line"),
    ("bad_quote", giss_text(_GOOD_ROW, '"1951,' + _GOOD_ROW_2[5:]).encode(), 3, "malformed CSV"),
]


@pytest.mark.parametrize(
    ("content", "line", "fragment"),
    [case[1:] for case in GISS_ERRORS],
    ids=[case[0] for case in GISS_ERRORS],
)
def test_giss_malformed_input_names_file_and_line(
    tmp_path: Path, content: bytes, line: int, fragment: str
) -> None:
    path = write_bytes(tmp_path, "bad_station.csv", content)
    expect_format_error(parse_giss_csv, path, line, fragment)


# ---------------------------------------------------------------- CET .dat: happy paths


def test_cet_dat_reads_daily_values_in_degrees(tmp_path: Path) -> None:
    lines = dat_year_lines(1772, tenths_of) + dat_year_lines(1773, tenths_of)
    path = write_bytes(tmp_path, "cet.dat", "\n".join(lines))
    parsed = parse_cet_dat(path)
    series = parsed.values
    assert parsed.frequency == "D"
    assert series.index.freqstr == "D"
    assert len(series) == 366 + 365
    assert series.index[0] == pd.Timestamp("1772-01-01")
    assert series.index[-1] == pd.Timestamp("1773-12-31")
    assert pd.Timestamp("1772-02-29") in series.index  # 1772 is a leap year
    assert pd.Timestamp("1773-03-01") - pd.Timestamp("1773-02-28") == pd.Timedelta(days=1)
    for date in (dt.date(1772, 1, 1), dt.date(1772, 2, 29), dt.date(1773, 12, 31)):
        assert series.loc[pd.Timestamp(date)] == pytest.approx(tenths_of(date) / 10)
    assert parsed.missing == 0
    assert parsed.filled == 0


def test_cet_dat_trailing_missing_days_are_trimmed_and_counted(tmp_path: Path) -> None:
    def value_of(date: dt.date) -> int:
        return -999 if date >= dt.date(1773, 3, 1) else tenths_of(date)

    path = write_bytes(
        tmp_path, "cet.dat", "\n".join(dat_year_lines(1772, tenths_of) + dat_year_lines(1773, value_of))
    )
    parsed = parse_cet_dat(path)
    assert parsed.values.index[-1] == pd.Timestamp("1773-02-28")
    assert parsed.missing == 306  # Mar..Dec, as in the real file's 2021
    assert parsed.filled == 0


def test_cet_dat_interior_missing_day_is_interpolated_or_reported(tmp_path: Path) -> None:
    def value_of(date: dt.date) -> int:
        return -999 if date == dt.date(1772, 3, 10) else 50

    path = write_bytes(tmp_path, "cet.dat", "\n".join(dat_year_lines(1772, value_of)))
    parsed = parse_cet_dat(path)
    assert parsed.missing == 1
    assert parsed.filled == 1
    assert parsed.values.loc["1772-03-10"] == pytest.approx(5.0)
    expect_format_error(parse_cet_dat, path, 10, "1772-03-10", gap_policy="error")


def test_cet_dat_missing_row_is_a_gap_reported_at_the_next_row(tmp_path: Path) -> None:
    lines = dat_year_lines(1772, tenths_of)
    del lines[14]  # day 15 of every month; day 16 moves up to line 15
    path = write_bytes(tmp_path, "cet.dat", "\n".join(lines))
    parsed = parse_cet_dat(path)
    assert parsed.missing == 12
    assert parsed.filled == 12
    expect_format_error(parse_cet_dat, path, 15, "1772-01-15", gap_policy="error")


def test_cet_dat_cut_mid_year_leaves_gaps_max_gap_refuses(tmp_path: Path) -> None:
    # A .dat file cut after day 9 of its last year: days 10..31 of Jan..Nov are interior gaps (the
    # HadCET incident: 235 days interpolated without a word).
    lines = dat_year_lines(1772, tenths_of) + dat_year_lines(1773, tenths_of)[:9]
    path = write_bytes(tmp_path, "cet.dat", "\n".join(lines))
    assert parse_cet_dat(path).filled == 235  # days 10..end of Jan..Nov 1773
    expect_format_error(
        parse_cet_dat, path, 40, "22 consecutive missing days from 1773-01-10 to 1773-01-31", max_gap=3
    )


# ---------------------------------------------------------------- CET .dat: malformed input


def _dat_with_cell(day: int, month: int, value: int, year: int = 1772) -> str:
    lines = dat_year_lines(year, tenths_of)
    cells = [int(field) for field in lines[day - 1].split()[2:]]
    cells[month - 1] = value
    lines[day - 1] = dat_line(year, day, cells)
    return "\n".join(lines)


_DAT_1772 = dat_year_lines(1772, tenths_of)


def _dat_replace_line(number: int, text: str) -> str:
    lines = list(_DAT_1772)
    lines[number - 1] = text
    return "\n".join(lines)


DAT_ERRORS: list[tuple[str, bytes, int, str]] = [
    ("empty", b"", 1, "empty file"),
    ("feb_30_value", _dat_with_cell(30, 2, 12).encode(), 30, "non-existent date 1772-02-30"),
    ("apr_31_value", _dat_with_cell(31, 4, 0).encode(), 31, "non-existent date 1772-04-31"),
    ("feb_29_non_leap", _dat_with_cell(29, 2, 5, year=1773).encode(), 29, "1773-02-29"),
    ("truncated", _dat_replace_line(5, _DAT_1772[4][:40]).encode(), 5, "expected 14"),
    ("extra_column", _dat_replace_line(6, _DAT_1772[5] + " 7").encode(), 6, "found 15"),
    ("non_numeric", _dat_replace_line(7, _DAT_1772[6].replace(" 1772", " 17x2")).encode(), 7, "'17x2'"),
    (
        "decimal_value",
        _dat_replace_line(8, _DAT_1772[7][:12] + "3.2" + _DAT_1772[7][15:]).encode(),
        8,
        "non-numeric",
    ),
    ("day_zero", _dat_replace_line(3, dat_line(1772, 0, [1] * 12)).encode(), 3, "day 0"),
    ("day_32", _dat_replace_line(3, dat_line(1772, 32, [1] * 12)).encode(), 3, "day 32"),
    ("duplicate_row", _dat_replace_line(4, _DAT_1772[2]).encode(), 4, "duplicate"),
    ("unordered_rows", _dat_replace_line(4, _DAT_1772[1]).encode(), 4, "not increasing"),
    ("blank_line", _dat_replace_line(9, "   ").encode(), 9, "blank line"),
    ("implausible", _dat_with_cell(3, 5, 1500).encode(), 3, "implausible"),
    ("year_out_of_range", "\n".join(dat_year_lines(1600, tenths_of)).encode(), 1, "1600"),
    ("non_utf8", ("\n".join(_DAT_1772[:11]) + "\n").encode() + b"\xe9\xe9\n", 12, "UTF-8"),
]


@pytest.mark.parametrize(
    ("content", "line", "fragment"),
    [case[1:] for case in DAT_ERRORS],
    ids=[case[0] for case in DAT_ERRORS],
)
def test_cet_dat_malformed_input_names_file_and_line(
    tmp_path: Path, content: bytes, line: int, fragment: str
) -> None:
    path = write_bytes(tmp_path, "cetdl.dat", content)
    expect_format_error(parse_cet_dat, path, line, fragment)


# ---------------------------------------------------------------- CET daily lines: happy paths


def test_cet_daily_lines_reads_book_layout(tmp_path: Path) -> None:
    entries = [
        (dt.date(1772, 1, 1), "3.200000"),
        (dt.date(1772, 1, 2), "-11.90000"),
        (dt.date(1772, 1, 3), "20.00000"),
    ]
    path = write_bytes(tmp_path, "tdaily.txt", daily_text(entries))
    assert not path.read_bytes().endswith(b"\n")
    parsed = parse_cet_daily_lines(path)
    assert parsed.frequency == "D"
    assert parsed.values.index.freqstr == "D"
    assert list(parsed.values.index) == [pd.Timestamp(date) for date, _ in entries]
    np.testing.assert_array_equal(parsed.values.to_numpy(), [3.2, -11.9, 20.0])
    assert parsed.missing == 0
    assert parsed.filled == 0


def test_cet_daily_lines_skipped_date_is_a_gap(tmp_path: Path) -> None:
    entries = consecutive_days(dt.date(2000, 2, 27), [1.0, 2.0, 3.0, 4.0])
    del entries[2]  # 2000-02-29, leap day
    path = write_bytes(tmp_path, "tdaily.txt", daily_text(entries))
    parsed = parse_cet_daily_lines(path)
    assert parsed.missing == 1
    assert parsed.filled == 1
    assert parsed.values.loc["2000-02-29"] == pytest.approx(3.0)
    expect_format_error(parse_cet_daily_lines, path, 3, "2000-02-29", gap_policy="error")


def test_cet_daily_lines_max_gap_counts_missing_codes_and_skipped_dates_alike(tmp_path: Path) -> None:
    entries = consecutive_days(dt.date(2000, 1, 1), [1.0, -999.9, -999.9, 4.0, 5.0, 6.0, 7.0])
    del entries[3]  # a skipped date right after two missing codes: one gap of three days
    path = write_bytes(tmp_path, "tdaily.txt", daily_text(entries))
    assert parse_cet_daily_lines(path, max_gap=3).filled == 3
    expect_format_error(
        parse_cet_daily_lines,
        path,
        2,
        "3 consecutive missing days from 2000-01-02 to 2000-01-04",
        "max_gap (2 days)",
        max_gap=2,
    )
    expect_format_error(parse_cet, path, 2, "from 2000-01-02", max_gap=2)


def test_cet_daily_lines_missing_codes_are_missing(tmp_path: Path) -> None:
    entries = consecutive_days(dt.date(1900, 12, 30), [1.0, 2.0, 3.0, 4.0])
    entries[2] = (entries[2][0], "-999.9")
    entries[3] = (entries[3][0], "-999")
    path = write_bytes(tmp_path, "tdaily.txt", daily_text(entries))
    parsed = parse_cet_daily_lines(path)
    assert parsed.values.index[-1] == pd.Timestamp("1900-12-31")
    assert parsed.missing == 2
    assert parsed.filled == 0


def test_cet_daily_lines_accepts_crlf_and_final_newline(tmp_path: Path) -> None:
    text = daily_text(consecutive_days(dt.date(1999, 12, 31), [1.5, 2.5])).replace("\n", "\r\n") + "\r\n"
    path = write_bytes(tmp_path, "tdaily.txt", text)
    parsed = parse_cet_daily_lines(path)
    np.testing.assert_array_equal(parsed.values.to_numpy(), [1.5, 2.5])


# ---------------------------------------------------------------- CET daily lines: malformed input

_DAILY_GOOD = consecutive_days(dt.date(1772, 1, 1), [3.2, 2.0, 2.7, 2.7, 1.5])


def _daily_replace_line(number: int, text: str) -> str:
    lines = daily_text(_DAILY_GOOD).split("\n")
    lines[number - 1] = text
    return "\n".join(lines)


DAILY_ERRORS: list[tuple[str, bytes, int, str]] = [
    ("empty", b"", 1, "empty file"),
    ("three_fields", _daily_replace_line(2, "17720102 2.0 7 ").encode(), 2, "found 3"),
    ("truncated", _daily_replace_line(3, "177201").encode(), 3, "found 1"),
    ("non_numeric", _daily_replace_line(4, "17720104 warm ").encode(), 4, "'warm'"),
    ("short_date", _daily_replace_line(2, "1772012 2.0 ").encode(), 2, "8 digits"),
    ("invalid_day", _daily_replace_line(2, "17720230 2.0 ").encode(), 2, "has no day 30"),
    ("invalid_month", _daily_replace_line(2, "17721301 2.0 ").encode(), 2, "month 13"),
    ("duplicate", _daily_replace_line(3, "17720102 2.0 ").encode(), 3, "duplicate date 1772-01-02"),
    ("unordered", _daily_replace_line(3, "17710105 2.0 ").encode(), 3, "not increasing"),
    ("blank_line", _daily_replace_line(4, "").encode(), 4, "blank line"),
    ("implausible", _daily_replace_line(5, "17720105 1200.5 ").encode(), 5, "implausible"),
    ("year_out_of_range", _daily_replace_line(1, "10001231 2.0 ").encode(), 1, "1000"),
    ("non_utf8", daily_text(_DAILY_GOOD[:2]).encode() + b"\n17720103 2\xb07 ", 3, "UTF-8"),
]


@pytest.mark.parametrize(
    ("content", "line", "fragment"),
    [case[1:] for case in DAILY_ERRORS],
    ids=[case[0] for case in DAILY_ERRORS],
)
def test_cet_daily_lines_malformed_input_names_file_and_line(
    tmp_path: Path, content: bytes, line: int, fragment: str
) -> None:
    path = write_bytes(tmp_path, "tdaily_cet.dat.txt", content)
    expect_format_error(parse_cet_daily_lines, path, line, fragment)


# ---------------------------------------------------------------- CET format sniffing


def test_parse_cet_dispatches_on_layout(tmp_path: Path) -> None:
    dat_path = write_bytes(tmp_path, "a.dat", "\n".join(dat_year_lines(1772, tenths_of)))
    daily_path = write_bytes(tmp_path, "b.txt", daily_text(_DAILY_GOOD))
    assert parse_cet(dat_path).values.equals(parse_cet_dat(dat_path).values)
    assert parse_cet(daily_path).values.equals(parse_cet_daily_lines(daily_path).values)


def test_parse_cet_passes_gap_policy_on(tmp_path: Path) -> None:
    entries = list(_DAILY_GOOD)
    del entries[1]
    path = write_bytes(tmp_path, "b.txt", daily_text(entries))
    assert parse_cet(path).filled == 1
    expect_format_error(parse_cet, path, 2, "1772-01-02", gap_policy="error")


@pytest.mark.parametrize(
    ("content", "line", "fragment"),
    [
        (b"", 1, "empty file"),
        (b"\n\nYEAR JAN FEB\n", 3, "unrecognised CET layout"),
        (b"1772 1 32\n", 1, "3 field(s)"),
        (b"1772-01-01 3.2\n", 1, "unrecognised"),
        (b"\xff\n", 1, "UTF-8"),
    ],
)
def test_parse_cet_rejects_unknown_layouts(tmp_path: Path, content: bytes, line: int, fragment: str) -> None:
    path = write_bytes(tmp_path, "mystery.txt", content)
    expect_format_error(parse_cet, path, line, fragment)


# ---------------------------------------------------------------- property-based round trips


def expected_finish(raw: np.ndarray) -> tuple[int, int, int, int]:
    """(first valid position, last valid position, missing, filled) as finish_series should compute."""
    missing_mask = np.isnan(raw)
    valid = np.flatnonzero(~missing_mask)
    first, last = int(valid[0]), int(valid[-1])
    return first, last, int(missing_mask.sum()), int(missing_mask[first : last + 1].sum())


def check_round_trip(parsed: ParsedSeries, raw: np.ndarray, index: pd.DatetimeIndex) -> None:
    first, last, missing, filled = expected_finish(raw)
    assert parsed.missing == missing
    assert parsed.filled == filled
    assert parsed.values.index.equals(index[first : last + 1])
    trimmed = raw[first : last + 1]
    known = ~np.isnan(trimmed)
    np.testing.assert_array_equal(parsed.values.to_numpy()[known], trimmed[known])
    assert not parsed.values.isna().any()


@PROPERTY_SETTINGS
@given(
    start_year=st.integers(1700, 2250),
    rows=st.lists(
        st.lists(st.one_of(st.none(), st.integers(-4000, 4000)), min_size=12, max_size=12),
        min_size=1,
        max_size=6,
    ),
    sentinel=st.sampled_from(["999.9", "999.90", "999.900"]),
)
def test_giss_round_trip_property(
    tmp_path: Path, start_year: int, rows: list[list[int | None]], sentinel: str
) -> None:
    text_rows = [
        giss_row(start_year + offset, [sentinel if cell is None else f"{cell / 100:.2f}" for cell in row])
        for offset, row in enumerate(rows)
    ]
    path = write_bytes(tmp_path, "prop.csv", giss_text(*text_rows))
    raw = np.array([np.nan if cell is None else float(f"{cell / 100:.2f}") for row in rows for cell in row])
    if np.isnan(raw).all():
        expect_format_error(parse_giss_csv, path, None, "no valid values")
        return
    parsed = parse_giss_csv(path)
    index = pd.date_range(f"{start_year}-01-01", periods=raw.size, freq="MS")
    check_round_trip(parsed, raw, index)


@PROPERTY_SETTINGS
@given(
    start_year=st.integers(1700, 2250),
    n_years=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
    missing_fraction=st.sampled_from([0.0, 0.01, 0.3, 1.0]),
)
def test_cet_dat_round_trip_property(
    tmp_path: Path, start_year: int, n_years: int, seed: int, missing_fraction: float
) -> None:
    random = np.random.RandomState(seed)
    index = pd.date_range(f"{start_year}-01-01", f"{start_year + n_years - 1}-12-31", freq="D")
    tenths = random.randint(-200, 300, size=len(index))
    tenths[random.random_sample(len(index)) < missing_fraction] = -999
    by_date = dict(zip(index.date, tenths.tolist(), strict=True))
    lines = [
        line
        for year in range(start_year, start_year + n_years)
        for line in dat_year_lines(year, by_date.__getitem__)
    ]
    path = write_bytes(tmp_path, "prop.dat", "\n".join(lines))
    raw = np.where(tenths == -999, np.nan, tenths / 10.0)
    if np.isnan(raw).all():
        expect_format_error(parse_cet_dat, path, None, "no valid values")
        return
    check_round_trip(parse_cet_dat(path), raw, index)


@PROPERTY_SETTINGS
@given(
    start=st.dates(min_value=dt.date(1700, 1, 1), max_value=dt.date(2250, 12, 31)),
    cells=st.lists(
        st.one_of(st.integers(-150, 300), st.sampled_from(["skip", "-999.9", "-999"])),
        min_size=1,
        max_size=120,
    ),
    number_format=st.sampled_from(["{:.6f}", "{:.1f}", "{:g}", "{:.5e}"]),
)
def test_cet_daily_lines_round_trip_property(
    tmp_path: Path, start: dt.date, cells: list[int | str], number_format: str
) -> None:
    entries = []
    values: dict[dt.date, float] = {}
    for offset, cell in enumerate(cells):
        date = start + dt.timedelta(days=offset)
        if cell == "skip":
            continue
        text = cell if isinstance(cell, str) else number_format.format(cell / 10)
        entries.append((date, text))
        values[date] = np.nan if isinstance(cell, str) else float(text)
    path = write_bytes(tmp_path, "prop.txt", daily_text(entries))
    if not entries:
        expect_format_error(parse_cet_daily_lines, path, 1, "empty file")
        return
    index = pd.date_range(entries[0][0], entries[-1][0], freq="D")
    raw = np.array([values.get(date, np.nan) for date in index.date])
    if np.isnan(raw).all():
        expect_format_error(parse_cet_daily_lines, path, None, "no valid values")
        return
    parsed = parse_cet_daily_lines(path)
    check_round_trip(parsed, raw, index)
    assert parse_cet(path).values.equals(parsed.values)


# ---------------------------------------------------------------- synthetic series


def test_synthetic_series_matches_the_book() -> None:
    series = make_synthetic_series()
    assert series.dtype == np.float32
    assert series.shape == (1461,)
    np.testing.assert_allclose(series[1000:1003], [109.170746, 106.86935, 102.61668], rtol=0, atol=1e-4)


def test_synthetic_series_is_deterministic_and_seeded() -> None:
    np.testing.assert_array_equal(make_synthetic_series(), make_synthetic_series())
    assert not np.array_equal(make_synthetic_series(seed=1), make_synthetic_series(seed=2))


def test_synthetic_series_without_noise_is_trend_plus_season() -> None:
    series = make_synthetic_series(n_points=10, baseline=1.0, slope=0.5, amplitude=0.0, noise_level=0.0)
    np.testing.assert_allclose(series, 1.0 + 0.5 * np.arange(10), rtol=1e-6)
    assert len(make_synthetic_series(n_points=7)) == 7


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_points": 0}, "n_points"),
        ({"n_points": -5}, "n_points"),
        ({"n_points": 2.5}, "n_points"),
        ({"period": 0}, "period"),
        ({"period": -365}, "period"),
        ({"noise_level": -0.1}, "noise_level"),
        ({"noise_level": float("nan")}, "noise_level"),
    ],
)
def test_synthetic_series_rejects_bad_arguments(kwargs: dict[str, float], name: str) -> None:
    with pytest.raises(ValueError, match=name) as info:
        make_synthetic_series(**kwargs)  # type: ignore[arg-type]
    assert str(next(iter(kwargs.values()))) in str(info.value)


def test_synthetic_csv_round_trips_exactly_as_a_series_without_dates(tmp_path: Path) -> None:
    series = make_synthetic_series(n_points=50, seed=3)
    path = write_synthetic_csv(series, tmp_path / "raw" / "synthetic.csv")
    assert path.read_text(encoding="utf-8").splitlines()[0] == "time,value"
    parsed = read_synthetic(path)
    assert parsed.frequency == "other"
    assert (parsed.missing, parsed.filled, parsed.source) == (0, 0, path)
    assert parsed.values.dtype == np.float64
    np.testing.assert_array_equal(parsed.values.index, np.arange(50))
    np.testing.assert_array_equal(parsed.values.to_numpy().astype(np.float32), series)  # bit for bit
    assert [entry.name for entry in path.parent.iterdir()] == ["synthetic.csv"]  # no temporary left


@pytest.mark.parametrize(
    ("content", "line", "fragment"),
    [
        ("t,value\n0,1.0\n", 1, "expected the header 'time,value'"),
        ("time,value\n", 1, "at least one row"),
        ("time,value\n0,1.0\n2,2.0\n", 3, "time should be 1"),
        ("time,value\n1,1.0\n", 2, "time should be 0"),
        ("time,value\n0,abc\n", None, "not a time,value CSV"),
    ],
)
def test_synthetic_csv_is_read_strictly(
    tmp_path: Path, content: str, line: int | None, fragment: str
) -> None:
    path = write_bytes(tmp_path, "synthetic.csv", content)
    expect_format_error(read_synthetic, path, line, fragment)
