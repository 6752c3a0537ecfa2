"""A series kind end to end through the registry: max_gap names the dataset, fetch counts records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from seqlab.config import load_raw, resolve
from seqlab.datasets import DatasetConfig
from seqlab.errors import GapTooLongError, SourceShrankError
from seqlab.paths import ProjectPaths
from seqlab.stages import data

REPO_PARAMS = Path(__file__).resolve().parents[2] / "params.yaml"
DAYS = [f"2000-01-{day:02d}" for day in range(1, 29)]


def user_series(tmp_path: Path, rows: list[str], **source: Any) -> tuple[DatasetConfig, ProjectPaths]:
    """A ``csv_series`` dataset ``mine`` on the repo's defaults, reading tmp_path/series.csv."""
    (tmp_path / "series.csv").write_text("\n".join(["date,value", *rows]) + "\n", encoding="utf-8")
    raw = load_raw(REPO_PARAMS)
    entry = {"kind": "csv_series", "path": "series.csv", "date_column": "date", "value_column": "value"}
    raw["datasets"]["mine"] = {"source": {**entry, "frequency": "daily", **source}, "test_size": 5}
    return resolve(raw).dataset("mine"), ProjectPaths.at(tmp_path)


def test_the_kinds_default_max_gap_fills_short_gaps_and_refuses_long_ones(tmp_path: Path) -> None:
    short = [f"{day},{index}" for index, day in enumerate(DAYS) if index not in (3, 4, 5)]
    dataset, paths = user_series(tmp_path, short)
    assert dataset.source.max_gap == 3  # defaults.csv_series.source.max_gap
    data.fetch(dataset, paths, log=lambda _line: None)
    assert dataset.kind.read(dataset, paths.raw_dir("mine")).filled == 3

    long = [f"{day},{index}" for index, day in enumerate(DAYS) if index not in (3, 4, 5, 6)]
    dataset, paths = user_series(tmp_path, long)
    data.fetch(dataset, paths, update=True, allow_shrink=True, log=lambda _line: None)  # one value fewer
    with pytest.raises(GapTooLongError) as caught:
        dataset.kind.read(dataset, paths.raw_dir("mine"))
    message = str(caught.value)
    assert message.startswith(f"{paths.raw_dir('mine') / 'series.csv'}, line 5: dataset mine ")
    for fragment in ("datasets.mine.source.max_gap", "defaults.csv_series.source.max_gap", "4 consecutive"):
        assert fragment in message
    assert "from 2000-01-04 to 2000-01-07" in message

    dataset, paths = user_series(tmp_path, long, max_gap=None)  # null: no limit
    assert dataset.kind.read(dataset, paths.raw_dir("mine")).filled == 4


def test_fetch_records_the_count_and_update_refuses_a_shorter_file(tmp_path: Path) -> None:
    rows = [f"{day},{index}" for index, day in enumerate(DAYS)]
    dataset, paths = user_series(tmp_path, rows)
    data.fetch(dataset, paths, log=lambda _line: None)
    assert json.loads(paths.lock.read_text())["mine"]["series.csv"]["records"] == 28

    dataset, paths = user_series(tmp_path, rows[:20])  # the user's file, cut short
    lock_before = paths.lock.read_bytes()
    with pytest.raises(
        SourceShrankError, match=r"mine: the revised series.csv .* 20 records, fewer than the 28"
    ):
        data.fetch(dataset, paths, update=True, log=lambda _line: None)
    assert paths.lock.read_bytes() == lock_before
    assert len((paths.raw_dir("mine") / "series.csv").read_text().splitlines()) == 29

    data.fetch(dataset, paths, update=True, allow_shrink=True, log=lambda _line: None)
    assert json.loads(paths.lock.read_text())["mine"]["series.csv"]["records"] == 20


def test_the_fetch_command_takes_allow_shrink(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from seqlab import cli

    rows = [f"{day},{index}" for index, day in enumerate(DAYS)]
    dataset, paths = user_series(tmp_path, rows)
    raw = load_raw(REPO_PARAMS)
    raw["datasets"]["mine"] = dataset.model_dump(mode="json", include={"source", "test_size"})
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    command = ["--params", str(params_file), "--root", str(tmp_path), "fetch", "mine"]
    assert cli.run(command) == 0

    user_series(tmp_path, rows[:20])
    assert cli.run([*command, "--update"]) == 2
    error = capsys.readouterr().err
    assert "seqlab: error: mine: the revised series.csv" in error and "--allow-shrink" in error
    assert cli.run([*command, "--update", "--allow-shrink"]) == 0
    assert json.loads(paths.lock.read_text())["mine"]["series.csv"]["records"] == 20
