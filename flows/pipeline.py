"""Prefect orchestration of seqlab: one flow per dataset, built from the library's stage functions.

fetch → validate → prepare → baselines → tune → train → evaluate → register. Only wiring lives
here: each step is a library function wrapped with ``task(...)``, retried if it touches the network,
and cached on the content of its dvc.yaml deps and the values of its params keys (flows/graph.py),
so an unchanged step is skipped on a rerun. Every execution opens one MLflow parent run per dataset
and records each step's results under it as the step finishes (seqlab.recording); a step that
raises leaves that run FAILED.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

if __package__ in (None, ""):  # loaded by file path (prefect.yaml entrypoint): make `flows` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext

from flows import graph
from seqlab import recording, tracking
from seqlab.config import ALL, Params, load_params
from seqlab.paths import ProjectPaths
from seqlab.stages import STAGE_FUNCTIONS, STAGES

STEPS: tuple[str, ...] = STAGES
RESULT_FOLDER = Path(".prefect") / "results"
STAMP_FOLDER = Path(".prefect") / "stamps"


def _register(run: recording.PipelineRun, params: Params, paths: ProjectPaths) -> dict[str, Any]:
    return recording.register_best(run, params, paths)


STEP_FUNCTIONS: dict[str, Callable[..., Any]] = {**STAGE_FUNCTIONS, "register": _register}
TASKS = {
    step: task(name=step, persist_result=True, log_prints=True)(function)
    for step, function in STEP_FUNCTIONS.items()
}
record_task = task(name="record", cache_policy=NO_CACHE, log_prints=True)(recording.record_stage)


def _stamp(paths: ProjectPaths, name: str) -> Path:
    """Where the key of the run that wrote a stage's current outputs is kept."""
    return paths.root / STAMP_FOLDER / name


def _run_step(
    step: str, dataset: str, params: Params, paths: ProjectPaths, run: recording.PipelineRun
) -> tuple[Any, bool, str]:
    """Run one step as a cached task; return its result, whether it came from the cache, and its key.

    A cached result is only used when the files on disk are the ones that result describes: all
    outputs present and written under the same key (another profile, or dvc repro, may have
    replaced them since).
    """
    name = graph.stage_name(step, dataset)
    extra = tracking.tracking_uri(paths.root) if step == "register" else ""
    # Keyed on the content of the stage's deps and the values of its params keys, as DVC resolves them.
    key = graph.stage_key(paths.root, name, params, dataset, extra)
    stamp = _stamp(paths, name)
    current = graph.outputs_present(paths.root, name) and stamp.exists() and stamp.read_text() == key
    if not current:
        stamp.unlink(missing_ok=True)  # a step that fails half-way must not look current later
    options: dict[str, Any] = {
        "task_run_name": f"{step}-{dataset}",
        "cache_key_fn": lambda _context, _parameters: key,
        "result_storage": paths.root / RESULT_FOLDER,
        "refresh_cache": not current,
    }
    if step == "fetch":
        options["retries"] = params.pipeline.fetch_retries
        options["retry_delay_seconds"] = params.pipeline.fetch_retry_delay_seconds
    step_task = TASKS[step].with_options(**options)
    state = (
        step_task(run=run, params=params, paths=paths, return_state=True)
        if step == "register"
        else step_task(dataset=params.dataset(dataset), paths=paths, return_state=True)
    )
    result = state.result()
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(key)
    return result, bool(state.name == "Cached"), key


@flow(name="seqlab-dataset", flow_run_name="{dataset}-{profile}", log_prints=True)
def dataset_pipeline(
    dataset: str,
    profile: str = "default",
    overrides: Sequence[str] = (),
    root: str = ".",
    params_file: str = "params.yaml",
) -> dict[str, Any]:
    """Run every step of one dataset's pipeline under one MLflow parent run; return a step summary."""
    logger = get_run_logger()
    paths = ProjectPaths.at(root)
    params = load_params(_params_path(paths, params_file), overrides, profile)
    context = FlowRunContext.get()
    flow_run_id = str(context.flow_run.id) if context and context.flow_run else None
    run = recording.start_pipeline(dataset, params, paths, "prefect", flow_run_id=flow_run_id)
    logger.info(f"{dataset}: MLflow parent run {run.run_id} ({tracking.tracking_uri(paths.root)})")
    summary: dict[str, Any] = {"mlflow_run_id": run.run_id, "steps": {}}
    step = STEPS[0]
    keys: dict[str, str] = {}
    try:
        for number, step in enumerate(STEPS, start=1):
            started = time.perf_counter()
            result, cached, keys[step] = _run_step(step, dataset, params, paths, run)
            if step != "register":
                recorded = record_task.with_options(task_run_name=f"record-{step}-{dataset}")(
                    run=run, stage=step, params=params, paths=paths
                )
                if step == "evaluate":
                    run.variant_runs.update(recorded)
            seconds = time.perf_counter() - started
            summary["steps"][step] = {"cached": cached, "seconds": round(seconds, 2)}
            logger.info(
                f"[{number}/{len(STEPS)}] {dataset} {step}: {'cached, skipped' if cached else 'done'} "
                f"in {seconds:.1f} s"
            )
        summary["registry"] = result
    except BaseException as error:
        recording.finish_pipeline(run, error, step)
        logger.error(f"{dataset}: step {step} failed; MLflow run {run.run_id} marked FAILED")
        raise
    summary["dvc_committed"] = _is_dvc_default(paths, profile, overrides, params_file)
    try:
        if summary["dvc_committed"]:
            summary["dvc_commit"] = _commit_unless_current(paths, dataset, keys)
    except BaseException as error:
        recording.finish_pipeline(run, error, "dvc commit")
        raise
    recording.finish_pipeline(run, dvc_committed=summary["dvc_committed"])
    return summary


