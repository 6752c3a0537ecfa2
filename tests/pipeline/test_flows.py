"""The Prefect flow end to end on real data (smoke profile) into a temporary SQLite MLflow store.

Real Prefect (a temporary test server), real MLflow, real Keras, real data through the mirror.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.pipeline.helpers import MIRROR, clean_copy

pytestmark = [
    pytest.mark.slow,
    pytest.mark.pipeline,
    pytest.mark.data,
    pytest.mark.skipif(not (MIRROR / "imdb").is_dir(), reason=f"no data mirror at {MIRROR}"),
]

KIND_COUNTS = {
    "imdb": (1, 2),
    "giss": (5, 2),
    "cet": (5, 2),
    "synthetic": (5, 2),
    "mnist": (2, 2),
}  # baselines, trials
METRIC = {"imdb": "test_accuracy", "mnist": "test_accuracy"}  # the series: test_mae
DATA_FILE = {"imdb": "vocabulary.txt", "mnist": "manifest.json"}  # the series: normalization.json


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, prefect_server: None) -> Iterator[Path]:
    """A clean copy of the project, with MLflow pointed at an empty SQLite file beside it."""
    root, env = clean_copy(tmp_path_factory.mktemp("flows"))
    with pytest.MonkeyPatch.context() as patch:
        for name in ("MLFLOW_TRACKING_URI", "SEQLAB_DATA_MIRROR", "TF_CPP_MIN_LOG_LEVEL"):
            patch.setenv(name, env[name])
        yield root


def _client() -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient()


def _runs(dataset: str, filter_string: str = "") -> list[Any]:
    client = _client()
    experiment = client.get_experiment_by_name(f"seqlab-{dataset}")
    assert experiment is not None, f"no experiment seqlab-{dataset}"
    return list(client.search_runs([experiment.experiment_id], filter_string=filter_string, max_results=1000))


def _run_flow(root: Path, dataset: str, overrides: tuple[str, ...] = ()) -> dict[str, Any]:
    from flows.pipeline import dataset_pipeline

    return dataset_pipeline(dataset, "smoke", list(overrides), str(root))


@pytest.mark.parametrize("dataset", ["synthetic", "giss", "cet", "imdb", "mnist"])
def test_smoke_pipeline_leaves_a_complete_run_tree(project: Path, dataset: str) -> None:
    summary = _run_flow(project, dataset)
    assert list(summary["steps"]) == [
        "fetch",
        "validate",
        "prepare",
        "baselines",
        "tune",
        "train",
        "evaluate",
        "register",
    ]
    client = _client()
    parent = client.get_run(summary["mlflow_run_id"])
    tags = parent.data.tags
    assert parent.info.status == "FINISHED"
    assert tags["seqlab.kind"] == "pipeline"
    assert tags["seqlab.profile"] == "smoke"
    assert tags["seqlab.entry_point"] == "prefect"
    assert len(tags["seqlab.git_commit"].removesuffix("-dirty")) == 40
    assert len(tags["seqlab.params_sha256"]) == 64
    assert tags["seqlab.prefect_flow_run_id"]
    assert not any(key.startswith("seqlab.dvc.") for key in tags)  # a smoke run is not in dvc.lock
    assert len(tags["seqlab.prepared_manifest_sha256"]) == 64

    children = _runs(dataset, f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    by_kind: dict[str, list[Any]] = {}
    for child in children:
        by_kind.setdefault(child.data.tags["seqlab.kind"], []).append(child)
        assert child.info.status in ("FINISHED", "FAILED"), child.info
    baselines, trials = KIND_COUNTS[dataset]
    assert len(by_kind["baseline"]) >= baselines
    assert len(by_kind["trial"]) == trials
    assert sorted(run.data.tags["seqlab.variant"] for run in by_kind["variant"]) == [
        "both",
        "dropout",
        "none",
        "recurrent_dropout",
    ]
    metric = METRIC.get(dataset, "test_mae")
    for run in by_kind["variant"] + by_kind["baseline"]:
        assert math.isfinite(run.data.metrics[metric]), run.data.run_name
    for run in by_kind["variant"]:
        metrics = run.data.metrics
        assert 1 <= metrics["best_epoch"] <= metrics["epochs_run"]
        history = client.get_metric_history(run.info.run_id, "epoch/val_loss")
        assert [point.step for point in history] == list(range(1, int(metrics["epochs_run"]) + 1))
        # the summary is the best epoch's value, not the last one
        assert metrics["val_loss"] == pytest.approx(min(point.value for point in history))
        assert run.data.params["dropout"] in ("0.0", "0.2", "0.3")
        assert [item.path for item in client.list_artifacts(run.info.run_id, "keras")] == [
            "keras/model.keras"
        ]
    for run in by_kind["trial"]:
        assert run.data.tags["seqlab.trial_id"]
        assert client.get_metric_history(run.info.run_id, "epoch/loss")
    assert math.isfinite(parent.data.metrics[metric])
    artifacts = {item.path for item in client.list_artifacts(parent.info.run_id)}
    assert {"plots", "evaluation", "params.yaml", "data", "tuning"} <= artifacts
    plots = [item.path for item in client.list_artifacts(parent.info.run_id, "plots")]
    assert any(path.endswith(".png") for path in plots), plots
    data_files = {Path(item.path).name for item in client.list_artifacts(parent.info.run_id, "data")}
    assert DATA_FILE.get(dataset, "normalization.json") in data_files

    champion = client.get_model_version_by_alias(f"seqlab-{dataset}", "champion")
    registry = json.loads((project / f"results/{dataset}/register/registry.json").read_text())
    assert registry["champion_version"] == str(champion.version)
    assert champion.tags["seqlab.test_data_sha256"] == tags["seqlab.test_data_sha256"]
    model_uri = f"models:/seqlab-{dataset}@champion"
    import mlflow.artifacts

    local = Path(mlflow.artifacts.download_artifacts(model_uri))
    mlmodel = yaml.safe_load((local / "MLmodel").read_text())
    assert "keras" in mlmodel["flavors"] and mlmodel["signature"]["inputs"]
    assert (local / "data" / "model.keras").is_file()
    assert (local / "input_example.json").is_file()


def test_rerun_skips_every_cached_step_and_records_a_new_tree(project: Path) -> None:
    first = _run_flow(project, "synthetic")
    second = _run_flow(project, "synthetic")
    assert all(step["cached"] for step in second["steps"].values()), second["steps"]
    assert second["mlflow_run_id"] != first["mlflow_run_id"]
    children = _runs("synthetic", f"tags.mlflow.parentRunId = '{second['mlflow_run_id']}'")
    assert {run.data.tags["seqlab.kind"] for run in children} == {"baseline", "trial", "variant"}


def test_changed_training_key_reruns_training_and_what_follows(project: Path) -> None:
    _run_flow(project, "synthetic")
    changed = _run_flow(project, "synthetic", ("datasets.synthetic.training.epochs=2",))
    cached = {step: record["cached"] for step, record in changed["steps"].items()}
    assert cached == {
        "fetch": True,
        "validate": True,
        "prepare": True,
        "baselines": True,
        "tune": True,
        "train": False,
        "evaluate": False,
        "register": False,
    }
    # Back to the first settings: its cached results describe files that the change replaced, so
    # training and what follows run again instead of trusting the cache.
    back = _run_flow(project, "synthetic")
    assert [step for step, record in back["steps"].items() if not record["cached"]] == [
        "train",
        "evaluate",
        "register",
    ]
    # The champion is the best of the versions scored on the same test data, never a worse newcomer.
    client = _client()
    versions = client.search_model_versions("name = 'seqlab-synthetic'")
    assert len(versions) >= 2
    champion = client.get_model_version_by_alias("seqlab-synthetic", "champion")
    same_data = [
        float(v.tags["seqlab.value"])
        for v in versions
        if v.tags["seqlab.test_data_sha256"] == champion.tags["seqlab.test_data_sha256"]
    ]
    assert float(champion.tags["seqlab.value"]) == min(same_data)


def test_a_failing_step_leaves_its_run_failed_and_nothing_running(project: Path) -> None:
    with pytest.raises(Exception, match="family"):
        _run_flow(project, "synthetic", ("datasets.synthetic.tuning.space.family={value: no_such_family}",))
    failed = _runs("synthetic", "tags.`seqlab.kind` = 'pipeline' and attributes.status = 'FAILED'")
    assert failed, "the failing pipeline run must be FAILED"
    latest = max(failed, key=lambda run: run.info.start_time)
    assert latest.data.tags["seqlab.failed_step"] in ("tune", "train")
    assert "family" in latest.data.tags["seqlab.error"]
    assert not _runs("synthetic", "attributes.status = 'RUNNING'")
