"""The benchmark's stacked ensemble: binary classifiers combined by a logistic regression on validation.

Ported from the unit tests of ``seqlab.evaluation.stack_classifiers``, which moved to
``benchmarks.quality.stacked_ensemble`` (the pipeline itself never stacks).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from benchmarks.quality import BenchmarkParams, stacked_ensemble
from seqlab.evaluation import classification_metrics

REPO = Path(__file__).resolve().parents[2]
MEMBERS = ["good", "weak", "other"]


def _noisy_member(labels: np.ndarray, flip: float, rng: np.random.Generator) -> np.ndarray:
    """Probabilities that are right with a margin except on a ``flip`` share of the rows."""
    wrong = rng.random(labels.size) < flip
    confident = np.where(labels == 1, 0.8, 0.2)
    return np.where(wrong, 1 - confident, confident) + rng.uniform(-0.05, 0.05, labels.size)


def _task(rows: int = 4000, seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, rows)
    flips = {"good": 0.10, "weak": 0.30, "other": 0.15}
    return {name: _noisy_member(labels, flips[name], rng) for name in MEMBERS}, labels


def _halves(
    members: dict[str, np.ndarray], labels: np.ndarray
) -> tuple[dict[str, np.ndarray], np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """Validation (what the combiner is fitted on) and test (scored once) halves."""
    half = labels.size // 2
    validation = {name: values[:half] for name, values in members.items()}
    test = {name: values[half:] for name, values in members.items()}
    return validation, labels[:half], test, labels[half:]


def test_stacking_weights_the_better_member_and_beats_each_on_test_rows() -> None:
    validation, y_validation, test, y_test = _halves(*_task())
    combined, details = stacked_ensemble(MEMBERS, validation, y_validation, test, seed=0)

    assert combined.shape == y_test.shape
    assert np.all((combined >= 0) & (combined <= 1))
    weights = details["coefficients"]
    assert weights["good"] > weights["other"] > weights["weak"] > 0
    accuracy = classification_metrics(y_test, combined)["test_accuracy"]
    best_single = max(classification_metrics(y_test, test[name])["test_accuracy"] for name in MEMBERS)
    assert accuracy > 0.5 + 0.3  # far better than chance
    assert accuracy > best_single + 0.01  # independent errors: the vote corrects some of the best's
    assert 0.85 < details["validation_cv_accuracy"] < 1.0


def test_stacking_is_fitted_on_validation_labels_only() -> None:
    """The combiner never sees test labels: each test row's output is a function of that row alone."""
    from sklearn.linear_model import LogisticRegression

    validation, y_validation, test, _ = _halves(*_task(seed=1))
    kept = {name: values.copy() for name, values in {**validation, **test}.items()}
    combined, details = stacked_ensemble(MEMBERS, validation, y_validation, test, seed=0)

    def logits(probabilities: dict[str, np.ndarray]) -> np.ndarray:
        clipped = [np.clip(probabilities[name], 1e-6, 1 - 1e-6) for name in MEMBERS]
        return np.column_stack([np.log(p / (1 - p)) for p in clipped])

    reference = LogisticRegression().fit(logits(validation), y_validation)
    np.testing.assert_allclose(combined, reference.predict_proba(logits(test))[:, 1], rtol=1e-6)
    assert list(details["coefficients"].values()) == pytest.approx(reference.coef_[0].tolist(), rel=1e-6)

    # Other test rows, reordered or fewer, change nothing about a row's combined probability.
    order = np.random.default_rng(2).permutation(combined.size)[:500]
    subset, _ = stacked_ensemble(
        MEMBERS, validation, y_validation, {name: values[order] for name, values in test.items()}, seed=0
    )
    np.testing.assert_allclose(subset, combined[order], rtol=1e-9)
    # The seed only shuffles the cross-validation folds.
    reseeded, other_details = stacked_ensemble(MEMBERS, validation, y_validation, test, seed=7)
    np.testing.assert_allclose(reseeded, combined, rtol=1e-12)
    assert other_details["coefficients"] == details["coefficients"]
    # The members' predictions are not modified.
    for name, values in {**validation, **test}.items():
        np.testing.assert_array_equal(values, kept[name])


@pytest.mark.parametrize("order", [["good", "weak", "other"], ["other", "good", "weak"], ["weak", "good"]])
def test_details_keep_the_member_order_given(order: list[str]) -> None:
    validation, y_validation, test, _ = _halves(*_task(rows=1000, seed=3))
    combined, details = stacked_ensemble(order, validation, y_validation, test, seed=0)
    assert details["members"] == order
    assert list(details["coefficients"]) == order
    assert combined.size == 500
    # The same members in another order make the same ensemble.
    _, reversed_details = stacked_ensemble(order[::-1], validation, y_validation, test, seed=0)
    assert reversed_details["members"] == order[::-1]
    for name in order:
        assert reversed_details["coefficients"][name] == pytest.approx(
            details["coefficients"][name], rel=1e-4
        )


def test_stacking_refuses_members_of_different_lengths() -> None:
    validation, y_validation, test, _ = _halves(*_task(rows=200, seed=4))
    short = {**validation, "weak": validation["weak"][:30]}
    with pytest.raises(ValueError):
        stacked_ensemble(MEMBERS, short, y_validation, test, seed=0)


# The checks stack_classifiers made on its members now come from params.yaml's benchmark section.
FAMILIES: dict[str, Any] = {"aclimdb": {"a": {"family": "dense"}, "b": {"family": "conv1d"}}}


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            {"families": FAMILIES, "stack": {"aclimdb": ["a"]}},
            r"benchmark\.stack\.aclimdb: expected 2\+ families",
        ),
        (
            {"families": FAMILIES, "stack": {"aclimdb": ["a", "a"]}},
            r"benchmark\.stack\.aclimdb: expected 2\+",
        ),
        (
            {"families": FAMILIES, "stack": {"aclimdb": ["a", "missing"]}},
            r"benchmark\.stack\.aclimdb: expected 2\+ families listed under families\.aclimdb",
        ),
        (
            {"families": {"synthetic": {"a": {}, "b": {}}}, "stack": {"synthetic": ["a", "b"]}},
            r"benchmark\.stack\.synthetic: only binary classifiers \(text\) can be stacked",
        ),
        ({"stack": {"nokind": ["a", "b"]}}, r"benchmark\.stack: unknown kinds \['nokind'\]"),
    ],
)
def test_benchmark_params_reject_a_stack_that_cannot_be_built(section: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        BenchmarkParams.model_validate(section)


def test_benchmark_params_accept_the_repository_stack() -> None:
    from seqlab.config import load_params

    bench = BenchmarkParams.model_validate(load_params(REPO / "params.yaml").benchmark)
    for kind, members in bench.stack.items():
        assert len(members) >= 2 and set(members) <= set(bench.families[kind])
