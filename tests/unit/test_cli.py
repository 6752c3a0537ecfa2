"""The ``seqlab`` command run in-process against a temporary project root (and once as the console script)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from seqlab.cli import build_parser, run
from seqlab.data.giss import parse_giss_csv
from seqlab.data.sources import MIRROR_ENV
from seqlab.fileio import sha256_file

REPO = Path(__file__).resolve().parents[2]
REPO_PARAMS = REPO / "params.yaml"
GISS_FILE = "USW00024233.csv"  # a GISS station's raw file is named by its GHCN id
# Read at import: the autouse fixture below removes the variable while each test runs.
REAL_MIRROR = Path(os.environ.get(MIRROR_ENV) or REPO.parent / "shared" / "data")


def real_mirror() -> Path:
    mirror = REAL_MIRROR
    if not (mirror / "giss").is_dir():
        pytest.skip(f"no giss folder in the data mirror {mirror}")
    return mirror


def seqlab(root: Path, *arguments: str) -> int:
    return run(["--root", str(root), "--params", str(REPO_PARAMS), *arguments])


def describe_json(root: Path, dataset: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert seqlab(root, "describe", dataset, "--json") == 0
    summary: dict[str, Any] = json.loads(capsys.readouterr().out)
    return summary


@pytest.fixture(autouse=True)
def _no_mirror_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests pass --mirror explicitly; a mirror in the environment must not change what they do.
    monkeypatch.delenv(MIRROR_ENV, raising=False)


@pytest.fixture
def giss_root(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A project root with the real GISS file fetched from the mirror."""
    mirror = real_mirror()
    assert seqlab(tmp_path, "fetch", "giss", "--mirror", str(mirror)) == 0
    capsys.readouterr()
    return tmp_path


# --------------------------------------------------------------------------- synthetic (no data needed)


def test_fetch_then_describe_synthetic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert seqlab(tmp_path, "fetch", "synthetic") == 0
    raw = tmp_path / "data" / "raw" / "synthetic" / "synthetic.csv"
    assert f"synthetic: generated {raw}" in capsys.readouterr().err
    assert raw.is_file()
    assert len(raw.read_text(encoding="utf-8").splitlines()) == 1 + 1461  # header + the generated points

    summary = describe_json(tmp_path, "synthetic", capsys)
    assert summary["dataset"] == "synthetic"
    assert summary["kind"] == "synthetic"
    assert summary["valid_records"] == 1461
    assert summary["missing"] == 0
    assert summary["frequency"] == "other"
    assert (summary["first_index"], summary["last_index"]) == (0, 1460)
    assert summary["files"] == {"synthetic.csv": sha256_file(raw)}
    assert len(summary["files"]["synthetic.csv"]) == 64
    assert summary["source_folder"] == "data/raw/synthetic"
    # A generated file is made again from params, not locked.
    assert "sha256_matches_lock" not in summary
    assert not (tmp_path / "data" / "sources.lock.json").exists()

    # The plain (table) form prints the same facts.
    assert seqlab(tmp_path, "describe", "synthetic") == 0
    out = capsys.readouterr().out
    assert "valid_records: 1461" in out
    assert f"synthetic.csv: {sha256_file(raw)}" in out


def test_stage_prepare_synthetic_reads_its_season_from_the_registry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert seqlab(tmp_path, "fetch", "synthetic") == 0
    assert seqlab(tmp_path, "stage", "prepare", "--dataset", "synthetic") == 0
    err = capsys.readouterr().err
    assert "synthetic: prepared into" in err and "stage prepare done" in err
    folder = tmp_path / "data" / "prepared" / "synthetic"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["kind"] == "synthetic"
    assert manifest["season"] == {"kind": "periodic", "count": manifest["source"]["period"]}
    assert manifest["split_index"] == 1000
    assert manifest["series"]["test_period"] == {"first": "1000", "last": "1460", "count": 461}
    assert not (folder / "dates.txt").exists()  # positions, not dates


