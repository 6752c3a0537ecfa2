"""Failure alerts: a failed or crashed pipeline run tells the Apprise URLs of ``pipeline.notify``.

Apprise ships with Prefect and speaks to mail, Slack, Teams, ntfy, plain JSON webhooks and about a
hundred more services from one URL each. An alert that cannot be sent is logged, never raised: it
must not hide the failure it reports.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Sequence

from seqlab import tracking

LOGGER = logging.getLogger("seqlab.notify")


def mlflow_link(root: str, experiment_id: str, run_id: str) -> str:
    """Where a person opens the run: a URL when the store is a tracking server, else its store."""
    uri = tracking.tracking_uri(root)
    if uri.startswith(("http://", "https://")):
        return f"{uri.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"
    ui = _stack_mlflow_url(root)  # the MLflow server of `seqlab up` serves this very store
    if ui:
        return f"{ui.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"
    return f"run {run_id} of experiment {experiment_id} in {uri} (open it with `seqlab ui`)"


def _stack_mlflow_url(root: str) -> str | None:
    """The URL of the stack's MLflow server while it runs (only for the project's own store)."""
    from flows import stack

    if os.environ.get(tracking.TRACKING_ENV):
        return None
    try:
        service = stack.read_state(root).get(stack.MLFLOW)
    except ValueError:
        return None
    return service.url if service is not None and stack.running(service) else None


def send(urls: Sequence[str], title: str, body: str) -> bool:
    """Send one alert to every URL; return whether all took it (failures are logged, not raised)."""
    if not urls:
        return True
    try:
        import apprise

        notifier = apprise.Apprise()
        unusable = [url for url in urls if not notifier.add(url)]
        for url in unusable:
            LOGGER.error("pipeline.notify: Apprise cannot use %r; no alert sent there", url)
        sent = bool(notifier.notify(title=title, body=f"{body}\nhost: {socket.gethostname()}"))
    except Exception as error:  # an alert must never mask the failure it reports
        LOGGER.error("pipeline.notify: sending the alert failed: %s", error)
        return False
    if not sent:
        LOGGER.error("pipeline.notify: an alert could not be delivered: %s", title)
    return sent and not unusable
