"""The champion rule: only a model that beats the best baseline (and the current champion) is promoted."""

from __future__ import annotations

import math

import pytest

from seqlab.families import applicable, model_label
from seqlab.registry import Champion, Score, beats, decide_champion, format_value, gap, registers_combination

CLIMATOLOGY = Score("climatology_trend_ar", 1.048)


def decide(value: float, current: Champion | None = None, data: str = "d1", **options: object):
    arguments = {"metric": "test_mae", "higher_is_better": False, "baseline": CLIMATOLOGY, "unit": "°C"}
    arguments.update(options)
    return decide_champion(value, data, alias="champion", current=current, **arguments)  # type: ignore[arg-type]


def test_a_model_that_loses_to_the_baseline_is_not_promoted_and_says_by_how_much() -> None:
    decision = decide(1.214)
    assert decision.action == "keep" and not decision.moved and not decision.beats_baseline
    assert "0.166 °C (15.8%) worse than the best baseline climatology_trend_ar (1.048 °C)" in decision.reason


def test_a_tie_with_the_baseline_is_not_a_win() -> None:
    tie = decide(1.048)
    assert tie.action == "keep" and not tie.beats_baseline
    assert "1.048 °C is equal to the best baseline climatology_trend_ar (1.048 °C)" in tie.reason
    assert not beats(1.0, 1.0, higher_is_better=True)


def test_a_non_finite_score_never_wins() -> None:
    assert decide(math.nan).action == "keep"
    assert decide(0.5, baseline=Score("b", math.nan)).action == "keep"


def test_the_first_model_that_beats_the_baseline_becomes_champion() -> None:
    decision = decide(0.9)
    assert decision.action == "move" and decision.beats_baseline
    assert decision.reason.startswith("first champion: test_mae 0.9 °C, 0.148 °C (14.1%) better than")


def test_a_better_model_on_the_same_data_replaces_the_champion() -> None:
    current = Champion("3", 0.95, "d1")
    assert decide(0.9, current).action == "move"
    assert decide(0.95, current).action == "keep"  # not strictly better
    kept = decide(0.97, current)
    assert kept.action == "keep" and kept.beats_baseline and kept.reason.startswith("kept v3")


def test_a_champion_scored_on_other_test_data_is_kept() -> None:
    decision = decide(0.5, Champion("3", 0.95, "old data"))
    assert decision.action == "keep" and "different test data" in decision.reason


def test_a_champion_that_loses_to_the_baseline_on_the_same_data_loses_the_alias() -> None:
    # a store from before the rule: its champion never beat the baseline
    decision = decide(1.3, Champion("2", 1.2, "d1"))
    assert decision.action == "remove" and "v2 loses the champion alias" in decision.reason
    # on other data it is not comparable, so it stays
    assert decide(1.3, Champion("2", 1.2, "d0")).action == "keep"


def test_accuracy_is_compared_higher_is_better_in_percentage_points() -> None:
    decision = decide(
        0.885,
        metric="test_accuracy",
        higher_is_better=True,
        baseline=Score("tfidf_logistic_regression", 0.903),
        unit=None,
    )
    assert decision.action == "keep"
    assert (
        "88.50% is 1.80 points worse than the best baseline tfidf_logistic_regression (90.30%)"
        in decision.reason
    )
    assert decide(0.97, metric="test_accuracy", higher_is_better=True, baseline=Score("dense", 0.95)).moved


@pytest.mark.parametrize(
    ("value", "metric", "unit", "text"),
    [
        (1.04812, "test_mae", "°C", "1.048 °C"),
        (0.90312, "test_accuracy", None, "90.31%"),
        (4.5, "test_mae", None, "4.5"),
    ],
)
def test_values_are_written_to_four_significant_digits(
    value: float, metric: str, unit: str | None, text: str
) -> None:
    assert format_value(value, metric, unit) == text


def test_gap_of_equal_values() -> None:
    assert gap(1.0, 1.0, "test_mae", False) == "equal"


