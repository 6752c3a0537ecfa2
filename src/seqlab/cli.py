"""The ``seqlab`` command: the same stage functions that ``dvc repro`` and the flows run."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
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
    stage.add_argument("name", choices=["fetch", "prepare", "baselines", "tune", "train", "evaluate"])
    stage.add_argument("--dataset", required=True, choices=dataset_choices)
    return parser


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
        params = load_params(arguments.params, arguments.param)
        paths = ProjectPaths.at(arguments.root)
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
            from seqlab import experiment

            for dataset in _datasets(arguments.dataset):
                started = time.perf_counter()
                if arguments.name == "fetch":
                    stages.fetch(dataset, params, paths, log=_log)
                elif arguments.name == "prepare":
                    stages.prepare(dataset, params, paths, log=_log)
                else:
                    experiment.STAGE_FUNCTIONS[arguments.name](dataset, params, paths, log=_log)
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
