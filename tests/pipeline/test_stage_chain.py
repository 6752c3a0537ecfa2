"""`seqlab stage` in order, per dataset, on tiny real-data subsets: real Keras, real Keras Tuner."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

from seqlab.cli import run

REPO = Path(__file__).resolve().parents[2]
MIRROR = Path(os.environ.get("SEQLAB_DATA_MIRROR", REPO.parent / "shared" / "data"))

TINY_TRAINING = ["tuning.max_trials=2", "tuning.epochs=2", "training.epochs=2", "training.patience=1"]
OVERRIDES: dict[str, list[str]] = {
    "synthetic": ["synthetic.tuning.space.units.values=[4, 8]"],
    "giss": ["giss.tuning.space.units.values=[4]", "giss.tuning.space.window_size.values=[6, 12]"],
    "cet": [
        "cet.start_date=2012-01-01",
        "cet.split_index=2500",
        "cet.window_size=14",
        "cet.tuning.space.window_size.values=[7, 14]",
        "cet.tuning.space.units.values=[4]",
    ],
    "imdb": [
        "imdb.subset=400",
        "imdb.max_len=48",
        "imdb.max_tokens=2000",
        "imdb.baseline_max_features=5000",
        "imdb.tuning.batch_size=64",
        "imdb.training.batch_size=64",
        "imdb.tuning.space.units.values=[8]",
        "imdb.tuning.space.embedding_dim.value=8",
        "imdb.tuning.space.filters.value=8",
    ],
}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.pipeline,
    pytest.mark.data,
    pytest.mark.skipif(not (MIRROR / "giss").is_dir(), reason=f"no data mirror at {MIRROR}"),
]


@pytest.mark.parametrize("dataset", ["synthetic", "giss", "cet", "imdb"])
def test_stages_in_order_produce_leaderboard_plots_and_metrics(
    dataset: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEQLAB_DATA_MIRROR", str(MIRROR))
    overrides = [f"{dataset}.{item}" for item in TINY_TRAINING] + OVERRIDES[dataset]
    common = ["--root", str(tmp_path), "--params", str(REPO / "params.yaml")]
    for item in overrides:
        common += ["--param", item]
    for stage in ("fetch", "prepare", "baselines", "tune", "train", "evaluate"):
        assert run([*common, "stage", stage, "--dataset", dataset]) == 0, stage

    out = tmp_path / "results" / dataset / "evaluate"
    metrics = json.loads((out / "metrics.json").read_text())
    metric = "test_accuracy" if dataset == "imdb" else "test_mae"
    assert metrics["metric"] == metric
    assert set(metrics["variants"]) == {"none", "dropout", "recurrent_dropout", "both"}
    for values in [*metrics["variants"].values(), *metrics["baselines"].values()]:
        assert math.isfinite(values[metric])
    assert metrics["best_baseline"]["name"] in metrics["baselines"]

    leaderboard = (out / "leaderboard.csv").read_text()
    for kind in ("baseline", "trial", "variant"):
        assert f",{kind}," in leaderboard
    plots = {path.name for path in (out / "plots").glob("*.png")}
    assert "learning_curves_none.png" in plots
    if dataset == "imdb":
        assert {"roc.png", "confusion_matrix.png"} <= plots
        assert {"test_auc", "test_f1"} <= set(metrics["variants"]["none"])
    else:
        assert {"forecast.png", "residuals.png"} <= plots
        assert {"test_rmse", "test_mae_normalized"} <= set(metrics["variants"]["none"])
    assert (tmp_path / "results" / dataset / "train" / "none" / "model.keras").is_file()
    if dataset == "imdb":  # the benchmark's stacked ensemble: members' probabilities, stacked on validation
        _stack_two_families(tmp_path, overrides)


def _stack_two_families(root: Path, overrides: list[str]) -> None:
    from seqlab import evaluation, experiment
    from seqlab.config import load_params
    from seqlab.paths import ProjectPaths

    params = load_params(REPO / "params.yaml", overrides)
    paths = ProjectPaths.at(root)
    arrays = experiment.load_text_data(paths).arrays
    records = {
        family: experiment.fit_and_score(
            "imdb",
            params,
            paths,
            {"family": family, "embedding_dim": 8, "units": 8, "filters": 8, "kernel_size": 3},
            root / "members" / family,
            keep_probabilities=True,
        )
        for family in ("dense", "conv1d")
    }
    for record in records.values():
        validation, test = record["probabilities"]["validation"], record["probabilities"]["test"]
        assert validation.shape == arrays["y_validation"].shape and test.shape == arrays["y_test"].shape
        assert record["test"] == evaluation.classification_metrics(arrays["y_test"], test)
    ensemble = evaluation.stack_classifiers(
        {name: record["probabilities"]["validation"] for name, record in records.items()},
        arrays["y_validation"],
    )
    combined = ensemble.predict_proba({name: r["probabilities"]["test"] for name, r in records.items()})
    assert combined.shape == arrays["y_test"].shape and 0 <= combined.min() <= combined.max() <= 1
    assert 0 < ensemble.cv_accuracy <= 1
    with pytest.raises(ValueError, match="keep_probabilities: only for imdb"):
        experiment.fit_and_score("giss", params, paths, {}, root / "giss", keep_probabilities=True)
