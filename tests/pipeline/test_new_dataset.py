"""A dataset is configuration: a new GISS station and a user's CSV series, added in params.yaml only.

In a clean git copy: five lines of params.yaml add a station whose CSV the test writes into a mirror
folder of its own (`giss/<station id>.csv`, a few years with a `999.90` gap); `seqlab fetch` records
it in the lock, `seqlab run --profile smoke` runs its flow into an empty MLflow store and
`dvc repro` its stages, with no other file edited. A `csv_series` dataset goes through fetch,
validate and prepare the same way.
"""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import numpy as np
import pytest

from seqlab.stages import STAGES
from tests.pipeline.helpers import bake_profile, clean_copy, run_command

pytestmark = [pytest.mark.slow, pytest.mark.pipeline]

STATION = "FRM00007027"
STATION_ENTRY = f"""
  caen:
    source: {{kind: giss_station, station: {STATION}}}
    end_date: "2017-12-01"
    test_size: 12
"""


def _station_csv(path: Path) -> None:
    """Ten years of monthly means in GISS's layout, one month missing (999.90) inside the record."""
    rng = np.random.default_rng(7)
    header = "YEAR,JAN,FEB,MAR,APR,MAY,JUN,JUL,AUG,SEP,OCT,NOV,DEC,D-J-F,M-A-M,J-J-A,S-O-N,metANN"
    lines = [header]
    for year in range(2009, 2019):
        months = 11 + 6 * np.sin(2 * np.pi * (np.arange(12) - 3) / 12) + rng.normal(0, 0.8, 12)
        cells = [f"{value:.2f}" for value in months]
        if year == 2012:
            cells[4] = "999.90"  # May 2012 missing
        lines.append(",".join([str(year), *cells, *["999.90"] * 5]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def _add_to_params(root: Path, entry: str) -> None:
    params = root / "params.yaml"
    text = params.read_text()
    marker = "\ndefaults:\n"
    params.write_text(text.replace(marker, entry + marker, 1))


def test_a_new_station_runs_through_the_flow_and_dvc_repro(tmp_path: Path) -> None:
    root, env = clean_copy(tmp_path)
    mirror = tmp_path / "mirror"
    _station_csv(mirror / "giss" / f"{STATION}.csv")
    env["SEQLAB_DATA_MIRROR"] = str(mirror)
    _add_to_params(root, STATION_ENTRY)
    changed = run_command(["git", "status", "--porcelain"], root, env, stdout_only=True).split("\n")
    assert [line for line in changed if line] == [" M params.yaml"]  # nothing else edited

    assert "caen" in run_command(["seqlab", "datasets"], root, env, stdout_only=True)
    run_command(["seqlab", "fetch", "caen"], root, env)
    lock = json.loads((root / "data" / "sources.lock.json").read_text())
    assert set(lock["caen"]) == {f"{STATION}.csv"}  # the first fetch of a new dataset records it
    summary = json.loads(run_command(["seqlab", "describe", "caen", "--json"], root, env, stdout_only=True))
    assert summary["kind"] == "giss_station" and summary["frequency"] == "monthly"
    assert summary["missing"] == 1 and summary["filled_by_gap_policy"] == 1
    assert summary["first_date"] == "2009-01" and summary["last_date"] == "2018-12"

    store = tmp_path / "empty.db"
    store.touch()  # `seqlab run` into an empty SQLite file, as a user's first run does
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{store}"
    output = run_command(["seqlab", "run", "--dataset", "caen", "--profile", "smoke"], root, env)
    assert "[9/9] caen register: done" in output, output

    from mlflow.tracking import MlflowClient

    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    experiment = client.get_experiment_by_name("seqlab-caen")
    (parent,) = client.search_runs([experiment.experiment_id], "tags.`seqlab.kind` = 'pipeline'")
    assert parent.info.status == "FINISHED" and parent.data.tags["seqlab.profile"] == "smoke"
    children = client.search_runs(
        [experiment.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
    )
    assert {run.data.tags["seqlab.kind"] for run in children} == {"trial", "variant", "baseline"}
    for run in children:
        if run.data.tags["seqlab.kind"] in ("variant", "baseline"):
            assert math.isfinite(run.data.metrics["test_mae"])
    assert "plots/forecast.png" in [item.path for item in client.list_artifacts(parent.info.run_id, "plots")]
    best = next(run for run in children if run.data.tags.get("seqlab.best_variant") == "true")
    assert [item.path for item in client.list_artifacts(best.info.run_id, "keras")] == ["keras/model.keras"]
    (version,) = client.search_model_versions("name = 'seqlab-caen'")  # the best variant, champion or not
    assert version.run_id == best.info.run_id
    promoted = "champion" in client.get_registered_model("seqlab-caen").aliases
    assert promoted == (version.tags["seqlab.beats_baseline"] == "true")
    # artifacts beside the store, nothing in the working directory
    assert (tmp_path / "mlartifacts").is_dir() and not (root / "mlruns").exists()

    # dvc repro of the same stages, with smoke budgets written into params.yaml (dvc knows no profiles)
    bake_profile(root / "params.yaml", "smoke", "giss_station")
    ran = run_command(["dvc", "repro", "register@caen"], root, env)
    for stage in STAGES:  # dvc repro runs every stage of the one declaration
        assert f"'{stage}@caen'" in ran, ran
    status = json.loads(
        run_command(["dvc", "status", "--json", "register@caen"], root, env, stdout_only=True)
    )
    assert status == {}
    metrics = json.loads((root / "results/caen/evaluate/scores.json").read_text())
    assert metrics["metric"] == "test_mae" and set(metrics["variants"]) >= {"none"}
    manifest = json.loads((root / "data/prepared/caen/manifest.json").read_text())
    assert manifest["series"]["test_period"] == {"first": "2017-01", "last": "2017-12", "count": 12}
    assert len(client.search_model_versions("name = 'seqlab-caen'")) == 2


def test_a_csv_series_is_fetched_validated_and_prepared(tmp_path: Path) -> None:
    root, env = clean_copy(tmp_path)
    days = np.arange("2020-01-01", "2021-01-01", dtype="datetime64[D]")
    values = 10 + np.sin(np.arange(days.size) / 58.0)
    rows = [f"{day},{value:.3f}" for day, value in zip(days, values, strict=True)]
    rows[100] = f"{days[100]},NA"  # a missing value inside the series
    del rows[200]  # and a missing date
    (root / "mydata").mkdir()
    (root / "mydata" / "load.csv").write_text("day,load\n" + "\n".join(rows) + "\n")
    _add_to_params(
        root,
        """
  load:
    source: {kind: csv_series, path: mydata/load.csv, date_column: day, value_column: load,
             frequency: daily, missing_value: NA, unit: MW}
    test_size: 30
""",
    )
    run_command(["seqlab", "fetch", "load"], root, env)
    run_command(["seqlab", "stage", "validate", "--dataset", "load"], root, env)
    run_command(["seqlab", "stage", "prepare", "--dataset", "load"], root, env)
    summary = json.loads((root / "results/load/validate/summary.json").read_text())
    assert summary["valid_records"] == 366 and summary["filled_by_gap_policy"] == 2
    assert summary["unit"] == "MW" and summary["sha256_matches_lock"] is True
    manifest = json.loads((root / "data/prepared/load/manifest.json").read_text())
    assert manifest["season"] == {"kind": "daily", "count": 365}
    assert manifest["series"]["test_period"]["count"] == 30

    # a test period longer than the data fails at validate, naming the dataset and key
    params = root / "params.yaml"
    params.write_text(params.read_text().replace("test_size: 30", "test_size: 400"))
    result = subprocess.run(
        ["seqlab", "stage", "validate", "--dataset", "load"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "datasets.load.test_size: 400" in result.stderr, result.stderr
