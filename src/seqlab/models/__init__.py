"""Model builders for seqlab: series forecasters and text classifiers from named hyperparameters."""

from seqlab.models.builders import (
    CONV_FAMILIES,
    MERGE_MODES,
    RECURRENT_CELLS,
    RECURRENT_FAMILIES,
    SERIES_FAMILIES,
    SERIES_LOSSES,
    TEXT_FAMILIES,
    build_series_model,
    build_text_model,
    count_parameters,
)
from seqlab.models.cells import MaskedConv1D, MaskedSequenceReduction, NaiveBayesNgrams, ScratchRNNCell
from seqlab.models.series_layers import ANCHORS, ColumnSlice, ShiftByAnchor, WindowAnchor

__all__ = [
    "ANCHORS",
    "CONV_FAMILIES",
    "MERGE_MODES",
    "RECURRENT_CELLS",
    "RECURRENT_FAMILIES",
    "SERIES_FAMILIES",
    "SERIES_LOSSES",
    "TEXT_FAMILIES",
    "ColumnSlice",
    "MaskedConv1D",
    "MaskedSequenceReduction",
    "NaiveBayesNgrams",
    "ScratchRNNCell",
    "ShiftByAnchor",
    "WindowAnchor",
    "build_series_model",
    "build_text_model",
    "count_parameters",
]
