"""One run at a time per project: a lock that names its holder, and the record of a run that died.

Two runs in one checkout share checkpoint, tuner and result folders, so they would corrupt each
other. Every writer (``seqlab run``, a scheduled flow run, each ``seqlab stage`` that ``dvc repro``
calls) holds ``.seqlab/run.lock`` while it works. The lock is an OS file lock (:mod:`filelock`),
which the kernel releases when its process dies, so a lock left by a killed run is simply taken
over. Beside it, ``.seqlab/run.json`` names the holder (PID, command, start time) for the message
a waiting run prints, and lists what the holder started (Prefect flow runs, a temporary server):
a holder that exits cleanly removes it, so finding one on acquiring means its writer was killed:
the record moves to ``.seqlab/crashed/<pid>.json`` until whoever can reconcile it has (the flows
mark its Prefect runs Crashed; anyone stops the temporary server it left behind).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from seqlab.fileio import write_json

LOCK_FOLDER = ".seqlab"
LOCK_FILE = "run.lock"
HOLDER_FILE = "run.json"
CRASHED_FOLDER = "crashed"

_held: dict[str, int] = {}  # lock path → depth, for this process (a flow inside ``seqlab run``)
_guard = threading.Lock()


class LockTimeout(RuntimeError):
    """Another run held the project lock for longer than the caller would wait."""


@dataclass
class Holder:
    """Who holds (or held) the project lock, and what it started that may outlive it."""

    pid: int
    command: str
    host: str
    started: float
    flow_runs: list[str] = field(default_factory=list)
    servers: list[int] = field(default_factory=list)

    def describe(self) -> str:
        """``PID 123 (seqlab run --dataset all) since 12:00:05``."""
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started))
        return f"PID {self.pid} on {self.host} ({self.command}) since {since}"


def _folder(root: str | Path) -> Path:
    return Path(root).resolve() / LOCK_FOLDER


def read_holder(root: str | Path) -> Holder | None:
    """Return the holder record, or None when absent or unreadable (a torn record is not trusted)."""
    try:
        raw = json.loads((_folder(root) / HOLDER_FILE).read_text(encoding="utf-8"))
        return Holder(
            pid=int(raw["pid"]),
            command=str(raw["command"]),
            host=str(raw.get("host", "")),
            started=float(raw.get("started", 0.0)),
            flow_runs=[str(item) for item in raw.get("flow_runs", [])],
            servers=[int(item) for item in raw.get("servers", [])],
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_holder(root: str | Path, holder: Holder) -> None:
    write_json(_folder(root) / HOLDER_FILE, holder.__dict__)


def note(root: str | Path, flow_run: str | None = None, server: int | None = None) -> None:
    """Add what this process started to its holder record (only while it holds the lock)."""
    holder = read_holder(root)
    if holder is None or holder.pid != os.getpid():
        return
    if flow_run and flow_run not in holder.flow_runs:
        holder.flow_runs.append(flow_run)
    if server and server not in holder.servers:
        holder.servers.append(server)
    _write_holder(root, holder)


def holds(root: str | Path) -> bool:
    """Whether this process holds the project lock."""
    return _held.get(str(_folder(root) / LOCK_FILE), 0) > 0


def _command() -> str:
    arguments = [Path(sys.argv[0]).name, *sys.argv[1:]] if sys.argv and sys.argv[0] else ["python"]
    return " ".join(arguments)[:300]


@contextlib.contextmanager
def project_lock(
    root: str | Path, timeout: float | None = None, log: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the project's run lock for a block; wait for another holder, saying who it is.

    ``timeout`` (seconds; None waits for ever) bounds the wait, then :class:`LockTimeout` names the
    holder. Re-entrant within a process. A record left by a holder that died moves to
    ``.seqlab/crashed/`` (see :func:`crashed_runs`) and its temporary servers are stopped.
    """
    from filelock import FileLock
    from filelock import Timeout as FileLockTimeout

    folder = _folder(root)
    folder.mkdir(parents=True, exist_ok=True)
    path = str(folder / LOCK_FILE)
    with _guard:
        depth = _held.get(path, 0)
        if depth:
            _held[path] = depth + 1
    if depth:
        try:
            yield
        finally:
            with _guard:
                _held[path] -= 1
        return

    lock = FileLock(path, thread_local=False)
    try:
        lock.acquire(timeout=0)
    except FileLockTimeout:
        holder = read_holder(root)
        who = holder.describe() if holder else "another process"
        (log or _stderr)(f"seqlab: the project {Path(root).resolve()} is busy: {who} holds {path}; waiting")
        try:
            lock.acquire(timeout=-1 if timeout is None else timeout)
        except FileLockTimeout:
            raise LockTimeout(
                f"{path}: still held by {who} after {timeout:g} s; one run at a time per project"
            ) from None
    with _guard:
        _held[path] = 1
    try:
        stale = read_holder(root)
        if stale is not None and stale.pid != os.getpid():
            stop_servers(stale, log or _stderr)
            stale.servers = []
            write_json(folder / CRASHED_FOLDER / f"{stale.pid}.json", stale.__dict__)
        _write_holder(
            root, Holder(pid=os.getpid(), command=_command(), host=socket.gethostname(), started=time.time())
        )
        yield
    finally:
        with _guard:
            _held[path] = 0
        with contextlib.suppress(OSError):
            (folder / HOLDER_FILE).unlink()
        lock.release()


def crashed_runs(root: str | Path) -> list[tuple[Path, Holder]]:
    """Return the records of runs that died holding the lock, not yet reconciled (oldest first)."""
    found: list[tuple[Path, Holder]] = []
    for file in sorted((_folder(root) / CRASHED_FOLDER).glob("*.json")):
        try:
            raw = json.loads(file.read_text(encoding="utf-8"))
            found.append((file, Holder(**raw)))
        except (OSError, ValueError, TypeError):
            file.unlink(missing_ok=True)  # unreadable: nothing left to reconcile from it
    return found


def stop_servers(holder: Holder, log: Callable[[str], None]) -> list[int]:
    """Stop the temporary Prefect servers a dead run left running (only if still that command)."""
    import psutil

    stopped: list[int] = []
    for pid in holder.servers:
        try:
            process = psutil.Process(pid)
            command = " ".join(process.cmdline())
            if "prefect" not in command or "server" not in command:
                continue  # the PID was reused by something else
            family = [*process.children(recursive=True), process]
            for member in family:
                member.terminate()
            _, alive = psutil.wait_procs(family, timeout=30)
            for member in alive:
                member.kill()
        except psutil.Error:
            continue
        stopped.append(pid)
        log(f"seqlab: stopped the temporary Prefect server (PID {pid}) left by {holder.describe()}")
    return stopped


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
