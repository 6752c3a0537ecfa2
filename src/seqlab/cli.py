"""The ``seqlab`` command: the same stage functions that ``dvc repro`` and the flows run.

Orchestration (``seqlab run``, ``deploy``, ``up``, ``down``, ``status``) is not part of this library:
the CLI calls the callables registered under the entry-point group ``seqlab.orchestration`` (names
in :data:`ORCHESTRATION_COMMANDS`), which this project's ``flows`` package provides
(pyproject.toml). Another orchestrator can register its own.

Every command runs with the project's own Prefect home (``<root>/.prefect``) unless ``PREFECT_HOME``
is set, and its MLflow store (``mlflow.db``) unless ``MLFLOW_TRACKING_URI`` is: whether started by
make, a shell, ``dvc repro`` or a Prefect worker.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from seqlab import runtime
from seqlab.config import ALL, ConfigError, Params, load_params
from seqlab.data.sources import MIRROR_ENV
from seqlab.datasets import describe_source
from seqlab.paths import ProjectPaths
from seqlab.stages import STAGES

ORCHESTRATION_GROUP = "seqlab.orchestration"
# The callables the CLI looks up in that group: the pipeline, the scheduled deployment, the lasting
# stack (start, stop, describe) and the Prefect API of a running stack.
ORCHESTRATION_COMMANDS: tuple[str, ...] = (
    "run",
    "deploy",
    "up",
    "down",
    "status",
    "stack_api_url",
    "reproduce",
)
STACK_COMMANDS: tuple[str, ...] = ("up", "down", "status")
# The commands that read params.yaml, so take --param overrides before or after their name.
PARAMS_COMMANDS: tuple[str, ...] = ("datasets", "fetch", "describe", "stage", "run", "deploy", "predict")
PREFECT_API_ENV = "PREFECT_API_URL"
# What a run of params.yaml itself (dvc.lock updated) tells its user: .gitignore keeps the large
# outputs out of `git add results`, so this commits dvc.lock and the small results files only.
# The named view `seqlab ui` saves in each dataset's experiment and links to (the runs page's Views menu).
PIPELINE_VIEW_KEY = "seqlab-pipelines"
PIPELINE_VIEW_NAME = "seqlab: pipeline runs"
SHARE_HINT = (
    "to share these results: git add dvc.lock results && git commit -am 'results of ...'; "
    'dvc push (README, "Working as a team")'
)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _tolerance(text: str) -> float:
    """Parse ``--tolerance``: a finite relative difference >= 0."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number >= 0 (a relative difference), got {text!r}")
    return value


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
    fetch.add_argument(
        "--allow-shrink",
        action="store_true",
        help="with --update: accept a file that parses to fewer records than the lock records",
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

    predict = commands.add_parser(
        "predict",
        help="predict raw inputs with a dataset's registered champion (or --version N): forecasts in the "
        "series' units, or probabilities",
    )
    predict.add_argument("dataset", help="a dataset of params.yaml")
    predict.add_argument(
        "--input",
        required=True,
        metavar="FILE",
        help="series: CSV with date,value (time,value without dates); text: one review per line, or CSV "
        "with a review column; images: .npy [n, 28, 28] of pixels 0..255, or an MNIST IDX file",
    )
    predict.add_argument("--version", type=int, default=None, help="this registered version, not the alias")
    predict.add_argument("--output", metavar="FILE", default=None, help="write CSV here instead of a table")

    run = commands.add_parser(
        "run", help="run the whole pipeline through Prefect (cached steps are skipped), logging to MLflow"
    )
    run.add_argument("--dataset", default=ALL, help=dataset_help)
    run.add_argument("--profile", default="default", help="params.yaml profile: default, smoke, full, ...")

    commands.add_parser(
        "deploy",
        help="register the scheduled pipeline (params.yaml pipeline.schedule, with the --param "
        "overrides) on the work pool of `seqlab up`",
    ).add_argument(
        "--remove", action="store_true", help="delete the deployment instead: nothing runs on a schedule"
    )
    up = commands.add_parser(
        "up",
        help="start a Prefect server, a worker on pool seqlab and an MLflow server in the background",
    )
    up.add_argument(
        "--host", default="127.0.0.1", help="interface the servers listen on (0.0.0.0: other machines too)"
    )
    up.add_argument("--prefect-port", type=int, default=4200, help="Prefect UI and API port (default: 4200)")
    up.add_argument("--mlflow-port", type=int, default=5000, help="MLflow UI port (default: 5000)")
    commands.add_parser("down", help="stop the processes that `seqlab up` started")
    commands.add_parser("status", help="what `seqlab up` started: pid, alive, URL, healthy").add_argument(
        "--json", action="store_true", help="print JSON instead of a table"
    )

    for name, subcommand in commands.choices.items():
        if name in PARAMS_COMMANDS:  # `seqlab run --param K=V` as well as `seqlab --param K=V run`
            subcommand.add_argument(
                "--param",
                dest="param_after",
                action="append",
                default=[],
                metavar="KEY=VALUE",
                help="override one params key (repeatable; see `seqlab --help`)",
            )

    reproduce = commands.add_parser(
        "reproduce",
        help="rerun a recorded pipeline run from its git commit, params and data in a fresh clone, and "
        "say whether its metrics match",
    )
    reproduce.add_argument("run_id", help="the MLflow id of a pipeline's parent run")
    reproduce.add_argument(
        "--workdir", default=None, help="empty folder for the clone (default: a temporary one)"
    )
    reproduce.add_argument("--keep", action="store_true", help="keep the clone afterwards")
    reproduce.add_argument(
        "--tolerance",
        type=_tolerance,
        default=None,
        help="relative difference two metrics may have and still match (default: the reproducer's, "
        "tight enough that only a rerun on the same stack matches)",
    )

    ui = commands.add_parser("ui", help="open the MLflow UI on the project's tracking store")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=5000)
    ui.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes (default 1: one person's browser; MLflow's 4 take far longer to start)",
    )
    ui.add_argument("--print-command", action="store_true", help="print the command instead of running it")
    ui.add_argument(
        "--open",
        action="store_true",
        help="open each dataset's pipeline runs in a browser once the UI answers",
    )
    return parser


