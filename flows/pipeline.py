"""Prefect orchestration of seqlab: one flow per dataset, built from the library's stage functions.

fetch → validate → prepare → baselines → tune → train → evaluate → backtest → register. Only wiring lives
here: each step is a library function wrapped with ``task(...)``, retried only on network errors,
bounded by ``pipeline.step_timeouts``, and skipped when nothing it depends on changed. A step is
current when its key (flows/graph.py: the content of its dvc.yaml deps and of the code it imports,
and the values of its params keys) and the manifest of its outputs (their content hashes) are the
ones recorded in ``.prefect/stamps/`` when it last succeeded; Prefect then shows it Cached. There is
no pickled result cache: the files on disk are the results, and a stamp is plain JSON.

Every execution opens one MLflow parent run per dataset. A step that ran records its children under
it as it finishes (seqlab.recording); a step that was current records nothing again: the parent
names the run that produced it (tag ``seqlab.reused.<step>`` and its description). A step that
raises leaves that run FAILED and tells ``pipeline.notify``. One run at a time per project
(seqlab.lock); a run that died holding the lock is reconciled by the next (Prefect runs Crashed,
MLflow runs FAILED, its temporary server stopped).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # loaded by file path (a deployment's entrypoint): make `flows` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.states import Completed

from flows import graph, notify
from seqlab import lock, recording, runtime, tracking, training
from seqlab.config import ALL, ConfigError, Params, load_params
from seqlab.errors import SourceUnavailableError
from seqlab.fileio import write_json
from seqlab.paths import ProjectPaths
from seqlab.stages import STAGE_FUNCTIONS, STAGES

STEPS: tuple[str, ...] = STAGES
STAMP_FOLDER = Path(".prefect") / "stamps"
TEMPORARY_SERVER_APP = "prefect.server.api.server:create_app"
# The one transient failure worth another try: no location could deliver a file. A checksum or
# format error (seqlab.errors.DataIntegrityError, a ValueError) never is.
NETWORK_ERRORS: tuple[type[BaseException], ...] = (SourceUnavailableError,)


def _register(run: recording.PipelineRun, params: Params, paths: ProjectPaths) -> dict[str, Any]:
    return recording.register_best(run, params, paths)


STEP_FUNCTIONS: dict[str, Callable[..., Any]] = {**STAGE_FUNCTIONS, "register": _register}


def _step_body(step: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """The task of a step: the stage function, or a Cached state carrying the recorded summary."""

    def body(reuse: dict[str, Any] | None = None, timeout: float | None = None, **kwargs: Any) -> Any:
        if reuse is not None:
            return Completed(name="Cached", message=reuse["message"], data=reuse["summary"])
        # Prefect's own timeout can be lost inside a __del__; this one raises from ordinary code.
        with training.time_limit(timeout, f"step {step}"):
            return function(**kwargs)

    body.__name__ = body.__qualname__ = getattr(function, "__name__", "step")
    body.__doc__ = function.__doc__
    return body


TASKS = {
    step: task(name=step, persist_result=False, cache_policy=NO_CACHE, log_prints=True)(
        _step_body(step, function)
    )
    for step, function in STEP_FUNCTIONS.items()
}
record_task = task(name="record", cache_policy=NO_CACHE, persist_result=False, log_prints=True)(
    recording.record_stage
)


def _retry_network_errors(_task: Any, _task_run: Any, state: Any) -> bool:
    """Prefect's retry condition: only a network error is worth another try."""
    try:
        state.result()
    except NETWORK_ERRORS:
        return True
    except BaseException:
        return False
    return False


# --------------------------------------------------------------------------- stamps


def _stamp_file(paths: ProjectPaths, name: str) -> Path:
    """Where the record of the run that wrote a stage's current outputs is kept."""
    return paths.root / STAMP_FOLDER / f"{name}.json"


