"""One run at a time, and a killed run reconciled: real `seqlab run` processes, real Prefect and MLflow.

Two runs started together in one checkout: the second waits for the first (saying who holds the
lock) and neither corrupts the other. A run killed with SIGKILL in the middle of training leaves its
Prefect flow and task runs RUNNING, its MLflow runs RUNNING and its temporary Prefect server
orphaned; the next run marks them Crashed / FAILED and stops the server.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pipeline.helpers import MIRROR, clean_copy, run_command

pytestmark = [
    pytest.mark.slow,
    pytest.mark.pipeline,
    pytest.mark.data,
    pytest.mark.skipif(not MIRROR.is_dir(), reason=f"no data mirror at {MIRROR}"),
]

SMOKE = ["seqlab", "run", "--dataset", "synthetic", "--profile", "smoke"]
DEADLINE_S = 600


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """A clean copy with its own Prefect home (the temporary servers' database) and MLflow store."""
    root, env = clean_copy(tmp_path_factory.mktemp("crash"))
    yield root, {**env, "PYTHONUNBUFFERED": "1"}


def _wait_for(predicate: Any, what: str, deadline_s: float = DEADLINE_S) -> Any:
    """Poll ``predicate`` until it returns something truthy (a generous deadline, not a timer)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"gave up after {deadline_s} s waiting for {what}")


def _holder(root: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads((root / ".seqlab" / "run.json").read_text()))
    except (OSError, ValueError):
        return None


def _mlflow_runs(env: dict[str, str], status: str) -> list[Any]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    experiment = client.get_experiment_by_name("seqlab-synthetic")
    if experiment is None:
        return []
    return list(client.search_runs([experiment.experiment_id], f"attributes.status = '{status}'"))


PREFECT_STATES = """
import json
from prefect import get_client
from prefect.client.schemas.sorting import FlowRunSort, TaskRunSort
with get_client(sync_client=True) as client:
    flows = client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=200)
    tasks = client.read_task_runs(sort=TaskRunSort.EXPECTED_START_TIME_DESC, limit=200)
    print(json.dumps({
        "flows": {str(run.id): run.state.type.value for run in flows if run.state},
        "tasks": {str(run.id): [run.name, run.state.type.value] for run in tasks if run.state},
    }))
