"""One stage graph, two entry points: `dvc repro` and the Prefect flow give the same results.

In a clean git copy whose params.yaml holds the smoke budgets for the synthetic series: real
`dvc repro` of the synthetic stages, then the Prefect flow on the same params, data and seeds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from seqlab.stages import STAGES
from tests.pipeline.helpers import bake_profile, clean_copy, run_command

pytestmark = [pytest.mark.slow, pytest.mark.pipeline]

TARGET = "register@synthetic"
SYNTHETIC_STAGES = {f"{stage}@synthetic" for stage in STAGES}


@pytest.fixture(scope="module")
def project(
    tmp_path_factory: pytest.TempPathFactory, prefect_server: None
) -> Iterator[tuple[Path, dict[str, str]]]:
    """A clean copy whose params.yaml *is* the smoke profile (what dvc repro reads)."""
    root, env = clean_copy(tmp_path_factory.mktemp("entry"))
    bake_profile(root / "params.yaml", "smoke", "synthetic")
    run_command(["git", "commit", "-qam", "smoke budgets"], root, env)
    with pytest.MonkeyPatch.context() as patch:
        for name in ("MLFLOW_TRACKING_URI", "SEQLAB_DATA_MIRROR", "TF_CPP_MIN_LOG_LEVEL"):
            patch.setenv(name, env[name])
        yield root, env


def _ran(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


def _scores(root: Path) -> dict[str, float]:
    metrics = json.loads((root / "results/synthetic/evaluate/scores.json").read_text())
    scores = {f"variant {name}": values["test_mae"] for name, values in metrics["variants"].items()}
    scores.update({f"baseline {name}": values["test_mae"] for name, values in metrics["baselines"].items()})
    return scores


def _pipeline_runs(entry_point: str) -> list[Any]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    experiment = client.get_experiment_by_name("seqlab-synthetic")
    return list(
        client.search_runs(
            [experiment.experiment_id],
            filter_string=f"tags.`seqlab.kind` = 'pipeline' and tags.`seqlab.entry_point` = '{entry_point}'",
        )
    )


def test_dvc_and_prefect_give_the_same_results_and_records(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    assert _ran(run_command(["dvc", "repro", TARGET], root, env)) == SYNTHETIC_STAGES
    by_dvc = _scores(root)
    (dvc_run,) = _pipeline_runs("dvc")
    assert dvc_run.info.status == "FINISHED"
    assert dvc_run.data.tags["seqlab.dvc.data/prepared/synthetic"].endswith(".dir")

    metrics = json.loads(run_command(["dvc", "metrics", "show", "--json"], root, env, stdout_only=True))
    shown = json.dumps(metrics)
    assert "results/synthetic/evaluate/metrics.json" in shown and '"mae_baseline"' in shown
    assert "results/synthetic/backtest/metrics.json" in shown and '"dm_p_value"' in shown
    assert dvc_run.data.metrics["backtest_origins"] == 10
    run_command(
        ["dvc", "plots", "show", "--json", "results/synthetic/evaluate/learning_curves.csv"], root, env
    )

    from flows.pipeline import dataset_pipeline

    summary = dataset_pipeline("synthetic", "default", [], str(root))
    assert not any(step["cached"] for step in summary["steps"].values())  # a fresh Prefect cache
    assert summary["dvc_committed"]
    assert _scores(root) == pytest.approx(by_dvc, rel=1e-6)

    (flow_run,) = _pipeline_runs("prefect")
    for key in ("seqlab.dvc.data/raw/synthetic", "seqlab.dvc.data/prepared/synthetic"):
        assert flow_run.data.tags[key] == dvc_run.data.tags[key]  # same data, same DVC hashes
    for metric in ("test_mae", "backtest_mae_model", "backtest_dm_p_value"):
        assert flow_run.data.metrics[metric] == pytest.approx(dvc_run.data.metrics[metric], rel=1e-6), metric
    for run in (dvc_run, flow_run):
        assert run.data.tags["seqlab.params_sha256"] == dvc_run.data.tags["seqlab.params_sha256"]

    # The flow recorded its outputs in dvc.lock: dvc repro has nothing to do.
    assert (
        json.loads(
            run_command(["dvc", "status", "--json", "--with-deps", TARGET], root, env, stdout_only=True)
        )
        == {}
    )
    assert _ran(run_command(["dvc", "repro", TARGET], root, env)) == set()


def test_changing_a_training_key_reruns_training_and_what_follows(
    project: tuple[Path, dict[str, str]],
) -> None:
    root, env = project
    params = root / "params.yaml"
    raw = yaml.safe_load(params.read_text())
    raw["defaults"]["synthetic"]["training"]["epochs"] += 1
    params.write_text(yaml.safe_dump(raw, sort_keys=False))
    assert set(
        json.loads(
            run_command(["dvc", "status", "--json", "--with-deps", TARGET], root, env, stdout_only=True)
        )
    ) == {"train@synthetic", "backtest@synthetic"}  # the backtest refits with the training settings
    assert _ran(run_command(["dvc", "repro", TARGET], root, env)) == {
        "train@synthetic",
        "evaluate@synthetic",
        "backtest@synthetic",
        "register@synthetic",
    }
