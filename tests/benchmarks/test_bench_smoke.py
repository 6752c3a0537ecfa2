"""`make bench` in miniature: the quality protocol and the report, for real, on synthetic data and IMDB."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.pipeline]


def test_quick_quality_run_writes_results_in_the_issue_schema(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    work = tmp_path / "work"
    command = [sys.executable, "-m", "benchmarks.run", "--quick", "--sections", "quality"]
    command += ["--datasets", "synthetic,imdb", "--work", str(work)]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    payload = json.loads((work / "results.json").read_text())
    entry = payload["quality"]["synthetic"]
    assert entry["metric"] == "test_mae" and entry["seeds"] == 1
    for key in ("best", "best_recurrent"):
        assert isinstance(entry[key]["model"], str) and math.isfinite(entry[key]["value"])
    assert entry["best_recurrent"]["family"] in ("simple_rnn", "gru", "lstm", "scratch_rnn", "conv1d_rnn")
    assert entry["baselines"]["moving_average_differencing"] == pytest.approx(4.329, abs=1e-3)
    best_value = entry["best"]["value"]
    assert all(best_value <= model["value"] for model in entry["models"].values())
    assert set(payload["speed"]) >= {
        "train_overhead_ratio",
        "bilstm_epoch_seconds",
        "plain_keras_bilstm_epoch_seconds",
        "noop_rerun_seconds",
    }
    document = (work / "BENCHMARKS.md").read_text()
    assert "| synthetic | test_mae |" in document and "## Reproduce" in document
    # the family fits were logged beside the pipeline tree
    from mlflow.tracking import MlflowClient

    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    experiment = client.get_experiment_by_name("seqlab-synthetic")
    families = client.search_runs([experiment.experiment_id], "tags.`seqlab.benchmark_family` = 'dense'")
    assert len(families) == 1 and families[0].info.status == "FINISHED"

    # IMDB: the quick run trains two families, and the stacked ensemble combines them (fitted on validation)
    imdb = payload["quality"]["imdb"]
    ensemble = imdb["models"]["family stacked_ensemble"]
    assert ensemble["family"] == "ensemble" and 0.0 <= ensemble["value"] <= 1.0
    assert imdb["best_recurrent"] is None or imdb["best_recurrent"]["family"] != "ensemble"
    record = payload["quality_per_seed"]["imdb"][0]["families"]["stacked_ensemble"]
    assert sorted(record["hyperparameters"]["members"]) == ["bag_of_embeddings", "conv1d"]
    assert set(record["coefficients"]) == {"bag_of_embeddings", "conv1d"}
    assert "probabilities" not in payload["quality_per_seed"]["imdb"][0]["families"]["conv1d"]  # no arrays
    experiment = client.get_experiment_by_name("seqlab-imdb")
    stacked = "tags.`seqlab.benchmark_family` = 'stacked_ensemble'"
    runs = client.search_runs([experiment.experiment_id], stacked)
    assert len(runs) == 1 and runs[0].info.status == "FINISHED"
    assert runs[0].data.metrics["test_accuracy"] == pytest.approx(ensemble["value"])
    for name, weight in record["coefficients"].items():
        assert runs[0].data.metrics[f"weight_{name}"] == pytest.approx(weight)
