"""A schedule that really fires: `seqlab up`, `seqlab deploy` on a one-minute cron, a run, `seqlab down`.

In a clean git copy with its own Prefect home (.prefect/) and MLflow store (mlflow.db), as a user's
checkout has them: the stack's Prefect server schedules the synthetic smoke pipeline every minute,
its worker runs it from the copy, the run logs to the copy's store, and `seqlab down` leaves none of
the recorded processes running.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.pipeline.helpers import clean_copy, run_command

pytestmark = [pytest.mark.slow, pytest.mark.pipeline]

# The first run starts at the next minute boundary and the smoke pipeline takes about a minute alone;
# under the load of the whole suite several times that.
RUN_DEADLINE_SECONDS = 600.0
FAILED_STATES = {"FAILED", "CRASHED"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str], dict[str, Any]]]:
    """The copy with its stack up; `seqlab down` always runs, and no recorded process survives it."""
    root, env = clean_copy(tmp_path)
    for name in ("MLFLOW_TRACKING_URI", "PREFECT_HOME", "PREFECT_API_URL"):
        env.pop(name, None)  # the project's own .prefect/ and mlflow.db, as for a user
    ports = {"prefect": _free_port(), "mlflow": _free_port()}
    record = root / ".seqlab" / "stack.json"
    try:
        run_command(
            ["seqlab", "up", "--prefect-port", str(ports["prefect"]), "--mlflow-port", str(ports["mlflow"])],
            root,
            env,
        )
        yield root, env, json.loads(record.read_text())["services"]
    finally:
        recorded = json.loads(record.read_text())["services"] if record.exists() else {}
        pids = [entry["pid"] for entry in recorded.values()]
        run_command(["seqlab", "down"], root, env)
        assert not record.exists()
        assert not [pid for pid in pids if _alive(pid)], "seqlab down left recorded processes running"


def _errors(log: str) -> str:
    lines = Path(log).read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(line for line in lines if "ERROR" in line or "Error:" in line)[-3000:]


def _scheduled_runs(api_url: str) -> list[Any]:
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
    from prefect.client.schemas.sorting import FlowRunSort

    with SyncPrefectClient(api_url) as client:
        # limit and sort explicitly: the client's None defaults are refused by this server (422)
        return list(
            client.read_flow_runs(
                deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["seqlab-scheduled"])),
                sort=FlowRunSort.EXPECTED_START_TIME_ASC,
                limit=200,
            )
        )


def test_a_one_minute_schedule_runs_the_smoke_pipeline_on_the_stack(
    stack: tuple[Path, dict[str, str], dict[str, Any]],
) -> None:
    root, env, services = stack
    assert set(services) == {"prefect", "worker", "mlflow"}
    status = json.loads(run_command(["seqlab", "status", "--json"], root, env, stdout_only=True))
    assert [(row["service"], row["alive"], row["healthy"]) for row in status] == [
        ("Prefect server", True, True),
        ("Prefect worker", True, True),
        ("MLflow server", True, True),
    ]
    assert (root / ".prefect" / "prefect.db").is_file()  # the server's database is the project's

    deployed = run_command(
        [
            "seqlab",
            "--param",
            "pipeline.schedule.cron='* * * * *'",
            "--param",
            "pipeline.schedule.profile=smoke",
            "--param",
            "pipeline.schedule.datasets=[synthetic]",
            "deploy",
        ],
        root,
        env,
    )
    assert "cron '* * * * *'" in deployed and "profile smoke" in deployed

    api_url = f"{services['prefect']['url']}/api"
    started = time.monotonic()
    completed: list[Any] = []
    while not completed:
        runs = _scheduled_runs(api_url)
        failed = [run for run in runs if run.state_type and run.state_type.value in FAILED_STATES]
        assert not failed, (
            f"a scheduled run failed: {failed[0].state}; worker log {services['worker']['log']}"
        )
        completed = [run for run in runs if run.state_type and run.state_type.value == "COMPLETED"]
        assert time.monotonic() - started < RUN_DEADLINE_SECONDS, (
            f"no scheduled run completed in {RUN_DEADLINE_SECONDS:.0f} s: "
            f"{[(run.name, run.state_name) for run in runs[:5]]}; worker log {services['worker']['log']}; "
            f"the server's errors (its scheduler creates the runs):\n{_errors(services['prefect']['log'])}"
        )
        time.sleep(5)
    (first, *_) = completed
    assert first.parameters["datasets"] == ["synthetic"] and first.parameters["profile"] == "smoke"
    assert first.parameters["root"] == str(root)

    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("seqlab-synthetic")
    parents = client.search_runs(
        [experiment.experiment_id],
        filter_string="tags.`seqlab.kind` = 'pipeline' and tags.`seqlab.entry_point` = 'prefect' "
        "and tags.`seqlab.profile` = 'smoke' and attributes.status = 'FINISHED'",
    )
    assert parents, "no FINISHED synthetic pipeline run in the copy's MLflow store"

    removed = run_command(["seqlab", "deploy", "--remove"], root, env)
    assert "removed the deployment seqlab-pipeline/seqlab-scheduled" in removed
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.exceptions import ObjectNotFound

    with SyncPrefectClient(api_url) as prefect, pytest.raises(ObjectNotFound):
        prefect.read_deployment_by_name("seqlab-pipeline/seqlab-scheduled")
    assert "no deployment" in run_command(["seqlab", "deploy", "--remove"], root, env)
