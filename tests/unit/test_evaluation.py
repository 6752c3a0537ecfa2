"""Metrics, skill and leaderboards on hand-computed examples (the plots: test_plots.py)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqlab.evaluation import (
    best_baseline,
    classification_metrics,
    combination_weight,
    diebold_mariano,
    leaderboard,
    regression_metrics,
    skill,
    write_leaderboard,
)

# --------------------------------------------------------------------------- regression


def test_regression_metrics_in_real_units() -> None:
    metrics = regression_metrics([1.0, 2.0, 3.0], [2.0, 2.0, 5.0], 10.0, 4.0, normalized_inputs=False)
    assert metrics == pytest.approx(
        {"test_mae": 1.0, "test_rmse": math.sqrt(5 / 3), "test_mae_normalized": 0.25}
    )


def test_regression_metrics_denormalise_normalised_inputs() -> None:
    # normalised errors 1, 0, 2 -> real errors 2, 0, 4 with std 2
    metrics = regression_metrics(
        [[1.0], [2.0], [3.0]], [[2.0], [2.0], [5.0]], 10.0, 2.0, normalized_inputs=True
    )
    assert metrics["test_mae"] == pytest.approx(2.0)
    assert metrics["test_rmse"] == pytest.approx(math.sqrt(20 / 3))
    assert metrics["test_mae_normalized"] == pytest.approx(1.0)
    assert set(metrics) == {"test_mae", "test_rmse", "test_mae_normalized"}


def test_regression_metrics_per_horizon_names() -> None:
    truth = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    forecast = np.array([[1.0, 2.0, 3.0], [1.0, 3.0, 1.0]])
    metrics = regression_metrics(truth, forecast, 0.0, 1.0, normalized_inputs=False)
    assert metrics["test_mae_h1"] == pytest.approx(0.5)
    assert metrics["test_mae_h2"] == pytest.approx(2.0)
    assert metrics["test_mae_h3"] == pytest.approx(1.5)
    assert metrics["test_mae"] == pytest.approx(8 / 6)


def test_regression_metrics_refuse_bad_input() -> None:
    with pytest.raises(ValueError, match="y_pred"):
        regression_metrics([1.0, 2.0], [1.0], 0.0, 1.0, normalized_inputs=False)
    with pytest.raises(ValueError, match="normalizer_std"):
        regression_metrics([1.0], [1.0], 0.0, 0.0, normalized_inputs=True)
    with pytest.raises(ValueError, match="y_true"):
        regression_metrics([np.nan], [1.0], 0.0, 1.0, normalized_inputs=False)


# --------------------------------------------------------------------------- classification


def test_classification_metrics_on_a_known_ranking() -> None:
    metrics = classification_metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    assert metrics["test_auc"] == pytest.approx(0.75)
    assert metrics["test_accuracy"] == pytest.approx(0.75)
    assert metrics["test_f1"] == pytest.approx(2 / 3)
    counts = {key: metrics[key] for key in ("test_tp", "test_fp", "test_tn", "test_fn")}
    assert counts == {"test_tp": 1, "test_fp": 0, "test_tn": 2, "test_fn": 1}


def test_classification_metrics_threshold_and_perfect_ranking() -> None:
    metrics = classification_metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], threshold=0.3)
    assert (metrics["test_tp"], metrics["test_fp"], metrics["test_tn"], metrics["test_fn"]) == (2, 1, 1, 0)
    assert classification_metrics([0, 1, 1], [0.2, 0.6, 0.9])["test_auc"] == 1.0


def test_classification_metrics_refuse_bad_input() -> None:
    with pytest.raises(ValueError, match="y_true"):
        classification_metrics([1, 1], [0.2, 0.9])
    with pytest.raises(ValueError, match="y_true"):
        classification_metrics([0, 2], [0.2, 0.9])
    with pytest.raises(ValueError, match="probabilities"):
        classification_metrics([0, 1], [0.2, 1.5])
    with pytest.raises(ValueError, match="probabilities"):
        classification_metrics([0, 1], [0.2])


# --------------------------------------------------------------------------- skill


def test_skill_for_errors_and_for_accuracy() -> None:
    assert skill(0.8, 1.0, higher_is_better=False) == pytest.approx(0.2)
    assert skill(1.2, 1.0, higher_is_better=False) == pytest.approx(-0.2)
    assert skill(0.9, 0.8, higher_is_better=True) == pytest.approx(0.5)  # error 0.1 vs 0.2
    with pytest.raises(ValueError, match="baseline_score"):
        skill(0.1, 0.0, higher_is_better=False)
    with pytest.raises(ValueError, match="score"):
        skill(2.0, 0.5, higher_is_better=True)


def test_best_baseline_picks_the_strongest_finite_one() -> None:
    results = {
        "persistence": {"test_mae": 2.0},
        "climatology": {"test_mae": 1.5},
        "broken": {"test_mae": float("nan")},
        "other": {"test_rmse": 0.1},
    }
    assert best_baseline(results, "test_mae", higher_is_better=False) == ("climatology", 1.5)
    assert best_baseline(results, "test_mae", higher_is_better=True) == ("persistence", 2.0)
    with pytest.raises(ValueError, match="results"):
        best_baseline(results, "test_auc", higher_is_better=True)


# --------------------------------------------------------------------------- leaderboard


ROWS = [
    {"model": "persistence", "kind": "baseline", "test_mae": 2.0, "test_rmse": 2.5},
    {"model": "lstm", "kind": "trial", "test_mae": 1.0, "test_rmse": 1.4, "run_id": "abc"},
    {"model": "climatology", "kind": "baseline", "test_mae": 1.6, "test_rmse": 2.0},
    {"model": "gru-no-dropout", "kind": "variant", "test_rmse": 9.0},
    {"model": "dense", "kind": "variant", "test_mae": 1.8},
]


def test_leaderboard_sorts_best_first_with_skill_against_the_best_baseline() -> None:
    frame = leaderboard(ROWS, "test_mae", higher_is_better=False)
    assert list(frame["model"]) == ["lstm", "climatology", "dense", "persistence", "gru-no-dropout"]
    assert list(frame.columns[:3]) == ["model", "kind", "test_mae"]
    assert frame.columns[-1] == "skill_vs_best_baseline"
    assert "run_id" in frame.columns
    skills = dict(zip(frame["model"], frame["skill_vs_best_baseline"], strict=True))
    assert skills["lstm"] == pytest.approx(1 - 1.0 / 1.6)
    assert skills["climatology"] == pytest.approx(0.0)
    assert math.isnan(skills["gru-no-dropout"])


def test_leaderboard_higher_is_better_and_without_baselines() -> None:
    rows = [
        {"model": "a", "kind": "trial", "test_accuracy": 0.8},
        {"model": "b", "kind": "trial", "test_accuracy": 0.9},
    ]
    frame = leaderboard(rows, "test_accuracy", higher_is_better=True)
    assert list(frame["model"]) == ["b", "a"]
    assert frame["skill_vs_best_baseline"].isna().all()
    with pytest.raises(ValueError, match="rows"):
        leaderboard([{"model": "a", "kind": "mystery"}], "test_accuracy", True)
    with pytest.raises(ValueError, match="rows"):
        leaderboard([], "test_accuracy", True)


def test_write_leaderboard_writes_csv_and_markdown_that_parse_back(tmp_path: Path) -> None:
    frame = leaderboard(ROWS, "test_mae", higher_is_better=False)
    csv_path, md_path = write_leaderboard(
        frame, tmp_path / "out" / "board.csv", tmp_path / "out" / "board.md"
    )
    back = pd.read_csv(csv_path)
    assert list(back["model"]) == list(frame["model"])
    np.testing.assert_allclose(back["test_mae"], frame["test_mae"])
    lines = md_path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("| model") and "skill_vs_best_baseline" in lines[0]
    assert len(lines) == 2 + len(ROWS)
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["board.csv", "board.md"]


def test_a_combination_weight_minimises_validation_error_and_spans_both_ends() -> None:
    rng = np.random.default_rng(0)
    actual = rng.normal(size=(200, 1))
    noise_a, noise_b = rng.normal(size=(2, 200, 1))
    # Two forecasts with independent errors of equal size: their mean beats either alone.
    weight, error = combination_weight(actual + noise_a, actual + noise_b, actual)
    assert 0.3 <= weight <= 0.7
    assert error < min(np.mean(np.abs(noise_a)), np.mean(np.abs(noise_b)))
    # A model far off gets weight 0 (the baseline alone); a perfect one weight 1.
    assert combination_weight(actual + 10.0, actual + noise_b, actual)[0] == 0.0
    assert combination_weight(actual, actual + noise_b, actual) == (1.0, 0.0)
    # Equal forecasts tie everywhere: the smaller weight wins.
    assert combination_weight(actual + noise_b, actual + noise_b, actual)[0] == 0.0
    with pytest.raises(ValueError, match="expected one shape"):
        combination_weight(actual[:10], actual, actual)


def test_diebold_mariano_tells_a_real_difference_from_noise() -> None:
    rng = np.random.default_rng(1)
    baseline = rng.normal(size=400)
    better = 0.8 * baseline + 0.2 * rng.normal(size=400)  # mostly the same errors, a fifth smaller
    statistic, p_value = diebold_mariano(better, baseline)
    assert statistic < -2 and p_value < 0.01  # smaller errors: negative and significant
    # Equally good forecasts: the test rejects at 5% about 5% of the time (its size), not more.
    rejected = [diebold_mariano(rng.normal(size=200), rng.normal(size=200))[1] < 0.05 for _ in range(300)]
    assert 0.01 <= np.mean(rejected) <= 0.10
    assert diebold_mariano(baseline, better)[0] > 2  # symmetric: the sign says which is worse
    assert diebold_mariano(baseline, baseline) == (0.0, 1.0)
    # Horizon 3: rows [n, 3] and two Newey-West lags; a shape mismatch names both arguments.
    statistic, p_value = diebold_mariano(better.reshape(-1, 4)[:, :3], baseline.reshape(-1, 4)[:, :3], 3)
    assert statistic < 0 and 0 <= p_value <= 1
    with pytest.raises(ValueError, match="shapes differ"):
        diebold_mariano(better[:10], baseline)
    with pytest.raises(ValueError, match="too few"):
        diebold_mariano(better[:3], baseline[:3], 2)
