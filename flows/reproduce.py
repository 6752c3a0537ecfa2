"""``seqlab reproduce RUN_ID``: rerun a recorded pipeline from its commit, params and data, and compare.

A pipeline's parent run records what made it: the git commit, the profile and ``--param``
overrides, the entry point (``dvc`` or ``prefect``), the DVC hashes of its raw and prepared data and
the hash of dvc.lock. Reproducing it:

1. clones the project at that commit into a fresh folder (``git clone --shared``: no copy of the
   history), whose DVC cache is the project's own, and applies the uncommitted changes the run was
   made with (``-dirty``: the patch recorded as its ``source.diff``, e.g. an edited params.yaml);
2. pulls the data when that commit's dvc.lock records the very hashes the run used (a checkout from
   the shared cache, or a download from the remote); otherwise the rerun rebuilds it (fetch verifies
   the raw files against data/sources.lock.json);
3. reruns the pipeline there with that commit's code, through the run's own entry point: ``dvc repro
   --no-run-cache`` (DVC would otherwise restore the outputs from its run cache rather than train) or
   ``seqlab run`` with the same profile and overrides;
4. compares the new run's test metrics and data hashes with the recorded ones, and tags both runs.

The clone is removed afterwards unless ``keep``. Orchestration, so it lives in flows/ (it drives git,
DVC and the seqlab command); MLflow is reached through :mod:`seqlab.tracking`.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from seqlab.recording import SOURCE_DIFF
from seqlab.tracking import Tracker

# Two floats "match" when they agree to this relative difference: a rerun on the same machine and
# stack gives the same numbers; a different CPU or BLAS build may move the last digits.
DEFAULT_TOLERANCE = 1e-9
DATA_TAG_PREFIX = "seqlab.dvc."


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 24 * 3600) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(
            f"`{' '.join(command)}` failed in {cwd}:\n{result.stdout[-4000:]}{result.stderr[-4000:]}"
        )
    return result.stdout + result.stderr


def _dvc() -> str:
    return shutil.which("dvc") or str(Path(sys.executable).with_name("dvc"))


def recorded(tracker: Tracker, run_id: str) -> dict[str, Any]:
    """What the run recorded that a reproduction needs, with errors that say what is missing."""
    run = tracker.run_record(run_id)
    tags = run["tags"]
    if tags.get("seqlab.kind") != "pipeline":
        raise ValueError(
            f"run {run_id} is a {tags.get('seqlab.kind', 'non-seqlab')} run, not a pipeline's parent run: "
            "pass the id of the run named '<dataset> pipeline (<profile>)'"
        )
    commit = tags.get("seqlab.git_commit", "unknown")
    if commit == "unknown":
        raise ValueError(
            f"run {run_id} was made outside a git checkout: its code cannot be checked out again"
        )
    changes = None
    if commit.endswith("-dirty"):
        changes = tracker.read_text_artifact(run_id, SOURCE_DIFF)
        if changes is None:
            raise ValueError(
                f"run {run_id} was made from uncommitted changes (seqlab.git_commit = {commit}) that it did "
                f"not record ({SOURCE_DIFF}): its code cannot be checked out again"
            )
    if run["status"] != "FINISHED":
        raise ValueError(f"run {run_id} is {run['status']}: only a finished run has metrics to reproduce")
    return {
        "run": run,
        "dataset": tags["seqlab.dataset"],
        "commit": commit.removesuffix("-dirty"),
        "changes": changes,
        "profile": tags.get("seqlab.profile", "default"),
        "overrides": json.loads(tags.get("seqlab.overrides", "[]")),
        "entry_point": tags.get("seqlab.entry_point", "prefect"),
        "data": {
            key.removeprefix(DATA_TAG_PREFIX): value
            for key, value in tags.items()
            if key.startswith(DATA_TAG_PREFIX)
        },
    }


def _locked_data(folder: Path) -> dict[str, str]:
    """Output path → md5 that the clone's dvc.lock records (empty without one)."""
    lock = folder / "dvc.lock"
    if not lock.exists():
        return {}
    stages = (yaml.safe_load(lock.read_text(encoding="utf-8")) or {}).get("stages") or {}
    return {
        str(out["path"]): str(out["md5"])
        for stage in stages.values()
        for out in stage.get("outs") or []
        if out.get("md5")
    }


def _prepare_clone(root: Path, folder: Path, commit: str, changes: str | None) -> None:
    _run(["git", "clone", "--quiet", "--shared", "--no-checkout", str(root), str(folder)], root)
    _run(["git", "checkout", "--quiet", "--detach", commit], folder)
    if changes:
        patch = folder / ".git" / SOURCE_DIFF
        patch.write_text(changes, encoding="utf-8")
        _run(["git", "apply", "--binary", str(patch)], folder)
    if (folder / ".dvc").is_dir():
        # The project's objects (and its run's data) without copying them; its local remote settings.
        _run([_dvc(), "cache", "dir", "--local", str(root / ".dvc" / "cache")], folder)
        local_config = root / ".dvc" / "config.local"
        if local_config.exists():
            shutil.copy2(local_config, folder / ".dvc" / "config.local")