def test_datasets_lists_each_with_its_kind_and_modality(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert seqlab(tmp_path, "datasets", "--json") == 0
    rows = {row["dataset"]: row for row in json.loads(capsys.readouterr().out)}
    assert {"imdb", "giss", "cet", "synthetic", "mnist"} <= set(rows)
    assert rows["giss"]["kind"] == "giss_station" and rows["giss"]["modality"] == "series"
    assert "station=USW00024233" in rows["giss"]["source"]
    assert (rows["imdb"]["kind"], rows["imdb"]["modality"]) == ("aclimdb", "text")
    assert (rows["mnist"]["kind"], rows["mnist"]["modality"]) == ("mnist_rows", "image")

    assert seqlab(tmp_path, "datasets") == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["dataset", "kind", "modality", "source"]
    assert any(line.split()[:3] == ["cet", "hadcet_daily", "series"] for line in table[1:])


# --------------------------------------------------------------------------- GISS from the real mirror


@pytest.mark.data
def test_fetch_and_describe_giss(giss_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    summary = describe_json(giss_root, "giss", capsys)
    assert summary["valid_records"] == 897
    assert summary["first_date"] == "1950-01"
    assert summary["last_date"] == "2024-09"
    assert summary["missing"] == 3
    assert summary["frequency"] == "monthly"
    assert summary["kind"] == "giss_station"
    assert summary["unit"] == "°C"
    assert summary["source_folder"] == "data/raw/giss"
    raw = giss_root / "data" / "raw" / "giss" / GISS_FILE
    assert summary["files"] == {GISS_FILE: sha256_file(raw)}
    lock = json.loads((giss_root / "data" / "sources.lock.json").read_text(encoding="utf-8"))
    assert lock["giss"] == {
        GISS_FILE: {"sha256": sha256_file(raw), "size": raw.stat().st_size, "records": 897}
    }
    assert summary["sha256_matches_lock"] is True


@pytest.mark.data
def test_prepare_giss_manifest(giss_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert seqlab(giss_root, "stage", "prepare", "--dataset", "giss") == 0
    assert "giss: prepared" in capsys.readouterr().err
    folder = giss_root / "data" / "prepared" / "giss"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))

    raw = giss_root / "data" / "raw" / "giss" / GISS_FILE
    series = parse_giss_csv(raw).values.loc[: pd.Timestamp("2019-12-01")]
    assert series.index[0] == pd.Timestamp("1950-01-01")
    assert series.size == 840
    values = series.to_numpy(dtype=np.float64)
    train = values[:792]

    assert manifest["dataset"] == "giss"
    assert manifest["kind"] == "giss_station"
    assert (manifest["source"]["kind"], manifest["source"]["station"]) == ("giss_station", "USW00024233")
    assert manifest["season"] == {"kind": "monthly", "count": 12}
    assert manifest["split_index"] == 792
    assert manifest["normalization"]["mean"] == pytest.approx(float(np.mean(train)), rel=1e-12)
    assert manifest["normalization"]["std"] == pytest.approx(float(np.std(train)), rel=1e-12)
    assert manifest["normalization"]["fitted_on"] == "train_period"
    assert manifest["series"]["count"] == 840
    assert manifest["series"]["train_period"] == {"first": "1950-01", "last": "2015-12", "count": 792}
    assert manifest["series"]["test_period"] == {"first": "2016-01", "last": "2019-12", "count": 48}

    with np.load(folder / "windows.npz") as archive:
        arrays = {name: archive[name] for name in archive.files}
    assert set(arrays) == set(manifest["arrays"])
    for name, array in arrays.items():
        record = manifest["arrays"][name]
        assert record["shape"] == list(array.shape), name
        assert record["dtype"] == str(array.dtype), name
        assert record["sha256"] == hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest(), name

    window_size = manifest["params"]["window_size"]
    assert window_size == 24
    for part in ("train", "validation", "test"):
        count = manifest["windows"][part]
        assert arrays[f"x_{part}"].shape == (count, window_size)
        assert arrays[f"y_{part}"].shape == (count, 1)
        assert arrays[f"{part}_target_index"].shape == (count, 1)
    assert manifest["windows"]["test"] == 48
    assert manifest["windows"]["train"] + manifest["windows"]["validation"] == 792 - window_size
    assert arrays["test_target_index"][0, 0] == 792
    np.testing.assert_array_equal(arrays["values"], values)
    mean, std = manifest["normalization"]["mean"], manifest["normalization"]["std"]
    np.testing.assert_allclose(arrays["y_test"][:, 0] * std + mean, values[792:], rtol=1e-12)

    dates = (folder / "dates.txt").read_text(encoding="utf-8").split()
    assert dates[0] == "1950-01" and dates[-1] == "2019-12" and len(dates) == 840


# --------------------------------------------------------------------------- errors and exit codes


def test_describe_before_fetch_tells_what_to_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert seqlab(tmp_path, "describe", "cet") == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "seqlab: error:" in captured.err
    assert "run `seqlab fetch cet`" in captured.err


def test_bad_param_exits_2_naming_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert seqlab(tmp_path, "--param", "datasets.cet.prepare.windowsize=3", "describe", "synthetic") == 2
    err = capsys.readouterr().err
    assert "seqlab: error:" in err and "datasets.cet.prepare.windowsize: unknown key" in err

    # A kind-wide override is checked for every dataset of the kind, and named per dataset.
    assert seqlab(tmp_path, "--param", "defaults.aclimdb.prepare.padding=middle", "fetch", "synthetic") == 2
    assert "datasets.imdb.prepare.padding" in capsys.readouterr().err

    # The old layout (a dataset name first) is not a key any more: the message says what is.
    assert seqlab(tmp_path, "--param", "cet.windowsize=3", "fetch", "synthetic") == 2
    err = capsys.readouterr().err
    assert "cet.windowsize" in err and "datasets.<name>." in err

    assert seqlab(tmp_path, "--param", "defaults.nokind.prepare.window_size=3", "fetch", "synthetic") == 2
    assert "unknown kind 'nokind'" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()


def test_missing_params_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "absent.yaml"
    assert run(["--root", str(tmp_path), "--params", str(missing), "fetch", "synthetic"]) == 2
    assert str(missing) in capsys.readouterr().err


@pytest.mark.parametrize(
    "arguments",
    [("describe", "nope"), ("fetch", "nope"), ("stage", "prepare", "--dataset", "nope")],
)
def test_unknown_dataset_exits_2_listing_the_configured_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: tuple[str, ...]
) -> None:
    # Datasets are configuration now (params.yaml's datasets:), so argparse cannot list them as choices.
    assert seqlab(tmp_path, *arguments) == 2
    err = capsys.readouterr().err
    assert "seqlab: error: dataset 'nope' is not configured" in err
    assert "giss" in err and "synthetic" in err
    assert not (tmp_path / "data").exists()