def _read_stamp(paths: ProjectPaths, name: str) -> dict[str, Any] | None:
    """A stage's stamp, or None when absent or unreadable (then the stage simply runs again)."""
    try:
        stamp = json.loads(_stamp_file(paths, name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    wanted = {"key": str, "outputs": dict, "store": str, "run_id": str}
    if not isinstance(stamp, dict) or any(not isinstance(stamp.get(k), t) for k, t in wanted.items()):
        return None
    return stamp


def _plain(value: Any) -> Any:
    """A step's summary as plain JSON values (it is kept in the stamp, not pickled)."""
    return json.loads(json.dumps(value, default=str))


def _run_step(
    step: str, dataset: str, params: Params, paths: ProjectPaths, run: recording.PipelineRun
) -> tuple[Any, bool, str]:
    """Run one step (or reuse it); return its summary, whether it was reused, and its key.

    Reused only when the step's key is the stamped one and its outputs on disk are byte for byte
    those the stamp lists (another profile, dvc repro or a half-finished run may have replaced
    them). A reused step records nothing in MLflow when the run that produced it is in this store;
    otherwise (a new store) it is recorded from its files as if it had run.
    """
    name = graph.stage_name(step, dataset)
    store = tracking.tracking_uri(paths.root)
    extra = store if step == "register" else ""
    key = graph.stage_key(paths.root, name, params, dataset, extra)
    stamp = _read_stamp(paths, name)
    current = (
        stamp is not None
        and stamp["key"] == key
        and stamp["outputs"] == graph.outputs_manifest(paths.root, name)
    )
    if not current:
        _stamp_file(paths, name).unlink(missing_ok=True)  # a step that fails half-way is not current later
    producer = stamp["run_id"] if current and stamp else None
    reuse = (
        {"summary": stamp.get("summary"), "message": f"outputs unchanged since MLflow run {producer}"}
        if current and stamp
        else None
    )
    options: dict[str, Any] = {"task_run_name": f"{step}-{dataset}"}
    timeout = params.pipeline.step_timeouts.get(step)
    if timeout:
        options["timeout_seconds"] = timeout
    if step == "fetch":
        options["retries"] = params.pipeline.fetch_retries
        options["retry_delay_seconds"] = params.pipeline.fetch_retry_delay_seconds
        options["retry_condition_fn"] = _retry_network_errors
    step_task = TASKS[step].with_options(**options)
    arguments: dict[str, Any] = (
        {"run": run, "params": params, "paths": paths}
        if step == "register"
        else {"dataset": params.dataset(dataset), "paths": paths}
    )
    result = step_task(reuse=reuse, timeout=timeout, **arguments, return_state=True).result()

    recorded = stamp.get("recorded") if current and stamp else None
    if current and stamp and stamp["store"] == store and run.tracker.run_exists(stamp["run_id"]):
        run.reused[step] = stamp["run_id"]
    else:
        producer = run.run_id
        if step != "register" or current:  # register records itself when it runs
            recorded = record_task.with_options(task_run_name=f"record-{step}-{dataset}")(
                run=run, stage=step, params=params, paths=paths
            )
            if step == "register":
                result = recorded
    if step == "evaluate" and isinstance(recorded, dict):
        run.variant_runs.update(recorded)
    write_json(
        _stamp_file(paths, name),
        {
            "key": key,
            "outputs": graph.outputs_manifest(paths.root, name),
            "store": store,
            "run_id": producer,
            "recorded": _plain(recorded) if step == "evaluate" else None,
            "summary": _plain(result),
        },
    )
    return result, current, key


# --------------------------------------------------------------------------- runs, crashes, alerts


@contextlib.contextmanager
def _one_run_at_a_time(paths: ProjectPaths, log: Callable[[str], None]) -> Iterator[None]:
    """Hold the project lock (waiting for another run, with a message) and note this flow run."""
    with lock.project_lock(paths.root, log=log):
        context = FlowRunContext.get()
        if context and context.flow_run:
            lock.note(paths.root, flow_run=str(context.flow_run.id), server=_temporary_server_pid())
        yield


def _temporary_server_pid() -> int | None:
    """PID of the temporary Prefect server this process started, if any (to stop it after a crash)."""
    import psutil

    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if TEMPORARY_SERVER_APP in child.cmdline():  # uvicorn serving Prefect's API app
                return int(child.pid)
    return None


def reconcile_crashed_runs(paths: ProjectPaths, params: Params, log: Callable[[str], None]) -> list[str]:
    """Close what runs killed while holding the lock left open; return the crashed flow-run ids.

    Their Prefect flow and task runs still RUNNING are marked Crashed, their MLflow runs FAILED (by
    the PID tag, per experiment), and ``pipeline.notify`` is told. The lock already stopped the
    temporary server they left.
    """
    crashed: list[str] = []
    for record, holder in lock.crashed_runs(paths.root):
        marked = _mark_crashed(holder.flow_runs, f"the process running it ({holder.describe()}) was killed")
        tracker = tracking.Tracker(paths.root)
        for dataset in params.datasets:
            experiment = tracker.find_experiment(recording.experiment_name(dataset, params))
            if experiment is not None:
                tracker.close_stale_runs(experiment)
        log(f"reconciled a killed run: {holder.describe()}; Prefect runs marked Crashed: {len(marked)}")
        notify.send(
            params.pipeline.notify,
            "seqlab: a pipeline run crashed",
            f"{holder.describe()} ended without finishing; Prefect flow runs {', '.join(holder.flow_runs)} "
            "marked Crashed, its MLflow runs FAILED.",
        )
        crashed.extend(marked)
        record.unlink(missing_ok=True)
    return crashed


def _mark_crashed(flow_runs: Sequence[str], why: str) -> list[str]:
    """Force flow runs (and their task runs) that are not final into Crashed."""
    from uuid import UUID

    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import TaskRunSort
    from prefect.exceptions import ObjectNotFound
    from prefect.states import Crashed

    marked: list[str] = []
    with get_client(sync_client=True) as client:
        for identifier in flow_runs:
            try:
                flow_run = client.read_flow_run(UUID(identifier))
            except (ObjectNotFound, ValueError):
                continue
            task_runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id])),
                sort=TaskRunSort.EXPECTED_START_TIME_ASC,
                limit=200,
            )
            for task_run in task_runs:
                if task_run.state is not None and not task_run.state.is_final():
                    client.set_task_run_state(task_run.id, Crashed(message=why), force=True)
            if flow_run.state is not None and not flow_run.state.is_final():
                client.set_flow_run_state(flow_run.id, Crashed(message=why), force=True)
                marked.append(identifier)
    return marked


