"""A registered model called with raw inputs: in a Python without seqlab, by `seqlab predict` and served.

A synthetic smoke pipeline (its stages run as `dvc repro` runs them, with even smaller budgets and a
tuned window shorter than the prepared one) registers its best variant in a temporary SQLite store.
Its forecast of the last test target, from that target's raw history, must equal evaluate's.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import sysconfig
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from flows.stack import STOP_DEADLINE_SECONDS, answers, wait_until
from seqlab import recording, tracking
from seqlab.artifacts import TrainSummary
from seqlab.config import load_params
from seqlab.modalities import modality
from seqlab.modelling import load_keras_model
from seqlab.paths import ProjectPaths
from seqlab.stages import STAGE_FUNCTIONS, STAGES
from tests.pipeline.helpers import REPO

pytestmark = [pytest.mark.slow, pytest.mark.pipeline]

DATASET = "synthetic"
OVERRIDES = (  # on top of the smoke profile: one trial, one variant, a window of 12 of the prepared 20
    "defaults.synthetic.tuning.max_trials=1",
    "defaults.synthetic.tuning.epochs=1",
    "defaults.synthetic.training.epochs=2",
    "defaults.synthetic.training.variants={none: {}}",
    "defaults.synthetic.tuning.space={family: {value: dense}, units: {value: 8}, anchor: {value: last},"
    " learning_rate: {value: 0.003}, calendar_harmonics: {value: 2}, window_size: {value: 12}}",
)
# Run by a Python that cannot import seqlab: site-packages on sys.path without its .pth files (the
# editable install of seqlab is one), no user site, no PYTHON* variables, no current folder.
WITHOUT_SEQLAB = """
import importlib.util, json, sys
sys.path.append({site!r})
assert importlib.util.find_spec("seqlab") is None, "seqlab is importable"
import mlflow.pyfunc, pandas as pd
model = mlflow.pyfunc.load_model({uri!r})
history = pd.read_csv({history!r})
result = {{"table": model.predict(history).to_dict(orient="list")}}
try:
    model.predict(history.rename(columns={{"value": "temperature"}}))
except ValueError as error:
    result["error"] = str(error)