def test_lock_mismatch_exits_2_with_both_hashes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A local mirror only: the lock check must fail before anything else is tried.
    mirror = tmp_path / "mirror"
    (mirror / "giss").mkdir(parents=True)
    content = b"YEAR,JAN,FEB,MAR,APR,MAY,JUN,JUL,AUG,SEP,OCT,NOV,DEC\n2000,1,2,3,4,5,6,7,8,9,10,11,12\n"
    (mirror / "giss" / GISS_FILE).write_bytes(content)
    root = tmp_path / "project"
    lock = root / "data" / "sources.lock.json"
    lock.parent.mkdir(parents=True)
    wrong = "0123456789abcdef" * 4
    other = {"cet": {"cetdl1772on.dat": {"sha256": "f" * 64, "size": 2}}}
    lock.write_text(
        json.dumps({"giss": {GISS_FILE: {"sha256": wrong, "size": 1}}, **other}), encoding="utf-8"
    )

    assert seqlab(root, "fetch", "giss", "--mirror", str(mirror)) == 2
    err = capsys.readouterr().err
    assert wrong in err
    assert hashlib.sha256(content).hexdigest() in err
    assert "seqlab fetch giss --update" in err
    assert not (root / "data" / "raw" / "giss" / GISS_FILE).exists()
    assert json.loads(lock.read_text(encoding="utf-8"))["giss"][GISS_FILE]["sha256"] == wrong

    # --update takes it and records the new hash (and size); other datasets' entries are kept.
    assert seqlab(root, "fetch", "giss", "--mirror", str(mirror), "--update") == 0
    recorded = json.loads(lock.read_text(encoding="utf-8"))
    assert recorded["giss"] == {
        GISS_FILE: {"sha256": hashlib.sha256(content).hexdigest(), "size": len(content), "records": 12}
    }
    assert recorded["cet"] == other["cet"]
    assert (root / "data" / "raw" / "giss" / GISS_FILE).read_bytes() == content


