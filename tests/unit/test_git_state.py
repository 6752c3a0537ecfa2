"""What a run records of its checkout: the commit, ``-dirty`` for changed inputs, and their patch."""

from __future__ import annotations

import subprocess
from pathlib import Path

from seqlab.recording import git_commit, git_diff


def _git(root: Path, *arguments: str) -> str:
    return subprocess.run(["git", *arguments], cwd=root, capture_output=True, text=True, check=True).stdout


def test_outputs_do_not_dirty_a_checkout_but_inputs_do(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "config", "user.email", "t@example.org")
    _git(tmp_path, "config", "user.name", "t")
    (tmp_path / "results/giss/evaluate").mkdir(parents=True)
    files = {"params.yaml": "epochs: 60\n", "dvc.lock": "a\n", "results/giss/evaluate/metrics.json": "{}\n"}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "results")
    head = _git(tmp_path, "rev-parse", "HEAD").strip()

    # what `dvc repro` rewrites before the run is recorded: the pipeline's own outputs
    (tmp_path / "dvc.lock").write_text("b\n")
    (tmp_path / "results/giss/evaluate/metrics.json").write_text('{"mae": 1.2}\n')
    assert git_commit(tmp_path) == head
    assert git_diff(tmp_path) == ""

    (tmp_path / "params.yaml").write_text("epochs: 40\n")  # an input: the run is not of HEAD
    assert git_commit(tmp_path) == f"{head}-dirty"
    patch = git_diff(tmp_path)
    assert "+epochs: 40" in patch and "dvc.lock" not in patch and "metrics.json" not in patch
    _git(tmp_path, "checkout", "-q", "--", "params.yaml")
    (tmp_path / "patch").write_text(patch)
    _git(tmp_path, "apply", "patch")  # what `seqlab reproduce` does in its clone
    assert (tmp_path / "params.yaml").read_text() == "epochs: 40\n"


def test_outside_git_the_commit_is_unknown(tmp_path: Path) -> None:
    assert git_commit(tmp_path / "nowhere") == "unknown"
