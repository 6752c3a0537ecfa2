from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

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
    stored = tracking.client(tmp_path / "project").get_experiment_by_name("seqlab-test")
    # artifacts go beside the named database, never into ./mlruns of whatever folder we run from
    assert stored.artifact_location == (tmp_path.resolve() / "mlartifacts").as_uri()


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_interrupted_runs_are_closed_on_the_next_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(tracking.TRACKING_ENV, raising=False)
    tracker = tracking.Tracker(tmp_path)
    experiment = tracker.experiment("seqlab-test")
    interrupted = tracker.start_run(experiment, "killed pipeline", "pipeline")
    tracker.set_tags(interrupted, {tracking.PID_TAG: str(_dead_pid())})
    elsewhere = tracker.start_run(experiment, "other host", "pipeline")
    tracker.set_tags(elsewhere, {tracking.HOST_TAG: "another-machine", tracking.PID_TAG: "1"})
    alive = tracker.start_run(experiment, "concurrent pipeline", "pipeline")
    tracker.set_tags(alive, {tracking.PID_TAG: "1"})  # pid 1 is always alive

    assert tracker.close_stale_runs(experiment) == [interrupted]
    closed = tracker.client.get_run(interrupted)
    assert closed.info.status == "FAILED"
    assert "interrupted" in closed.data.tags[tracking.ERROR_TAG]
    assert tracker.client.get_run(elsewhere).info.status == "RUNNING"
    assert tracker.client.get_run(alive).info.status == "RUNNING"


def test_run_block_ends_failed_when_it_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(tracking.TRACKING_ENV, raising=False)
    tracker = tracking.Tracker(tmp_path)
    experiment = tracker.experiment("seqlab-test")
    with pytest.raises(ZeroDivisionError), tracker.run(experiment, "bad", "variant") as run_id:
        tracker.log_metrics(run_id, {"loss": 1.0, "nan": float("nan"), "name": "text"})
        raise ZeroDivisionError("boom")
    run = tracker.client.get_run(run_id)
    assert run.info.status == "FAILED"
    assert run.data.tags[tracking.ERROR_TAG] == "ZeroDivisionError: boom"
    assert run.data.tags[tracking.KIND_TAG] == "variant"
    assert run.data.metrics == {"loss": 1.0}  # non-finite and non-numeric values are not logged


def test_unknown_kind_is_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(tracking.TRACKING_ENV, raising=False)
    tracker = tracking.Tracker(tmp_path)
    with pytest.raises(ValueError, match="kind"):
        tracker.start_run(tracker.experiment("seqlab-test"), "x", "experiment")


def test_history_and_params_are_flattened_and_stepped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(tracking.TRACKING_ENV, raising=False)
    tracker = tracking.Tracker(tmp_path)
    run_id = tracker.start_run(
        tracker.experiment("seqlab-test"), "t", "trial", params={"training": {"epochs": 3}, "units": None}
    )
    tracker.log_history(run_id, {"val_loss": [0.5, 0.3, 0.4]})
    points = tracker.client.get_metric_history(run_id, "epoch/val_loss")
    assert [(point.step, point.value) for point in points] == [(1, 0.5), (2, 0.3), (3, 0.4)]
    assert tracker.client.get_run(run_id).data.params == {"training.epochs": "3", "units": "null"}