_ALERTED: list[str] = []  # datasets this process already alerted about (the crash hook then stays quiet)


def _alert_failure(
    params: Params,
    paths: ProjectPaths,
    run: recording.PipelineRun,
    step: str,
    error: BaseException,
    crashed: bool = False,
) -> None:
    """Tell ``pipeline.notify``: dataset, step, error, MLflow run and Prefect flow run.

    "crashed" when a signal stopped the process (Prefect's TerminationSignal is no Exception), or
    ``crashed`` says one came: raised inside TensorFlow's C++ code it can surface as a SystemError.
    """
    _ALERTED.append(run.dataset)
    context = FlowRunContext.get()
    flow_run = f"\nPrefect flow run: {context.flow_run.id}" if context and context.flow_run else ""
    what = "failed" if isinstance(error, Exception) and not crashed else "crashed"
    detail = str(error) or "the process was stopped by a signal"
    notify.send(
        params.pipeline.notify,
        f"seqlab: {run.dataset} {what} at step {step}",
        f"dataset: {run.dataset}\nstep: {step}\nerror: {type(error).__name__}: {detail}\n"
        f"MLflow: {notify.mlflow_link(str(paths.root), run.experiment_id, run.run_id)}{flow_run}",
    )


@contextlib.contextmanager
def _noting_sigterm(signalled: list[int]) -> Iterator[None]:
    """Note a SIGTERM in ``signalled``, then hand it on to the handler before (Prefect's, which raises).

    Only the main thread can set handlers; elsewhere nothing is noted.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)

    def note(signum: int, frame: Any) -> None:
        signalled.append(signum)
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:  # the default: end the process as SIGTERM does
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, note)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _on_crashed(flow: Any, flow_run: Any, state: Any) -> None:
    """Prefect hook: a flow run that crashed (killed by a signal, the worker lost) tells notify.

    Quiet when the crash already sent its alert from inside the dataset's flow (with its step and run).
    """
    if _ALERTED:
        return
    parameters = dict(flow_run.parameters or {})
    root = str(parameters.get("root", "."))
    try:
        params = load_params(
            _params_path(ProjectPaths.at(root), str(parameters.get("params_file", "params.yaml"))),
            parameters.get("overrides") or (),
            str(parameters.get("profile", "default")),
        )
    except Exception:  # the params that made it crash may be what is broken; nothing to tell then
        return
    notify.send(
        params.pipeline.notify,
        f"seqlab: flow run {flow_run.name} crashed",
        f"Prefect flow run {flow_run.id} ({flow.name}) crashed: {state.message}",
    )


def _check_steps(params: Params, warn: Callable[[str], None]) -> None:
    """Refuse timeouts of unknown steps; size TensorFlow's thread pools before any step runs."""
    unknown = sorted(set(params.pipeline.step_timeouts) - set(STEPS))
    if unknown:
        raise ConfigError(
            f"pipeline.step_timeouts: unknown steps {unknown}; the steps are {', '.join(STEPS)}"
        )
    pools = params.pipeline.tensorflow_threads
    problem = runtime.use_thread_pools(pools.intra_op, pools.inter_op)
    if problem:
        warn(problem)


@flow(name="seqlab-dataset", flow_run_name="{dataset}-{profile}", log_prints=True, on_crashed=[_on_crashed])
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
    _check_steps(params, logger.warning)
    with _one_run_at_a_time(paths, logger.warning):
        reconcile_crashed_runs(paths, params, logger.warning)
        return _dataset_steps(dataset, profile, overrides, params_file, params, paths, logger)


