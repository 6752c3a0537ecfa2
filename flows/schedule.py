"""The scheduled pipeline: the flow served on the cron of params.yaml (``pipeline.schedule``).

``seqlab schedule`` serves it from this process (no work pool needed); prefect.yaml declares the
same deployment for a work pool (``prefect deploy --all`` then ``prefect worker start``).
"""

from __future__ import annotations

from typing import Any

from flows.pipeline import pipeline
from seqlab.config import Params

DEPLOYMENT_NAME = "seqlab-scheduled"


def deployment(params: Params, root: str, params_file: str = "params.yaml") -> Any:
    """The scheduled deployment of the whole pipeline (a RunnerDeployment, not yet applied)."""
    from prefect.schedules import Cron

    schedule = params.pipeline.schedule
    return pipeline.to_deployment(
        name=DEPLOYMENT_NAME,
        schedules=[Cron(schedule.cron, timezone=schedule.timezone)],
        parameters={
            "datasets": list(schedule.datasets),
            "profile": schedule.profile,
            "root": root,
            "params_file": params_file,
        },
        description="seqlab: every dataset's pipeline, rerun on the cron of params.yaml",
        tags=["seqlab"],
    )


def serve_schedule(
    params: Params, root: str, params_file: str = "params.yaml", register_only: bool = False
) -> Any:
    """Register the deployment with its schedule; unless ``register_only``, serve it until stopped."""
    from prefect import serve

    scheduled = deployment(params, root, params_file)
    if register_only:
        return scheduled.apply()
    serve(scheduled)
    return None
