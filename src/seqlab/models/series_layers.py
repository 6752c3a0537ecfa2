"""Layers of the series forecasters' input stem: splitting the input into window and calendar, and anchoring.

A series model takes one float row per forecast: the last ``window_size`` normalised values, optionally
followed by ``2 * calendar_harmonics`` calendar features of the target (sine and cosine of its season
phase, see :func:`seqlab.prep.series.calendar_features`). ``ColumnSlice`` cuts that row into its parts, so
the model keeps a single input tensor (what the tuner, training, evaluation and the MLflow signature see).

``WindowAnchor`` computes the level a forecast is made relative to: the window's last value (``"last"``)
or its mean (``"mean"``); a hybrid (``"baseline"``) starts from a statistical baseline's forecast
instead, an input column (see ``seqlab.models.builders``). The body then sees ``window - anchor`` and
the head predicts the change from the anchor, which is added back. Trending series (the book's
synthetic series ends above every training value) then stay inside the range the network was
trained on; without it, tanh units saturate on test inputs.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from seqlab.families import HYBRID_ANCHOR

WINDOW_ANCHORS: tuple[str, ...] = ("last", "mean")
ANCHORS: tuple[str, ...] = ("none", *WINDOW_ANCHORS, HYBRID_ANCHOR)


@keras.saving.register_keras_serializable(package="seqlab")
class ColumnSlice(keras.layers.Layer):
    """Columns ``start:stop`` of a [batch, features] tensor (a serialisable ``x[:, start:stop]``)."""

    def __init__(self, start: int, stop: int, **kwargs: Any) -> None:
        if isinstance(start, bool) or not isinstance(start, int) or start < 0:
            raise ValueError(f"start must be an integer >= 0, got {start!r}")
        if isinstance(stop, bool) or not isinstance(stop, int) or stop <= start:
            raise ValueError(f"stop must be an integer > start ({start}), got {stop!r}")
        super().__init__(**kwargs)
        self.start = start
        self.stop = stop

    def call(self, inputs: Any) -> Any:
        """Return the selected columns."""
        return inputs[:, self.start : self.stop]

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        """Keep the batch size; the feature count is ``stop - start``."""
        return (input_shape[0], self.stop - self.start)

    def get_config(self) -> dict[str, Any]:
        """Serialise the column range."""
        return {**super().get_config(), "start": self.start, "stop": self.stop}


@keras.saving.register_keras_serializable(package="seqlab")
class WindowAnchor(keras.layers.Layer):
    """The level of each window, [batch, 1]: its last value or its mean."""

    def __init__(self, mode: str = "last", **kwargs: Any) -> None:
        if mode not in WINDOW_ANCHORS:
            raise ValueError(f"mode must be one of {', '.join(WINDOW_ANCHORS)}; got {mode!r}")
        super().__init__(**kwargs)
        self.mode = mode

    def call(self, inputs: Any) -> Any:
        """Return the anchor value per window."""
        if self.mode == "last":
            return inputs[:, -1:]
        return ops.mean(inputs, axis=1, keepdims=True)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        """One value per window."""
        return (input_shape[0], 1)

    def get_config(self) -> dict[str, Any]:
        """Serialise the mode."""
        return {**super().get_config(), "mode": self.mode}


@keras.saving.register_keras_serializable(package="seqlab")
class ShiftByAnchor(keras.layers.Layer):
    """``values - anchor`` (``sign=-1``) or ``values + anchor`` (``sign=1``), broadcasting [batch, 1]."""

    def __init__(self, sign: int = -1, **kwargs: Any) -> None:
        if sign not in (-1, 1):
            raise ValueError(f"sign must be -1 or 1, got {sign!r}")
        super().__init__(**kwargs)
        self.sign = sign

    def call(self, values: Any, anchor: Any) -> Any:
        """Shift every column of ``values`` by the row's anchor."""
        return values + anchor if self.sign == 1 else values - anchor

    def compute_output_shape(self, values_shape: Any, anchor_shape: Any) -> Any:
        """Keep the shape of ``values``."""
        return values_shape

    def get_config(self) -> dict[str, Any]:
        """Serialise the sign."""
        return {**super().get_config(), "sign": self.sign}
