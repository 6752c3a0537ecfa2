"""Model builders: plain functions of named hyperparameters, so a Keras Tuner ``build(hp)`` maps onto them.

Both builders share one body per family (``_add_body``); they differ only in the input stem and the head.

Series models take a window [window_size] of normalised floats, reshape it to [window_size, 1] and predict
``horizon`` values with a linear Dense head. Two options widen that stem: ``calendar_harmonics`` appends
the target's calendar features to the input row (its season phase as sines and cosines), and ``anchor``
makes the forecast relative to the window's last value or mean (``seqlab.models.series_layers``). A
hybrid (``anchor="baseline"``, after Smyl's ES-RNN) reads a statistical baseline's residuals in place of
the window and adds a correction to that baseline's forecast; the correction's layer starts at zero, so
an untrained hybrid forecasts exactly the baseline.

Text models take padded token ids [max_len] (0 = padding), embed them with ``mask_zero=True`` and
predict P(positive) with a sigmoid head.

Families (the same names for both inputs):

- ``dense``: series: flatten the window, then ``layers`` Dense(units, relu), each followed by
  Dropout(dropout) when dropout > 0. Text: embedding, average over the real (unpadded) tokens, then the
  same Dense stack, i.e. a bag-of-embeddings baseline.
- ``simple_rnn``, ``gru``, ``lstm``, ``scratch_rnn``: ``layers`` stacked recurrent layers, each with
  ``dropout`` and ``recurrent_dropout``, optionally Bidirectional; ``scratch_rnn`` is ``keras.layers.RNN``
  around ``ScratchRNNCell``. They consume the padding mask directly.
- ``conv1d``: ``conv_layers`` causal Conv1D(filters, kernel_size, strides, dilation_rate, relu), then, for
  series, flatten (the window has a fixed length and step order matters for forecasting) and, for text,
  global max pooling over the real steps (the usual text-CNN choice: "does this phrase occur anywhere").
- ``conv1d_rnn``: the causal convolutions, then the recurrent stack of type ``cell``.

Masks in convolution bodies: Conv1D does not support masks, so the bodies use ``MaskedConv1D``, which zeroes
padded steps before convolving and passes the mask on. Because the convolution is causal, a real step only
sees earlier steps, and zeroed padding looks exactly like the convolution's own causal zero padding: with
``strides=1`` a text model's prediction does not depend on how much padding (pre or post) surrounds the
tokens. The final reduction (``MaskedSequenceReduction``) uses real steps only. With ``strides > 1`` the mask
is down-sampled to the output steps, but which tokens share a stride window then depends on the padding.
A row with no real tokens reduces to zeros rather than NaN. For series, ``mask_value`` adds
``keras.layers.Masking``: recurrent layers skip masked steps, and flatten bodies see them as zeros.

``dense_units > 0`` adds one Dense(dense_units, relu) before the head in every family; ``head_dropout``
(text) adds Dropout before the head. ``seed`` calls ``keras.utils.set_random_seed`` before building (it
seeds Python, NumPy and the backend globally), so initial weights and dropout masks repeat; the layers'
default seeds come from a private generator (``seqlab.models.seeding.seeded``), so draws that other
threads make from Python's ``random`` meanwhile cannot change them.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import keras

from seqlab.families import (  # noqa: F401  (re-exported: the builders' vocabulary)
    ANCHOR_TRAININGS,
    CONV_FAMILIES,
    HYBRID_ANCHOR,
    RECURRENT_CELLS,
    RECURRENT_FAMILIES,
    SERIES_FAMILIES,
    TEXT_FAMILIES,
    TEXT_HYBRID_ANCHOR,
)
from seqlab.models.cells import (
    HashedBigrams,
    MaskedConv1D,
    MaskedSequenceReduction,
    NaiveBayesNgrams,
    ScratchRNNCell,
)
from seqlab.models.seeding import seeded
from seqlab.models.series_layers import (
    ANCHORS,
    WINDOW_ANCHORS,
    ColumnSlice,
    ShiftByAnchor,
    WindowAnchor,
)

MERGE_MODES: tuple[str, ...] = ("concat", "sum", "ave", "mul")
SERIES_LOSSES: tuple[str, ...] = ("huber", "mse")
# How a text model reduces a recurrent body's steps: the last state, or max/average over the real steps.
TEXT_POOLINGS: tuple[str, ...] = ("last", "max", "average")


def _positive_int(value: Any, argument: str, minimum: int = 1) -> int:
    """Accept Python or NumPy integers (Keras Tuner hands out both) at or above ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < minimum:
        raise ValueError(f"{argument} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _rate(value: Any, argument: str) -> float:
    """Accept a dropout rate in [0, 1); 1 would drop everything."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= float(value) < 1.0:
        raise ValueError(f"{argument} must be a number in [0, 1), got {value!r}")
    return float(value)


def _choice(value: Any, argument: str, choices: tuple[str, ...]) -> str:
    """Accept one of ``choices`` and list them all when the value is not one of them."""
    if value not in choices:
        raise ValueError(f"{argument} must be one of {', '.join(choices)}; got {value!r}")
    return str(value)


def _flag(value: Any, argument: str) -> bool:
    """Accept a real bool, so a string such as 'false' is not taken as true."""
    if not isinstance(value, bool):
        raise ValueError(f"{argument} must be True or False, got {value!r}")
    return value


def _learning_rate(value: Any) -> float:
    """Accept a finite positive learning rate."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 < float(value) < math.inf:
        raise ValueError(f"learning_rate must be a positive finite number, got {value!r}")
    return float(value)


def _seed(value: Any) -> int | None:
    """Accept None or a non-negative integer seed."""
    if value is None:
        return None
    return _positive_int(value, "seed", minimum=0)


@dataclass(frozen=True)
class _Body:
    """Validated hyperparameters of the part shared by series and text models."""

    family: str
    units: int
    layers: int
    dropout: float
    recurrent_dropout: float
    bidirectional: bool
    merge_mode: str
    cell: str
    filters: int
    kernel_size: int
    strides: int
    dilation_rate: int
    conv_layers: int
    dense_units: int

    @classmethod
    def validated(cls, family: Any, families: tuple[str, ...], **values: Any) -> _Body:
        """Check every body argument so a bad value fails with its name before Keras sees it."""
        strides = _positive_int(values["strides"], "strides")
        dilation_rate = _positive_int(values["dilation_rate"], "dilation_rate")
        if strides > 1 and dilation_rate > 1:
            raise ValueError(
                f"strides and dilation_rate cannot both exceed 1 (Conv1D), got strides={strides}, "
                f"dilation_rate={dilation_rate}"
            )
        return cls(
            family=_choice(family, "family", families),
            units=_positive_int(values["units"], "units"),
            layers=_positive_int(values["layers"], "layers"),
            dropout=_rate(values["dropout"], "dropout"),
            recurrent_dropout=_rate(values["recurrent_dropout"], "recurrent_dropout"),
            bidirectional=_flag(values["bidirectional"], "bidirectional"),
            merge_mode=_choice(values["merge_mode"], "merge_mode", MERGE_MODES),
            cell=_choice(values["cell"], "cell", RECURRENT_CELLS),
            filters=_positive_int(values["filters"], "filters"),
            kernel_size=_positive_int(values["kernel_size"], "kernel_size"),
            strides=strides,
            dilation_rate=dilation_rate,
            conv_layers=_positive_int(values["conv_layers"], "conv_layers"),
            dense_units=_positive_int(values["dense_units"], "dense_units", minimum=0),
        )


def _recurrent_layer(body: _Body, cell: str, return_sequences: bool, name: str) -> keras.layers.Layer:
    """Make one recurrent layer of type ``cell``, wrapped in Bidirectional when asked."""
    options: dict[str, Any] = {
        "dropout": body.dropout,
        "recurrent_dropout": body.recurrent_dropout,
    }
    layer: keras.layers.Layer
    if cell == "simple_rnn":
        layer = keras.layers.SimpleRNN(body.units, return_sequences=return_sequences, name=name, **options)
    elif cell == "gru":
        layer = keras.layers.GRU(body.units, return_sequences=return_sequences, name=name, **options)
    elif cell == "lstm":
        layer = keras.layers.LSTM(body.units, return_sequences=return_sequences, name=name, **options)
    else:
        layer = keras.layers.RNN(
            ScratchRNNCell(body.units, **options), return_sequences=return_sequences, name=name
        )
    if body.bidirectional:
        return keras.layers.Bidirectional(layer, merge_mode=body.merge_mode, name=f"bidirectional_{name}")
    return layer


def _add_recurrent_stack(x: Any, body: _Body, cell: str, pooling: str = "last") -> Any:
    """Stack ``layers`` recurrent layers and reduce their steps to one vector.

    ``pooling="last"``: all but the last layer return sequences, and the last layer's final state is the
    output. ``"max"`` or ``"average"``: every layer returns sequences, reduced over the real steps.
    """
    for index in range(body.layers):
        sequences = pooling != "last" or index < body.layers - 1
        x = _recurrent_layer(body, cell, return_sequences=sequences, name=f"{cell}_{index + 1}")(x)
    if pooling != "last":
        x = MaskedSequenceReduction(pooling, name=f"{pooling}_steps")(x)
    return x


def _add_conv_stack(x: Any, body: _Body) -> Any:
    """Stack ``conv_layers`` causal, mask-carrying Conv1D layers."""
    for index in range(body.conv_layers):
        x = MaskedConv1D(
            body.filters,
            body.kernel_size,
            strides=body.strides,
            dilation_rate=body.dilation_rate,
            padding="causal",
            activation="relu",
            name=f"conv1d_{index + 1}",
        )(x)
    return x


def _add_body(
    x: Any, body: _Body, *, dense_reduction: str, conv_reduction: str, recurrent_pooling: str = "last"
) -> Any:
    """Turn a (possibly masked) [batch, steps, features] tensor into a feature vector for the head."""
    if body.family == "dense":
        x = MaskedSequenceReduction(dense_reduction, name=f"{dense_reduction}_steps")(x)
        for index in range(body.layers):
            x = keras.layers.Dense(body.units, activation="relu", name=f"dense_{index + 1}")(x)
            if body.dropout > 0:
                x = keras.layers.Dropout(body.dropout, name=f"dropout_{index + 1}")(x)
    elif body.family in RECURRENT_CELLS:
        x = _add_recurrent_stack(x, body, body.family, recurrent_pooling)
    elif body.family == "conv1d":
        x = _add_conv_stack(x, body)
        x = MaskedSequenceReduction(conv_reduction, name=f"{conv_reduction}_steps")(x)
        if body.dropout > 0:  # the conv family's dropout variant: on the pooled features
            x = keras.layers.Dropout(body.dropout, name="dropout_features")(x)
    else:  # conv1d_rnn
        x = _add_conv_stack(x, body)
        x = _add_recurrent_stack(x, body, body.cell, recurrent_pooling)
    if body.dense_units > 0:
        x = keras.layers.Dense(body.dense_units, activation="relu", name="dense_hidden")(x)
    return x


def build_series_model(
    family: str,
    window_size: int,
    horizon: int = 1,
    *,
    units: int = 32,
    layers: int = 1,
    dropout: float = 0.0,
    recurrent_dropout: float = 0.0,
    bidirectional: bool = False,
    merge_mode: str = "concat",
    cell: str = "lstm",
    filters: int = 32,
    kernel_size: int = 5,
    strides: int = 1,
    dilation_rate: int = 1,
    conv_layers: int = 1,
    dense_units: int = 0,
    mask_value: float | None = None,
    calendar_harmonics: int = 0,
    anchor: str = "none",
    learning_rate: float = 1e-3,
    loss: str = "huber",
    seed: int | None = None,
) -> keras.Model:
    """Build and compile a forecaster from windows [window_size] to the next ``horizon`` values.

    ``calendar_harmonics`` K > 0 widens the input to [window_size + 2K]: the window, then the target's
    calendar features (sine and cosine of K harmonics of its season phase), which pass through their own
    Dense(units, relu) and join the body's features in a Dense(units, relu) before the head. Calendar
    features are known in advance, as the climatology baselines use them. ``anchor`` ("last" or "mean")
    makes the forecast relative to the window's last value or mean: the body sees the window minus the
    anchor, and the anchor is added to the head's output. ``anchor="baseline"`` widens the input by
    ``horizon`` columns, the baseline's forecast of the targets, which the output adds to a correction
    whose Dense layer is initialised to zero (the window columns then hold the baseline's residuals).
    """
    body = _Body.validated(
        family,
        SERIES_FAMILIES,
        units=units,
        layers=layers,
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
        bidirectional=bidirectional,
        merge_mode=merge_mode,
        cell=cell,
        filters=filters,
        kernel_size=kernel_size,
        strides=strides,
        dilation_rate=dilation_rate,
        conv_layers=conv_layers,
        dense_units=dense_units,
    )
    window_size = _positive_int(window_size, "window_size")
    horizon = _positive_int(horizon, "horizon")
    if mask_value is not None and (
        isinstance(mask_value, bool)
        or not isinstance(mask_value, numbers.Real)
        or not math.isfinite(float(mask_value))
    ):
        raise ValueError(f"mask_value must be None or a finite number, got {mask_value!r}")
    calendar_harmonics = _positive_int(calendar_harmonics, "calendar_harmonics", minimum=0)
    anchor = _choice(anchor, "anchor", ANCHORS)
    if anchor != "none" and mask_value is not None:
        raise ValueError(f"anchor={anchor!r} cannot be combined with mask_value (a masked step has no level)")
    learning_rate = _learning_rate(learning_rate)
    loss = _choice(loss, "loss", SERIES_LOSSES)
    seed = _seed(seed)
    with seeded(seed):
        calendar_width = 2 * calendar_harmonics
        hybrid = anchor == HYBRID_ANCHOR
        width = window_size + calendar_width + (horizon if hybrid else 0)
        inputs = keras.Input(shape=(width,), name="window")
        window = inputs
        if width > window_size:
            window = ColumnSlice(0, window_size, name="window_values")(inputs)
        level = None
        if anchor in WINDOW_ANCHORS:
            level = WindowAnchor(anchor, name=f"anchor_{anchor}")(window)
            window = ShiftByAnchor(-1, name="relative_window")(window, level)
        x = keras.layers.Reshape((window_size, 1), name="steps")(window)
        if mask_value is not None:
            x = keras.layers.Masking(mask_value=float(mask_value), name="masking")(x)
        x = _add_body(x, body, dense_reduction="flatten", conv_reduction="flatten")
        if calendar_width:
            calendar = ColumnSlice(window_size, window_size + calendar_width, name="calendar")(inputs)
            calendar = keras.layers.Dense(body.units, activation="relu", name="calendar_dense")(calendar)
            x = keras.layers.Concatenate(name="with_calendar")([x, calendar])
            x = keras.layers.Dense(body.units, activation="relu", name="calendar_mix")(x)
        if hybrid:
            start = window_size + calendar_width
            baseline = ColumnSlice(start, start + horizon, name="baseline_forecast")(inputs)
            correction = keras.layers.Dense(
                horizon, kernel_initializer="zeros", bias_initializer="zeros", name="correction"
            )(x)
            outputs = keras.layers.Add(name="forecast")([baseline, correction])
        else:
            outputs = keras.layers.Dense(horizon, name="forecast")(x)
        if level is not None:
            outputs = ShiftByAnchor(1, name="from_anchor")(outputs, level)
        model = keras.Model(inputs, outputs, name=f"series_{body.family}")
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
            loss=keras.losses.Huber() if loss == "huber" else keras.losses.MeanSquaredError(),
            metrics=["mae"],
        )
        return model


