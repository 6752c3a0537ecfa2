"""A lasting local stack for scheduled pipelines: Prefect server, one process worker, MLflow server.

``seqlab up`` starts the three detached (a session of their own, so they outlive the command; logs in
``.seqlab/logs/``) and records each one's pid, command line, start time and URL in
``.seqlab/stack.json``. ``seqlab down`` stops exactly those processes: a recorded pid counts only
while it still runs the recorded command, started at the recorded time (pids are reused).
``seqlab run`` and ``seqlab deploy`` find the Prefect server here.

Prefect is imported inside the functions that need it, never at module level: the CLI sets
``PREFECT_HOME`` and ``PREFECT_API_URL`` before Prefect reads its settings.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

from seqlab import tracking

STATE_FOLDER = Path(".seqlab")
STATE_FILE = STATE_FOLDER / "stack.json"
LOG_FOLDER = STATE_FOLDER / "logs"
WORK_POOL = "seqlab"
PREFECT, WORKER, MLFLOW = "prefect", "worker", "mlflow"
SERVICES: tuple[str, ...] = (PREFECT, WORKER, MLFLOW)
LABELS = {PREFECT: "Prefect server", WORKER: "Prefect worker", MLFLOW: "MLflow server"}
# Start-ups on a busy 2-core machine take tens of seconds (database migrations, imports): give minutes.
STARTUP_DEADLINE_SECONDS = 300.0
STOP_DEADLINE_SECONDS = 120.0
PROBE_SECONDS = 10.0  # one health request; the start-up deadline bounds the polling


@dataclass(frozen=True)
class Service:
    """One process of the stack as ``seqlab up`` started it."""

    name: str
    pid: int
    command: list[str]
    started_at: float  # the process's creation time: a reused pid runs something else
    url: str
    log: str


def _local(host: str) -> str:
    """The address to reach a server bound to ``host`` from this machine."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def api_url(prefect_url: str) -> str:
    """Prefect's API lives under /api of its UI's address."""
    return f"{prefect_url.rstrip('/')}/api"


# --------------------------------------------------------------------------- the record


def state_path(root: str | Path) -> Path:
    """Where the stack of the project at ``root`` is recorded."""
    return Path(root).resolve() / STATE_FILE


def read_state(root: str | Path) -> dict[str, Service]:
    """The recorded services (none when the stack was never started or was stopped)."""
    path = state_path(root)
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {name: Service(**entry) for name, entry in raw["services"].items()}
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(
            f"{path}: unreadable stack record ({error}); stop its processes by hand, then delete it"
        ) from None


def _write_state(root: Path, services: dict[str, Service]) -> None:
    path = state_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(
        json.dumps({"services": {name: asdict(service) for name, service in services.items()}}, indent=2)
        + "\n",
        encoding="utf-8",
    )
    temporary.replace(path)


# --------------------------------------------------------------------------- checks


def _process(service: Service) -> psutil.Process | None:
    """The live process of ``service``, or None if its pid is gone, a zombie or runs something else."""
    try:
        process = psutil.Process(service.pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        if process.cmdline() != service.command or abs(process.create_time() - service.started_at) > 1.0:
            return None
        return process
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def running(service: Service) -> bool:
    """Whether the recorded process still runs (same pid, command line and start time)."""
    return _process(service) is not None


def answers(url: str) -> bool:
    """Whether ``url`` answers 200 to a GET (a health endpoint)."""
    try:
        with urllib.request.urlopen(url, timeout=PROBE_SECONDS) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError, ValueError):
        return False


def worker_online(prefect_url: str, name: str, since: float = 0.0) -> bool:
    """Whether the Prefect server lists worker ``name`` of pool ``seqlab`` as ONLINE.

    ``since`` (epoch seconds) asks for a heartbeat after it: the server keeps an ONLINE record of a
    worker of the same name from an earlier start for a while.
    """
    from prefect.client.orchestration import SyncPrefectClient

    try:
        with SyncPrefectClient(api_url(prefect_url)) as client:
            # offset and limit explicitly: the sync client sends None, which the server refuses (422)
            workers = client.read_workers_for_work_pool(WORK_POOL, offset=0, limit=200)
    except Exception:  # server down, pool missing: not online, and status should say so, not raise
        return False
    return any(
        worker.name == name
        and str(worker.status.value) == "ONLINE"
        and worker.last_heartbeat_time is not None
        and worker.last_heartbeat_time.timestamp() >= since
        for worker in workers
    )


def healthy(service: Service, services: dict[str, Service]) -> bool:
    """Whether a service answers its health check (the worker: ONLINE on the Prefect server)."""
    if service.name == PREFECT:
        return answers(f"{api_url(service.url)}/health")
    if service.name == MLFLOW:
        return answers(f"{service.url.rstrip('/')}/health")
    prefect = services.get(PREFECT)
    return prefect is not None and worker_online(prefect.url, _worker_name(service))