def _run_stage(name: str, dataset: str, params: Params, paths: ProjectPaths) -> None:
    """Run one stage as ``dvc repro`` does; a failure leaves a FAILED pipeline run in MLflow."""
    from seqlab import lock, recording
    from seqlab.stages import MODELLING_STAGES, STAGE_FUNCTIONS

    config = params.dataset(dataset)
    try:
        with lock.project_lock(paths.root, log=_log):  # one run at a time, dvc repro's stages included
            if name == "register":
                recording.record_pipeline(dataset, params, paths, entry_point="dvc", log=_log)
                _log(SHARE_HINT)
            elif name in ("tune", "train", "backtest"):
                with _stopped_by_ctrl_c():  # their fits stop at the next batch (training.stop_on_interrupt)
                    STAGE_FUNCTIONS[name](config, paths, log=_log)
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


@contextlib.contextmanager
def _stopped_by_ctrl_c() -> Iterator[None]:
    """Make a Ctrl-C stop training for sure: see :func:`seqlab.training.stop_on_interrupt`."""
    from seqlab import training

    def interrupted(signum: int, frame: Any) -> None:
        training.INTERRUPTED.set()
        raise KeyboardInterrupt

    training.INTERRUPTED.clear()
    previous = signal.signal(signal.SIGINT, interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        training.INTERRUPTED.clear()


def orchestrator(name: str) -> Callable[..., Any]:
    """Return the orchestration callable registered as ``name`` (one of ``ORCHESTRATION_COMMANDS``)."""
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
    params_file = str(Path(arguments.params).resolve())
    if not os.environ.get(PREFECT_API_ENV):
        # Before Prefect is imported (it reads its settings once): the stack of `seqlab up`, when it runs.
        stack_api = orchestrator("stack_api_url")(paths.root)
        if stack_api:
            os.environ[PREFECT_API_ENV] = stack_api
            _log(f"using the Prefect server of `seqlab up`: {stack_api.removesuffix('/api')}")
        elif arguments.command == "deploy":
            raise RuntimeError(
                f"no lasting Prefect server for {paths.root}: run `seqlab up` first (or set "
                f"{PREFECT_API_ENV}); a temporary server would forget the schedule when this command ends"
            )
    if arguments.command == "run":
        summaries = orchestrator("run")(
            params.select([arguments.dataset]) if arguments.dataset != ALL else [ALL],
            profile=arguments.profile,
            overrides=arguments.param,
            root=str(paths.root),
            params_file=params_file,
        )
        print_results(summaries)
        if any(summary.get("dvc_committed") for summary in summaries.values()):
            _log(SHARE_HINT)
        return 0
    if arguments.remove:
        removed = orchestrator("deploy")(params, str(paths.root), params_file, remove=True)
        print(
            f"removed the deployment {removed['deployment']}: nothing runs on its schedule any more"
            if removed["removed"]
            else f"no deployment {removed['deployment']} to remove"
        )
        return 0
    deployed = orchestrator("deploy")(params, str(paths.root), params_file, overrides=arguments.param)
    print(f"deployment {deployed['deployment']} on work pool {deployed['work_pool']}: {deployed['url']}")
    print(
        f"  cron {deployed['cron']!r} ({deployed['timezone']}), datasets {deployed['datasets']}, "
        f"profile {deployed['profile']}, overrides {deployed['overrides']}"
    )
    if not deployed["workers_online"]:
        _log(f"no worker polls pool {deployed['work_pool']} yet: its runs wait until one does (`seqlab up`)")
    return 0


def results_table(summaries: dict[str, Any]) -> list[str]:
    """One row per dataset of a run: its best model and metric, the best baseline, the gap, the champion."""
    from seqlab.registry import format_value, gap

    header = ("dataset", "best model", "test metric", "best baseline", "difference", "champion")
    rows = [header]
    for dataset, summary in summaries.items():
        result = summary.get("registry") or {}
        if "best_baseline" not in result:  # registered by an older seqlab: no comparison recorded
            continue
        metric, unit, higher = result["metric"], result.get("unit"), bool(result["higher_is_better"])
        value, reference = float(result["value"]), float(result["best_baseline_value"])
        champion = result.get("champion_version")
        rows.append(
            (
                dataset,
                result["model"],
                f"{metric.removeprefix('test_')} {format_value(value, metric, unit)}",
                f"{result['best_baseline']} {format_value(reference, metric, unit)}",
                gap(value, reference, metric, higher, unit),
                (f"v{champion}" + (" (new)" if result["champion_moved"] else "")) if champion else "none",
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


def print_results(summaries: dict[str, Any]) -> None:
    """End ``seqlab run`` with what won, by how much over the best baseline, and where to look."""
    lines = results_table(summaries)
    if len(lines) < 2:
        return
    print("", *lines, "", "compare them in the MLflow UI: `make ui` (or `seqlab ui`)", sep="\n", flush=True)


def _print_services(rows: Sequence[dict[str, Any]]) -> None:
    for row in rows:
        state = "healthy" if row["healthy"] else ("running, not answering" if row["alive"] else "not running")
        print(f"  {row['service']:<15} pid {row['pid']:<8} {state:<22} {row['url']}")


def _stack(arguments: argparse.Namespace, paths: ProjectPaths) -> int:
    """``seqlab up``, ``down`` and ``status``: the lasting stack of this project (flows/stack.py)."""
    if arguments.command == "up":
        already, rows = orchestrator("up")(
            paths.root, arguments.host, arguments.prefect_port, arguments.mlflow_port, log=_log
        )
        print(f"the stack was already up ({paths.root / '.seqlab'}):" if already else "the stack is up:")
        _print_services(rows)
        print("stop it with `seqlab down` (make down)")
        return 0
    if arguments.command == "down":
        stopped = orchestrator("down")(paths.root, log=_log)
        print("stopped the stack" if stopped else "the stack was not up: nothing to stop")
        return 0
    rows = orchestrator("status")(paths.root)
    if arguments.json:
        print(json.dumps(rows, indent=2))
    elif rows:
        _print_services(rows)
    else:
        print(f"the stack is not up (nothing recorded in {paths.root / '.seqlab'}): `seqlab up` starts it")
    return 0


@contextlib.contextmanager
def project_environment(root: Path) -> Iterator[dict[str, str]]:
    """Give every command the project's Prefect home unless ``PREFECT_HOME`` says otherwise.

    Set before anything imports Prefect, and for subprocesses (dvc, the stack's servers, a worker's
    flow runs); in-process callers (tests) get their environment back afterwards.
    """
    defaults = {"PREFECT_HOME": str(root / ".prefect")}
    added = {name: value for name, value in defaults.items() if not os.environ.get(name)}
    before = {name: os.environ.get(name) for name in (*added, PREFECT_API_ENV)}
    os.environ.update(added)
    try:
        yield added
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def ui_command(paths: ProjectPaths, host: str, port: int, workers: int = 1) -> list[str]:
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
        "--workers",
        str(workers),
    ]


def pipeline_runs_view(metric: str, higher_is_better: bool) -> dict[str, Any]:
    """Return the runs-page state comparing a dataset's pipelines: best test metric first, baseline beside.

    Keys as MLflow's UI (3.17) names them: its search facets and the column keys ``metrics.`name```.
    """
    from seqlab.tracking import KIND_TAG

    columns = [
        "attributes.`Description`",  # the run's note: what won, by how much, whether it was promoted
        f"metrics.`{metric}`",
        f"metrics.`best_baseline_{metric}`",
        "metrics.`skill_vs_best_baseline`",
    ]
    return {
        "searchFilter": f"tags.`{KIND_TAG}` = 'pipeline'",
        "orderByKey": f"metrics.`{metric}`",
        "orderByAsc": not higher_is_better,
        "selectedColumns": columns,
        "columnOrder": columns,
    }


def runs_page_url(
    base_url: str, experiment_id: str, view: dict[str, Any], saved_as: str | None = None
) -> str:
    """Link to an experiment's runs page showing ``view``.

    By the key it was saved under (``Tracker.save_runs_view``): filter, sort and columns. Unsaved,
    the URL's own parameters carry the filter and the sort only; MLflow takes no columns from a URL.
    """
    from urllib.parse import quote, urlencode

    page = f"{base_url.rstrip('/')}/#/experiments/{quote(experiment_id, safe='')}/runs"
    if saved_as:
        return f"{page}?{urlencode({'viewStateShareKey': saved_as}, quote_via=quote)}"
    facets = {
        "searchFilter": view["searchFilter"],
        "orderByKey": view["orderByKey"],
        "orderByAsc": str(view["orderByAsc"]).lower(),
    }
    return f"{page}?{urlencode(facets, quote_via=quote)}"


def _pipeline_view_links(
    arguments: argparse.Namespace, paths: ProjectPaths, uri: str, base_url: str
) -> dict[str, str]:
    """Save each dataset's pipeline view in its experiment; return the link to it by dataset."""
    from seqlab import recording, tracking
    from seqlab.modalities import modality

    store = tracking.sqlite_file(uri)
    if store is not None and not store.is_file():
        _log(f"no runs yet in {store}: `make smoke` records some")
        return {}
    try:
        params = load_params(arguments.params, arguments.param)
    except ConfigError as error:
        _log(f"no links to the pipeline runs of each dataset: {error}")
        return {}
    tracker = tracking.Tracker(paths.root, uri)
    links = {}
    for dataset, config in params.datasets.items():
        experiment = tracker.find_experiment(recording.experiment_name(dataset, params))
        if experiment is None:
            continue
        kind = modality(config)
        view = pipeline_runs_view(kind.metric, kind.higher_is_better)
        try:
            tracker.save_runs_view(experiment, PIPELINE_VIEW_KEY, PIPELINE_VIEW_NAME, view)
            saved_as: str | None = PIPELINE_VIEW_KEY
        except Exception as error:  # a read-only store or server: the link still filters and sorts
            _log(f"{dataset}: could not save the pipeline view ({error}); the link shows no metric columns")
            saved_as = None
        links[dataset] = runs_page_url(base_url, experiment, view, saved_as)
    return links


def _browser_available() -> bool:
    return sys.platform in ("darwin", "win32") or bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )


def open_when_serving(health_url: str, links: Sequence[str], deadline_seconds: float = 300.0) -> None:
    """Open ``links`` in the default browser once ``health_url`` answers (the UI can take a minute)."""
    import urllib.request
    import webbrowser

    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(health_url, timeout=5):
                break
        except OSError:
            time.sleep(1)
    else:
        return
    for link in links:
        webbrowser.open_new_tab(link)


def _ui(arguments: argparse.Namespace, paths: ProjectPaths) -> int:
    import subprocess

    from seqlab import tracking

    uri = tracking.tracking_uri(paths.root)
    remote = uri.startswith(("http://", "https://"))
    command = ui_command(paths, arguments.host, arguments.port, arguments.workers)
    if arguments.print_command and not remote:
        print(" ".join(command))
        return 0
    base_url = uri if remote else f"http://{arguments.host}:{arguments.port}"
    try:
        links = _pipeline_view_links(arguments, paths, uri, base_url)
    except Exception as error:  # the UI matters more than the links: say why there are none, go on
        _log(f"no links to the pipeline runs of each dataset: {type(error).__name__}: {error}")
        links = {}
    if links:
        print("pipeline runs of each dataset, best first, beside the best baseline:")
        print("\n".join(f"  {dataset}: {link}" for dataset, link in links.items()), flush=True)
    urls = list(links.values()) or [base_url]
    if arguments.open and _browser_available():
        opener = "import sys; from seqlab.cli import open_when_serving as o; o(sys.argv[1], sys.argv[2:])"
        health = f"{base_url.rstrip('/')}/health"
        subprocess.Popen(
            [sys.executable, "-c", opener, health, *urls],
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    if remote:
        print(f"MLFLOW_TRACKING_URI points at a tracking server: open {uri} in a browser")
        return 0
    _log(f"MLflow UI on {base_url} (store {command[5]}); Ctrl-C stops it")
    os.execv(command[0], command)
    return 0  # not reached


def _reproduce(arguments: argparse.Namespace, paths: ProjectPaths) -> int:
    """``seqlab reproduce RUN_ID``: exit 0 when metrics and data match the recorded run, else 1."""
    report = orchestrator("reproduce")(
        paths.root,
        arguments.run_id,
        workdir=arguments.workdir,
        keep=arguments.keep,
        log=_log,
        **({} if arguments.tolerance is None else {"tolerance": arguments.tolerance}),
    )
    verdict = "MATCH" if report["matches"] else "DIFFERENT"
    print(
        f"run {report['run_id']} ({report['dataset']}, {report['entry_point']}, "
        f"commit {report['commit'][:12]}) reproduced as run {report['reproduction_run_id']}: {verdict}"
    )
    print(f"  data: {report['data_source']}")
    for path, row in report["data"].items():
        same = "same" if row["match"] else f"DIFFERENT: now {row['reproduced']}"
        print(f"    {path:<34} {row['recorded']:<38} {same}")
    print(f"  {'metric':<36} {'recorded':>14} {'reproduced':>14} {'rel. diff':>10}")
    for name, row in report["metrics"].items():
        flag = "" if row["match"] else "  <- differs"
        print(
            f"  {name:<36} {row['recorded']:>14.6g} {row['reproduced']:>14.6g} "
            f"{row['relative_difference']:>10.2g}{flag}"
        )
    if report["folder"]:
        print(f"  the clone: {report['folder']}")
    return 0 if report["matches"] else 1


def _predict(arguments: argparse.Namespace, params: Params, paths: ProjectPaths) -> int:
    """``seqlab predict``: the champion's (or a version's) predictions as a table, or a CSV file."""
    from seqlab.champion import registered_model_name
    from seqlab.predict import format_table, predict_file, write_csv
    from seqlab.tracking import Tracker

    config = params.dataset(arguments.dataset)  # an unknown dataset fails naming the configured ones
    version = None if arguments.version is None else str(arguments.version)
    name = registered_model_name(arguments.dataset, params)
    alias, input_file = params.pipeline.champion_alias, Path(arguments.input)
    result = predict_file(Tracker(paths.root), name, alias, version, input_file, config.modality)
    _log(f"{result.description}: {len(result.table)} prediction(s) of {arguments.input}")
    if arguments.output:
        write_csv(result.table, Path(arguments.output))
        _log(f"wrote {arguments.output}")
    else:
        print(format_table(result.table))
    return 0


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
    arguments.param = [*arguments.param, *getattr(arguments, "param_after", [])]
    paths = ProjectPaths.at(arguments.root)
    with project_environment(paths.root):
        return _command(arguments, paths)


def _command(arguments: argparse.Namespace, paths: ProjectPaths) -> int:
    try:
        if arguments.command == "ui":  # needs only the store, not params.yaml
            return _ui(arguments, paths)
        if arguments.command in STACK_COMMANDS:
            return _stack(arguments, paths)
        if arguments.command == "reproduce":
            return _reproduce(arguments, paths)
        profile = getattr(arguments, "profile", "default")
        params = load_params(arguments.params, arguments.param, profile)
        if arguments.command in ("run", "deploy"):
            return _orchestrate(arguments, params, paths)
        if arguments.command == "predict":
            return _predict(arguments, params, paths)
        from seqlab import stages

        if arguments.command == "datasets":
            _datasets(params, arguments.json)
        elif arguments.command == "fetch":
            for dataset in params.select([arguments.dataset]):
                stages.fetch(
                    params.dataset(dataset),
                    paths,
                    mirror=arguments.mirror,
                    update=arguments.update,
                    log=_log,
                    allow_shrink=arguments.allow_shrink,
                )
        elif arguments.command == "stage":
            pools = params.pipeline.tensorflow_threads
            problem = runtime.use_thread_pools(pools.intra_op, pools.inter_op)
            if problem:
                _log(problem)
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
