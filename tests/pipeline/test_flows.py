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

from seqlab.families import RECURRENT_FAMILIES, model_label
from seqlab.stages import STAGES
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
    assert list(summary["steps"]) == list(STAGES)  # every stage, in the declared order
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
    # a smoke run is not in dvc.lock, yet records its exact data (what `seqlab reproduce` checks)
    assert {key for key in tags if key.startswith("seqlab.dvc.")} == {
        f"seqlab.dvc.data/raw/{dataset}",
        f"seqlab.dvc.data/prepared/{dataset}",
    }
    assert all(tags[f"seqlab.dvc.data/{kind}/{dataset}"].endswith(".dir") for kind in ("raw", "prepared"))
    assert len(tags["seqlab.dvc_lock_sha256"]) == 64 or tags["seqlab.dvc_lock_sha256"] == "absent"
    assert len(tags["seqlab.prepared_manifest_sha256"]) == 64

    children = _runs(dataset, f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    by_kind: dict[str, list[Any]] = {}
    for child in children:
        by_kind.setdefault(child.data.tags["seqlab.kind"], []).append(child)
        assert child.info.status in ("FINISHED", "FAILED"), child.info
    baselines, trials = KIND_COUNTS[dataset]
    assert len(by_kind["baseline"]) >= baselines
    assert len(by_kind["trial"]) == trials
    # dropout variants only where they differ: a model without recurrent layers has no recurrent dropout
    family = json.loads((project / f"results/{dataset}/train/summary.json").read_text())[
        "best_hyperparameters"
    ]["family"]
    from seqlab.config import load_params
    from seqlab.training import variant_arguments

    best = json.loads((project / f"results/{dataset}/train/summary.json").read_text())["best_hyperparameters"]
    configured = load_params(project / "params.yaml", profile="smoke").dataset(dataset).training.variants
    first: dict[str, str] = {}  # a variant whose model an earlier one already makes is not trained
    for name, variant in configured.items():
        first.setdefault(
            json.dumps(variant_arguments(best, variant.dropout, variant.recurrent_dropout), sort_keys=True),
            name,
        )
    variants = sorted(first.values())
    assert sorted(run.data.tags["seqlab.variant"] for run in by_kind["variant"]) == variants
    fits = json.loads((project / f"results/{dataset}/train/summary.json").read_text())["variants"]
    for run in by_kind["variant"]:
        name = run.data.tags["seqlab.variant"]
        # the run spans the fit itself (not the moment it was recorded), and names its family
        assert (run.info.start_time, run.info.end_time) == (fits[name]["started_ms"], fits[name]["ended_ms"])
        assert run.info.run_name.startswith(f"variant {name} · {model_label(fits[name]['hyperparameters'])}")
        if family not in RECURRENT_FAMILIES:
            assert "recurrent_dropout" not in run.data.params and "bidirectional" not in run.data.params
    for run in by_kind["trial"]:
        assert run.info.end_time - run.info.start_time >= 100, "a trial's run spans its training"
    assert not [key for key, value in parent.data.params.items() if value == "null" and "space" in key]
    assert parent.data.params["best_model.family"] == family
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

    registry = json.loads((project / f"results/{dataset}/register/registry.json").read_text())
    version = client.get_model_version(f"seqlab-{dataset}", registry["version"])
    assert version.tags["seqlab.best_baseline"] == registry["best_baseline"]
    # the parent's description states the comparison and the verdict
    note = client.get_run(parent.info.run_id).data.tags["mlflow.note.content"]
    assert note.startswith(f"Best model: {registry['model']}") and registry["best_baseline"] in note
    baseline_value = registry["best_baseline_value"]
    beats = registry["value"] < baseline_value if metric == "test_mae" else registry["value"] > baseline_value
    assert registry["beats_baseline"] is beats
    if beats:  # a fresh store: the first model that beats its baseline is champion
        champion = client.get_model_version_by_alias(f"seqlab-{dataset}", "champion")
        assert registry["champion_version"] == str(champion.version) == registry["version"]
        assert champion.tags["seqlab.test_data_sha256"] == tags["seqlab.test_data_sha256"]
    else:  # registered with the reason, and no champion alias
        assert registry["champion_version"] is None
        assert version.tags["seqlab.champion_decision"].startswith("not promoted: ")
        assert (
            "worse than the best baseline" in version.tags["seqlab.champion_decision"]
            or "equal" in version.tags["seqlab.champion_decision"]
        )
        assert "champion" not in client.get_registered_model(f"seqlab-{dataset}").aliases
        assert "Not promoted" in note
    model_uri = f"models:/seqlab-{dataset}/{registry['version']}"
    import mlflow.artifacts

    local = Path(mlflow.artifacts.download_artifacts(model_uri))
    mlmodel = yaml.safe_load((local / "MLmodel").read_text())
    assert "python_function" in mlmodel["flavors"] and mlmodel["signature"]["outputs"]  # raw inputs in
    assert (local / "artifacts" / "model.keras").is_file()
    assert (local / "input_example.json").is_file()


def _store_bytes(project: Path) -> int:
    """Bytes of the MLflow store beside the project: the SQLite file and the artifact folder."""
    store = project.parent / "mlflow.db"
    files = [store, *(path for path in (project.parent / "mlartifacts").rglob("*") if path.is_file())]
    return sum(path.stat().st_size for path in files if path.exists())


def test_rerun_reuses_every_step_and_records_no_copies(project: Path) -> None:
    first = _run_flow(project, "synthetic")
    before = _store_bytes(project)
    second = _run_flow(project, "synthetic")
    assert all(step["cached"] for step in second["steps"].values()), second["steps"]
    assert second["mlflow_run_id"] != first["mlflow_run_id"]
    # No new children, no new artifacts: one small parent that links to the runs that produced them.
    assert not _runs("synthetic", f"tags.mlflow.parentRunId = '{second['mlflow_run_id']}'")
    assert _store_bytes(project) - before < 1_000_000
    parent = _client().get_run(second["mlflow_run_id"])
    tags = parent.data.tags
    assert parent.info.status == "FINISHED"
    assert tags["seqlab.reused_steps"].split(",") == list(second["steps"])
    producers = {tags[f"seqlab.reused.{step}"] for step in second["steps"]}
    assert producers <= {first["mlflow_run_id"]} | {
        run.info.run_id for run in _runs("synthetic", "tags.`seqlab.kind` = 'pipeline'")
    }
    producer = tags["seqlab.reused.evaluate"]
    assert f"#/experiments/{parent.info.experiment_id}/runs/{producer}" in tags["mlflow.note.content"]
    # a reused run still answers "which model, by how much": the comparison and the test metrics
    assert tags["mlflow.note.content"].startswith("Best model: ")
    assert (
        parent.data.metrics["test_mae"] == _client().get_run(first["mlflow_run_id"]).data.metrics["test_mae"]
    )
    # the producing run holds the complete tree the rerun points at
    assert {
        run.data.tags["seqlab.kind"] for run in _runs("synthetic", f"tags.mlflow.parentRunId = '{producer}'")
    } >= {"variant"}

    # Keys follow the code each step imports: an edit to the MLflow side reruns register alone. (Most
    # other modules are in every step's closure, so editing one reruns everything: see test_code_keys.)
    tracking = project / "src/seqlab/tracking.py"
    tracking.write_text(f"{tracking.read_text()}\n# edited\n")
    third = _run_flow(project, "synthetic")
    assert [step for step, record in third["steps"].items() if not record["cached"]] == ["register"]


def test_outputs_changed_on_disk_are_recomputed_not_trusted(project: Path) -> None:
    _run_flow(project, "synthetic")
    plots = sorted((project / "results/synthetic/evaluate/plots").glob("*.png"))
    assert plots
    plots[0].unlink()  # what a step that failed half-way (or a person) leaves
    again = _run_flow(project, "synthetic")
    recomputed = [step for step, record in again["steps"].items() if not record["cached"]]
    # register follows only if the regenerated files differ from those it registered from
    assert recomputed in (["evaluate"], ["evaluate", "register"])
    assert plots[0].is_file()
    children = _runs("synthetic", f"tags.mlflow.parentRunId = '{again['mlflow_run_id']}'")
    assert {run.data.tags["seqlab.kind"] for run in children} == {"variant"}  # evaluate recorded afresh


def test_a_planted_result_file_is_never_loaded(project: Path) -> None:
    """No pickled result cache: a payload planted where Prefect keeps results is never unpickled."""
    import pickle

    marker = project.parent / "payload-ran"

    class Payload:
        def __reduce__(self) -> tuple[Any, tuple[str]]:
            return (Path.touch, (str(marker),))  # type: ignore[return-value]

    _run_flow(project, "synthetic")
    for folder in (project / ".prefect" / "results", project / ".prefect" / "stamps"):
        folder.mkdir(parents=True, exist_ok=True)
    (project / ".prefect" / "results" / "planted").write_bytes(pickle.dumps(Payload()))
    stamp = project / ".prefect" / "stamps" / "validate@synthetic.json"
    recorded = json.loads(stamp.read_text())
    recorded["outputs"] = {"results/synthetic/validate/summary.json": "tampered"}
    stamp.write_text(json.dumps(recorded))
    again = _run_flow(project, "synthetic")
    assert not marker.exists()
    assert again["steps"]["validate"]["cached"] is False  # a stamp that does not match the files is a miss


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
        "backtest": False,  # it refits with the training settings
        "register": False,
    }
    # Back to the first settings: its cached results describe files that the change replaced, so
    # training and what follows run again instead of trusting the cache.
    back = _run_flow(project, "synthetic")
    assert [step for step, record in back["steps"].items() if not record["cached"]] == [
        "train",
        "evaluate",
        "backtest",
        "register",
    ]
    # The champion is the best of the versions that beat the baseline on the same test data, never a
    # worse newcomer; with none that beats it, no version is champion.
    client = _client()
    versions = client.search_model_versions("name = 'seqlab-synthetic'")
    assert len(versions) >= 2
    if "champion" not in client.get_registered_model("seqlab-synthetic").aliases:
        assert {v.tags["seqlab.beats_baseline"] for v in versions} == {"false"}
        return
    champion = client.get_model_version_by_alias("seqlab-synthetic", "champion")
    assert champion.tags["seqlab.beats_baseline"] == "true"
    same_data = [
        float(v.tags["seqlab.value"])
        for v in versions
        if v.tags["seqlab.test_data_sha256"] == champion.tags["seqlab.test_data_sha256"]
        and v.tags["seqlab.beats_baseline"] == "true"
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


def test_a_step_past_its_timeout_fails_in_prefect_and_mlflow(project: Path) -> None:
    from prefect import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterName
    from prefect.client.schemas.sorting import TaskRunSort

    with pytest.raises(TimeoutError):
        _run_flow(
            project,
            "synthetic",
            ("datasets.synthetic.tuning.epochs=50", "pipeline.step_timeouts={tune: 2}"),
        )
    failed = _runs("synthetic", "tags.`seqlab.kind` = 'pipeline' and attributes.status = 'FAILED'")
    latest = max(failed, key=lambda run: run.info.start_time)
    assert latest.data.tags["seqlab.failed_step"] == "tune"
    assert "timeout" in latest.data.tags["seqlab.error"].lower()
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            task_run_filter=TaskRunFilter(name=TaskRunFilterName(any_=["tune-synthetic"])),
            sort=TaskRunSort.EXPECTED_START_TIME_DESC,
            limit=50,
        )
    assert any(run.state and run.state.name == "TimedOut" for run in runs), [run.state for run in runs]
    assert not _runs("synthetic", "attributes.status = 'RUNNING'")


def test_a_failed_run_alerts_the_notify_urls(project: Path) -> None:
    """pipeline.notify: an Apprise JSON webhook on a local HTTP receiver gets dataset, step, error, run."""
    import http.server
    import threading

    received: list[dict[str, Any]] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the http.server API)
            length = int(self.headers.get("Content-Length", 0))
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"json://127.0.0.1:{server.server_address[1]}/alerts"
        with pytest.raises(Exception, match="family"):
            _run_flow(
                project,
                "synthetic",
                (
                    "datasets.synthetic.tuning.space.family={value: no_such_family}",
                    f"pipeline.notify=[{url}]",
                ),
            )
    finally:
        server.shutdown()
    assert len(received) == 1, received
    failed = max(
        _runs("synthetic", "tags.`seqlab.kind` = 'pipeline' and attributes.status = 'FAILED'"),
        key=lambda run: run.info.start_time,
    )
    message = f"{received[0]['title']}\n{received[0]['message']}"
    assert "synthetic" in message and "tune" in message and "no_such_family" in message
    assert failed.info.run_id in message