def _dataset_steps(
    dataset: str,
    profile: str,
    overrides: Sequence[str],
    params_file: str,
    params: Params,
    paths: ProjectPaths,
    logger: Any,
) -> dict[str, Any]:
    context = FlowRunContext.get()
    flow_run_id = str(context.flow_run.id) if context and context.flow_run else None
    run = recording.start_pipeline(dataset, params, paths, "prefect", flow_run_id=flow_run_id)
    logger.info(f"{dataset}: MLflow parent run {run.run_id} ({tracking.tracking_uri(paths.root)})")
    summary: dict[str, Any] = {"mlflow_run_id": run.run_id, "steps": {}}
    step = STEPS[0]
    keys: dict[str, str] = {}
    signalled: list[int] = []  # SIGTERM, also where it surfaced as another error
    with _noting_sigterm(signalled):
        try:
            for number, step in enumerate(STEPS, start=1):
                started = time.perf_counter()
                result, cached, keys[step] = _run_step(step, dataset, params, paths, run)
                seconds = time.perf_counter() - started
                summary["steps"][step] = {"cached": cached, "seconds": round(seconds, 2)}
                logger.info(
                    f"[{number}/{len(STEPS)}] {dataset} {step}: {'cached, skipped' if cached else 'done'} "
                    f"in {seconds:.1f} s"
                )
            summary["registry"] = result
            summary["dvc_committed"] = _is_dvc_default(paths, profile, overrides, params_file)
            if summary["dvc_committed"]:
                step = "dvc commit"
                summary["dvc_commit"] = _commit_unless_current(paths, dataset, keys)
        except BaseException as error:
            recording.finish_pipeline(run, error, step)
            logger.error(f"{dataset}: step {step} failed; MLflow run {run.run_id} marked FAILED")
            if not isinstance(error, KeyboardInterrupt | GeneratorExit):  # a person's Ctrl-C needs no alert
                _alert_failure(params, paths, run, step, error, crashed=bool(signalled))
            raise
    recording.finish_pipeline(run, data_hashes=_data_hashes(paths, dataset, summary["dvc_committed"], logger))
    if run.reused:
        logger.info(
            f"{dataset}: reused {len(run.reused)}/{len(STEPS)} steps; nothing recorded again for them"
        )
    return summary


def _data_hashes(paths: ProjectPaths, dataset: str, dvc_committed: bool, logger: Any) -> dict[str, str]:
    """The DVC hashes of the run's data: from dvc.lock after a dvc commit, else computed by DVC.

    A finished run is not failed for want of them: an error is logged and recorded instead.
    """
    if dvc_committed:
        return recording.dvc_data_hashes(dataset, paths)
    try:
        return graph.data_hashes(paths.root, dataset)
    except Exception as error:  # DVC cannot read the project: the run's results still stand
        logger.warning(f"{dataset}: could not compute the data's DVC hashes: {error}")
        return {"seqlab.dvc_hash_error": f"{type(error).__name__}: {error}"[:500]}


def _commit_unless_current(paths: ProjectPaths, dataset: str, keys: dict[str, str]) -> str:
    """``dvc commit`` the dataset's stages, unless dvc.lock already records these very outputs.

    The stamp pairs the steps' keys (which fix the files on disk) with the dataset's dvc.lock
    entries as they stood after the last commit; a rerun with both unchanged has nothing to record,
    which spares it DVC's start-up and re-hashing (seconds per dataset).
    """
    names = [graph.stage_name(step, dataset) for step in STEPS]
    stamp = paths.root / STAMP_FOLDER / f"dvc-commit-{dataset}"
    wanted = f"{'/'.join(keys[step] for step in STEPS)} {graph.lock_entries_sha256(paths.root, names)}"
    if stamp.exists() and stamp.read_text() == wanted:
        return "current"
    graph.commit(paths.root, names)
    stamp.parent.mkdir(parents=True, exist_ok=True)
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


@flow(name="seqlab-pipeline", log_prints=True, on_crashed=[_on_crashed])
def pipeline(
    datasets: Sequence[str] = (ALL,),
    profile: str = "default",
    overrides: Sequence[str] = (),
    root: str = ".",
    params_file: str = "params.yaml",
) -> dict[str, Any]:
    """Run the pipeline of each dataset in turn; one failing dataset does not stop the others."""
    paths = ProjectPaths.at(root)
    params = load_params(_params_path(paths, params_file), overrides, profile)
    _check_steps(params, get_run_logger().warning)
    chosen = params.select(list(datasets))
    summaries: dict[str, Any] = {}
    failures: dict[str, str] = {}
    with _one_run_at_a_time(paths, get_run_logger().warning):
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
    with heartbeats_only_for_a_lasting_server(), lock.project_lock(root):
        if len(datasets) == 1 and datasets[0] != ALL:
            return {datasets[0]: dataset_pipeline(datasets[0], profile, list(overrides), root, params_file)}
        return pipeline(list(datasets), profile, list(overrides), root, params_file)
