"""``make bench``: pipeline, quality and speed benchmarks into benchmarks/results.json and BENCHMARKS.md.

    python -m benchmarks.run            # every part (about 2 h on 2 cores)
    python -m benchmarks.run --quick    # every code path on tiny budgets, into a scratch folder
    python -m benchmarks.run --sections speed   # some parts: merged into results.json, the rest kept

1. pipeline: in a fresh copy, ``seqlab run --dataset all`` (what ``make run`` runs): wall time and peak
   memory; then the same again with nothing changed (every task cached) and ``dvc repro`` (a no-op).
2. quality: :mod:`benchmarks.quality` over every dataset of the registry.
3. speed: :mod:`benchmarks.speed`, last, so that its timings run on a machine doing nothing else.

Each part records the run that measured it (commit, start, seconds); see :mod:`benchmarks.report`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import quality, report
from seqlab.config import load_params
from seqlab.paths import ProjectPaths

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "benchmarks" / "work"
RESULTS = REPO / "benchmarks" / "results.json"
REPORT = REPO / "BENCHMARKS.md"


def _timed(command: list[str], cwd: Path, env: dict[str, str], log_file: Path) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    log_file.write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}); see {log_file}")
    return seconds, result.stdout + result.stderr


def _flow_seconds(output: str) -> float | None:
    """Time between the flow's first and last log line (the work beyond process and server start)."""
    stamps = re.findall(r"^(\d\d:\d\d:\d\d\.\d+) \| INFO\s+\| Flow run", output, flags=re.MULTILINE)
    if len(stamps) < 2:
        return None
    first, last = (dt.datetime.strptime(stamp, "%H:%M:%S.%f") for stamp in (stamps[0], stamps[-1]))
    return round((last - first).total_seconds() % 86400, 2)


def measure_pipeline(workspace: Path, env: dict[str, str], profile: str, datasets: str) -> dict[str, Any]:
    """``seqlab run`` from a fresh copy, then the same again and ``dvc repro`` with nothing changed."""
    env = {**env, "PREFECT_HOME": str(workspace / ".prefect")}
    command = ["seqlab", "run", "--dataset", datasets, "--profile", profile]
    # ru_maxrss of children is the largest single child: the seqlab process (TensorFlow inside).
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    first, _ = _timed(command, workspace, env, workspace.parent / "pipeline-first.log")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    paths = ProjectPaths.at(workspace)
    registered = {
        name: quality.registered_record(paths, name)
        for name in load_params(workspace / "params.yaml").select([datasets])
    }
    rerun, output = _timed(command, workspace, env, workspace.parent / "pipeline-rerun.log")
    cached = len(re.findall(r"cached, skipped", output))
    steps = len(re.findall(r"\[\d+/\d+\]", output))
    result: dict[str, Any] = {
        "command": " ".join(command),
        "profile": profile,
        "first_run_seconds": round(first, 1),
        "first_run_peak_rss_mb": round(peak, 1) if peak > before else None,
        "noop_rerun_seconds": round(rerun, 2),
        "noop_rerun_flow_seconds": _flow_seconds(output),
        "noop_rerun_cached_steps": f"{cached}/{steps}",
        "registered": registered,  # per dataset: what the first run registered (issue 25's targets)
    }
    if profile == "default":
        dvc_seconds, _ = _timed(["dvc", "repro"], workspace, env, workspace.parent / "dvc-noop.log")
        result["dvc_repro_noop_seconds"] = round(dvc_seconds, 2)
    return result


def _commit() -> str:
    """The checked-out commit (short hash, '+dirty' with uncommitted changes), or 'unknown'."""
    command = ["git", "describe", "--always", "--dirty=+dirty", "--abbrev=7"]
    described = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    return described.stdout.strip() if described.returncode == 0 else "unknown"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark sections and write the report."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny budgets, into a scratch folder")
    parser.add_argument("--datasets", default="all", help="comma-separated datasets of params.yaml, or all")
    parser.add_argument("--sections", default="pipeline,quality,speed", help="comma-separated, in that order")
    parser.add_argument("--work", type=Path, default=WORK, help="scratch folder (default benchmarks/work)")
    arguments = parser.parse_args(argv)
    configured = load_params(REPO / "params.yaml")
    datasets = configured.select([name.strip() for name in arguments.datasets.split(",") if name.strip()])
    sections = {name.strip() for name in arguments.sections.split(",") if name.strip()}
    quick, work = arguments.quick, arguments.work
    results_path, document_path = (
        (work / "results.json", work / "BENCHMARKS.md") if quick else (RESULTS, REPORT)
    )

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # Benchmark runs go to the project's own MLflow store (seqlab ui shows them), a quick run to scratch.
    store = (work if quick else REPO) / "mlflow.db"
    store_uri = os.environ.setdefault("MLFLOW_TRACKING_URI", f"sqlite:///{store.resolve()}")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    # Taken before anything runs, so the numbers can be traced to the code that measured them.
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    run: dict[str, Any] = {"commit": _commit(), "started_at": started_at}
    started = time.perf_counter()
    results: dict[str, Any] = {"mode": "quick" if quick else "full", "mlflow_tracking_uri": store_uri}
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)

    if "pipeline" in sections:
        print("bench: pipeline (seqlab run from a fresh copy, then a no-op rerun) ...", flush=True)
        workspace = quality.make_workspace(work / "pipeline" / "project")
        profile = "smoke" if quick else "default"
        results["pipeline"] = measure_pipeline(workspace, env, profile, "synthetic" if quick else "all")
    if "quality" in sections:
        print("bench: quality ...", flush=True)
        workspace = quality.make_workspace(work / "quality" / "project")
        shrink: dict[str, Any] = (
            {"profile": "smoke", "seeds_override": 1, "families_limit": 2} if quick else {}
        )
        results["quality"] = quality.run_quality(workspace, datasets, **shrink)
    if "speed" in sections:
        print("bench: speed ...", flush=True)
        from benchmarks import speed

        # speed reads the project's prepared IMDB and CET arrays (what `make data` makes)
        _timed(["dvc", "repro", "prepare@imdb", "prepare@cet"], REPO, env, work / "prepare.log")
        settings = speed.SpeedSettings.quick() if quick else speed.SpeedSettings.full()
        results["speed_details"] = speed.run_speed_benchmark(settings)

    run["seconds"] = round(time.perf_counter() - started, 1)
    for part in [results.get("pipeline"), results.get("speed_details"), *results.get("quality", {}).values()]:
        if part:
            part["run"] = run
    everything = {"pipeline", "quality", "speed"} <= sections and set(configured.datasets) <= set(datasets)
    if not (everything or quick) and results_path.exists():
        # Some parts rerun (as the README shows): keep the others' numbers, each with the run behind it.
        results = report.merge_previous(results, json.loads(results_path.read_text(encoding="utf-8")))
    report.write(results, results_path, document_path, None if quick else REPO / "README.md")
    print(json.dumps({"results": str(results_path), "document": str(document_path)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
