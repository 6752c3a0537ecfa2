"""``make bench``: quality, pipeline and speed benchmarks; writes BENCHMARKS.md and benchmarks/results.json.

    python -m benchmarks.run            # the whole protocol (about 1 h 45 min on 2 cores)
    python -m benchmarks.run --quick    # every code path on tiny budgets, into a scratch folder
    python -m benchmarks.run --sections speed   # one part: merged into results.json, the rest kept,
                                                # and the report names the run behind each section

Sections, in order, each measured in this one run on this machine:

1. pipeline: in a fresh copy of the project, ``seqlab run --dataset all`` with the default profile
   (what ``make run`` runs after setup): wall time and peak memory of the process tree; then the same
   command again with nothing changed (every Prefect task cached) and ``dvc repro`` (a no-op after a
   default run): their wall times, and the flow's own time beyond the process start.
2. quality: the protocol of :mod:`benchmarks.quality` (``full`` profile, every model family, seeds).
3. speed: :mod:`benchmarks.speed` (training overhead vs plain Keras, IMDB BiLSTM levers, preparation,
   growth), last, so that its timings run on a machine doing nothing else.
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

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import quality, report  # noqa: E402

WORK = REPO / "benchmarks" / "work"
RESULTS = REPO / "benchmarks" / "results.json"
DOCUMENT = REPO / "BENCHMARKS.md"


def _children_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


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
    before = _children_peak_mb()
    first, _ = _timed(command, workspace, env, workspace.parent / "pipeline-first.log")
    peak = _children_peak_mb()
    rerun, output = _timed(command, workspace, env, workspace.parent / "pipeline-rerun.log")
    cached = len(re.findall(r"cached, skipped", output))
    steps = len(re.findall(r"\[\d/8\]", output))
    result: dict[str, Any] = {
        "command": " ".join(command),
        "first_run_seconds": round(first, 1),
        # ru_maxrss of children is the largest single child: the seqlab process (TensorFlow inside).
        "first_run_peak_rss_mb": round(peak, 1) if peak > before else None,
        "noop_rerun_seconds": round(rerun, 2),
        "noop_rerun_flow_seconds": _flow_seconds(output),
        "noop_rerun_cached_steps": f"{cached}/{steps}",
    }
    if profile == "default":
        dvc_seconds, dvc_output = _timed(
            ["dvc", "repro"], workspace, env, workspace.parent / "dvc-repro-noop.log"
        )
        result["dvc_repro_noop_seconds"] = round(dvc_seconds, 2)
        result["dvc_repro_ran_stages"] = sorted(set(re.findall(r"Running stage '([^']+)'", dvc_output)))
    return result


ALL_DATASETS = ("imdb", "giss", "cet", "synthetic")


def _commit() -> str:
    """The checked-out commit (short hash, '+dirty' with uncommitted changes), or 'unknown'."""
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty=+dirty", "--abbrev=7"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return described.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark sections and write the report."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="tiny budgets into a scratch folder (a smoke test)"
    )
    parser.add_argument("--datasets", default=",".join(ALL_DATASETS))
    parser.add_argument("--sections", default="pipeline,quality,speed")
    parser.add_argument("--work", type=Path, default=WORK, help="scratch folder (default benchmarks/work)")
    parser.add_argument(
        "--results", type=Path, default=None, help="results JSON (default benchmarks/results.json)"
    )
    parser.add_argument("--document", type=Path, default=None, help="report (default BENCHMARKS.md)")
    arguments = parser.parse_args(argv)
    datasets = [name.strip() for name in arguments.datasets.split(",") if name.strip()]
    sections = {name.strip() for name in arguments.sections.split(",") if name.strip()}
    results_path = arguments.results or (arguments.work / "results.json" if arguments.quick else RESULTS)
    document_path = arguments.document or (arguments.work / "BENCHMARKS.md" if arguments.quick else DOCUMENT)

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # Benchmark runs go to the project's own MLflow store (seqlab ui shows them), a quick run to scratch.
    store = (arguments.work if arguments.quick else REPO) / "mlflow.db"
    os.environ.setdefault("MLFLOW_TRACKING_URI", f"sqlite:///{store.resolve()}")
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"

    started = time.perf_counter()
    results: dict[str, Any] = {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "mode": "quick" if arguments.quick else "full",
        "mlflow_tracking_uri": os.environ["MLFLOW_TRACKING_URI"],
        # Taken before anything runs, so the numbers can be traced to the code that measured them.
        "commit": _commit(),
    }
    if arguments.work.exists():
        shutil.rmtree(arguments.work)
    arguments.work.mkdir(parents=True)

    if "pipeline" in sections:
        print("bench: pipeline (seqlab run from a fresh copy, then a no-op rerun) ...", flush=True)
        workspace = quality.make_workspace(arguments.work / "pipeline" / "project")
        subprocess.run(["git", "init", "-q"], cwd=workspace, check=True)
        profile = "smoke" if arguments.quick else "default"
        target = "synthetic" if arguments.quick else "all"
        results["pipeline"] = measure_pipeline(workspace, env, profile, target)
        results["pipeline"]["profile"] = profile

    if "quality" in sections:
        print("bench: quality ...", flush=True)
        workspace = quality.make_workspace(arguments.work / "quality" / "project")
        quality_started = time.perf_counter()
        results["quality"] = quality.run_quality(
            workspace,
            datasets,
            profile="smoke" if arguments.quick else None,
            seeds_override=1 if arguments.quick else None,
            families_limit=2 if arguments.quick else None,
        )
        results["quality_seconds"] = round(time.perf_counter() - quality_started, 1)
        results["quality_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)

    if "speed" in sections:
        print("bench: speed ...", flush=True)
        from benchmarks import speed

        # speed reads the project's prepared IMDB and CET arrays (what `make data` makes)
        _timed(["dvc", "repro", "prepare_imdb", "prepare_cet"], REPO, env, arguments.work / "prepare.log")
        settings = speed.SpeedSettings.quick() if arguments.quick else speed.SpeedSettings.full()
        results["speed_details"] = speed.run_speed_benchmark(settings)

    results["total_seconds"] = round(time.perf_counter() - started, 1)
    partial = not ({"pipeline", "quality", "speed"} <= sections and set(ALL_DATASETS) <= set(datasets))
    if partial and not arguments.quick and results_path.exists():
        # One part rerun (as the README shows): keep the other sections' numbers, say which run made which.
        previous = json.loads(results_path.read_text(encoding="utf-8"))
        order = [name for name in ("pipeline", "quality", "speed") if name in sections]
        results = report.merge_previous(results, previous, order, datasets, results["commit"])
    report.write(results, results_path, document_path, None if arguments.quick else REPO / "README.md")
    print(json.dumps({"results": str(results_path), "document": str(document_path)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
