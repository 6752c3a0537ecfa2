"""`make bench` in miniature: the quality protocol and the report, for real, on synthetic data and IMDB."""

from __future__ import annotations

import copy
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
    head = subprocess.run(["git", "rev-parse", "--short=7", "HEAD"], cwd=REPO, capture_output=True, text=True)
    assert payload["commit"].startswith(head.stdout.strip())  # the run names the code it measured
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


def test_a_partial_run_merges_into_earlier_results_and_the_report_names_each_run(tmp_path: Path) -> None:
    from benchmarks import report

    # Real entries of the committed results, in the raw shape a run hands to report.write.
    committed = json.loads((REPO / "benchmarks" / "results.json").read_text(encoding="utf-8"))

    def entry(dataset: str, value: float) -> dict[str, object]:
        real = copy.deepcopy(committed["quality"][dataset])
        real["best"]["value"] = value
        return {**real, "per_seed": {"42": value}}

    full = {
        "started_at": "2026-12-01T16:04:55",
        "total_seconds": 7426.5,
        "mode": "full",
        "pipeline": committed["pipeline"],
        "quality": {"giss": entry("giss", 1.06), "cet": entry("cet", 1.28)},
        "quality_seconds": 99.0,
        "speed_details": {"summary": {"imdb_best_epoch_seconds": 25.9}},
    }
    path = tmp_path / "results.json"
    report.write(full, path, tmp_path / "BENCHMARKS.md")
    previous = json.loads(path.read_text(encoding="utf-8"))

    # A speed-only run keeps pipeline and quality, replaces speed.
    speed_run = {"started_at": "2026-12-01T19:23:56", "total_seconds": 4351.0, "mode": "full"}
    speed_run["speed_details"] = {"summary": {"imdb_best_epoch_seconds": 20.6}}
    merged = report.merge_previous(
        speed_run, previous, ["speed"], ["imdb", "giss", "cet", "synthetic"], "29c5712"
    )
    report.write(merged, path, tmp_path / "BENCHMARKS.md")
    payload = json.loads(path.read_text(encoding="utf-8"))
    assert payload["speed"]["bilstm_epoch_seconds"] == 20.6
    assert payload["speed"]["noop_rerun_seconds"] == committed["pipeline"]["noop_rerun_flow_seconds"]
    assert payload["quality"]["giss"]["best"]["value"] == 1.06
    assert payload["quality_per_seed"]["cet"] == {"42": 1.28}
    assert [run["sections"] for run in payload["section_runs"]] == [["pipeline", "quality"], ["speed"]]

    # Then GISS alone: CET keeps its number, and the first run is still named for CET's quality.
    giss_run = {
        "started_at": "2026-12-02T08:00:00",
        "total_seconds": 600.0,
        "quality": {"giss": entry("giss", 1.01)},
    }
    merged = report.merge_previous(giss_run, payload, ["quality"], ["giss"], "abc1234")
    report.write(merged, path, tmp_path / "BENCHMARKS.md")
    payload = json.loads(path.read_text(encoding="utf-8"))
    assert payload["quality"]["giss"]["best"]["value"] == 1.01
    assert payload["quality"]["cet"]["best"]["value"] == 1.28
    assert payload["speed"]["bilstm_epoch_seconds"] == 20.6
    first = (tmp_path / "BENCHMARKS.md").read_text(encoding="utf-8").splitlines()[2]
    assert "separate runs per section: pipeline, quality (cet) at commit unknown" in first
    assert "speed at commit 29c5712, started 2026-12-01T19:23:56, 4351.0 s" in first
    assert "quality (giss) at commit abc1234" in first
    assert "(pipeline: " not in report.readme_block(payload)
    assert "one run per section (pipeline, quality (cet): 2026-12-01T16:04:55;" in report.readme_block(
        payload
    )
    # One run of everything: the header names it as make bench's, with its commit once runs record it.
    assert (
        report.document({"mode": "full", "started_at": "x", "total_seconds": 1.0})
        .splitlines()[2]
        .startswith("Generated by `make bench` (full run started x, 1.0 s)")
    )
    recorded = {"mode": "full", "started_at": "x", "total_seconds": 1.0, "commit": "c2c1554"}
    assert (
        report.document(recorded)
        .splitlines()[2]
        .startswith("Generated by `make bench` at commit c2c1554 (full run started x, 1.0 s)")
    )
    assert "Measured by `make bench` at commit c2c1554 (x)" in report.readme_block(recorded)
    # A later partial run names the full run's recorded commit for what it keeps, and its own for the rest.
    merged = report.merge_previous(
        {**speed_run, "commit": "def5678"},
        {**previous, "commit": "c2c1554"},
        ["speed"],
        ["imdb", "giss", "cet", "synthetic"],
        "def5678",
    )
    assert "commit" not in merged
    assert [run["commit"] for run in merged["section_runs"]] == ["c2c1554", "def5678"]
