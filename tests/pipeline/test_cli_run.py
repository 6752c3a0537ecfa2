"""The command a user types to look at runs: `seqlab ui` on the project's store.

(`seqlab run` into an empty SQLite store, from a clean copy, is in test_new_dataset.py.)"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from flows.stack import STOP_DEADLINE_SECONDS, answers, wait_until
from tests.pipeline.helpers import run_command

pytestmark = [pytest.mark.slow, pytest.mark.pipeline]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_seqlab_ui_serves_the_project_store(tmp_path: Path) -> None:
    port = _free_port()
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path)}
    command = ["seqlab", "--root", str(tmp_path), "ui", "--port", str(port)]
    printed = run_command([*command, "--print-command"], tmp_path, env)
    assert f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}" in printed
    server = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        # A start-up under load (the whole suite on 2 cores) takes far longer than alone: minutes, polled.
        wait_until(
            lambda: answers(f"http://127.0.0.1:{port}/health"),
            "the MLflow UI of `seqlab ui`",
            alive=lambda: server.poll() is None,
        )
    except RuntimeError as error:
        stderr = server.stderr.read().decode() if server.stderr and server.poll() is not None else ""
        raise AssertionError(f"{error}\n{stderr}") from None
    finally:
        server.terminate()
        server.wait(timeout=STOP_DEADLINE_SECONDS)
