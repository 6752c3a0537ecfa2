"""The model registry's rule: when the ``champion`` alias moves to a newly registered model.

A model earns the alias only by beating the best statistical baseline on the same test data, and
then the current champion as well. A pure function of numbers and fingerprints, so the rule is
tested without MLflow; recording applies it to the registry (:func:`seqlab.recording.register_best`).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Action = Literal["move", "keep", "remove"]


@dataclass(frozen=True)
class Champion:
    """The model holding the alias: its version, ranking value and the test data it was scored on."""

    version: str
    value: float
    test_data_sha256: str | None


@dataclass(frozen=True)
class Score:
    """One model's test metric: what a candidate is compared with (the best baseline)."""

    name: str
    value: float


@dataclass(frozen=True)
class ChampionDecision:
    """What happens to the alias and why (the reason is recorded on the new version).

    ``move``: the alias goes to the new version. ``keep``: it stays where it was (or on nothing).
    ``remove``: the current holder loses it: it does not beat the best baseline on this test data.
    """

    action: Action
    reason: str
    beats_baseline: bool

    @property
    def moved(self) -> bool:
        """Whether the new version holds the alias now."""
        return self.action == "move"


def _is_fraction(metric: str) -> bool:
    return metric.endswith("accuracy")


def format_value(value: float, metric: str, unit: str | None = None) -> str:
    """Write a metric value as people read it: ``1.048 °C``, ``90.30%``, ``0.2361`` (4 significant digits)."""
    if not math.isfinite(value):
        return "n/a"
    if _is_fraction(metric):
        return f"{100 * value:.2f}%"
    return f"{value:.4g} {unit}" if unit else f"{value:.4g}"


def gap(value: float, reference: float, metric: str, higher_is_better: bool, unit: str | None = None) -> str:
    """How far ``value`` is from ``reference``, as ``0.166 °C (15.8%) worse`` or ``1.8 points better``.

    An accuracy differs in percentage points; other metrics in their unit and in % of the reference.
    """
    if not (math.isfinite(value) and math.isfinite(reference)):
        return "not comparable (a value is not finite)"
    difference = value - reference
    if difference == 0:
        return "equal"
    better = difference > 0 if higher_is_better else difference < 0
    word = "better" if better else "worse"
    if _is_fraction(metric):
        return f"{100 * abs(difference):.2f} points {word}"
    amount = f"{abs(difference):.4g} {unit}" if unit else f"{abs(difference):.4g}"
    if reference == 0:
        return f"{amount} {word}"
    return f"{amount} ({100 * abs(difference) / abs(reference):.3g}%) {word}"


def _compared(difference: str) -> str:
    """Join a :func:`gap` to what it compares with: ``equal to`` or ``0.01 (1%) worse than``."""
    return "equal to" if difference == "equal" else f"{difference} than"


def beats(value: float, reference: float, higher_is_better: bool) -> bool:
    """Strictly better (a tie or a non-finite value never wins)."""
    if not (math.isfinite(value) and math.isfinite(reference)):
        return False
    return value > reference if higher_is_better else value < reference


def decide_champion(
    value: float,
    test_data_sha256: str,
    metric: str,
    higher_is_better: bool,
    alias: str,
    current: Champion | None,
    baseline: Score,
    unit: str | None = None,
) -> ChampionDecision:
    """Move the alias only to a model that beats the best baseline and the current champion.

    A model that loses to (or ties with) the best baseline is registered but not promoted; a current
    champion scored on the same test data that loses to that baseline loses the alias (a store from
    before this rule). A champion scored on different test data is kept: the numbers are not comparable.
    """
    versus = f"{baseline.name} ({format_value(baseline.value, metric, unit)})"
    if not beats(value, baseline.value, higher_is_better):
        difference = gap(value, baseline.value, metric, higher_is_better, unit)
        reason = (
            f"not promoted: {metric} {format_value(value, metric, unit)} is "
            f"{_compared(difference)} the best baseline {versus}"
        )
        if (
            current is not None
            and current.test_data_sha256 == test_data_sha256
            and not beats(current.value, baseline.value, higher_is_better)
        ):
            return ChampionDecision(
                "remove",
                f"{reason}; v{current.version} loses the {alias} alias: it does not beat that baseline",
                False,
            )
        return ChampionDecision("keep", reason, False)
    over_baseline = f"{gap(value, baseline.value, metric, higher_is_better, unit)} than {versus}"
    if current is None:
        return ChampionDecision(
            "move", f"first {alias}: {metric} {format_value(value, metric, unit)}, {over_baseline}", True
        )
    if current.test_data_sha256 != test_data_sha256:
        return ChampionDecision(
            "keep",
            f"kept v{current.version}: it was scored on different test data, so {metric} "
            f"{format_value(value, metric, unit)} and {format_value(current.value, metric, unit)} are not "
            f"comparable (this model is {over_baseline})",
            True,
        )
    if beats(value, current.value, higher_is_better):
        return ChampionDecision(
            "move",
            f"beats v{current.version}: {metric} {format_value(value, metric, unit)} vs "
            f"{format_value(current.value, metric, unit)}, {over_baseline}",
            True,
        )
    return ChampionDecision(
        "keep",
        f"kept v{current.version}: {metric} {format_value(value, metric, unit)} does not beat its "
        f"{format_value(current.value, metric, unit)} (this model is {over_baseline})",
        True,
    )


def registers_combination(combination: Mapping[str, Any] | None, served: Collection[str]) -> bool:
    """Whether the forecast combination, not the best variant alone, is the model to register.

    Its weight was chosen on validation, where it is at least as good as the variant (weight 1 is on
    the grid), so any weight below 1 makes it the better model by validation: a blend (0 < weight < 1),
    or at weight 0 the baseline alone, where validation says the variant only adds error. Weight 1 is
    the variant itself. Only a combination whose baseline a served model can rerun (``served``) is
    registered.
    """
    if combination is None:
        return False
    return 0.0 <= float(combination["weight"]) < 1.0 and str(combination["baseline"]) in served
