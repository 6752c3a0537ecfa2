"""The ``seqlab`` command: the same stage functions that ``dvc repro`` and the flows run.

Orchestration (``seqlab run``, ``seqlab schedule``) is not part of this library: the CLI calls the
callables registered under the entry-point group ``seqlab.orchestration`` (names ``run`` and
``schedule``), which this project's ``flows`` package provides (pyproject.toml). Another
orchestrator can register its own.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from seqlab.config import ALL, ConfigError, Params, load_params
from seqlab.data.sources import MIRROR_ENV
from seqlab.datasets import describe_source
from seqlab.paths import ProjectPaths
from seqlab.stages import STAGES

ORCHESTRATION_GROUP = "seqlab.orchestration"


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


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
        help="override one params key, e.g. --param datasets.imdb.prepare.max_len=100 or "
        "--param defaults.giss_station.training.epochs=5 (repeatable)",
    )
    parser.add_argument("--root", default=".", help="project root holding data/ (default: .)")
    commands = parser.add_subparsers(dest="command", required=True)
    dataset_help = "a dataset of params.yaml (see `seqlab datasets`), or all"

    commands.add_parser(
        "datasets", help="list the configured datasets with their kind and source"
    ).add_argument("--json", action="store_true", help="print JSON instead of a table")
    fetch = commands.add_parser(
        "fetch", help="fetch (or generate) raw data into data/raw/DATASET and verify it"
    )
    fetch.add_argument("dataset", help=dataset_help)
    fetch.add_argument(
        "--mirror", default=None, help=f"folder or base URL holding FOLDER/FILE (default: ${MIRROR_ENV})"
    )
    fetch.add_argument(
        "--update",
        action="store_true",
        help="take a revised upstream file and record its new sha256 in data/sources.lock.json",
    )
    describe = commands.add_parser(
        "describe", help="summarise a raw dataset (counts, dates, missing, sha256)"
    )
    describe.add_argument("dataset", help="a dataset of params.yaml")
    describe.add_argument("--json", action="store_true", help="print JSON instead of a table")
    stage = commands.add_parser(
        "stage", help="run one pipeline stage on the files of the previous one (what dvc.yaml calls)"
    )
    stage.add_argument("name", choices=STAGES)
    stage.add_argument("--dataset", required=True, help=dataset_help)

    run = commands.add_parser(
        "run", help="run the whole pipeline through Prefect (cached steps are skipped), logging to MLflow"
    )
    run.add_argument("--dataset", default=ALL, help=dataset_help)
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


def _run_stage(name: str, dataset: str, params: Params, paths: ProjectPaths) -> None:
    """Run one stage as ``dvc repro`` does; a failure leaves a FAILED pipeline run in MLflow."""
    from seqlab import recording
    from seqlab.stages import MODELLING_STAGES, STAGE_FUNCTIONS

    config = params.dataset(dataset)
    try:
        if name == "register":
            recording.record_pipeline(dataset, params, paths, entry_point="dvc", log=_log)
        else:
            STAGE_FUNCTIONS[name](config, paths, log=_log)
    except Exception as error:
        if name in MODELLING_STAGES:
            try:
                run_id = recording.record_failure(dataset, params, paths, name, error, entry_point="dvc")
                _log(f"{dataset}: stage {name} failed; MLflow run {run_id} marked FAILED")
            except Exception as tracking_error:  # the stage's own error matters more
                _log(f"{dataset}: could not record the failure in MLflow: {tracking_error}")
        raise


def orchestrator(name: str) -> Callable[..., Any]:
    """Return the orchestration callable registered as ``name`` (``run`` or ``schedule``)."""
    from importlib.metadata import entry_points

    found = list(entry_points(group=ORCHESTRATION_GROUP, name=name))
    if not found:
        raise RuntimeError(
            f"no orchestrator registered as {name!r} in the entry-point group {ORCHESTRATION_GROUP}; "
            "install the project (`make setup`, or `pip install -e .` in its root) to get its Prefect flows"
        )
    loaded: Callable[..., Any] = found[0].load()
    return loaded


def _orchestrate(arguments: argparse.Namespace, params: Params, paths: ProjectPaths) -> int:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # Prefect's temporary server gets 20 s to start by default; a busy 2-core machine can need more.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    params_file = str(Path(arguments.params).resolve())
    if arguments.command == "run":
        orchestrator("run")(
            params.select([arguments.dataset]) if arguments.dataset != ALL else [ALL],
            profile=arguments.profile,
            overrides=arguments.param,
            root=str(paths.root),
            params_file=params_file,
        )
        return 0
    orchestrator("schedule")(params, str(paths.root), params_file, register_only=arguments.register_only)
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


def _print_summary(summary: dict[str, Any], indent: str = "") -> None:
    for key, value in summary.items():
        if isinstance(value, dict):
            print(f"{indent}{key}:")
            _print_summary(value, indent + "  ")
        else:
            print(f"{indent}{key}: {value}")


def _datasets(params: Params, as_json: bool) -> None:
    rows = [
        {
            "dataset": name,
            "kind": config.source.kind,
            "modality": config.modality,
            "source": describe_source(config),
        }
        for name, config in params.datasets.items()
    ]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    widths = {key: max(len(key), *(len(str(row[key])) for row in rows)) for key in rows[0]}
    print("  ".join(key.ljust(widths[key]) for key in widths).rstrip())
    for row in rows:
        print("  ".join(str(row[key]).ljust(widths[key]) for key in widths).rstrip())


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

        if arguments.command == "datasets":
            _datasets(params, arguments.json)
        elif arguments.command == "fetch":
            for dataset in params.select([arguments.dataset]):
                stages.fetch(
                    params.dataset(dataset), paths, mirror=arguments.mirror, update=arguments.update, log=_log
                )
        elif arguments.command == "stage":
            for dataset in params.select([arguments.dataset]):
                started = time.perf_counter()
                _run_stage(arguments.name, dataset, params, paths)
                _log(f"{dataset}: stage {arguments.name} done in {time.perf_counter() - started:.1f} s")
        elif arguments.command == "describe":
            summary = stages.data.describe(params.dataset(arguments.dataset), paths)
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
