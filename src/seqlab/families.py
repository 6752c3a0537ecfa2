"""The model families: which have recurrent layers, and how a configuration is named to people.

Stated once here, without importing Keras, so the builders, training, recording and plots agree and
a module that only names models stays light.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SERIES_FAMILIES: tuple[str, ...] = (
    "dense",
    "simple_rnn",
    "gru",
    "lstm",
    "scratch_rnn",
    "conv1d",
    "conv1d_rnn",
)
# Same names; for text "dense" means embedding + masked global average pooling + Dense layers, and
# "nbsvm" (text only) is NBSVM as one layer: Naive Bayes-scaled n-gram weights (``NaiveBayesNgrams``).
TEXT_FAMILIES: tuple[str, ...] = (*SERIES_FAMILIES, "nbsvm")
RECURRENT_CELLS: tuple[str, ...] = ("simple_rnn", "gru", "lstm", "scratch_rnn")
# Families with recurrent layers, i.e. the ones that use dropout/recurrent_dropout/bidirectional/merge_mode.
RECURRENT_FAMILIES: tuple[str, ...] = (*RECURRENT_CELLS, "conv1d_rnn")
CONV_FAMILIES: tuple[str, ...] = ("conv1d", "conv1d_rnn")
# A series model with this ``anchor`` is a hybrid: a baseline's forecast plus a learned correction.
HYBRID_ANCHOR = "baseline"
# A text model with this ``anchor`` is a hybrid: NBSVM's logit plus a correction from the family's body.
TEXT_HYBRID_ANCHOR = "nbsvm"
# How a text hybrid's NBSVM learns: with the body, or fitted first (logistic regression) and held fixed.
ANCHOR_TRAININGS: tuple[str, ...] = ("end_to_end", "frozen")
# Builder arguments that only a text hybrid reads.
TEXT_HYBRID_ONLY: tuple[str, ...] = ("anchor_training", "anchor_c")
# Families without dropout layers at all: every dropout variant is the same model as "none".
DROPOUT_FREE_FAMILIES: tuple[str, ...] = ("nbsvm",)


def is_recurrent(family: Any) -> bool:
    """Whether a family has recurrent layers (so recurrent dropout changes the model)."""
    return family in RECURRENT_FAMILIES


def is_hybrid(hyperparameters: Mapping[str, Any]) -> bool:
    """Whether a configuration is a baseline plus a learned correction (series or text), not a pure model."""
    anchored = hyperparameters.get("anchor") in (HYBRID_ANCHOR, TEXT_HYBRID_ANCHOR)
    return anchored and hyperparameters.get("family") != "nbsvm"  # NBSVM anchored on itself is itself


def model_label(hyperparameters: Mapping[str, Any]) -> str:
    """Name a configuration for people: ``gru``, ``bidirectional lstm``, ``2×lstm``, ``hybrid gru``.

    What run names, plot titles and summaries call a model, so one model has one name everywhere.
    """
    family = str(hyperparameters.get("family", "model"))
    if family == "conv1d_rnn":
        family = f"conv1d+{hyperparameters.get('cell', 'lstm')}"
    if is_recurrent(hyperparameters.get("family")):
        layers = hyperparameters.get("layers", 1)
        if isinstance(layers, int) and layers > 1:
            family = f"{layers}×{family}"
        if hyperparameters.get("bidirectional"):
            family = f"bidirectional {family}"
    if is_hybrid(hyperparameters):
        family = f"hybrid {family}"
    units = hyperparameters.get("units")
    if family != "nbsvm" and isinstance(units, int) and not isinstance(units, bool):
        family = f"{family}({units})"
    if _text_hybrid(hyperparameters) and hyperparameters.get("anchor_training") == "frozen":
        family = f"{family} on frozen nbsvm"
    return family


def _text_hybrid(hyperparameters: Mapping[str, Any]) -> bool:
    return is_hybrid(hyperparameters) and hyperparameters.get("anchor") == TEXT_HYBRID_ANCHOR


_EMBEDDING_FAMILIES = tuple(family for family in TEXT_FAMILIES if family != "nbsvm")
# Builder arguments that only some families read (every other family ignores them), so a run of
# another family does not show them as if they had shaped its model.
ONLY_FOR: dict[str, tuple[str, ...]] = {
    "recurrent_dropout": RECURRENT_FAMILIES,
    "bidirectional": RECURRENT_FAMILIES,
    "merge_mode": RECURRENT_FAMILIES,
    "pooling": RECURRENT_FAMILIES,
    "layers": (*RECURRENT_FAMILIES, "dense"),
    "cell": ("conv1d_rnn",),
    "filters": CONV_FAMILIES,
    "kernel_size": CONV_FAMILIES,
    "strides": CONV_FAMILIES,
    "dilation_rate": CONV_FAMILIES,
    "conv_layers": CONV_FAMILIES,
    "bigram_buckets": ("dense",),
    "anchor": (*SERIES_FAMILIES,),  # nbsvm has no anchor (anchored on itself it is itself)
    "ngram": ("nbsvm",),
    "ngram_buckets": ("nbsvm",),
    "units": _EMBEDDING_FAMILIES,
    "embedding_dim": _EMBEDDING_FAMILIES,
    "embedding_dropout": _EMBEDDING_FAMILIES,
    "dense_units": _EMBEDDING_FAMILIES,
    "dropout": _EMBEDDING_FAMILIES,
}


def applicable(hyperparameters: Mapping[str, Any]) -> dict[str, Any]:
    """Keep the hyperparameters the configuration's family reads (``merge_mode`` only when bidirectional)."""
    family = hyperparameters.get("family")
    hybrid = hyperparameters.get("anchor") == TEXT_HYBRID_ANCHOR  # also reads nbsvm's n-gram settings
    kept = {
        name: value
        for name, value in hyperparameters.items()
        if (name not in TEXT_HYBRID_ONLY or _text_hybrid(hyperparameters))
        and (
            family is None
            or name not in ONLY_FOR
            or family in ONLY_FOR[name]
            or (hybrid and "nbsvm" in ONLY_FOR[name])
        )
    }
    if not kept.get("bidirectional"):
        kept.pop("merge_mode", None)
    return kept
