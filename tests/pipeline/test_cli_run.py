"""The command a user types to look at runs: `seqlab ui` on the project's store.

(`seqlab run` into an empty SQLite store, from a clean copy, is in test_new_dataset.py.)"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

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
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
                assert time.monotonic() < deadline, "the MLflow UI did not come up in 120 s"
                time.sleep(1)
    finally:
        server.terminate()
        server.wait(timeout=30)