"""


def _prefect_states(root: Path, env: dict[str, str]) -> dict[str, Any]:
    """Flow and task run states in the project's Prefect database, read through Prefect's client."""
    output = run_command([sys.executable, "-c", PREFECT_STATES], root, env, timeout=600, stdout_only=True)
    return dict(json.loads(output.strip().splitlines()[-1]))


def test_two_runs_started_together_take_turns(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    first_file, second_file = root.parent / "first.log", root.parent / "second.log"
    with open(first_file, "w") as first_log, open(second_file, "w") as second_log:
        first = subprocess.Popen(SMOKE, cwd=root, env=env, stdout=first_log, stderr=subprocess.STDOUT)
        _wait_for(lambda: _holder(root), "the first run to take the project lock")
        second = subprocess.Popen(SMOKE, cwd=root, env=env, stdout=second_log, stderr=subprocess.STDOUT)
        assert first.wait(timeout=DEADLINE_S) == 0, (root.parent / "first.log").read_text()[-4000:]
        assert second.wait(timeout=DEADLINE_S) == 0, (root.parent / "second.log").read_text()[-4000:]
    waited = (root.parent / "second.log").read_text()
    assert f"busy: PID {first.pid}" in waited and "seqlab run --dataset synthetic" in waited
    assert "reused 9/9 steps" in waited  # it found the first run's finished outputs, whole
    assert not _mlflow_runs(env, "FAILED") and not _mlflow_runs(env, "RUNNING")
    assert _holder(root) is None  # released


def test_a_killed_run_is_reconciled_by_the_next(project: tuple[Path, dict[str, str]]) -> None:
    import psutil

    root, env = project
    longer = ["seqlab", "--param", "datasets.synthetic.training.epochs=40", *SMOKE[1:]]
    log = root.parent / "killed.log"
    with open(log, "w") as handle:
        victim = subprocess.Popen(longer, cwd=root, env=env, stdout=handle, stderr=subprocess.STDOUT)
        _wait_for(
            lambda: "[5/9] synthetic tune" in log.read_text() or victim.poll() is not None,
            "the run to reach training",
        )
        assert victim.poll() is None, log.read_text()[-4000:]
        holder = _wait_for(lambda: _holder(root), "the holder record")
        assert holder["pid"] == victim.pid and holder["flow_runs"], holder
        _wait_for(lambda: _mlflow_runs(env, "RUNNING"), "the parent run to be open in MLflow")
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=60)
    servers = holder["servers"]
    running_before = _prefect_states(root, env)
    assert any(state == "RUNNING" for state in running_before["flows"].values()), running_before

    output = run_command(longer, root, env, timeout=DEADLINE_S)
    assert "reconciled a killed run" in output, output[-4000:]
    assert not any(psutil.pid_exists(pid) and _is_server(pid) for pid in servers), servers
    states = _prefect_states(root, env)
    for flow_run in holder["flow_runs"]:
        assert states["flows"][flow_run] == "CRASHED", states["flows"]
    assert "RUNNING" not in states["flows"].values(), states
    assert not [task for task in states["tasks"].values() if task[1] in ("RUNNING", "PENDING")], states
    assert not _mlflow_runs(env, "RUNNING")
    failed = _mlflow_runs(env, "FAILED")
    assert any("interrupted" in run.data.tags.get("seqlab.error", "") for run in failed)
    assert not (root / ".seqlab" / "crashed").is_dir() or not list((root / ".seqlab" / "crashed").iterdir())


def _is_server(pid: int) -> bool:
    import psutil

    try:
        return "prefect.server.api.server:create_app" in psutil.Process(pid).cmdline()
    except psutil.Error:
        return False


def test_a_run_stopped_by_sigterm_alerts_with_its_step_and_run(project: tuple[Path, dict[str, str]]) -> None:
    """A crash Prefect sees (SIGTERM from a worker or a person) sends one alert naming step and run."""
    import http.server
    import threading

    root, env = project
    received: list[dict[str, Any]] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the http.server API)
            received.append(json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0)))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"json://127.0.0.1:{server.server_address[1]}/alerts"
    command = [
        "seqlab",
        "--param",
        "datasets.synthetic.training.epochs=41",
        "--param",
        f"pipeline.notify=[{url}]",
    ]
    log = root.parent / "terminated.log"
    try:
        with open(log, "w") as handle:
            run = subprocess.Popen(
                [*command, *SMOKE[1:]], cwd=root, env=env, stdout=handle, stderr=subprocess.STDOUT
            )
            # Once a variant has trained, the next one is inside Keras's fit loop: a signal that lands
            # while Keras still imports its modules is turned into an ImportError by Keras itself.
            _wait_for(
                lambda: "synthetic: variant " in log.read_text() or run.poll() is not None,
                "the run to train its first variant",
            )
            run.send_signal(signal.SIGTERM)
            assert run.wait(timeout=DEADLINE_S) != 0
        _wait_for(lambda: received, "the alert", deadline_s=120)
    finally:
        server.shutdown()
    assert len(received) == 1, received  # the crash hook stays quiet once the step's alert went out
    failed = max(
        (run for run in _mlflow_runs(env, "FAILED") if run.data.tags.get("seqlab.failed_step") == "train"),
        key=lambda run: run.info.start_time,
    )
    assert received[0]["title"] == "seqlab: synthetic crashed at step train"
    assert failed.info.run_id in received[0]["message"]
    assert not _mlflow_runs(env, "RUNNING")
    _stop_servers_of(env["PREFECT_HOME"])


def _stop_servers_of(prefect_home: str) -> None:
    """Stop the temporary Prefect servers of this test's Prefect home that a stopped run left.

    A run ended by SIGTERM leaves its temporary server running (Prefect does not stop it then, and no
    later run here reconciles it): without this each `make test` left one uvicorn behind.
    """
    import psutil

    for process in psutil.process_iter(["pid"]):
        with contextlib.suppress(psutil.Error):
            if _is_server(process.pid) and process.environ().get("PREFECT_HOME") == prefect_home:
                process.terminate()
                process.wait(timeout=60)
