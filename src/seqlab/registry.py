"""The model registry's rule: when the ``champion`` alias moves to a newly registered model.

A pure function of numbers and fingerprints, so the rule is tested without MLflow; recording applies
it to the registry (:func:`seqlab.recording.register_best`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Champion:
    """The model holding the alias: its version, ranking value and the test data it was scored on."""

    version: str
    value: float
    test_data_sha256: str | None


@dataclass(frozen=True)
class ChampionDecision:
    """Whether the alias moves, and the reason recorded on the new version."""

    moved: bool
    reason: str


def decide_champion(
    value: float,
    test_data_sha256: str,
    metric: str,
    higher_is_better: bool,
    alias: str,
    current: Champion | None,
) -> ChampionDecision:
    """Move the alias when there is no champion yet or the new model is strictly better on the same data.

    A champion scored on different test data is kept: the two numbers are not comparable.
    """
    if current is None:
        return ChampionDecision(True, f"first {alias}")
    if current.test_data_sha256 != test_data_sha256:
        return ChampionDecision(
            False,
            f"kept v{current.version}: it was scored on different test data, so {metric} {value:.4g} and "
            f"{current.value:.4g} are not comparable",
        )
    better = value > current.value if higher_is_better else value < current.value
    if better:
        return ChampionDecision(
            True, f"beats v{current.version}: {metric} {value:.4g} vs {current.value:.4g}"
        )
    return ChampionDecision(
        False, f"kept v{current.version}: {metric} {value:.4g} does not beat {current.value:.4g}"
    )
