"""A team sharing one DVC remote (README, "Working as a team"), as teammates would run it.

Clone A runs the synthetic pipeline with `dvc repro`, commits dvc.lock and the small results files,
pushes to a shared-folder remote; a fresh clone B pulls and finds nothing to do; a params change in
A reaches B as a metrics, params and plots diff; a tampered object in the remote is refused; an
interrupted `dvc repro` of tune resumes its search. Real git, real DVC, real training (smoke budgets).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.pipeline.helpers import bake_profile, clean_copy, run_command

pytestmark = [pytest.mark.slow, pytest.mark.pipeline]


def _sh(command: list[str], cwd: Path, env: dict[str, str], stdout_only: bool = False) -> str:
    return run_command(command, cwd, env, timeout=900, stdout_only=stdout_only)


def _json(command: list[str], cwd: Path, env: dict[str, str]) -> object:
    return json.loads(_sh(command, cwd, env, stdout_only=True))


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, dict[str, str]]]:
    """Clone A (the smoke budgets committed, the README's remote set up) and the shared remote folder."""
    parent = tmp_path_factory.mktemp("team")
    root, env = clean_copy(parent)
    bake_profile(root / "params.yaml", "smoke", "synthetic")
    _only_synthetic(root / "params.yaml")  # the team's project: every command runs without targets
    remote = parent / "shared-remote"
    # The README's commands: a shared folder as the default remote, verified on download.
    _sh(["dvc", "remote", "add", "-d", "team", str(remote)], root, env)
    _sh(["dvc", "remote", "modify", "team", "verify", "true"], root, env)
    _sh(["git", "commit", "-qam", "smoke budgets, shared remote"], root, env)
    yield root, remote, env


def _only_synthetic(params_file: Path) -> None:
    raw = yaml.safe_load(params_file.read_text())
    raw["datasets"] = {"synthetic": raw["datasets"]["synthetic"]}
    raw["pipeline"]["schedule"]["datasets"] = ["synthetic"]
    params_file.write_text(yaml.safe_dump(raw, sort_keys=False))


def _share(root: Path, env: dict[str, str], message: str) -> None:
    """What `seqlab` prints after a run of params.yaml itself, then `dvc push`."""
    _sh(["git", "add", "dvc.lock", "results"], root, env)
    _sh(["git", "commit", "-qam", message], root, env)
    _sh(["dvc", "push"], root, env)


def test_a_teammate_pulls_reproduces_nothing_and_diffs(
    team: tuple[Path, Path, dict[str, str]], tmp_path: Path
) -> None:
    a, _remote, env = team
    ran = _sh(["dvc", "repro"], a, env)
    assert "to share these results: git add dvc.lock results" in ran
    _share(a, env, "synthetic results")
    committed = set(_sh(["git", "ls-files", "results"], a, env).split())
    assert "results/synthetic/evaluate/metrics.json" in committed
    assert not any("/train/" in name or "/tune/" in name or name.endswith(".npz") for name in committed)
    assert _sh(["git", "status", "--porcelain"], a, env) == ""  # everything else is ignored or pushed

    b = tmp_path / "b"
    _sh(["git", "clone", "-q", str(a), str(b)], tmp_path, env)
    assert not (b / "data/raw/synthetic").exists()
    _sh(["dvc", "pull"], b, env)
    assert "Data and pipelines are up to date." in _sh(["dvc", "status"], b, env)
    assert "Running stage" not in _sh(["dvc", "repro"], b, env)
    shown = _json(["dvc", "metrics", "show", "--json"], b, env)
    assert shown[""]["data"]["results/synthetic/evaluate/metrics.json"]["data"]["mae"] > 0  # type: ignore[index]

    # A changes a training key, reruns, shares; B sees the change as diffs.
    params = yaml.safe_load((a / "params.yaml").read_text())
    params["defaults"]["synthetic"]["training"]["epochs"] += 2
    (a / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    rerun = _sh(["dvc", "repro"], a, env)
    assert "Running stage 'train@synthetic'" in rerun and "Running stage 'tune@synthetic'" not in rerun
    _share(a, env, "three more epochs")

    _sh(["git", "pull", "-q"], b, env)
    _sh(["dvc", "pull"], b, env)
    assert "Data and pipelines are up to date." in _sh(["dvc", "status"], b, env)
    params_diff = _json(["dvc", "params", "diff", "HEAD~1", "--json"], b, env)
    (changed,) = params_diff["params.yaml"]  # type: ignore[index]
    assert changed == "defaults.synthetic.training.epochs"
    metrics_diff = _json(["dvc", "metrics", "diff", "HEAD~1", "--json"], b, env)
    rows = metrics_diff["results/synthetic/evaluate/metrics.json"]  # type: ignore[index]
    assert set(rows) <= {"mae", "mae_baseline", "mae_combined", "dm_p_value", "skill", "best_epoch"}
    assert rows["mae"]["old"] != rows["mae"]["new"], rows  # the number that moved
    assert "mae_baseline" not in rows  # the baselines did not rerun: same number, not shown
    # `dvc plots diff` draws both commits: every row of each plot carries its revision.
    plots = _json(["dvc", "plots", "diff", "HEAD~1", "--json"], b, env)
    for name in (
        "results/synthetic/evaluate/learning_curves.csv",
        "results/synthetic/evaluate/charts/forecast.csv",
    ):
        (plot,) = plots["data"][name]  # type: ignore[index]
        assert set(plot["revisions"]) == {"HEAD~1", "workspace"}, plot["revisions"]


def test_a_tampered_object_in_the_remote_is_refused(
    team: tuple[Path, Path, dict[str, str]], tmp_path: Path
) -> None:
    a, remote, env = team
    if not (a / "dvc.lock").exists():
        _sh(["dvc", "repro"], a, env)
        _share(a, env, "synthetic results")
    lock = yaml.safe_load((a / "dvc.lock").read_text())
    (entry,) = lock["stages"]["baselines@synthetic"]["outs"][:1]
    assert entry["path"].endswith("predictions.npz")
    digest = entry["md5"]
    stored = remote / "files" / "md5" / digest[:2] / digest[2:]
    assert stored.is_file(), stored
    stored.chmod(0o644)
    stored.write_bytes(b"not the predictions")
    stored.chmod(0o444)  # as DVC leaves it: not rehashed for that reason alone

    c = tmp_path / "c"
    _sh(["git", "clone", "-q", str(a), str(c)], tmp_path, env)
    pulled = subprocess.run(["dvc", "pull"], cwd=c, env=env, capture_output=True, text=True, timeout=600)
    assert pulled.returncode != 0, pulled.stdout + pulled.stderr
    assert "results/synthetic/baselines/predictions.npz" in pulled.stderr + pulled.stdout
    assert not (c / "results/synthetic/baselines/predictions.npz").exists()  # never checked out
    assert (c / "data/raw/synthetic/synthetic.csv").is_file()  # the intact objects are
    status = subprocess.run(["dvc", "status", "-q"], cwd=c, env=env, timeout=600)
    assert status.returncode != 0


def _completed_trials(folder: Path) -> dict[str, int]:
    found = {}
    for trial in folder.glob("tuner/*/trial_*/trial.json"):
        try:
            record = json.loads(trial.read_text())
        except ValueError:  # being written
            continue
        if record.get("status") == "COMPLETED" and (trial.parent / "checkpoint.weights.h5").exists():
            found[trial.parent.name] = (trial.parent / "checkpoint.weights.h5").stat().st_mtime_ns
    return found


def test_an_interrupted_tune_under_dvc_repro_resumes_its_search(tmp_path: Path) -> None:
    root, env = clean_copy(tmp_path)
    bake_profile(root / "params.yaml", "smoke", "synthetic")
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["defaults"]["synthetic"]["tuning"]["max_trials"] = 8
    params["defaults"]["synthetic"]["tuning"]["epochs"] = 6
    params["defaults"]["synthetic"]["tuning"]["space"]["units"] = {"values": [8, 16, 32, 64]}
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    _sh(["dvc", "repro", "prepare@synthetic"], root, env)

    partial = root / "results/synthetic/.tune.partial"
    log = (tmp_path / "interrupted.log").open("w")
    process = subprocess.Popen(
        ["dvc", "repro", "tune@synthetic"],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 600
    while not _completed_trials(partial) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert process.poll() is None, (tmp_path / "interrupted.log").read_text()  # still searching
    # What Ctrl-C sends to the terminal's process group. Python may swallow the KeyboardInterrupt (in
    # a weakref callback); `seqlab stage` then stops at the next batch (seqlab.training.INTERRUPTED).
    os.killpg(process.pid, signal.SIGINT)
    process.wait(timeout=300)
    assert process.returncode != 0
    finished = _completed_trials(partial)
    assert 1 <= len(finished) < 8, sorted(finished)
    assert not (root / "results/synthetic/tune").exists()  # whole or absent

    _sh(["dvc", "repro", "tune@synthetic"], root, env)
    result = json.loads((root / "results/synthetic/tune/trials.json").read_text())
    assert sum(trial["status"] == "COMPLETED" for trial in result["trials"]) == 8
    tuner = root / "results/synthetic/tune"
    for trial, written in finished.items():  # the finished trials were kept, not trained again
        (saved,) = tuner.glob(f"tuner/*/{trial}/checkpoint.weights.h5")
        assert saved.stat().st_mtime_ns == written, trial
    assert not partial.exists()
    assert "Data and pipelines are up to date." in _sh(["dvc", "status", "tune@synthetic"], root, env)