def _commit_unless_current(paths: ProjectPaths, dataset: str, keys: dict[str, str]) -> str:
    """``dvc commit`` the dataset's stages, unless dvc.lock already records these very outputs.

    The stamp pairs the steps' keys (which fix the files on disk) with the dataset's dvc.lock
    entries as they stood after the last commit; a rerun with both unchanged has nothing to record,
    which spares it DVC's start-up and re-hashing (seconds per dataset).
    """
    names = [graph.stage_name(step, dataset) for step in STEPS]
    stamp = _stamp(paths, f"dvc-commit-{dataset}")
    wanted = f"{'/'.join(keys[step] for step in STEPS)} {graph.lock_entries_sha256(paths.root, names)}"
    if stamp.exists() and stamp.read_text() == wanted:
        return "current"
    graph.commit(paths.root, names)
    stamp.write_text(
        f"{'/'.join(keys[step] for step in STEPS)} {graph.lock_entries_sha256(paths.root, names)}"
    )
    return "committed"


def _params_path(paths: ProjectPaths, params_file: str) -> Path:
    path = Path(params_file)
    return path if path.is_absolute() else paths.root / path


def _is_dvc_default(paths: ProjectPaths, profile: str, overrides: Sequence[str], params_file: str) -> bool:
    """dvc.lock may only record outputs made from params.yaml itself (no profile, no overrides)."""
    return (
        profile == "default"
        and not overrides
        and (paths.root / ".dvc").is_dir()
        and _params_path(paths, params_file).resolve() == (paths.root / "params.yaml").resolve()
    )


@flow(name="seqlab-pipeline", log_prints=True)
def pipeline(
    datasets: Sequence[str] = (ALL,),
    profile: str = "default",
    overrides: Sequence[str] = (),
    root: str = ".",
    params_file: str = "params.yaml",
) -> dict[str, Any]:
    """Run the pipeline of each dataset in turn; one failing dataset does not stop the others."""
    params = load_params(_params_path(ProjectPaths.at(root), params_file), overrides, profile)
    chosen = params.select(list(datasets))
    summaries: dict[str, Any] = {}
    failures: dict[str, str] = {}
    for dataset in chosen:
        try:
            summaries[dataset] = dataset_pipeline(dataset, profile, overrides, root, params_file)
        except Exception as error:
            failures[dataset] = f"{type(error).__name__}: {error}"
    if failures:
        raise RuntimeError(
            "pipeline failed for " + "; ".join(f"{name}: {message}" for name, message in failures.items())
        )
    return summaries


@contextlib.contextmanager
def heartbeats_only_for_a_lasting_server() -> Iterator[None]:
    """Turn Prefect's flow-run heartbeats off when the runs go to a temporary server.

    Heartbeats (every 180 s by default) let a lasting Prefect server mark a crashed run. Each flow's
    heartbeat thread sleeps in 1 s steps, and the flow's end waits for the step under way: up to 1 s
    per flow, about 3 s of an 11 s no-op rerun of the four datasets. Without ``PREFECT_API_URL`` the
    runs go to a temporary server that stops with this process, so no one would read them. With a
    server configured (a deployment, the test harness), Prefect's setting is left as it is.
    """
    from prefect.settings import get_current_settings, temporary_settings

    if get_current_settings().api.url:
        yield
        return
    with temporary_settings(updates={"flows.heartbeat_frequency": None}):
        yield


def run_pipeline(
    datasets: Sequence[str],
    profile: str = "default",
    overrides: Sequence[str] = (),
    root: str = ".",
    params_file: str = "params.yaml",
) -> dict[str, Any]:
    """Entry point of ``seqlab run``: the whole flow, or one dataset's flow when only one is named."""
    with heartbeats_only_for_a_lasting_server():
        if len(datasets) == 1 and datasets[0] != ALL:
            return {datasets[0]: dataset_pipeline(datasets[0], profile, list(overrides), root, params_file)}
        return pipeline(list(datasets), profile, list(overrides), root, params_file)
