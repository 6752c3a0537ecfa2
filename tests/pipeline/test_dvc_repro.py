"""`dvc repro` from a clean copy of the repository: real DVC, real data through the mirror."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from seqlab.fileio import sha256_file

REPO = Path(__file__).resolve().parents[2]
MIRROR = Path(os.environ.get("SEQLAB_DATA_MIRROR", REPO.parent / "shared" / "data"))
STAGES = [
    "fetch_imdb",
    "fetch_giss",
    "fetch_cet",
    "generate_synthetic",
    "prepare_imdb",
    "prepare_giss",
    "prepare_cet",
    "prepare_synthetic",
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.pipeline,
    pytest.mark.data,
    pytest.mark.skipif(not (MIRROR / "imdb").is_dir(), reason=f"no data mirror at {MIRROR}"),
]


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise AssertionError(
            f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A clean git repository holding exactly the project's tracked (and new, unignored) files."""
    root = tmp_path_factory.mktemp("clone") / "seqlab"
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    for path in (root / "data" / "raw", root / "data" / "prepared"):
        assert not path.exists(), "the clean copy must not carry data"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "SEQLAB_DATA_MIRROR": str(MIRROR),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
    }
    _run(["git", "init", "-q"], root, env)
    _run(["git", "add", "-A"], root, env)
    _run(["git", "commit", "-q", "-m", "clean copy"], root, env)
    return root, env


def test_repro_runs_every_stage_then_is_clean_and_idempotent(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    first = _run(["dvc", "repro"], root, env)
    for stage in STAGES:
        assert f"Running stage '{stage}'" in first or f"Stage '{stage}' didn't change" in first, first
    assert "Running stage 'prepare_imdb'" in first
    assert "Data and pipelines are up to date." in _run(["dvc", "status"], root, env)

    second = _run(["dvc", "repro"], root, env)
    assert "Running stage" not in second, second
    for stage in STAGES:
        assert f"Stage '{stage}' didn't change, skipping" in second

    lock = json.loads((root / "data" / "sources.lock.json").read_text())
    assert sha256_file(root / "data/raw/giss/station.csv") == lock["giss"]["sha256"]
    manifest = json.loads((root / "data/prepared/cet/manifest.json").read_text())
    assert manifest["series"]["test_period"] == {"first": "1991-01-13", "last": "2020-03-23", "count": 10663}


def test_changing_one_param_reruns_only_its_stage(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    params = root / "params.yaml"
    original = params.read_text()
    try:
        params.write_text(original.replace("window_size: 24", "window_size: 12"))
        status = json.loads(_run(["dvc", "status", "--json"], root, env))
        assert set(status) == {"prepare_giss"}, status
    finally:
        params.write_text(original)
    assert json.loads(_run(["dvc", "status", "--json"], root, env)) == {}


def test_pull_restores_the_exact_snapshot(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    expected = {
        path: sha256_file(path) for path in sorted((root / "data" / "raw").glob("*/*")) if path.is_file()
    }
    assert len(expected) == 4, expected
    _run(["dvc", "push"], root, env)
    shutil.rmtree(root / "data" / "raw")
    shutil.rmtree(root / "data" / "prepared")
    shutil.rmtree(root / ".dvc" / "cache")
    _run(["dvc", "pull"], root, env)
    restored = {
        path: sha256_file(path) for path in sorted((root / "data" / "raw").glob("*/*")) if path.is_file()
    }
    assert restored == expected
    assert (root / "data/prepared/imdb/arrays.npz").is_file()
    assert "Data and pipelines are up to date." in _run(["dvc", "status"], root, env)
