"""`seqlab reproduce RUN_ID`: a smoke run rerun from its commit, edits, profile, overrides and data.

Real git, DVC, Prefect (temporary servers) and MLflow: the run is made with `seqlab run` in a clean
copy with an uncommitted params.yaml edit (the usual edit-then-run), the project then moves on (a new
commit), and the reproduction checks the run's commit out in a fresh clone, applies the edit it
recorded and must give the same metrics and data hashes.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from seqlab.tracking import Tracker
from tests.pipeline.helpers import clean_copy, run_command

pytestmark = [pytest.mark.slow, pytest.mark.pipeline]
TUNING_EPOCHS = "defaults.synthetic.tuning.epochs"


def _set_smoke(params_file: Path, key: str, value: object) -> None:
    raw = yaml.safe_load(params_file.read_text())
    raw["profiles"]["smoke"][key] = value
    params_file.write_text(yaml.safe_dump(raw, sort_keys=False))


def test_a_smoke_run_is_reproduced_exactly_from_its_mlflow_id(tmp_path: Path) -> None:
    root, env = clean_copy(tmp_path)
    params_file = root / "params.yaml"
    _set_smoke(params_file, TUNING_EPOCHS, 3)  # edited, not committed: the run records the edit
    override = "defaults.synthetic.training.epochs=2"
    run_command(
        ["seqlab", "run", "--dataset", "synthetic", "--profile", "smoke", "--param", override], root, env
    )
    tracker = Tracker(root, uri=env["MLFLOW_TRACKING_URI"])
    experiment = tracker.find_experiment("seqlab-synthetic")
    assert experiment is not None
    (original,) = tracker.pipeline_runs_since(experiment, "synthetic", 0)
    tags = original["tags"]
    assert tags["seqlab.profile"] == "smoke" and json.loads(tags["seqlab.overrides"]) == [override]
    assert tags["seqlab.git_commit"].endswith("-dirty")
    assert f"{TUNING_EPOCHS}: 3" in (tracker.read_text_artifact(original["run_id"], "source.diff") or "")
    # every profile records its exact data and the state of dvc.lock, not only the default one
    assert tags["seqlab.dvc.data/raw/synthetic"].endswith(".dir")
    assert tags["seqlab.dvc.data/prepared/synthetic"].endswith(".dir")
    assert tags["seqlab.dvc_lock_sha256"] == "absent"

    # The project moves on: what HEAD would train now differs from what the run trained.
    _set_smoke(params_file, TUNING_EPOCHS, 2)
    raw = yaml.safe_load(params_file.read_text())
    raw["defaults"]["synthetic"]["training"]["seed"] = 7
    params_file.write_text(yaml.safe_dump(raw, sort_keys=False))
    run_command(["git", "commit", "-qam", "another seed"], root, env)

    shown = run_command(["seqlab", "reproduce", original["run_id"], "--keep"], root, env)
    assert f"run {original['run_id']} (synthetic, prefect, commit {tags['seqlab.git_commit'][:12]})" in shown
    assert "+ its uncommitted changes" in shown
    assert ": MATCH" in shown, shown
    assert "test_mae" in shown and "<- differs" not in shown
    (again, first) = tracker.pipeline_runs_since(experiment, "synthetic", 0)
    assert first["run_id"] == original["run_id"]
    assert again["tags"]["seqlab.reproduces"] == original["run_id"]
    assert again["tags"]["seqlab.git_commit"] == tags["seqlab.git_commit"]
    assert again["metrics"] == original["metrics"]  # exactly: same code, data, params and seeds
    assert tracker.run_record(original["run_id"])["tags"]["seqlab.reproduced_by"] == again["run_id"]
    clone = next(line.split(": ", 1)[1] for line in shown.splitlines() if "the clone:" in line)
    trials = json.loads((Path(clone) / "results/synthetic/tune/trials.json").read_text())["trials"]
    assert {len(trial["history"]["loss"]) for trial in trials} == {3}  # the recorded edit, not HEAD's 2


def test_a_run_from_uncommitted_changes_cannot_be_reproduced(tmp_path: Path) -> None:
    root, env = clean_copy(tmp_path)
    tracker = Tracker(root, uri=env["MLFLOW_TRACKING_URI"])
    experiment = tracker.experiment("seqlab-synthetic")
    run_id = tracker.start_run(
        experiment,
        "synthetic pipeline (smoke)",
        "pipeline",
        tags={"seqlab.dataset": "synthetic", "seqlab.git_commit": "0123abcd-dirty"},
    )
    tracker.finish(run_id)
    result = subprocess.run(
        ["seqlab", "reproduce", run_id], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode != 0
    assert "uncommitted changes (seqlab.git_commit = 0123abcd-dirty) that it did not record" in result.stderr
    missing = subprocess.run(
        ["seqlab", "reproduce", "f" * 32], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )
    assert missing.returncode != 0 and f"no MLflow run '{'f' * 32}'" in missing.stderr
