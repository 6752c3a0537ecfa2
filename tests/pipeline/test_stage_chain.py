"""`seqlab stage` in order, per dataset, on tiny real-data subsets: real Keras, real Keras Tuner."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest

from seqlab.cli import run

REPO = Path(__file__).resolve().parents[2]
MIRROR = Path(os.environ.get("SEQLAB_DATA_MIRROR", REPO.parent / "shared" / "data"))

TINY_TRAINING = ["tuning.max_trials=2", "tuning.epochs=2", "training.epochs=2", "training.patience=1"]
OVERRIDES: dict[str, list[str]] = {
    "giss": ["tuning.space.units.values=[4]", "tuning.space.window_size.values=[6, 12]"],
    "imdb": [
        "prepare.subset=400",
        "prepare.max_len=48",
        "prepare.max_tokens=2000",
        "baselines.max_features=5000",
        "tuning.batch_size=64",
        "training.batch_size=64",
        "tuning.space.units.value=8",
        "tuning.space.embedding_dim.value=8",
    ],
    "mnist": [
        "prepare.subset=300",
        "baselines.dense_max_epochs=5",
        "tuning.space.units.values=[8]",
    ],
}
METRIC = {"imdb": "test_accuracy", "mnist": "test_accuracy"}  # the series: test_mae
PLOTS = {
    "imdb": {"roc.png", "confusion_matrix.png"},
    "mnist": {"confusion_matrix.png"},
}
METRICS = {"imdb": {"test_auc", "test_f1"}, "mnist": {"test_macro_f1", "test_log_loss"}}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.pipeline,
    pytest.mark.data,
    pytest.mark.skipif(not (MIRROR / "giss").is_dir(), reason=f"no data mirror at {MIRROR}"),
]


# One dataset per modality: the series' other kinds go through the same stages in test_flows.py
# (cet, synthetic), test_entry_points.py (synthetic through dvc repro) and test_new_dataset.py.
@pytest.mark.parametrize("dataset", ["giss", "imdb", "mnist"])
def test_stages_in_order_produce_leaderboard_plots_and_metrics(
    dataset: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEQLAB_DATA_MIRROR", str(MIRROR))
    overrides = [f"datasets.{dataset}.{item}" for item in TINY_TRAINING + OVERRIDES[dataset]]
    common = ["--root", str(tmp_path), "--params", str(REPO / "params.yaml")]
    for item in overrides:
        common += ["--param", item]
    for stage in ("fetch", "validate", "prepare", "baselines", "tune", "train", "evaluate", "backtest"):
        assert run([*common, "stage", stage, "--dataset", dataset]) == 0, stage

    out = tmp_path / "results" / dataset / "evaluate"
    metrics = json.loads((out / "scores.json").read_text())
    metric = METRIC.get(dataset, "test_mae")
    headline = json.loads((out / "metrics.json").read_text())  # what `dvc metrics show` lists: numbers only
    short = metric.removeprefix("test_")
    # series: the forecast combination and the Diebold-Mariano p-value against the best baseline
    combined = set() if dataset in METRIC else {f"{short}_combined", "dm_p_value"}
    assert set(headline) == {short, f"{short}_baseline", *combined, "skill", "best_epoch"}
    assert headline[short] == metrics["best_variant"][metric]
    if combined:
        combination = metrics["combination"]
        assert headline[f"{short}_combined"] == combination[metric]
        assert 0.0 <= combination["weight"] <= 1.0 and combination["baseline"] in metrics["baselines"]
        significance = metrics["significance"]
        assert significance["against"] == metrics["best_baseline"]["name"]
        assert 0.0 <= significance["p_value"] == headline["dm_p_value"] <= 1.0
    assert headline[f"{short}_baseline"] == metrics["best_baseline"][metric]
    charts = {path.name for path in (out / "charts").iterdir()}
    assert charts == ({"confusion_matrix.png"} if dataset in METRIC else {"forecast.csv"})
    assert metrics["metric"] == metric
    assert set(metrics["variants"]) == _distinct_variants(dataset, tmp_path, overrides)
    for values in [*metrics["variants"].values(), *metrics["baselines"].values()]:
        assert math.isfinite(values[metric])
    assert metrics["best_baseline"]["name"] in metrics["baselines"]

    leaderboard = (out / "leaderboard.csv").read_text()
    for kind in ("baseline", "trial", "variant"):
        assert f",{kind}," in leaderboard
    plots = {path.name for path in (out / "plots").glob("*.png")}
    variant = sorted(metrics["variants"])[0]  # imdb's default has one variant, dropout
    assert f"learning_curves_{variant}.png" in plots
    assert PLOTS.get(dataset, {"forecast.png", "residuals.png"}) <= plots
    assert METRICS.get(dataset, {"test_rmse", "test_mae_normalized"}) <= set(metrics["variants"][variant])
    assert (tmp_path / "results" / dataset / "train" / variant / "model.keras").is_file()
    _scoring_again_gives_the_evaluation(dataset, tmp_path, overrides, metrics)
    _backtest_scored_every_origin(dataset, tmp_path / "results" / dataset / "backtest", metrics)


def _backtest_scored_every_origin(dataset: str, out: Path, metrics: dict[str, Any]) -> None:
    """A series is backtested from params' 12 origins (refit every 4th); text and digits say why not."""
    import pandas as pd

    headline = json.loads((out / "metrics.json").read_text())
    if dataset in METRIC:
        assert headline == {"origins": 0}
        assert "no time order" in (out / "plots" / "none.txt").read_text()
        return
    summary = json.loads((out / "summary.json").read_text())
    assert set(headline) == {
        "origins",
        "mae_model",
        "mae_baseline",
        "skill",
        "mae_difference_se",
        "dm_p_value",
    }
    assert headline["origins"] == 12 and summary["variant"] == metrics["best_variant"]["name"]
    assert headline["mae_baseline"] == min(value for name, value in summary["mae"].items() if name != "model")
    assert headline["skill"] == pytest.approx(1 - headline["mae_model"] / headline["mae_baseline"])
    table = pd.read_csv(out / "origins.csv")
    assert table["origin"].nunique() == 12 and set(table["model"]) == set(summary["mae"])
    assert table["fitted_at"].nunique() == 3  # params' refit: every 4th origin
    model = table[table["model"] == "model"]["mae"]
    assert model.mean() == pytest.approx(headline["mae_model"], rel=1e-4)
    assert (out / "plots" / "backtest.png").stat().st_size > 10_000


