"""The scheduled deployment `seqlab deploy` registers, built from params.yaml and --param overrides.

(That it really fires on the stack of `seqlab up` is test_stack.py.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from seqlab.config import load_params

pytestmark = [pytest.mark.pipeline]
REPO = Path(__file__).resolve().parents[2]


def test_deployment_carries_the_schedule_and_parameters_of_params_and_overrides() -> None:
    from flows import schedule
    from flows.stack import WORK_POOL

    overrides = [
        "pipeline.schedule.cron='15 4 * * 2'",
        "pipeline.schedule.timezone=Europe/London",
        "pipeline.schedule.datasets=[giss]",
        "pipeline.schedule.profile=smoke",
        "defaults.giss_station.training.epochs=2",
    ]
    params = load_params(REPO / "params.yaml", overrides)

    deployment = schedule.deployment(params, REPO, "params.yaml", overrides)

    assert deployment.name == schedule.DEPLOYMENT_NAME
    assert deployment.flow_name == "seqlab-pipeline"
    assert deployment.entrypoint == schedule.ENTRYPOINT
    assert deployment.work_pool_name == WORK_POOL
    (entry,) = deployment.schedules
    assert (entry.schedule.cron, entry.schedule.timezone) == ("15 4 * * 2", "Europe/London")
    assert deployment.parameters == {
        "datasets": ["giss"],
        "profile": "smoke",
        # the schedule keys are the deployment's own; every other override reaches the flow
        "overrides": ["defaults.giss_station.training.epochs=2"],
        "root": str(REPO),
        "params_file": "params.yaml",
    }
    assert deployment.concurrency_limit == 1
    # The worker runs the code of the project folder: it changes into it before loading the entrypoint.
    (step,) = deployment.storage.to_pull_step().values()
    assert step["directory"] == str(REPO)


def test_default_deployment_is_the_weekly_schedule_of_params_yaml() -> None:
    from flows import schedule

    params = load_params(REPO / "params.yaml")
    deployment = schedule.deployment(params, REPO)
    (entry,) = deployment.schedules
    assert entry.schedule.cron == params.pipeline.schedule.cron == "0 3 * * 1"
    assert deployment.parameters["datasets"] == params.pipeline.schedule.datasets
    assert deployment.parameters["profile"] == params.pipeline.schedule.profile
    assert deployment.parameters["overrides"] == []
