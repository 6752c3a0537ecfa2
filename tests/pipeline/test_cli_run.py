"""The commands a user types: `seqlab run` into an empty SQLite store, and `seqlab ui` on it."""

from __future__ import annotations

import math
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.pipeline.helpers import clean_copy, run_command

pytestmark = [pytest.mark.slow, pytest.mark.pipeline]


def test_seqlab_run_smoke_fills_an_empty_store(tmp_path: Path) -> None:
    root, env = clean_copy(tmp_path)
    store = tmp_path / "empty.db"
    store.touch()
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{store}"
    output = run_command(["seqlab", "run", "--dataset", "synthetic", "--profile", "smoke"], root, env)
    assert "[8/8] synthetic register: done" in output, output

    from mlflow.tracking import MlflowClient

    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    experiment = client.get_experiment_by_name("seqlab-synthetic")
    (parent,) = client.search_runs([experiment.experiment_id], "tags.`seqlab.kind` = 'pipeline'")
    assert parent.info.status == "FINISHED"
    children = client.search_runs(
        [experiment.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
    )
    kinds = {run.data.tags["seqlab.kind"] for run in children}
    assert kinds == {"trial", "variant", "baseline"}
    for run in children:
        if run.data.tags["seqlab.kind"] in ("variant", "baseline"):
            assert math.isfinite(run.data.metrics["test_mae"])
    plots = [item.path for item in client.list_artifacts(parent.info.run_id, "plots")]
    assert "plots/forecast.png" in plots
    best = next(run for run in children if run.data.tags.get("seqlab.best_variant") == "true")
    assert [item.path for item in client.list_artifacts(best.info.run_id, "keras")] == ["keras/model.keras"]
    champion = client.get_model_version_by_alias("seqlab-synthetic", "champion")
    assert champion.run_id == best.info.run_id
    # artifacts beside the store, nothing in the working directory
    assert (tmp_path / "mlartifacts").is_dir() and not (root / "mlruns").exists()


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
