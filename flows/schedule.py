"""The scheduled pipeline: one Prefect deployment on the work pool of ``seqlab up``.

``seqlab deploy`` registers it from params.yaml (``pipeline.schedule``: cron, timezone, datasets,
profile) with the ``--param`` overrides; the stack's worker runs it from the project folder, so the
runs use the code, data and stores of this checkout.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flows.stack import WORK_POOL, answers
from seqlab.config import Params

DEPLOYMENT_NAME = "seqlab-scheduled"
ENTRYPOINT = "flows/pipeline.py:pipeline"
SCHEDULE_KEYS = "pipeline.schedule."


def flow_overrides(overrides: Sequence[str]) -> list[str]:
    """The ``--param`` overrides a scheduled run applies.

    ``pipeline.schedule.*`` keys say when and what to run, which the deployment itself carries;
    passed on, they would only make a default-profile run look overridden (and skip ``dvc commit``).
    """
    return [item for item in overrides if not item.strip().startswith(SCHEDULE_KEYS)]


def deployment(
    params: Params, root: str | Path, params_file: str = "params.yaml", overrides: Sequence[str] = ()
) -> Any:
    """The scheduled deployment of the pipeline flow (a RunnerDeployment, not yet registered)."""
    from prefect import flow
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.schedules import Cron

    schedule = params.pipeline.schedule
    root = str(Path(root).resolve())
    # Loaded from the project folder: the worker changes into it and runs flows/pipeline.py from there.
    source_flow = flow.from_source(source=root, entrypoint=ENTRYPOINT)
    return source_flow.to_deployment(
        name=DEPLOYMENT_NAME,
        schedules=[Cron(schedule.cron, timezone=schedule.timezone)],
        parameters={
            "datasets": list(schedule.datasets),
            "profile": schedule.profile,
            "overrides": flow_overrides(overrides),
            "root": root,
            "params_file": params_file,
        },
        # One run at a time writes the project's files: a run that comes due while the last one still
        # runs is cancelled, not queued behind it.
        concurrency_limit=ConcurrencyLimitConfig(
            limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW
        ),
        work_pool_name=WORK_POOL,
        description="seqlab: the pipeline on the cron of params.yaml (pipeline.schedule)",
        tags=["seqlab"],
    )


def deploy(
    params: Params,
    root: str,
    params_file: str = "params.yaml",
    overrides: Sequence[str] = (),
    remove: bool = False,
) -> dict[str, Any]:
    """Register the scheduled deployment on the lasting server of ``PREFECT_API_URL``; describe it.

    ``remove``: delete it instead, so nothing runs on the schedule any more (``seqlab down`` only
    stops the processes; the deployment and its schedule stay in the server's database).
    """
    api = os.environ.get("PREFECT_API_URL", "")
    if not api or not answers(f"{api.rstrip('/')}/health"):
        raise RuntimeError(
            f"no Prefect server answers at PREFECT_API_URL={api or '(unset)'}: run `seqlab up` first "
            "(a temporary server would forget the schedule when this command ends)"
        )
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    if remove:
        name = f"seqlab-pipeline/{DEPLOYMENT_NAME}"
        with get_client(sync_client=True) as client:
            try:
                client.delete_deployment(client.read_deployment_by_name(name).id)
            except ObjectNotFound:
                return {"deployment": name, "removed": False}
        return {"deployment": name, "removed": True}

    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(WORK_POOL)
        except ObjectNotFound:
            raise RuntimeError(
                f"the Prefect server at {api} has no work pool {WORK_POOL!r}: `seqlab up` creates it"
            ) from None
    deployment_id = deployment(params, root, params_file, overrides).apply(work_pool_name=WORK_POOL)
    with get_client(sync_client=True) as client:
        online = [
            worker.name
            for worker in client.read_workers_for_work_pool(WORK_POOL, offset=0, limit=200)
            if str(worker.status.value) == "ONLINE"
        ]
    schedule = params.pipeline.schedule
    return {
        "deployment": f"seqlab-pipeline/{DEPLOYMENT_NAME}",
        "id": str(deployment_id),
        "cron": schedule.cron,
        "timezone": schedule.timezone,
        "datasets": list(schedule.datasets),
        "profile": schedule.profile,
        "overrides": flow_overrides(overrides),
        "work_pool": WORK_POOL,
        "workers_online": online,
        "url": f"{api.rstrip('/').removesuffix('/api')}/deployments/deployment/{deployment_id}",
    }