def build_text_model(
    family: str,
    vocab_size: int,
    max_len: int,
    *,
    embedding_dim: int = 64,
    units: int = 32,
    layers: int = 1,
    dropout: float = 0.0,
    recurrent_dropout: float = 0.0,
    bidirectional: bool = False,
    merge_mode: str = "concat",
    cell: str = "lstm",
    filters: int = 32,
    kernel_size: int = 5,
    strides: int = 1,
    dilation_rate: int = 1,
    conv_layers: int = 1,
    dense_units: int = 0,
    head_dropout: float = 0.0,
    pooling: str = "last",
    embedding_dropout: float = 0.0,
    bigram_buckets: int = 0,
    ngram: int = 3,
    ngram_buckets: int = 2**22,
    anchor: str = "none",
    anchor_training: str = "end_to_end",
    anchor_c: float = 0.3,
    learning_rate: float = 1e-3,
    seed: int | None = None,
) -> keras.Model:
    """Build and compile a binary sentiment classifier over padded token ids (0 = padding).

    ``pooling`` (recurrent families only; others ignore it): "last" keeps the last recurrent layer's final
    state, "max" or "average" make it return every step and reduce over the real (unmasked) steps.
    ``embedding_dropout`` > 0 adds SpatialDropout1D (whole embedding channels) after the embedding.
    ``bigram_buckets`` B > 0 (``dense`` family only; others ignore it) also embeds the review's adjacent
    token pairs, hashed into B buckets (``HashedBigrams``), and averages them with the words: fastText.
    ``family="nbsvm"`` is a linear model over the review's set of 1..``ngram``-grams (longer ones hashed
    into ``ngram_buckets``), weighted by Naive Bayes ratios that ``seqlab.training.adapt_to_training_data``
    fits on the training reviews before training (``NaiveBayesNgrams``); the embedding, body, pooling and
    dropout arguments do not apply to it. ``anchor="nbsvm"`` makes any other family a hybrid: its
    logit is that NBSVM layer's plus a correction from the family's body whose Dense layer starts at
    zero (an untrained hybrid is the NBSVM); the ``nbsvm`` family ignores it, so one search space can
    offer NBSVM beside its hybrids. ``anchor_training="end_to_end"`` trains the NBSVM weights with the
    body; ``"frozen"`` fits them first, as the original NBSVM (an L2 logistic regression with inverse
    strength ``anchor_c`` on the training reviews), and holds them fixed, so the body learns only the
    correction.
    """
    body = _Body.validated(
        family,
        TEXT_FAMILIES,
        units=units,
        layers=layers,
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
        bidirectional=bidirectional,
        merge_mode=merge_mode,
        cell=cell,
        filters=filters,
        kernel_size=kernel_size,
        strides=strides,
        dilation_rate=dilation_rate,
        conv_layers=conv_layers,
        dense_units=dense_units,
    )
    # Id 0 is padding and id 1 the unknown token, so a usable vocabulary has at least one more id.
    vocab_size = _positive_int(vocab_size, "vocab_size", minimum=2)
    max_len = _positive_int(max_len, "max_len")
    embedding_dim = _positive_int(embedding_dim, "embedding_dim")
    head_dropout = _rate(head_dropout, "head_dropout")
    pooling = _choice(pooling, "pooling", TEXT_POOLINGS)
    embedding_dropout = _rate(embedding_dropout, "embedding_dropout")
    bigram_buckets = _positive_int(bigram_buckets, "bigram_buckets", minimum=0)
    ngram = _positive_int(ngram, "ngram")
    ngram_buckets = _positive_int(ngram_buckets, "ngram_buckets")
    learning_rate = _learning_rate(learning_rate)
    seed = _seed(seed)
    anchor = _choice(anchor, "anchor", ("none", TEXT_HYBRID_ANCHOR))  # an NBSVM anchored on itself is itself
    frozen = _choice(anchor_training, "anchor_training", ANCHOR_TRAININGS) == "frozen"
    finite_c = isinstance(anchor_c, numbers.Real) and 0 < float(anchor_c) < math.inf
    if isinstance(anchor_c, bool) or not finite_c:
        raise ValueError(f"anchor_c must be a positive finite number, got {anchor_c!r}")
    with seeded(seed):
        inputs = keras.Input(shape=(max_len,), dtype="int32", name="token_ids")
        if body.family == "nbsvm":
            layer = NaiveBayesNgrams(vocab_size, ngram, ngram_buckets, seed=seed, name="naive_bayes_ngrams")
            logit = layer(inputs)
            outputs = keras.layers.Activation("sigmoid", name="probability")(logit)
            return _compiled_text_model(keras.Model(inputs, outputs, name="text_nbsvm"), learning_rate)
        x = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name="embedding")(inputs)
        if bigram_buckets > 0 and body.family == "dense":
            pairs = HashedBigrams(bigram_buckets, name="bigram_ids")(inputs)
            pairs = keras.layers.Embedding(
                bigram_buckets + 1, embedding_dim, mask_zero=True, name="bigram_embedding"
            )(pairs)
            # Words and word pairs side by side along the steps: the masked average covers both.
            x = keras.layers.Concatenate(axis=1, name="words_and_bigrams")([x, pairs])
        if embedding_dropout > 0:
            x = keras.layers.SpatialDropout1D(embedding_dropout, name="embedding_dropout")(x)
        x = _add_body(x, body, dense_reduction="average", conv_reduction="max", recurrent_pooling=pooling)
        if head_dropout > 0:
            x = keras.layers.Dropout(head_dropout, name="head_dropout")(x)
        if anchor == TEXT_HYBRID_ANCHOR:
            base = NaiveBayesNgrams(
                vocab_size,
                ngram,
                ngram_buckets,
                seed=seed,
                logistic_c=float(anchor_c) if frozen else None,
                trainable=not frozen,
                name="naive_bayes_ngrams",
            )(inputs)
            correction = keras.layers.Dense(
                1, kernel_initializer="zeros", bias_initializer="zeros", name="correction"
            )(x)
            logit = keras.layers.Add(name="logit")([base, correction])
            outputs = keras.layers.Activation("sigmoid", name="probability")(logit)
            name = f"text_hybrid_{body.family}"
        else:
            outputs = keras.layers.Dense(1, activation="sigmoid", name="probability")(x)
            name = f"text_{body.family}"
        return _compiled_text_model(keras.Model(inputs, outputs, name=name), learning_rate)


