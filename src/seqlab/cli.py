"""The ``seqlab`` command: the same stage functions that ``dvc repro`` and the flows run."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seqlab.config import DATASETS, ConfigError, load_params
from seqlab.data.sources import MIRROR_ENV
from seqlab.paths import ProjectPaths


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _datasets(name: str) -> list[str]:
    return list(DATASETS) if name == "all" else [name]


def build_parser() -> argparse.ArgumentParser:
    """Describe the command line (kept separate so tests can check it without running anything)."""
    parser = argparse.ArgumentParser(
        prog="seqlab",
        description="Reproducible, comparable experiments for sequence models.",
    )
    parser.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one params key, e.g. --param imdb.max_len=100 (repeatable)",
    )
    parser.add_argument("--root", default=".", help="project root holding data/ (default: .)")
    commands = parser.add_subparsers(dest="command", required=True)
    dataset_choices = [*DATASETS, "all"]

    fetch = commands.add_parser(
        "fetch", help="fetch (or generate) raw data into data/raw/DATASET and verify it"
    )
    fetch.add_argument("dataset", choices=dataset_choices)
    fetch.add_argument(
        "--mirror", default=None, help=f"folder or base URL holding DATASET/FILE (default: ${MIRROR_ENV})"
    )
    fetch.add_argument(
        "--update",
        action="store_true",
        help="take a revised upstream file and record its new sha256 in data/sources.lock.json",
    )

    prepare = commands.add_parser(
        "prepare", help="validate raw data and prepare it into data/prepared/DATASET"
    )
    prepare.add_argument("dataset", choices=dataset_choices)

    describe = commands.add_parser(
        "describe", help="summarise a raw dataset (counts, dates, missing, sha256)"
    )
    describe.add_argument("dataset", choices=DATASETS)
    describe.add_argument("--json", action="store_true", help="print JSON instead of a table")
    stage = commands.add_parser(
        "stage", help="run one pipeline stage on the files of the previous one (what dvc.yaml calls)"
    )
    stage.add_argument("name", choices=STAGE_NAMES)
    stage.add_argument("--dataset", required=True, choices=dataset_choices)

    run = commands.add_parser(
        "run", help="run the whole pipeline through Prefect (cached steps are skipped), logging to MLflow"
    )
    run.add_argument("--dataset", default="all", choices=dataset_choices)
    run.add_argument("--profile", default="default", help="params.yaml profile: default, smoke, full, ...")

    schedule = commands.add_parser(
        "schedule", help="serve the pipeline on the cron schedule of params.yaml (pipeline.schedule)"
    )
    schedule.add_argument(
        "--register-only",
        action="store_true",
        help="create/update the scheduled deployment on the Prefect server and exit instead of serving",
    )

    ui = commands.add_parser("ui", help="open the MLflow UI on the project's tracking store")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=5000)
    ui.add_argument("--print-command", action="store_true", help="print the command instead of running it")
    return parser


STAGE_NAMES = ["fetch", "validate", "prepare", "baselines", "tune", "train", "evaluate", "register"]


def _run_stage(name: str, dataset: str, params: Any, paths: ProjectPaths) -> None:
    """Run one stage as ``dvc repro`` does; a failure leaves a FAILED pipeline run in MLflow."""
    from seqlab import experiment, recording, stages

    try:
        if name == "fetch":
            stages.fetch(dataset, params, paths, log=_log)
        elif name == "validate":
            stages.validate(dataset, params, paths, log=_log)
        elif name == "prepare":
            stages.prepare(dataset, params, paths, log=_log)
        elif name == "register":
            recording.record_pipeline(dataset, params, paths, entry_point="dvc", log=_log)
        else:
            experiment.STAGE_FUNCTIONS[name](dataset, params, paths, log=_log)
    except Exception as error:
        if name in experiment.STAGES or name == "register":
            try:
                run_id = recording.record_failure(dataset, params, paths, name, error, entry_point="dvc")
                _log(f"{dataset}: stage {name} failed; MLflow run {run_id} marked FAILED")
            except Exception as tracking_error:  # the stage's own error matters more
                _log(f"{dataset}: could not record the failure in MLflow: {tracking_error}")
        raise


def _flows(paths: ProjectPaths, module: str = "pipeline") -> Any:
    """Import a module of the project's flows/ (orchestration lives beside src/, not in the library)."""
    import importlib

    if not (paths.root / "flows" / "pipeline.py").exists():
        raise FileNotFoundError(
            f"{paths.root / 'flows' / 'pipeline.py'} not found; run from the project root"
        )
    if str(paths.root) not in sys.path:
        sys.path.insert(0, str(paths.root))
    return importlib.import_module(f"flows.{module}")