def _environment(root: Path, folder: Path, tracker: Tracker) -> dict[str, str]:
    """The clone's own code and Prefect home, the project's MLflow store and data mirror."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(folder / "src"), str(folder), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    env["MLFLOW_TRACKING_URI"] = tracker.uri
    env["PREFECT_HOME"] = str(folder / ".prefect")
    env.pop("PREFECT_API_URL", None)  # a temporary server in the clone, never the project's stack
    return env


def compare(original: dict[str, float], again: dict[str, float], tolerance: float) -> dict[str, Any]:
    """Each recorded metric beside its reproduction: values, relative difference, whether they match."""
    rows = {}
    for name in sorted(original):
        old, new = original[name], again.get(name, math.nan)
        difference = abs(new - old) / max(abs(old), 1e-300) if math.isfinite(new) else math.inf
        rows[name] = {
            "recorded": old,
            "reproduced": new,
            "relative_difference": difference,
            "match": bool(difference <= tolerance),
        }
    return rows


def reproduce(
    root: str | Path,
    run_id: str,
    workdir: str | Path | None = None,
    keep: bool = False,
    tolerance: float = DEFAULT_TOLERANCE,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Reproduce pipeline run ``run_id`` (see the module docstring); return the comparison."""
    root = Path(root).resolve()
    tracker = Tracker(root)
    what = recorded(tracker, run_id)
    dataset, commit = what["dataset"], what["commit"]
    folder = (
        Path(workdir).resolve()
        if workdir
        else Path(tempfile.mkdtemp(prefix=f"seqlab-reproduce-{run_id[:8]}-"))
    )
    if workdir and folder.exists() and any(folder.iterdir()):
        raise ValueError(f"{folder}: not empty; reproduce needs a fresh folder")
    folder.mkdir(parents=True, exist_ok=True)
    changed = (
        f" + its uncommitted changes ({len(what['changes'].splitlines())} diff lines)"
        if what["changes"]
        else ""
    )
    log(
        f"reproducing run {run_id} ({dataset}, {what['entry_point']}, profile {what['profile']}, "
        f"overrides {what['overrides'] or 'none'}) at commit {commit[:12]}{changed} in {folder}"
    )
    try:
        _prepare_clone(root, folder, commit, what["changes"])
        env = _environment(root, folder, tracker)
        data_source = _pull_data(folder, dataset, what["data"], env, log)
        started_ms = int(time.time() * 1000)
        _rerun(folder, what, env, log)
        runs = tracker.pipeline_runs_since(what["run"]["experiment_id"], dataset, started_ms)
        if not runs:
            raise RuntimeError(
                f"the rerun in {folder} recorded no pipeline run of {dataset} in {tracker.uri}"
            )
        again = runs[0]
        metrics = compare(what["run"]["metrics"], again["metrics"], tolerance)
        data = {
            path: {
                "recorded": digest,
                "reproduced": again["tags"].get(f"{DATA_TAG_PREFIX}{path}", "not recorded"),
            }
            for path, digest in what["data"].items()
        }
        for row in data.values():
            row["match"] = row["recorded"] == row["reproduced"]
        matches = all(row["match"] for row in metrics.values()) and all(row["match"] for row in data.values())
        tracker.set_tags(
            again["run_id"],
            {"seqlab.reproduces": run_id, "seqlab.reproduction_matches": str(matches).lower()},
        )
        tracker.set_tags(
            run_id,
            {"seqlab.reproduced_by": again["run_id"], "seqlab.reproduction_matches": str(matches).lower()},
        )
        return {
            "run_id": run_id,
            "reproduction_run_id": again["run_id"],
            "dataset": dataset,
            "commit": commit + ("-dirty" if what["changes"] else ""),
            "entry_point": what["entry_point"],
            "data_source": data_source,
            "metrics": metrics,
            "data": data,
            "matches": matches,
            "folder": str(folder) if keep else None,
        }
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def _pull_data(
    folder: Path, dataset: str, hashes: dict[str, str], env: dict[str, str], log: Callable[[str], None]
) -> str:
    """Check out or download the run's data when the clone's dvc.lock records those very hashes."""
    if not hashes:
        why = "the run recorded no data hashes"
    elif not (folder / "dvc.lock").exists():
        why = "that commit has no dvc.lock"
    elif any(_locked_data(folder).get(path) != digest for path, digest in hashes.items()):
        why = "that commit's dvc.lock records other data"
    else:
        try:
            _run([_dvc(), "pull", "--quiet", f"fetch@{dataset}", f"prepare@{dataset}"], folder, env)
        except RuntimeError as error:
            why = f"pulling it failed: {str(error).splitlines()[-1]}"
        else:
            why = ""
    if why:
        log(f"{dataset}: the rerun rebuilds the data ({why})")
        return f"rebuilt: {why}"
    pulled = ", ".join(f"{path} {digest}" for path, digest in hashes.items())
    log(f"{dataset}: pulled the run's data ({pulled})")
    return "pulled"


def _rerun(folder: Path, what: dict[str, Any], env: dict[str, str], log: Callable[[str], None]) -> None:
    dataset = what["dataset"]
    if what["entry_point"] == "dvc":
        command = [_dvc(), "repro", "--no-run-cache", f"register@{dataset}"]
    else:
        command = [
            sys.executable,
            "-m",
            "seqlab.cli",
            "--root",
            str(folder),
            "run",
            "--dataset",
            dataset,
            "--profile",
            what["profile"],
        ]
        for override in what["overrides"]:
            command += ["--param", override]
    log(f"{dataset}: {' '.join(command)}")
    started = time.perf_counter()
    _run(command, folder, env)
    log(f"{dataset}: rerun finished in {time.perf_counter() - started:.0f} s")
