"""Baselines on the real prepared splits, checked against the reference numbers from the literature.

The data is fetched from the mirror (verified against the repository's data/sources.lock.json) and
prepared with the repository's params.yaml into a temporary project (once per module). Run with ``-s``
to see the numbers.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from seqlab.baselines import season_keys, series_baselines
from seqlab.datasets import SeriesDataset
from seqlab.evaluation import regression_metrics

pytestmark = pytest.mark.data

REPO = Path(__file__).resolve().parents[2]
MIRROR = Path(os.environ.get("SEQLAB_DATA_MIRROR", REPO.parent / "shared" / "data"))
_prepared: dict[str, Path] = {}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (MIRROR / "giss").is_dir():
        pytest.skip(f"no data mirror at {MIRROR}")
    root = tmp_path_factory.mktemp("baselines")
    (root / "data").mkdir()
    shutil.copyfile(REPO / "data" / "sources.lock.json", root / "data" / "sources.lock.json")
    return root


def prepared(root: Path, dataset: str) -> Path:
    """Fetch and prepare ``dataset`` into the temporary project once; return its prepared folder."""
    from seqlab import stages
    from seqlab.config import load_params
    from seqlab.paths import ProjectPaths

    if dataset not in _prepared:
        config = load_params(REPO / "params.yaml").dataset(dataset)
        paths = ProjectPaths.at(root)
        stages.fetch(config, paths, mirror=str(MIRROR), log=lambda _: None)
        stages.prepare(config, paths, log=lambda _: None)
        _prepared[dataset] = paths.prepared_dir(dataset)
    return _prepared[dataset]


# dataset -> (season kind, season count, AR order): what the registry and params.yaml must give
SETTINGS = {"giss": ("monthly", 12, 1), "cet": ("daily", 365, 3), "synthetic": ("periodic", 365, 1)}


def baseline_maes(root: Path, dataset: str) -> dict[str, float]:
    from seqlab.config import load_params

    folder = prepared(root, dataset)
    kind, period, order = SETTINGS[dataset]
    config = load_params(REPO / "params.yaml").dataset(dataset)
    assert isinstance(config, SeriesDataset)
    assert config.baselines.ar_order == order
    arrays = np.load(folder / "windows.npz")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["season"] == {"kind": kind, "count": period}
    values = arrays["values"]
    targets = arrays["test_target_index"]
    dates = (folder / "dates.txt").read_text(encoding="utf-8").split() if kind != "periodic" else None
    seasons = season_keys(kind, dates, values.size, period)
    forecasts = series_baselines(values, targets, manifest["split_index"], seasons, period, order)
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


def test_giss_climatology_trend_ar1_matches_the_reference(project: Path) -> None:
    from seqlab.config import load_params
    from seqlab.modalities import modality
    from seqlab.paths import ProjectPaths

    maes = baseline_maes(project, "giss")
    assert maes["climatology_trend_ar"] == pytest.approx(1.04, abs=0.1)
    assert (
        maes["climatology_trend_ar"] < maes["climatology_trend"] < maes["climatology"] < maes["persistence"]
    )
    # The baselines stage's path (the modality's prepared data) gives the same numbers.
    config = load_params(REPO / "params.yaml").dataset("giss")
    metrics, _ = modality(config).load(config, ProjectPaths.at(project)).baselines()
    assert {name: values["test_mae"] for name, values in metrics.items()} == pytest.approx(maes)


def test_cet_persistence_and_climatology_ar_match_the_references(project: Path) -> None:
    maes = baseline_maes(project, "cet")
    assert maes["persistence"] == pytest.approx(1.34, abs=0.1)
    assert maes["climatology_ar"] == pytest.approx(1.28, abs=0.1)
    assert maes["climatology_trend_ar"] < maes["persistence"] < maes["climatology"]


def test_synthetic_differencing_moving_average_matches_the_book(project: Path) -> None:
    maes = baseline_maes(project, "synthetic")
    assert maes["moving_average_differencing"] == pytest.approx(4.33, abs=0.1)
    assert 5.0 < maes["persistence"] < 6.0
    assert maes["moving_average_differencing"] < maes["persistence"]
    assert maes["climatology_trend_ar"] < maes["persistence"] < maes["climatology"]


@pytest.mark.slow
def test_imdb_tfidf_logistic_baseline_is_strong(project: Path) -> None:
    import pandas as pd

    from seqlab.baselines import text_baseline
    from seqlab.evaluation import classification_metrics

    path = prepared(project, "imdb") / "texts.parquet"
    texts = pd.read_parquet(path)
    train = texts[texts["split"] != "test"]  # validation is part of training for a baseline
    test = texts[texts["split"] == "test"]
    probabilities = text_baseline(train["text"].tolist(), train["label"].to_numpy(), test["text"].tolist())
    metrics = classification_metrics(test["label"].to_numpy(), probabilities)
    print(f"\nimdb tf-idf + logistic regression: {metrics}")
    assert metrics["test_accuracy"] > 0.87
    assert metrics["test_auc"] > 0.94