def test_malformed_lock_exits_2_naming_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The lock of the old layout ({dataset: {file, sha256, size}}) is refused, not misread.
    mirror = tmp_path / "mirror"
    (mirror / "giss").mkdir(parents=True)
    (mirror / "giss" / GISS_FILE).write_bytes(b"anything\n")
    lock = tmp_path / "data" / "sources.lock.json"
    lock.parent.mkdir(parents=True)
    lock.write_text(
        json.dumps({"giss": {"file": GISS_FILE, "sha256": "0" * 64, "size": 1}}), encoding="utf-8"
    )
    assert seqlab(tmp_path, "fetch", "giss", "--mirror", str(mirror)) == 2
    err = capsys.readouterr().err
    assert str(lock) in err and "{dataset: {file: {sha256, size}}}" in err
    assert not (tmp_path / "data" / "raw" / "giss" / GISS_FILE).exists()


# --------------------------------------------------------------------------- the installed entry point


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "seqlab"
    assert script.is_file(), f"{script} missing: is the package installed (pip install -e .)?"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    for command in ("datasets", "fetch", "describe", "stage", "run"):
        assert command in result.stdout


def test_a_failing_stage_leaves_a_failed_pipeline_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `dvc repro` sees when a stage raises: exit status 1 and a FAILED run naming the step."""
    from mlflow.tracking import MlflowClient

    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    assert seqlab(tmp_path, "stage", "evaluate", "--dataset", "giss") == 1  # nothing to evaluate yet
    client = MlflowClient(store)
    experiment = client.get_experiment_by_name("seqlab-giss")
    (failed,) = client.search_runs([experiment.experiment_id])
    assert failed.info.status == "FAILED"
    assert failed.data.tags["seqlab.kind"] == "pipeline"
    assert failed.data.tags["seqlab.failed_step"] == "evaluate"
    assert failed.data.tags["seqlab.entry_point"] == "dvc"
    assert "not found" in failed.data.tags["seqlab.error"]


def test_ui_prints_the_store_it_would_serve(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert run(["--root", str(tmp_path), "ui", "--port", "5123", "--print-command"]) == 0
    printed = capsys.readouterr().out
    assert "mlflow ui --backend-store-uri" in printed and "--port 5123" in printed


def test_the_pipeline_view_compares_test_metrics_best_first() -> None:
    from seqlab.cli import pipeline_runs_view

    series = pipeline_runs_view("test_mae", higher_is_better=False)
    assert series["searchFilter"] == "tags.`seqlab.kind` = 'pipeline'"
    assert (series["orderByKey"], series["orderByAsc"]) == ("metrics.`test_mae`", True)
    metrics = ["test_mae", "best_baseline_test_mae", "skill_vs_best_baseline"]
    columns = ["attributes.`Description`", *(f"metrics.`{name}`" for name in metrics)]
    assert series["selectedColumns"] == series["columnOrder"] == columns
    text = pipeline_runs_view("test_accuracy", higher_is_better=True)
    assert (text["orderByKey"], text["orderByAsc"]) == ("metrics.`test_accuracy`", False)
    assert "metrics.`best_baseline_test_accuracy`" in text["selectedColumns"]


def test_runs_page_links_open_a_saved_view_or_carry_filter_and_sort() -> None:
    from seqlab.cli import pipeline_runs_view, runs_page_url

    view = pipeline_runs_view("test_mae", higher_is_better=False)
    assert (
        runs_page_url("http://127.0.0.1:5000/", "3", view, saved_as="seqlab-pipelines")
        == "http://127.0.0.1:5000/#/experiments/3/runs?viewStateShareKey=seqlab-pipelines"
    )
    assert runs_page_url("http://h:5000", "3", view) == (
        "http://h:5000/#/experiments/3/runs?searchFilter=tags.%60seqlab.kind%60%20%3D%20%27pipeline%27"
        "&orderByKey=metrics.%60test_mae%60&orderByAsc=true"
    )


def test_ui_saves_and_links_each_dataset_pipeline_view(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from seqlab import tracking

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    executed: list[list[str]] = []
    monkeypatch.setattr(os, "execv", lambda path, command: executed.append(command))
    experiment = tracking.experiment_id(tmp_path, "seqlab-synthetic")  # the only dataset with runs

    assert seqlab(tmp_path, "ui", "--port", "5123") == 0
    printed = capsys.readouterr().out
    link = f"http://127.0.0.1:5123/#/experiments/{experiment}/runs?viewStateShareKey=seqlab-pipelines"
    assert f"  synthetic: {link}" in printed.splitlines()
    assert "imdb" not in printed  # no experiment, no link
    assert executed and executed[0][3] == "ui"
    tags = tracking.client(tmp_path).get_experiment(experiment).tags
    saved = json.loads(tags["mlflow.sharedViewState.seqlab-pipelines"])
    assert saved["name"] == "seqlab: pipeline runs"
    assert json.loads(saved["state"])["orderByKey"] == "metrics.`test_mae`"

    assert seqlab(tmp_path, "ui", "--port", "5123") == 0  # unchanged: not rewritten
    again = tracking.client(tmp_path).get_experiment(experiment).tags
    assert again["mlflow.sharedViewState.seqlab-pipelines"] == tags["mlflow.sharedViewState.seqlab-pipelines"]


def test_ui_without_a_store_links_nothing_and_creates_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setattr(os, "execv", lambda path, command: None)
    assert seqlab(tmp_path, "ui") == 0
    assert "no runs yet" in capsys.readouterr().err
    assert not (tmp_path / "mlflow.db").exists()


# --------------------------------------------------------------------------- the lasting stack (seqlab up)


def test_every_command_gets_the_project_prefect_home_unless_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from seqlab.cli import project_environment

    monkeypatch.delenv("PREFECT_HOME", raising=False)
    with project_environment(tmp_path):
        assert os.environ["PREFECT_HOME"] == str(tmp_path / ".prefect")
    assert "PREFECT_HOME" not in os.environ  # an in-process caller gets its environment back

    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "mine"))
    with project_environment(tmp_path):
        assert os.environ["PREFECT_HOME"] == str(tmp_path / "mine")


def test_deploy_refuses_without_a_lasting_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert seqlab(tmp_path, "deploy") == 1
    assert "run `seqlab up` first" in capsys.readouterr().err


def test_status_and_down_without_a_stack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert seqlab(tmp_path, "status") == 0
    assert "the stack is not up" in capsys.readouterr().out
    assert seqlab(tmp_path, "down") == 0
    assert "nothing to stop" in capsys.readouterr().out


def test_schedule_is_gone_deploy_is_the_deployment() -> None:
    from seqlab.cli import ORCHESTRATION_COMMANDS, build_parser, orchestrator

    with pytest.raises(SystemExit):
        build_parser().parse_args(["schedule"])
    for name in ORCHESTRATION_COMMANDS:  # each registered by pyproject.toml's entry points
        assert callable(orchestrator(name))
    arguments = build_parser().parse_args(["up"])
    assert (arguments.host, arguments.prefect_port, arguments.mlflow_port) == ("127.0.0.1", 4200, 5000)


def _sleeper() -> subprocess.Popen[bytes]:
    """A stand-in for a stack process: its own session, as `seqlab up` starts them."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)