def _distinct_variants(dataset: str, root: Path, overrides: list[str]) -> set[str]:
    """The params' variants that make distinct models of the tuned family (what train trains)."""
    from seqlab.config import load_params
    from seqlab.training import variant_arguments

    best = json.loads((root / "results" / dataset / "train" / "summary.json").read_text())[
        "best_hyperparameters"
    ]
    configured = load_params(REPO / "params.yaml", overrides).dataset(dataset).training.variants
    first: dict[str, str] = {}  # a variant whose model an earlier one already makes is not trained
    for name, variant in configured.items():
        arguments = variant_arguments(best, variant.dropout, variant.recurrent_dropout)
        first.setdefault(json.dumps(arguments, sort_keys=True), name)
    return set(first.values())


def _scoring_again_gives_the_evaluation(
    dataset: str, root: Path, overrides: list[str], metrics: dict[str, Any]
) -> None:
    """train, evaluate and the benchmarks share one fit and one score: a saved variant scores the same."""
    from seqlab.artifacts import TrainSummary
    from seqlab.config import load_params
    from seqlab.modalities import modality
    from seqlab.modelling import load_keras_model, score_model
    from seqlab.paths import ProjectPaths

    config = load_params(REPO / "params.yaml", overrides).dataset(dataset)
    paths = ProjectPaths.at(root)
    data = modality(config).load(config, paths)
    best = metrics["best_variant"]["name"]
    model = load_keras_model(paths.results_dir(dataset, "train") / best / "model.keras")
    hyperparameters = TrainSummary.read(paths, dataset).variants[best].hyperparameters
    scores, _ = score_model(data, model, hyperparameters)
    for name, value in scores.items():
        assert value == pytest.approx(metrics["variants"][best][name], rel=1e-6), name