def test_model_labels_and_applicable_hyperparameters() -> None:
    assert model_label({"family": "gru", "units": 32}) == "gru(32)"
    assert model_label({"family": "conv1d", "units": 8, "anchor": "baseline"}) == "hybrid conv1d(8)"
    assert model_label({"family": "lstm", "units": 8, "anchor": "last"}) == "lstm(8)"
    assert model_label({"family": "lstm", "units": 64, "bidirectional": True}) == "bidirectional lstm(64)"
    assert model_label({"family": "lstm", "units": 16, "layers": 2}) == "2×lstm(16)"
    assert model_label({"family": "conv1d_rnn", "cell": "gru", "units": 8}) == "conv1d+gru(8)"
    assert model_label({"family": "dense", "units": 8, "bidirectional": True}) == "dense(8)"
    dense = {
        "family": "dense",
        "units": 8,
        "recurrent_dropout": 0.0,
        "bidirectional": False,
        "filters": 32,
        "window_size": 12,
        "dropout": 0.2,
    }
    assert applicable(dense) == {"family": "dense", "units": 8, "window_size": 12, "dropout": 0.2}
    gru = {
        "family": "gru",
        "units": 8,
        "recurrent_dropout": 0.2,
        "bidirectional": False,
        "merge_mode": "concat",
    }
    assert applicable(gru) == {"family": "gru", "units": 8, "recurrent_dropout": 0.2, "bidirectional": False}


def test_the_run_description_says_whether_the_difference_is_significant() -> None:
    from seqlab.recording import comparison_sentence

    result = {
        "metric": "test_mae",
        "unit": "°C",
        "higher_is_better": False,
        "value": 1.043,
        "best_baseline_value": 1.048,
        "alias": "champion",
        "champion_version": "1",
        "champion_moved": True,
        "version": "1",
        "decision": "first champion",
        "model": "variant both · hybrid gru(8)",
        "registered_model": "seqlab-giss",
        "best_baseline": "climatology_trend_ar",
    }
    assert "Diebold" not in comparison_sentence(result)  # a classifier, or a record of an older seqlab
    sentence = comparison_sentence({**result, "dm_p_value": 0.64})
    assert "better (Diebold-Mariano p = 0.64, not significant). It is the new champion (v1)." in sentence
    assert "(Diebold-Mariano p = 0.003)." in comparison_sentence({**result, "dm_p_value": 0.003})


def test_a_losing_model_is_said_to_be_not_promoted_once() -> None:
    from seqlab.recording import comparison_sentence

    reason = "not promoted: test_mae 4.214 is 0.0133 (0.317%) worse than the best baseline "
    reason += "climatology_trend (4.201)"
    result = {
        "metric": "test_mae",
        "unit": None,
        "higher_is_better": False,
        "value": 4.214,
        "best_baseline_value": 4.201,
        "alias": "champion",
        "champion_version": None,
        "champion_moved": False,
        "version": "1",
        "decision": reason,
        "model": "variant both · hybrid lstm(16)",
        "registered_model": "seqlab-synthetic",
        "best_baseline": "climatology_trend",
    }
    sentence = comparison_sentence(result)
    assert "Not promoted (test_mae 4.214 is 0.0133 (0.317%) worse than" in sentence
    assert sentence.lower().count("not promoted") == 1


@pytest.mark.parametrize(
    ("weight", "baseline", "registered"),
    [
        (0.4, "climatology_trend_ar", True),  # a blend, chosen on validation: it is the better model there
        (1.0, "climatology_trend_ar", False),  # the variant itself
        (0.0, "climatology_trend_ar", True),  # the baseline alone: validation says the variant adds error
        (0.4, "persistence", False),  # a baseline the served model cannot rerun
    ],
)
def test_a_combination_below_weight_1_of_a_served_baseline_is_registered(
    weight: float, baseline: str, registered: bool
) -> None:
    served = ("climatology", "climatology_trend", "climatology_ar", "climatology_trend_ar")
    assert registers_combination({"weight": weight, "baseline": baseline}, served) is registered
    assert not registers_combination(None, served)
