"""`dvc repro` from a clean copy of the repository: real DVC, real data through the mirror."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from seqlab.fileio import sha256_file
from tests.pipeline.helpers import MIRROR, clean_copy, run_command

DATASETS = ("imdb", "giss", "cet", "synthetic", "mnist")
STAGES = [f"{stage}@{dataset}" for stage in ("fetch", "validate", "prepare") for dataset in DATASETS]
# The data half of the graph (the modelling half is covered in test_entry_points.py on synthetic).
TARGETS = [f"prepare@{dataset}" for dataset in DATASETS]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.pipeline,
    pytest.mark.data,
    pytest.mark.skipif(not (MIRROR / "imdb").is_dir(), reason=f"no data mirror at {MIRROR}"),
]


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    return run_command(command, cwd, env, timeout=600)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A clean git repository holding exactly the project's tracked (and new, unignored) files."""
    return clean_copy(tmp_path_factory.mktemp("clone"))


def test_repro_runs_every_stage_then_is_clean_and_idempotent(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    first = _run(["dvc", "repro", *TARGETS], root, env)
    for stage in STAGES:
        assert f"Running stage '{stage}'" in first or f"Stage '{stage}' didn't change" in first, first
    assert "Running stage 'prepare@imdb'" in first
    assert "Data and pipelines are up to date." in _run(["dvc", "status", "--with-deps", *TARGETS], root, env)

    second = _run(["dvc", "repro", *TARGETS], root, env)
    assert "Running stage" not in second, second
    for stage in STAGES:
        assert f"Stage '{stage}' didn't change, skipping" in second

    lock = json.loads((root / "data" / "sources.lock.json").read_text())
    assert sha256_file(root / "data/raw/giss/USW00024233.csv") == lock["giss"]["USW00024233.csv"]["sha256"]
    manifest = json.loads((root / "data/prepared/cet/manifest.json").read_text())
    assert manifest["series"]["test_period"] == {"first": "1991-01-13", "last": "2020-03-23", "count": 10663}


def test_changing_one_param_reruns_only_its_stage(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    params = root / "params.yaml"
    original = params.read_text()
    try:
        raw = yaml.safe_load(original)
        raw["defaults"]["giss_station"]["prepare"]["window_size"] = 12
        params.write_text(yaml.safe_dump(raw, sort_keys=False))
        status = json.loads(_run(["dvc", "status", "--json", "--with-deps", *TARGETS], root, env))
        assert set(status) == {"prepare@giss"}, status
    finally:
        params.write_text(original)
    assert json.loads(_run(["dvc", "status", "--json", "--with-deps", *TARGETS], root, env)) == {}


def test_pull_restores_the_exact_snapshot(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    expected = {
        path: sha256_file(path) for path in sorted((root / "data" / "raw").glob("*/*")) if path.is_file()
    }
    assert len(expected) == 6, expected  # one file each, and MNIST's two test-set files
    _run(["dvc", "push", "--with-deps", *TARGETS], root, env)
    shutil.rmtree(root / "data" / "raw")
    shutil.rmtree(root / "data" / "prepared")
    shutil.rmtree(root / ".dvc" / "cache")
    _run(["dvc", "pull", "--with-deps", *TARGETS], root, env)
    restored = {
        path: sha256_file(path) for path in sorted((root / "data" / "raw").glob("*/*")) if path.is_file()
    }
    assert restored == expected
    assert (root / "data/prepared/imdb/arrays.npz").is_file()
    assert "Data and pipelines are up to date." in _run(["dvc", "status", "--with-deps", *TARGETS], root, env)