def _record(root: Path, process: subprocess.Popen[bytes], command: list[str]) -> None:
    import psutil

    entry = {
        "name": "worker",
        "pid": process.pid,
        "command": command,
        "started_at": psutil.Process(process.pid).create_time(),
        "url": "http://127.0.0.1:1/work-pools/work-pool/seqlab",
        "log": str(root / ".seqlab" / "logs" / "worker.log"),
    }
    (root / ".seqlab").mkdir(exist_ok=True)
    (root / ".seqlab" / "stack.json").write_text(json.dumps({"services": {"worker": entry}}))


def test_down_stops_a_recorded_process_and_leaves_a_reused_pid_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recorded, stranger = _sleeper(), _sleeper()
    try:
        _record(tmp_path, recorded, [sys.executable, "-c", "import time; time.sleep(600)"])
        assert seqlab(tmp_path, "status", "--json") == 0
        (row,) = json.loads(capsys.readouterr().out)
        assert (row["pid"], row["alive"], row["healthy"]) == (recorded.pid, True, False)
        assert seqlab(tmp_path, "down") == 0
        assert recorded.wait(timeout=120) == -15  # SIGTERM to its process group
        assert not (tmp_path / ".seqlab" / "stack.json").exists()

        # The pid now runs another command (as after a reboot): down must not kill it.
        _record(tmp_path, stranger, [sys.executable, "-m", "prefect", "worker", "start", "--name", "w"])
        assert seqlab(tmp_path, "down") == 0
        assert "left alone" in capsys.readouterr().err
        assert stranger.poll() is None
    finally:
        for process in (recorded, stranger):
            process.kill()
            process.wait(timeout=120)