def build_rows_model(
    family: str,
    rows: int,
    columns: int,
    classes: int,
    *,
    units: int = 128,
    layers: int = 1,
    dropout: float = 0.0,
    recurrent_dropout: float = 0.0,
    bidirectional: bool = False,
    merge_mode: str = "concat",
    cell: str = "lstm",
    filters: int = 32,
    kernel_size: int = 3,
    strides: int = 1,
    dilation_rate: int = 1,
    conv_layers: int = 1,
    dense_units: int = 0,
    learning_rate: float = 1e-3,
    seed: int | None = None,
) -> keras.Model:
    """Build and compile a classifier that reads an image [rows, columns] one row per step.

    The body is the families' shared one (a recurrent stack keeps its last state; dense and conv1d
    flatten the steps); the head is Dense(classes, softmax) on sparse class labels.
    """
    body = _Body.validated(
        family,
        SERIES_FAMILIES,
        units=units,
        layers=layers,
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
        bidirectional=bidirectional,
        merge_mode=merge_mode,
        cell=cell,
        filters=filters,
        kernel_size=kernel_size,
        strides=strides,
        dilation_rate=dilation_rate,
        conv_layers=conv_layers,
        dense_units=dense_units,
    )
    rows = _positive_int(rows, "rows")
    columns = _positive_int(columns, "columns")
    classes = _positive_int(classes, "classes", minimum=2)
    learning_rate = _learning_rate(learning_rate)
    seed = _seed(seed)
    with seeded(seed):
        inputs = keras.Input(shape=(rows, columns), name="rows")
        x = _add_body(inputs, body, dense_reduction="flatten", conv_reduction="flatten")
        outputs = keras.layers.Dense(classes, activation="softmax", name="class_probabilities")(x)
        model = keras.Model(inputs, outputs, name=f"rows_{body.family}")
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model


def _compiled_text_model(model: keras.Model, learning_rate: float) -> keras.Model:
    """Compile a sentiment classifier: Adam, binary cross-entropy, accuracy and ROC AUC."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="binary_crossentropy",
        metrics=["accuracy", keras.metrics.AUC(name="auc")],
    )
    return model


def count_parameters(model: keras.Model) -> int:
    """Count trainable weights, the size measure used to compare families at a similar budget."""
    return int(sum(math.prod(weight.shape) for weight in model.trainable_weights))
