"""The one place seqlab talks to MLflow.

Embedded default: a SQLite store ``mlflow.db`` and an artifact folder ``mlartifacts/`` inside the
project; ``MLFLOW_TRACKING_URI`` overrides it the standard way. Nothing happens at import time:
callers ask for a client with :func:`client`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

TRACKING_ENV = "MLFLOW_TRACKING_URI"


def tracking_uri(root: str | Path) -> str:
    """Return ``$MLFLOW_TRACKING_URI`` if set, else the project's SQLite store."""
    configured = os.environ.get(TRACKING_ENV)
    if configured:
        return configured
    return f"sqlite:///{Path(root).resolve() / 'mlflow.db'}"


def artifact_root(root: str | Path) -> Path:
    """Folder for artifacts of experiments that seqlab creates in the project's own store."""
    return Path(root).resolve() / "mlartifacts"


def client(root: str | Path) -> Any:
    """Return an MlflowClient on the configured store (explicit, never the thread-local fluent state)."""
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri(root))


def experiment_id(root: str | Path, name: str) -> str:
    """Return the id of experiment ``name``, creating it with a project-local artifact folder."""
    tracking = client(root)
    existing = tracking.get_experiment_by_name(name)
    if existing is not None:
        return str(existing.experiment_id)
    location = None if os.environ.get(TRACKING_ENV) else artifact_root(root).as_uri()
    return str(tracking.create_experiment(name, artifact_location=location))