def test_model_logging_leaves_no_process_wide_store_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow
    import pandas as pd

    monkeypatch.delenv(tracking.TRACKING_ENV, raising=False)
    from mlflow.exceptions import MlflowException

    # a served module as seqlab.serving.model is to it: a ChampionModel of artifacts, an InputError
    package = tmp_path / "doubling"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "model.py").write_text(
        "class InputError(ValueError):\n    pass\n\n\nclass ChampionModel:\n"
        "    def __init__(self, artifacts):\n        self.artifacts = artifacts\n\n"
        "    def predict(self, model_input):\n"
        "        if (model_input['value'] < 0).any():\n"
        "            raise InputError('value: negative')\n"
        "        return model_input * 2\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    served = ("doubling.model", "doubling_shipped")
    example = pd.DataFrame({"value": [1.0, 2.0]})
    for store in ("a", "b"):  # the second store must not find the first one's settings
        tracker = tracking.Tracker(tmp_path / store)
        run_id = tracker.start_run(tracker.experiment("seqlab-test"), "v", "variant")
        uri = tracker.log_pyfunc_model(run_id, *served, {}, [], example, {"value": "double"}, ["mlflow"])
        assert tracker.register("seqlab-test", uri, run_id, tags={}) == "1"
        assert tracker.client.get_run(run_id).info.status == "FINISHED"
        assert tracking.TRACKING_ENV not in os.environ
        assert mlflow.get_tracking_uri() != tracker.uri  # MLflow's own default again, not our store
        loaded = tracker.load_pyfunc_model("models:/seqlab-test/1")
        assert loaded.predict(example)["value"].tolist() == [2.0, 4.0]
        # the adapter makes the served module's InputError a ValueError and a 400 of `mlflow models serve`
        with pytest.raises(ValueError, match="value: negative") as raised:
            loaded.predict(pd.DataFrame({"value": [-1.0]}))
        assert isinstance(raised.value, MlflowException) and raised.value.get_http_status_code() == 400
        assert tracker.latest_version("seqlab-test") == ("1", {})
        assert tracker.version_exists("seqlab-test", "1") and not tracker.version_exists("seqlab-test", "2")
        assert tracking.TRACKING_ENV not in os.environ
    with pytest.raises(RuntimeError, match="models:/seqlab-test/7"):
        tracker.load_pyfunc_model("models:/seqlab-test/7")
    # a run recorded after the fact keeps the end of the work it records (a variant's fit)
    run_id = tracker.start_run(tracker.experiment("seqlab-test"), "v", "variant")
    started = tracker.client.get_run(run_id).info.start_time
    tracker.client.set_terminated(run_id, "FINISHED", end_time=started + 1234)
    tracker.log_pyfunc_model(run_id, *served, {}, [], example, {"value": "double"}, ["mlflow"])
    ended = tracker.client.get_run(run_id).info
    assert (ended.status, ended.end_time) == ("FINISHED", started + 1234)


CONCURRENT_STARTERS = 8


def _start_concurrently(root: str, barrier: Any, results: Any) -> None:
    """One pipeline start, as a separate process would do it: open, get-or-create, run, register."""
    try:
        os.environ.pop(tracking.TRACKING_ENV, None)
        barrier.wait(timeout=600)  # every process has imported MLflow: open the fresh store at once
        tracker = tracking.Tracker(root)
        barrier.wait(timeout=600)  # and get-or-create the experiment at once
        experiment = tracker.experiment("seqlab-race")
        with tracker.run(experiment, f"pid {os.getpid()}", "pipeline") as run_id:
            tracker.register("seqlab-race", f"runs:/{run_id}/model", run_id, tags={})
        results.put("ok")
    except BaseException as error:  # reported to the parent, which names it
        results.put(f"{type(error).__name__}: {error}")


@pytest.mark.slow
def test_concurrent_starters_share_one_fresh_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(tracking.TRACKING_ENV, raising=False)
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(CONCURRENT_STARTERS), context.Queue()
    processes = [
        context.Process(target=_start_concurrently, args=(str(tmp_path), barrier, results))
        for _ in range(CONCURRENT_STARTERS)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=600) for _ in processes]
    for process in processes:
        process.join(timeout=600)
    assert outcomes == ["ok"] * CONCURRENT_STARTERS

    tracker = tracking.Tracker(tmp_path)
    experiments = tracker.client.search_experiments(filter_string="name = 'seqlab-race'")
    assert len(experiments) == 1
    runs = tracker.client.search_runs([experiments[0].experiment_id])
    assert len(runs) == CONCURRENT_STARTERS
    assert {run.info.status for run in runs} == {"FINISHED"}
    versions = tracker.client.search_model_versions("name = 'seqlab-race'")
    assert len(versions) == CONCURRENT_STARTERS


def test_store_lock_is_released_after_opening(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from filelock import FileLock

    monkeypatch.delenv(tracking.TRACKING_ENV, raising=False)
    first = tracking.Tracker(tmp_path)
    experiment = first.experiment("seqlab-test")
    second = tracking.Tracker(tmp_path)  # would wait for the lock if the first still held it
    assert second.experiment("seqlab-test") == experiment
    # and another holder (another process, as far as the lock file knows) gets it at once
    with FileLock(tmp_path / "mlflow.db.lock", timeout=0):
        pass


def test_register_adds_versions_to_an_existing_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(tracking.TRACKING_ENV, raising=False)
    tracker = tracking.Tracker(tmp_path)
    experiment = tracker.experiment("seqlab-test")
    numbers = []
    for _ in range(2):
        with tracker.run(experiment, "v", "variant") as run_id:
            numbers.append(tracker.register("seqlab-test", f"runs:/{run_id}/model", run_id, tags={"a": 1}))
    assert numbers == ["1", "2"]


def test_a_store_that_cannot_be_opened_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(tracking.TRACKING_ENV, raising=False)
    (tmp_path / "mlflow.db").write_text("not a database\n", encoding="utf-8")
    with pytest.raises(RuntimeError) as caught:
        tracking.Tracker(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path.resolve() / 'mlflow.db'}: cannot open this MLflow store")
    assert "file is not a database" in message and "move the file aside" in message
    from filelock import FileLock

    with FileLock(tmp_path / "mlflow.db.lock", timeout=0):  # released on the way out
        pass