result["imported"] = sorted({{name.split(".")[0] for name in sys.modules if name.startswith("seqlab")}})
# seqlab imported after the model's copies registered its layers' names: both keep working
sys.path.insert(0, {source!r})
import keras, seqlab.models
from seqlab.modelling import load_keras_model
variant = load_keras_model({variant!r})
result["variant_layer_is_seqlabs"] = type(variant.get_layer("anchor_last")) is seqlab.models.WindowAnchor
result["again"] = mlflow.pyfunc.load_model({uri!r}).predict(history)["forecast"].tolist()
registered = keras.saving.get_registered_object("seqlab>ColumnSlice")
result["registry_is_seqlabs"] = registered is seqlab.models.ColumnSlice
print(json.dumps(result))
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _post(url: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url, json.dumps(payload).encode(), {"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), json.loads(error.read())


def _finished(process: subprocess.Popen[str], what: str) -> str:
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, f"{what} failed ({process.returncode}):\n{stdout}\n{stderr}"
    return stdout


def _registered(root: Path, overrides: tuple[str, ...]) -> tuple[ProjectPaths, Any, dict[str, Any]]:
    """Run the smoke pipeline's stages with ``overrides`` into ``root`` and record (register) it."""
    params = load_params(REPO / "params.yaml", list(overrides), "smoke")
    paths, config = ProjectPaths.at(root), params.dataset(DATASET)
    for stage in STAGES[:-1]:
        STAGE_FUNCTIONS[stage](config, paths, log=lambda _: None)
    return paths, config, recording.record_pipeline(DATASET, params, paths, log=lambda _: None)


def test_a_registered_model_takes_raw_inputs_everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(tracking.TRACKING_ENV, raising=False)
    root = tmp_path / "project"
    paths, config, registered = _registered(root, OVERRIDES)
    name, version = registered["registered_model"], registered["version"]

    # evaluate's forecast of the last test target, and the raw history it read
    variant = paths.results_dir(DATASET, "train") / registered["variant"] / "model.keras"
    hyperparameters = TrainSummary.read(paths, DATASET).variants[registered["variant"]].hyperparameters
    assert hyperparameters["window_size"] == 12 != config.prepare.window_size
    data = modality(config).load(config, paths)
    normalised = np.float64(data.predict_test(load_keras_model(variant), hyperparameters)[-1, 0])
    blend = registered["combination"]  # what validation preferred: the variant, or its blend with a baseline
    if blend is not None:
        partner = data.baselines()[1][blend["baseline"]].reshape(-1)[-1]
        normalised = blend["weight"] * normalised + (1 - blend["weight"]) * float(partner)
    evaluated = float(normalised * data.std + data.mean)  # as evaluate's metrics map it back
    history = tmp_path / "history.csv"
    data.input_example(hyperparameters, blend).to_csv(history, index=False)
    target = int(data.arrays["test_target_index"][-1, 0])

    store = tracking.Tracker(root)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        tracking.TRACKING_ENV: store.uri,
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    predict = ["seqlab", "--root", str(root), "--params", str(REPO / "params.yaml"), "predict", DATASET]
    predict += ["--input", str(history)]

    # Without the alias (a model that loses to its baseline is not promoted): a clear refusal.
    if store.alias_version(name, "champion") is not None:
        store.client.delete_registered_model_alias(name, "champion")
    refused = subprocess.run(predict, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    latest = store.latest_version(name)
    assert latest is not None and latest[0] == version
    decision = latest[1]["seqlab.champion_decision"]
    assert refused.returncode == 1, refused
    assert f"{name} has no champion; its latest version, v{version}: {decision}" in refused.stderr
    assert f"--version {version}" in refused.stderr
    store.set_alias(name, "champion", version)  # as if it had beaten its baseline

    port, served_log = _free_port(), tmp_path / "serve.log"
    log = served_log.open("wb")
    server = subprocess.Popen(
        ["mlflow", "models", "serve", "-m", f"models:/{name}@champion", "--env-manager", "local"]
        + ["--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # with its uvicorn worker: stopped as one group
    )
    try:
        script = WITHOUT_SEQLAB.format(
            site=sysconfig.get_paths()["purelib"],
            uri=f"models:/{name}@champion",
            history=str(history),
            source=str(REPO / "src"),
            variant=str(variant),
        )
        bare = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", script], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        command = subprocess.Popen(
            predict, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        result = json.loads(_finished(bare, "loading in a Python without seqlab").splitlines()[-1])
        printed = _finished(command, "seqlab predict").split()

        assert result["imported"] == ["seqlab_champion"]  # the code shipped with the model, never seqlab
        assert result["table"]["time"] == [target] and result["table"]["step"] == [1]
        forecast = result["table"]["forecast"][0]
        assert forecast == pytest.approx(evaluated, rel=1e-6)  # one row vs a batch: float32 rounding at most
        assert "missing column(s) value; expected time, value (got time, temperature)" in result["error"]
        assert result["variant_layer_is_seqlabs"] and result["registry_is_seqlabs"]
        assert result["again"] == [forecast]
        assert printed == ["time", "step", "forecast", str(target), "1", f"{forecast:.4g}"]

        # Served: the same numbers; bad input is a 400 naming what is wrong.
        wait_until(
            lambda: answers(f"http://127.0.0.1:{port}/ping"),
            "mlflow models serve",
            alive=lambda: server.poll() is None,
            log=str(served_log),
        )
        table = pd.read_csv(history)
        url = f"http://127.0.0.1:{port}/invocations"
        status, answer = _post(url, {"dataframe_split": table.to_dict(orient="split")})
        assert status == 200, answer
        assert answer["predictions"] == [{"time": target, "step": 1, "forecast": forecast}]
        status, answer = _post(url, {"dataframe_split": table[["time"]].to_dict(orient="split")})
        assert status == 400 and "missing column(s) value" in answer["message"], answer
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=STOP_DEADLINE_SECONDS)
        log.close()


BLENDED = (  # a dense model of 10 epochs: validation weighs it 0.15 against climatology + trend
    "defaults.synthetic.tuning.max_trials=1",
    "defaults.synthetic.tuning.epochs=1",
    "defaults.synthetic.training.epochs=10",
    "defaults.synthetic.training.variants={none: {}}",
    "defaults.synthetic.tuning.space={family: {value: dense}, units: {value: 8}, anchor: {value: last},"
    " learning_rate: {value: 0.003}, calendar_harmonics: {value: 2}, window_size: {value: 12}}",
)


def test_a_forecast_combination_is_registered_and_served_as_its_blend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow.pyfunc

    monkeypatch.delenv(tracking.TRACKING_ENV, raising=False)
    root = tmp_path / "project"
    paths, config, registered = _registered(root, BLENDED)

    evaluation = json.loads((paths.results_dir(DATASET, "evaluate") / "scores.json").read_text())
    blend, variant_mae = evaluation["combination"], evaluation["variants"][registered["variant"]]["test_mae"]
    assert 0 < blend["weight"] < 1, blend  # chosen on validation; else this test checks nothing
    weight, partner = blend["weight"], blend["baseline"]
    assert registered["combination"] == {"weight": weight, "baseline": partner}
    assert registered["value"] == blend["test_mae"] != variant_mae
    assert registered["dm_p_value"] == blend["dm_p_value"] != evaluation["significance"]["p_value"]
    assert registered["model"].startswith(f"combination {weight:.2f} × variant none · ")
    assert registered["model"].endswith(f" + {1 - weight:.2f} × {partner}")
    store = tracking.Tracker(root)
    name, version = registered["registered_model"], registered["version"]
    tags = store.client.get_model_version(name, version).tags
    assert tags["seqlab.combination_baseline"] == partner
    assert float(tags["seqlab.value"]) == blend["test_mae"]

    # the registered model's forecast of the last test target is the blend evaluate scored
    hyperparameters = TrainSummary.read(paths, DATASET).variants[registered["variant"]].hyperparameters
    data = modality(config).load(config, paths)
    variant = load_keras_model(paths.results_dir(DATASET, "train") / registered["variant"] / "model.keras")
    _, baselines = data.baselines()
    model_part = weight * np.float64(data.predict_test(variant, hyperparameters)[-1, 0])
    normalised = model_part + (1 - weight) * float(baselines[partner].reshape(-1)[-1])
    model = mlflow.pyfunc.load_model(store.client.get_model_version_download_uri(name, version))
    forecast = model.predict(data.input_example(hyperparameters, blend))["forecast"].tolist()
    assert forecast == pytest.approx([normalised * data.std + data.mean], rel=1e-6)
