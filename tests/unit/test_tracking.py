from __future__ import annotations

from pathlib import Path

import pytest

from seqlab import tracking


def test_default_store_is_sqlite_inside_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(tracking.TRACKING_ENV, raising=False)
    assert tracking.tracking_uri(tmp_path) == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"
    experiment = tracking.experiment_id(tmp_path, "seqlab-test")
    assert (tmp_path / "mlflow.db").is_file()
    stored = tracking.client(tmp_path).get_experiment(experiment)
    assert stored.artifact_location == (tmp_path.resolve() / "mlartifacts").as_uri()
    assert tracking.experiment_id(tmp_path, "seqlab-test") == experiment


def test_environment_overrides_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "elsewhere.db"
    monkeypatch.setenv(tracking.TRACKING_ENV, f"sqlite:///{other}")
    assert tracking.tracking_uri(tmp_path / "project") == f"sqlite:///{other}"
    tracking.experiment_id(tmp_path / "project", "seqlab-test")
    assert other.is_file()
    assert not (tmp_path / "project" / "mlflow.db").exists()