def test_param_is_taken_before_and_after_the_command() -> None:
    from seqlab.cli import build_parser

    arguments = build_parser().parse_args(
        ["--param", "a.b=1", "run", "--dataset", "giss", "--param", "c.d=2", "--param", "e=3"]
    )
    assert arguments.param == ["a.b=1"] and arguments.param_after == ["c.d=2", "e=3"]
    assert build_parser().parse_args(
        ["stage", "prepare", "--dataset", "x", "--param", "k=v"]
    ).param_after == ["k=v"]


def test_an_override_after_the_command_is_applied(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert seqlab(tmp_path, "datasets", "--param", "pipeline.no_such_key=1") == 2
    assert "no_such_key" in capsys.readouterr().err


def test_reproduce_takes_a_run_id_and_refuses_a_negative_tolerance(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parsed = build_parser().parse_args(["reproduce", "0123abcd", "--keep"])
    assert (parsed.run_id, parsed.keep, parsed.tolerance) == ("0123abcd", True, None)
    assert build_parser().parse_args(["reproduce", "r", "--tolerance", "1e-6"]).tolerance == 1e-6
    for bad in ("-1", "nan", "inf", "x"):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["reproduce", "r", "--tolerance", bad])
        assert f"expected a number >= 0 (a relative difference), got '{bad}'" in capsys.readouterr().err


def test_the_run_ends_with_one_row_per_dataset_saying_who_won_and_by_how_much() -> None:
    from seqlab.cli import results_table

    giss = {
        "model": "variant none · gru(32)",
        "metric": "test_mae",
        "unit": "°C",
        "higher_is_better": False,
        "value": 1.2141,
        "best_baseline": "climatology_trend_ar",
        "best_baseline_value": 1.0481,
        "champion_version": None,
        "champion_moved": False,
    }
    mnist = {
        **giss,
        "model": "variant dropout · lstm(128)",
        "metric": "test_accuracy",
        "unit": None,
        "higher_is_better": True,
        "value": 0.975,
        "best_baseline": "dense_network",
        "best_baseline_value": 0.95,
        "champion_version": "3",
        "champion_moved": True,
    }
    header, first, second = results_table({"giss": {"registry": giss}, "mnist": {"registry": mnist}})
    assert header.split() == [
        "dataset",
        "best",
        "model",
        "test",
        "metric",
        "best",
        "baseline",
        "difference",
        "champion",
    ]
    assert (
        first.split("  ")[0] == "giss"
        and "mae 1.214 °C" in first
        and "climatology_trend_ar 1.048 °C" in first
    )
    assert "0.166 °C (15.8%) worse" in first and first.endswith("none")
    assert "accuracy 97.50%" in second and "2.50 points better" in second and second.endswith("v3 (new)")
    # a summary registered by an older seqlab has no comparison: no row rather than a wrong one
    assert len(results_table({"old": {"registry": {"version": "1"}}})) == 1