def _orchestrate(arguments: argparse.Namespace, params: Any, paths: ProjectPaths) -> int:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    pipeline = _flows(paths)
    if arguments.command == "run":
        pipeline.run_pipeline(
            [arguments.dataset],
            profile=arguments.profile,
            overrides=arguments.param,
            root=str(paths.root),
            params_file=str(Path(arguments.params).resolve()),
        )
        return 0
    _flows(paths, "schedule").serve_schedule(
        params, str(paths.root), str(Path(arguments.params).resolve()), register_only=arguments.register_only
    )
    return 0


def ui_command(paths: ProjectPaths, host: str, port: int) -> list[str]:
    """Build the ``mlflow ui`` command line for the project's store (``MLFLOW_TRACKING_URI`` wins)."""
    from seqlab import tracking

    return [
        sys.executable,
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        tracking.tracking_uri(paths.root),
        "--default-artifact-root",
        tracking.artifact_root(paths.root).as_uri(),  # where seqlab puts them for a SQLite store
        "--host",
        host,
        "--port",
        str(port),
    ]


def _ui(arguments: argparse.Namespace, paths: ProjectPaths) -> int:
    from seqlab import tracking

    uri = tracking.tracking_uri(paths.root)
    if uri.startswith(("http://", "https://")):
        print(f"MLFLOW_TRACKING_URI points at a tracking server: open {uri} in a browser")
        return 0
    command = ui_command(paths, arguments.host, arguments.port)
    if arguments.print_command:
        print(" ".join(command))
        return 0
    _log(f"MLflow UI on http://{arguments.host}:{arguments.port} (store {command[5]}); Ctrl-C stops it")
    os.execv(command[0], command)
    return 0  # not reached


def _print_summary(summary: dict[str, Any]) -> None:
    for key, value in summary.items():
        if isinstance(value, dict):
            print(f"{key}:")
            for sub_key, sub_value in value.items():
                print(f"  {sub_key}: {sub_value}")
        else:
            print(f"{key}: {value}")


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit status (errors are reported, not raised)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    arguments = build_parser().parse_args(argv)
    try:
        paths = ProjectPaths.at(arguments.root)
        if arguments.command == "ui":  # needs only the store, not params.yaml
            return _ui(arguments, paths)
        profile = getattr(arguments, "profile", "default")
        params = load_params(arguments.params, arguments.param, profile)
        if arguments.command in ("run", "schedule"):
            return _orchestrate(arguments, params, paths)
        from seqlab import stages

        if arguments.command == "fetch":
            for dataset in _datasets(arguments.dataset):
                stages.fetch(
                    dataset, params, paths, mirror=arguments.mirror, update=arguments.update, log=_log
                )
        elif arguments.command == "prepare":
            for dataset in _datasets(arguments.dataset):
                started = time.perf_counter()
                stages.prepare(dataset, params, paths, log=_log)
                _log(f"{dataset}: prepared in {time.perf_counter() - started:.1f} s")
        elif arguments.command == "stage":
            for dataset in _datasets(arguments.dataset):
                started = time.perf_counter()
                _run_stage(arguments.name, dataset, params, paths)
                _log(f"{dataset}: stage {arguments.name} done in {time.perf_counter() - started:.1f} s")
        elif arguments.command == "describe":
            summary = stages.describe(arguments.dataset, params, paths)
            if arguments.json:
                print(json.dumps(summary, indent=2, ensure_ascii=False))
            else:
                _print_summary(summary)
    except (ConfigError, ValueError, FileNotFoundError, RuntimeError) as error:
        print(f"seqlab: error: {error}", file=sys.stderr)
        return 2 if isinstance(error, ValueError | ConfigError) else 1
    return 0


def main() -> None:
    """Console-script entry point."""
    raise SystemExit(run())


if __name__ == "__main__":
    main()
