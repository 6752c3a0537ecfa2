"""`make bench` in miniature: the quality protocol and the report, for real, on synthetic data and IMDB."""

from __future__ import annotations

import copy
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.pipeline
def test_quick_quality_run_writes_results_in_the_issue_schema(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    work = tmp_path / "work"
    command = [sys.executable, "-m", "benchmarks.run", "--quick", "--sections", "pipeline,quality"]
    command += ["--datasets", "synthetic,imdb", "--work", str(work)]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    payload = json.loads((work / "results.json").read_text())
    head = subprocess.run(["git", "rev-parse", "--short=7", "HEAD"], cwd=REPO, capture_output=True, text=True)
    # every part names the run (and so the code) that measured it, and the report says so
    run = payload["quality"]["synthetic"]["run"]
    assert run["commit"].startswith(head.stdout.strip()) and run["started_at"] and run["seconds"] > 0
    assert payload["quality"]["imdb"]["run"] == run
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
    # the pipeline's rolling-origin backtest, per seed and averaged; reviews have no time order, so none
    seed_backtest = payload["quality_per_seed"]["synthetic"][0]["backtest"]
    assert seed_backtest["origins"] == 10 and 0.0 <= seed_backtest["dm_p_value"] <= 1.0
    backtest = entry["backtest"]
    assert backtest["mae_model"] == pytest.approx(seed_backtest["mae_model"])
    assert backtest["skill"] == pytest.approx(1 - seed_backtest["mae_model"] / seed_backtest["mae_baseline"])
    assert backtest["dm_p_values"] == [seed_backtest["dm_p_value"]]
    assert payload["quality"]["imdb"]["backtest"] is None
    document = (work / "BENCHMARKS.md").read_text()
    assert "| synthetic | test_mae |" in document and "## Reproduce" in document
    assert f"| synthetic | 10 | {seed_backtest['model']} | {backtest['mae_model']:.4f} |" in document
    assert f"quality (imdb, synthetic) at commit {run['commit']}, started {run['started_at']}" in document
    # the pipeline section (the smoke profile's synthetic run here) keeps what that run registered
    registered = payload["pipeline"]["registered"]["synthetic"]
    registry = json.loads(
        (work / "pipeline" / "project" / "results/synthetic/register/registry.json").read_text()
    )
    assert payload["pipeline"]["profile"] == "smoke" and registered["value"] == registry["value"]
    assert registered["best_baseline_value"] == registry["best_baseline_value"]
    assert registered["backtest"]["origins"] == 10 and registered["backtest"]["mae_difference_se"] > 0
    # a quick run is not judged against them (the hand-written notes may still name them)
    assert "| dataset | measure | measured | target | met |" not in document
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


def _entry(committed: dict[str, Any], dataset: str, value: float) -> dict[str, Any]:
    """A real entry of the committed results, in the raw shape a run hands to report.write."""
    real = copy.deepcopy(committed["quality"][dataset])
    real.pop("run", None)  # run.py adds the run after the measuring
    real["best"]["value"] = value
    return {**real, "per_seed": {"42": value}}


def test_a_partial_run_merges_into_earlier_results_and_the_report_names_each_run(tmp_path: Path) -> None:
    from benchmarks import report

    committed = json.loads((REPO / "benchmarks" / "results.json").read_text(encoding="utf-8"))
    # A whole run in the format before parts carried their run: it is named at the top level only.
    full = {
        "started_at": "2026-12-01T16:04:55",
        "total_seconds": 7426.5,
        "mode": "full",
        "pipeline": {key: value for key, value in committed["pipeline"].items() if key != "run"},
        "quality": {"cet": _entry(committed, "cet", 1.28), "giss": _entry(committed, "giss", 1.06)},
        "speed_details": {"summary": {"imdb_best_epoch_seconds": 25.9}},
    }
    path, document = tmp_path / "results.json", tmp_path / "BENCHMARKS.md"
    report.write(full, path, document)
    previous = json.loads(path.read_text(encoding="utf-8"))
    assert report.runs(previous) == [
        "pipeline, quality (cet, giss), speed, started 2026-12-01T16:04:55, 7426.5 s"
    ]
    assert (
        document.read_text(encoding="utf-8")
        .splitlines()[2]
        .startswith(
            "Generated by `python -m benchmarks.run` (pipeline, quality (cet, giss), speed, started "
            "2026-12-01T16:04:55, 7426.5 s). Every number below is what that run measured"
        )
    )

    # A speed-only run keeps pipeline and quality, each with the run that measured it, and replaces speed.
    speed_run = {"mode": "full", "speed_details": {"summary": {"imdb_best_epoch_seconds": 20.6}}}
    speed_run["speed_details"]["run"] = {
        "commit": "29c5712",
        "started_at": "2026-12-01T19:23:56",
        "seconds": 4351.0,
    }
    report.write(report.merge_previous(speed_run, previous), path, document)
    payload = json.loads(path.read_text(encoding="utf-8"))
    assert payload["speed"]["bilstm_epoch_seconds"] == 20.6
    assert payload["speed"]["noop_rerun_seconds"] == committed["pipeline"]["noop_rerun_flow_seconds"]
    assert payload["quality"]["giss"]["best"]["value"] == 1.06
    assert payload["quality_per_seed"]["cet"] == {"42": 1.28}
    first_run = {"commit": None, "started_at": "2026-12-01T16:04:55", "seconds": 7426.5}
    assert payload["pipeline"]["run"] == payload["quality"]["cet"]["run"] == first_run

    # Then GISS alone: CET keeps its number and its run, GISS keeps its place in the table.
    giss_run = {"quality": {"giss": _entry(committed, "giss", 1.01)}}
    giss_run["quality"]["giss"]["run"] = {
        "commit": "abc1234",
        "started_at": "2026-12-02T08:00:00",
        "seconds": 600.0,
    }
    report.write(report.merge_previous(giss_run, payload), path, document)
    payload = json.loads(path.read_text(encoding="utf-8"))
    assert payload["quality"]["giss"]["best"]["value"] == 1.01
    assert payload["quality"]["cet"]["best"]["value"] == 1.28
    assert payload["speed"]["bilstm_epoch_seconds"] == 20.6
    assert list(payload["quality"]) == ["cet", "giss"]
    assert report.runs(payload) == [
        "pipeline, quality (cet), started 2026-12-01T16:04:55, 7426.5 s",
        "speed at commit 29c5712, started 2026-12-01T19:23:56, 4351.0 s",
        "quality (giss) at commit abc1234, started 2026-12-02T08:00:00, 600.0 s",
    ]
    header = document.read_text(encoding="utf-8").splitlines()[2]
    assert "; ".join(report.runs(payload)) in header and "what those runs measured" in header
    assert "; ".join(report.runs(payload)) in report.readme_block(payload)


def test_the_report_lists_every_dataset_of_the_results_in_their_order(tmp_path: Path) -> None:
    from benchmarks import report

    committed = json.loads((REPO / "benchmarks" / "results.json").read_text(encoding="utf-8"))
    # MNIST and a new station: datasets of the registry that report.py has no protocol text for.
    mnist = {**_entry(committed, "imdb", 0.97), "anchors": {}, "targets": {"best_recurrent": 0.96}}
    mnist |= {"targets_met": {"best_recurrent": True}, "seeds": 1}
    station = _entry(committed, "giss", 1.2)
    quality = {"imdb": _entry(committed, "imdb", 0.916), "mnist": mnist, "boston": station}
    quality["cet"] = _entry(committed, "cet", 1.28)
    report.write({"mode": "full", "quality": quality}, tmp_path / "results.json", tmp_path / "BENCHMARKS.md")
    written = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    document = (tmp_path / "BENCHMARKS.md").read_text(encoding="utf-8")
    rows = [line.split(" | ")[0] for line in report.headline_table(written).splitlines()[2:]]
    sections = [line for line in document.splitlines() if line.startswith("### ") and line[4:] in quality]
    assert rows == [f"| {name}" for name in written["quality"]] and len(rows) == len(quality)
    assert sections == [f"### {name}" for name in written["quality"]]
    assert "| mnist | test_accuracy | family stacked_ensemble (ensemble) 97.00% |" in document
    assert "recurrent ≥ 96.00% | best_recurrent: yes |" in document
    # The known datasets keep their protocol text; the others get one built from their entry.
    assert report.PROTOCOLS["cet"] + "." in document
    assert "test_accuracy on the test split of `datasets.mnist` (params.yaml), 1 seed(s)." in document
    assert "test_mae on the test split of `datasets.boston` (params.yaml), 3 seed(s)." in document


def _registered(value: float, baseline: float, **backtest: float) -> dict[str, Any]:
    """A series' pipeline.registered record as run.py keeps it (lower MAE is better)."""
    record = {"metric": "test_mae", "higher_is_better": False, "value": value, "best_baseline": "ctar"}
    test = {"origins": 10, "mae_baseline": 1.0, "dm_p_value": 0.5, "skill": 0.0, "mae_difference_se": 0.01}
    return record | {"best_baseline_value": baseline, "backtest": test | backtest if backtest else None}


def test_issue_25s_targets_judge_the_default_run_and_the_full_profile() -> None:
    from benchmarks import report

    committed = json.loads((REPO / "benchmarks" / "results.json").read_text(encoding="utf-8"))
    pipeline = {"profile": "default", "first_run_seconds": 1150.0}
    pipeline["registered"] = {
        "giss": _registered(1.036, 1.048, skill=-0.005, mae_difference_se=0.01),  # within one SE
        "cet": _registered(1.269, 1.281, skill=0.009, dm_p_value=0.0005),
        "synthetic": _registered(4.201, 4.201),  # the baseline alone: at its baseline, no backtest target
        "imdb": {
            "metric": "test_accuracy",
            "higher_is_better": True,
            "value": 0.9118,
            "best_baseline": "tfidf_logreg",
            "best_baseline_value": 0.9036,
            "backtest": None,
        },
    }
    results = {"pipeline": pipeline, "quality": committed["quality"]}
    rows = {
        (dataset, measure): (goal, met) for dataset, measure, _, goal, met in report.issue_targets(results)
    }
    assert rows[("all", "`make run`, wall time")] == ("≤ 20 min", True)
    assert rows[("giss", "default run: best model, test")] == ("≤ best baseline", True)
    assert rows[("giss", "default run: backtest")] == ("skill ≥ 0 within one SE", True)
    assert rows[("cet", "default run: best model, test")] == ("≤ 1.270 and ≤ best baseline", True)
    assert rows[("cet", "default run: backtest")] == ("skill > 0, p < 0.05", True)
    assert rows[("synthetic", "default run: best model, test")] == ("≤ best baseline", True)
    assert rows[("imdb", "default run: best model, test")] == ("≥ 91.00%", True)
    synthetic_best = committed["quality"]["synthetic"]["best"]["value"]
    assert rows[("synthetic", "`full` profile: best model")] == ("≤ 4.200", synthetic_best <= 4.2)
    assert rows[("imdb", "`full` profile: best pure recurrent")][0] == "≥ 89.00%"
    assert ("synthetic", "default run: backtest") not in rows

    # each can fail: slower, worse than the baseline or the threshold, a backtest short by more than an SE
    pipeline["first_run_seconds"] = 1250.0
    pipeline["registered"]["giss"] = _registered(1.05, 1.048, skill=-0.02, mae_difference_se=0.01)
    pipeline["registered"]["cet"] = _registered(1.275, 1.281, skill=0.009, dm_p_value=0.06)
    pipeline["registered"]["imdb"]["value"] = 0.905
    failed = {(dataset, measure) for dataset, measure, _, _, met in report.issue_targets(results) if not met}
    assert failed >= {
        ("all", "`make run`, wall time"),
        ("giss", "default run: best model, test"),
        ("giss", "default run: backtest"),
        ("cet", "default run: best model, test"),
        ("cet", "default run: backtest"),
        ("imdb", "default run: best model, test"),
    }
    # a smoke or quick pipeline run is not judged: only the full profile's rows remain
    pipeline["profile"] = "smoke"
    assert {dataset for dataset, *_ in report.issue_targets(results)} == {"synthetic", "imdb"}
    assert report.issue_targets({**results, "mode": "quick"}) == []


def _trial(score: float | None, status: str = "COMPLETED", **hyperparameters: Any) -> dict[str, Any]:
    return {"score": score, "status": status, "hyperparameters": hyperparameters}


@pytest.mark.parametrize(
    ("trials", "anchor"),
    [
        # series: the pure family keeps the best pure trial's anchor, not the hybrid's
        ([_trial(0.1, family="gru", anchor="baseline"), _trial(0.3, family="gru", anchor="none"),
          _trial(0.2, family="lstm", anchor="last"), _trial(None, "FAILED", family="gru", anchor="none")],
         "last"),
        # text: the best pure trial is NBSVM, whose anchor is its own: the pure families get none
        ([_trial(0.22, family="lstm", anchor="nbsvm"), _trial(0.24, family="nbsvm", anchor="nbsvm")], "none"),
        ([_trial(0.1, family="gru", anchor="baseline")], "none"),  # no pure trial
    ],
)  # fmt: skip
def test_pure_benchmark_families_do_not_inherit_a_hybrids_anchor(
    tmp_path: Path, trials: list[dict[str, Any]], anchor: str
) -> None:
    from benchmarks import quality
    from seqlab.paths import ProjectPaths

    paths = ProjectPaths.at(tmp_path)
    folder = paths.results_dir("d", "tune")
    folder.mkdir(parents=True)
    (folder / "trials.json").write_text(json.dumps({"direction": "min", "trials": trials}), encoding="utf-8")
    assert quality.pure_anchor(paths, "d") == anchor
    assert quality.family_name({"family": "lstm", "anchor": "nbsvm"}) == "hybrid lstm"
    assert quality.family_name({"family": "nbsvm", "anchor": "nbsvm"}) == "nbsvm"
    assert quality.family_name({"family": "gru", "anchor": "last"}) == "gru"


def test_a_workspace_inside_an_ignored_folder_of_a_git_repo_still_has_its_stages(tmp_path: Path) -> None:
    """`make bench` builds its workspace in the project's git-ignored benchmarks/work."""
    from benchmarks import quality
    from flows import graph

    outer = tmp_path / "project"
    outer.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=outer, check=True)
    (outer / ".gitignore").write_text("work/\n", encoding="utf-8")
    workspace = quality.make_workspace(outer / "work" / "quality" / "project")
    assert "fetch@cet" in graph.stages(workspace) and "register@imdb" in graph.stages(workspace)
