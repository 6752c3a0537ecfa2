"""The series parsers against the real GISS and CET files in the data mirror (skipped where absent)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqlab.data.cet import parse_cet, parse_cet_daily_lines, parse_cet_dat
from seqlab.data.giss import parse_giss_csv
from seqlab.data.series_common import ParsedSeries

pytestmark = pytest.mark.data

REPO = Path(__file__).resolve().parents[2]
DEFAULT_MIRROR = REPO.parent / "shared" / "data"
GISS_FILE = "giss/USW00024233.csv"  # a station's file is named by its GHCN id (raw: data/raw/giss/)
GISS_BOOK_FILE = "giss/seatac_station.csv"  # the same bytes under the book's name (a mirror alias)
CET_DAT_FILE = "cet/cetdl1772on.dat"
CET_DAILY_FILE = "cet/tdaily_cet.dat.txt"


def mirror_file(relative: str) -> Path:
    mirror = Path(os.environ.get("SEQLAB_DATA_MIRROR", str(DEFAULT_MIRROR)))
    path = mirror / relative
    if not path.is_file():
        pytest.skip(f"{relative} not in the data mirror {mirror}")
    return path


@pytest.fixture(scope="module")
def giss() -> ParsedSeries:
    return parse_giss_csv(mirror_file(GISS_FILE))


@pytest.fixture(scope="module")
def cet_dat() -> ParsedSeries:
    return parse_cet_dat(mirror_file(CET_DAT_FILE))


@pytest.fixture(scope="module")
def cet_daily() -> ParsedSeries:
    return parse_cet_daily_lines(mirror_file(CET_DAILY_FILE))


@pytest.mark.data
def test_giss_seatac_has_897_months_1950_01_to_2024_09(giss: ParsedSeries) -> None:
    series = giss.values
    assert len(series) == 897
    assert series.index[0] == pd.Timestamp("1950-01-01")
    assert series.index[-1] == pd.Timestamp("2024-09-01")
    assert series.index.freqstr == "MS"
    assert giss.missing == 3
    assert giss.filled == 0
    assert not series.isna().any()
    assert (series < 999).all()


@pytest.mark.data
def test_giss_seatac_book_split_point(giss: ParsedSeries) -> None:
    assert giss.values.index[792] == pd.Timestamp("2016-01-01")
    assert giss.values.iloc[792] == pytest.approx(5.92)
    assert giss.values.iloc[791] == pytest.approx(5.52)
    assert giss.values.iloc[0] == pytest.approx(-3.01)


@pytest.mark.data
def test_giss_seatac_strict_policy_passes(giss: ParsedSeries) -> None:
    strict = parse_giss_csv(mirror_file(GISS_FILE), gap_policy="error")
    assert strict.values.equals(giss.values)


@pytest.mark.data
def test_cet_dat_has_91005_days_to_2021_02_28(cet_dat: ParsedSeries) -> None:
    series = cet_dat.values
    assert len(series) == 91_005
    assert series.index[0] == pd.Timestamp("1772-01-01")
    assert series.index[-1] == pd.Timestamp("2021-02-28")
    assert series.index.freqstr == "D"
    assert cet_dat.missing == 306
    assert cet_dat.filled == 0
    assert not series.isna().any()
    assert (series > -99).all()
    assert series.iloc[0] == pytest.approx(3.2)


@pytest.mark.data
def test_cet_daily_lines_has_91502_days_to_2022_07_10(cet_daily: ParsedSeries) -> None:
    series = cet_daily.values
    assert len(series) == 91_502
    assert series.index[0] == pd.Timestamp("1772-01-01")
    assert series.index[-1] == pd.Timestamp("2022-07-10")
    assert cet_daily.missing == 0
    assert cet_daily.filled == 0
    assert series.min() == pytest.approx(-11.9)
    assert series.max() == pytest.approx(25.2)
    assert series.iloc[80_000 - 1 : 80_001].index[-1] == pd.Timestamp("1991-01-13")


@pytest.mark.data
def test_cet_files_agree_on_every_shared_day(cet_dat: ParsedSeries, cet_daily: ParsedSeries) -> None:
    shared = cet_dat.values.index.intersection(cet_daily.values.index)
    assert len(shared) == 91_005
    dat_tenths = np.rint(cet_dat.values.loc[shared].to_numpy() * 10).astype(np.int64)
    daily_tenths = np.rint(cet_daily.values.loc[shared].to_numpy() * 10).astype(np.int64)
    np.testing.assert_array_equal(dat_tenths, daily_tenths)


@pytest.mark.data
def test_parse_cet_dispatches_on_both_real_files(cet_dat: ParsedSeries, cet_daily: ParsedSeries) -> None:
    assert parse_cet(mirror_file(CET_DAT_FILE)).values.equals(cet_dat.values)
    assert parse_cet(mirror_file(CET_DAILY_FILE)).values.equals(cet_daily.values)


@pytest.mark.data
def test_giss_mirror_alias_is_the_same_file() -> None:
    assert mirror_file(GISS_BOOK_FILE).read_bytes() == mirror_file(GISS_FILE).read_bytes()


@pytest.mark.data
@pytest.mark.parametrize(("dataset", "relative"), [("giss", GISS_FILE), ("cet", CET_DAT_FILE)])
def test_registry_reads_the_repo_datasets_like_the_parsers(dataset: str, relative: str) -> None:
    """Kind.read of params.yaml's dataset, on a folder laid out like data/raw/<dataset>/ (the mirror's)."""
    from seqlab.config import load_params

    path = mirror_file(relative)
    config = load_params(REPO / "params.yaml").dataset(dataset)
    parsed = config.kind.read(config, path.parent)
    expected = parse_giss_csv(path) if dataset == "giss" else parse_cet(path)
    assert parsed.values.equals(expected.values)
    assert (parsed.frequency, parsed.missing) == (expected.frequency, expected.missing)
    assert config.kind.season(config).kind == ("monthly" if dataset == "giss" else "daily")
    with pytest.raises(FileNotFoundError, match=f"run `seqlab fetch {dataset}`"):
        config.kind.read(config, path.parent / "absent")
