"""Baselines on the real prepared splits, checked against the reference numbers from the literature.

Skipped unless ``data/prepared/<dataset>/windows.npz`` exists under the repository root
(``seqlab fetch <ds> && seqlab prepare <ds>``). Run with ``-s`` to see the numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from seqlab.baselines import season_keys, series_baselines
from seqlab.evaluation import regression_metrics

pytestmark = pytest.mark.data

ROOT = Path(__file__).resolve().parents[2]
# dataset -> (season kind, period, AR order)
SETTINGS = {"giss": ("monthly", 12, 1), "cet": ("daily", 365, 3), "synthetic": ("periodic", 365, 1)}


def baseline_maes(dataset: str) -> dict[str, float]:
    folder = ROOT / "data" / "prepared" / dataset
    if not (folder / "windows.npz").is_file():
        pytest.skip(f"{folder / 'windows.npz'} missing; run `seqlab prepare {dataset}`")
    kind, period, order = SETTINGS[dataset]
    arrays = np.load(folder / "windows.npz")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    values = arrays["values"]
    targets = arrays["test_target_index"]
    dates = (folder / "dates.txt").read_text(encoding="utf-8").split() if kind != "periodic" else None
    seasons = season_keys(kind, dates, values.size, period)
    forecasts = series_baselines(values, targets, manifest["params"]["split_index"], seasons, period, order)
    normalization = manifest["normalization"]
    # the neural models' y_test is the same targets, normalised
    np.testing.assert_allclose(
        arrays["y_test"] * normalization["std"] + normalization["mean"], values[targets]
    )
    maes = {
        name: regression_metrics(
            arrays["y_test"],
            (forecast - normalization["mean"]) / normalization["std"],
            normalization["mean"],
            normalization["std"],
            normalized_inputs=True,
        )["test_mae"]
        for name, forecast in forecasts.items()
    }
    print(f"\n{dataset} test MAE: " + ", ".join(f"{name} {mae:.3f}" for name, mae in maes.items()))
    assert all(np.isfinite(mae) for mae in maes.values())
    return maes


def test_giss_climatology_trend_ar1_matches_the_reference() -> None:
    maes = baseline_maes("giss")
    assert maes["climatology_trend_ar"] == pytest.approx(1.04, abs=0.1)
    assert (
        maes["climatology_trend_ar"] < maes["climatology_trend"] < maes["climatology"] < maes["persistence"]
    )


def test_cet_persistence_and_climatology_ar_match_the_references() -> None:
    maes = baseline_maes("cet")
    assert maes["persistence"] == pytest.approx(1.34, abs=0.1)
    assert maes["climatology_ar"] == pytest.approx(1.28, abs=0.1)
    assert maes["climatology_trend_ar"] < maes["persistence"] < maes["climatology"]


def test_synthetic_differencing_moving_average_matches_the_book() -> None:
    maes = baseline_maes("synthetic")
    assert maes["moving_average_differencing"] == pytest.approx(4.33, abs=0.1)
    assert 5.0 < maes["persistence"] < 6.0
    assert maes["moving_average_differencing"] < maes["persistence"]
    assert maes["climatology_trend_ar"] < maes["persistence"] < maes["climatology"]


@pytest.mark.slow
def test_imdb_tfidf_logistic_baseline_is_strong() -> None:
    import pandas as pd

    from seqlab.baselines import text_baseline
    from seqlab.evaluation import classification_metrics

    path = ROOT / "data" / "prepared" / "imdb" / "texts.parquet"
    if not path.is_file():
        pytest.skip(f"{path} missing; run `seqlab prepare imdb`")
    texts = pd.read_parquet(path)
    train = texts[texts["split"] != "test"]  # validation is part of training for a baseline
    test = texts[texts["split"] == "test"]
    probabilities = text_baseline(train["text"].tolist(), train["label"].to_numpy(), test["text"].tolist())
    metrics = classification_metrics(test["label"].to_numpy(), probabilities)
    print(f"\nimdb tf-idf + logistic regression: {metrics}")
    assert metrics["test_accuracy"] > 0.87
    assert metrics["test_auc"] > 0.94