def _worker_name(service: Service) -> str:
    return service.command[service.command.index("--name") + 1]


def stack_api_url(root: str | Path) -> str | None:
    """The Prefect API of this project's stack when ``seqlab up`` started it and it answers, else None."""
    prefect = read_state(root).get(PREFECT)
    if prefect is None or not running(prefect) or not answers(f"{api_url(prefect.url)}/health"):
        return None
    return api_url(prefect.url)


def status(root: str | Path) -> list[dict[str, Any]]:
    """One row per recorded service: pid, alive (the recorded process runs), URL, healthy."""
    services = read_state(root)
    rows = []
    for name in SERVICES:
        if name not in services:
            continue
        service = services[name]
        alive = running(service)
        rows.append(
            {
                "service": LABELS[name],
                "pid": service.pid,
                "alive": alive,
                "healthy": alive and healthy(service, services),
                "url": service.url,
                "log": service.log,
            }
        )
    return rows


# --------------------------------------------------------------------------- start


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _spawn(root: Path, name: str, command: list[str], env: dict[str, str], url: str) -> Service:
    """Start ``command`` detached (own session and process group), its output appended to its log."""
    log = root / LOG_FOLDER / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as handle:
        handle.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} seqlab up: {' '.join(command)}\n")
        handle.flush()
        process = subprocess.Popen(
            command,
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # survives this command and Ctrl-C in its terminal
        )
    return Service(name, process.pid, command, psutil.Process(process.pid).create_time(), url, str(log))


