"""The scheduled pipeline: served on the cron of params.yaml; prefect.yaml declares the same."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from seqlab.config import load_params

pytestmark = [pytest.mark.pipeline]
REPO = Path(__file__).resolve().parents[2]


def test_schedule_is_registered_with_the_cron_of_params(prefect_server: None, tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client

    from flows import schedule

    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["pipeline"]["schedule"].update(cron="15 4 * * 2", timezone="Europe/London", datasets=["giss"])
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump(raw))
    params = load_params(params_file)

    deployment_id = schedule.serve_schedule(params, str(REPO), str(params_file), register_only=True)

    async def read() -> object:
        async with get_client() as client:
            return await client.read_deployment(deployment_id)

    deployment = asyncio.run(read())
    assert deployment.name == schedule.DEPLOYMENT_NAME  # type: ignore[attr-defined]
    (entry,) = deployment.schedules  # type: ignore[attr-defined]
    assert entry.schedule.cron == "15 4 * * 2"
    assert entry.schedule.timezone == "Europe/London"
    assert entry.active
    assert deployment.parameters == {  # type: ignore[attr-defined]
        "datasets": ["giss"],
        "profile": "default",
        "root": str(REPO),
        "params_file": str(params_file),
    }


def test_prefect_yaml_repeats_the_schedule_of_params_yaml() -> None:
    params = load_params(REPO / "params.yaml")
    project = yaml.safe_load((REPO / "prefect.yaml").read_text())
    (deployment,) = project["deployments"]
    (entry,) = deployment["schedules"]
    assert entry["cron"] == params.pipeline.schedule.cron
    assert entry["timezone"] == params.pipeline.schedule.timezone
    assert deployment["parameters"]["datasets"] == params.pipeline.schedule.datasets
    assert deployment["parameters"]["profile"] == params.pipeline.schedule.profile
    module, _, name = deployment["entrypoint"].partition(":")
    assert (REPO / module).is_file()

    from prefect.flows import load_flow_from_entrypoint

    flow = load_flow_from_entrypoint(str(REPO / deployment["entrypoint"]))
    assert flow.name == "seqlab-pipeline" and name == "pipeline"