def _tail(path: str, lines: int = 30) -> str:
    try:
        return "\n".join(Path(path).read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def wait_until(
    check: Callable[[], bool],
    what: str,
    deadline_seconds: float = STARTUP_DEADLINE_SECONDS,
    alive: Callable[[], bool] | None = None,
    log: str | None = None,
) -> float:
    """Poll ``check`` every second until it holds; fail naming ``what`` and the log if it never does.

    Returns the seconds it took. ``alive`` stops the wait early when the process being waited for
    has exited.
    """
    started = time.monotonic()
    while not check():
        where = f"; its log {log}:\n{_tail(log)}" if log else ""
        if alive is not None and not alive():
            raise RuntimeError(f"{what} exited during start-up{where}")
        if time.monotonic() - started > deadline_seconds:
            raise RuntimeError(f"{what} did not answer within {deadline_seconds:.0f} s{where}")
        time.sleep(1.0)
    return time.monotonic() - started


def _ensure_work_pool(prefect_url: str) -> bool:
    """Create the process work pool ``seqlab`` if the server lacks it; return whether it was created."""
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound
    from prefect.workers.process import ProcessWorker

    with SyncPrefectClient(api_url(prefect_url)) as client:
        try:
            client.read_work_pool(WORK_POOL)
            return False
        except ObjectNotFound:
            client.create_work_pool(
                WorkPoolCreate(
                    name=WORK_POOL,
                    type=ProcessWorker.type,
                    base_job_template=ProcessWorker.get_default_base_job_template(),
                )
            )
            return True


def _mlflow_command(root: Path, host: str, port: int) -> list[str]:
    """``mlflow server`` over the project's store, serving artifacts so remote workers can log them.

    Experiments it creates get ``mlflow-artifacts:/`` locations, stored in the project's
    ``mlartifacts/``; those seqlab created directly in the SQLite store keep their file locations.
    """
    uri = tracking.tracking_uri(root)
    if uri.startswith(("http://", "https://")):
        raise ValueError(
            f"MLFLOW_TRACKING_URI={uri} already names a tracking server; `seqlab up` serves the "
            "project's own store: unset MLFLOW_TRACKING_URI (or point it at a sqlite:/// file)"
        )
    return [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        uri,
        "--serve-artifacts",
        "--artifacts-destination",
        tracking.artifact_root(root, uri).as_uri(),
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        "1",  # one project, a few users: four workers would cost a core's worth of memory and start-up
    ]


def up(
    root: str | Path,
    host: str = "127.0.0.1",
    prefect_port: int = 4200,
    mlflow_port: int = 5000,
    log: Callable[[str], None] = print,
) -> tuple[bool, list[dict[str, Any]]]:
    """Start the stack unless it already runs; return whether it already did, and its status rows."""
    root = Path(root).resolve()
    recorded = read_state(root)
    if recorded and all(name in recorded and running(recorded[name]) for name in SERVICES):
        return True, status(root)
    if recorded:
        stopped = [LABELS[name] for name in recorded if not running(recorded[name])]
        log(f"the recorded stack is incomplete (not running: {', '.join(stopped)}): restarting it")
        down(root, log)
    for port, option in ((prefect_port, "--prefect-port"), (mlflow_port, "--mlflow-port")):
        if not _port_free(host, port):
            raise RuntimeError(
                f"port {port} on {host} is in use by another program: choose another with {option}"
            )

    mlflow_command = _mlflow_command(root, host, mlflow_port)  # refuses a server URI before starting anything
    env = {**os.environ}
    env.setdefault("PREFECT_HOME", str(root / ".prefect"))
    local = _local(host)
    prefect_url = f"http://{local}:{prefect_port}"
    mlflow_url = f"http://{local}:{mlflow_port}"
    server_env = {key: value for key, value in env.items() if key != "PREFECT_API_URL"}
    # The UI's pages call the API at this address; left unset, Prefect builds it from its port
    # *setting* (4200), not from --port. Another machine's browser needs the host's name: set it.
    server_env.setdefault("PREFECT_UI_API_URL", api_url(prefect_url))
    services: dict[str, Service] = {}
    try:
        services[PREFECT] = _spawn(
            root,
            PREFECT,
            [sys.executable, "-m", "prefect", "server", "start", "--host", host, "--port", str(prefect_port)],
            server_env,
            prefect_url,
        )
        _write_state(root, services)
        services[MLFLOW] = _spawn(root, MLFLOW, mlflow_command, env, mlflow_url)
        _write_state(root, services)
        pids = ", ".join(f"{LABELS[name]} pid {service.pid}" for name, service in services.items())
        log(f"starting: {pids}")
        for name in (PREFECT, MLFLOW):
            service = services[name]
            seconds = wait_until(
                lambda service=service: healthy(service, services),
                f"{LABELS[name]} at {service.url}",
                alive=lambda service=service: running(service),
                log=service.log,
            )
            log(f"{LABELS[name]} answers at {service.url} ({seconds:.0f} s)")
        if _ensure_work_pool(prefect_url):
            log(f"created the process work pool {WORK_POOL!r}")
        worker_name = f"seqlab-{socket.gethostname()}"
        services[WORKER] = _spawn(
            root,
            WORKER,
            [
                sys.executable,
                "-m",
                "prefect",
                "worker",
                "start",
                "--pool",
                WORK_POOL,
                "--type",
                "process",
                "--name",
                worker_name,
            ],
            {**env, "PREFECT_API_URL": api_url(prefect_url)},
            f"{prefect_url}/work-pools/work-pool/{WORK_POOL}",
        )
        _write_state(root, services)
        worker = services[WORKER]
        seconds = wait_until(
            lambda: worker_online(prefect_url, worker_name, since=worker.started_at),
            f"{LABELS[WORKER]} {worker_name} of pool {WORK_POOL!r}",
            alive=lambda: running(worker),
            log=worker.log,
        )
        log(f"{LABELS[WORKER]} {worker_name} polls pool {WORK_POOL!r} ({seconds:.0f} s)")
    except BaseException:
        down(root, log)  # nothing half-started is left behind
        raise
    return False, status(root)


# --------------------------------------------------------------------------- stop


def _gone(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE  # exited; its parent has not reaped it yet
    except psutil.NoSuchProcess:
        return True


def _signal(processes: list[psutil.Process], group: int | None, number: int) -> None:
    if group is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, number)
    for process in processes:  # flow-run processes may sit in sessions of their own
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(number)


def _stop(service: Service) -> str:
    """Stop one recorded process, its process group and its descendants; wait until they exit."""
    leader = _process(service)
    if leader is None:
        return "not running (or its pid now runs another command: left alone)"
    try:
        family = [leader, *leader.children(recursive=True)]
        group = os.getpgid(service.pid)
    except (psutil.NoSuchProcess, ProcessLookupError):
        return "exited"
    group_to_signal = group if group == service.pid else None  # only a group that `up` created
    _signal(family, group_to_signal, signal.SIGTERM)
    deadline = time.monotonic() + STOP_DEADLINE_SECONDS
    while not all(_gone(process) for process in family) and time.monotonic() < deadline:
        time.sleep(0.5)
    if all(_gone(process) for process in family):
        return "stopped"
    _signal([process for process in family if not _gone(process)], group_to_signal, signal.SIGKILL)
    deadline = time.monotonic() + STOP_DEADLINE_SECONDS
    while not all(_gone(process) for process in family) and time.monotonic() < deadline:
        time.sleep(0.5)
    if not all(_gone(process) for process in family):
        raise RuntimeError(f"{LABELS[service.name]} (pid {service.pid}) survived SIGKILL")
    return f"killed (no exit {STOP_DEADLINE_SECONDS:.0f} s after SIGTERM)"


def down(root: str | Path, log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Stop the recorded services (worker first, so no run starts on a stopping server); forget them."""
    root = Path(root).resolve()
    services = read_state(root)
    stopped = []
    for name in (WORKER, MLFLOW, PREFECT):
        if name in services:
            outcome = _stop(services[name])
            log(f"{LABELS[name]} (pid {services[name].pid}): {outcome}")
            stopped.append({"service": LABELS[name], "pid": services[name].pid, "outcome": outcome})
    state_path(root).unlink(missing_ok=True)
    return stopped
