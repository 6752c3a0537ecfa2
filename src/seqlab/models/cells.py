"""Custom layers: a recurrent cell written from scratch, and mask-aware convolution and reduction.

``ScratchRNNCell`` computes ``h_t = tanh(x_t · W_xh + h_{t-1} · W_hh + b)``. It is a drop-in for
``keras.layers.SimpleRNNCell`` inside ``keras.layers.RNN``: its weights are created in the same order with
the same names and shapes (``kernel`` [features, units], ``recurrent_kernel`` [units, units], ``bias``
[units]), so ``get_weights``/``set_weights`` move weights between it and ``keras.layers.SimpleRNN``.

Dropout follows ``SimpleRNNCell``: one input mask and one recurrent mask are drawn per batch and reused at
every timestep, and are applied only when ``training`` is true. The masks come from Keras's
``DropoutRNNCell`` mixin; ``keras.layers.RNN`` recognises that mixin (``isinstance``) to draw the masks
before its symbolic time loop and to clear them after it, which a hand-rolled cache would not get.

``MaskedConv1D`` and ``MaskedSequenceReduction`` exist because ``keras.layers.Conv1D``, ``Flatten`` and
``GlobalMaxPooling1D`` do not support masks (Keras drops the mask with a warning), so padded steps of an
embedded review would leak into convolution bodies. ``MaskedConv1D`` zeroes masked steps before convolving
and passes on the mask, down-sampled to its output steps; ``MaskedSequenceReduction`` reduces over the
unmasked steps only and consumes the mask. All layers are registered (package ``seqlab``) so models that use
them save and load as ``.keras`` files once ``seqlab.models`` is imported.
"""

from __future__ import annotations

import math
from typing import Any, TypeAlias

import keras
from keras import ops

# Not exported under ``keras.layers``; keras.layers.RNN checks for this exact class.
from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell

# A Keras initializer, its name, or its serialised config (what get_config writes).
InitializerLike: TypeAlias = str | dict[str, Any] | keras.initializers.Initializer
REDUCTIONS: tuple[str, ...] = ("flatten", "average", "max")


def _check_rate(value: Any, argument: str) -> float:
    """Reject a dropout rate outside [0, 1) so a typo does not silently disable or zero a layer."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= float(value) < 1.0:
        raise ValueError(f"{argument} must be a number in [0, 1), got {value!r}")
    return float(value)


@keras.saving.register_keras_serializable(package="seqlab")
class ScratchRNNCell(keras.layers.Layer, DropoutRNNCell):
    """Elman RNN cell, h_t = tanh(x_t·W_xh + h_{t-1}·W_hh + b), written out to show what SimpleRNN does."""

    def __init__(
        self,
        units: int,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        kernel_initializer: InitializerLike = "glorot_uniform",
        recurrent_initializer: InitializerLike = "orthogonal",
        bias_initializer: InitializerLike = "zeros",
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
            raise ValueError(f"units must be a positive integer, got {units!r}")
        super().__init__(**kwargs)
        self.units = units
        self.dropout = _check_rate(dropout, "dropout")
        self.recurrent_dropout = _check_rate(recurrent_dropout, "recurrent_dropout")
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.seed = seed
        # DropoutRNNCell draws its masks from this generator.
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.state_size = units
        self.output_size = units

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        """Create W_xh, W_hh and b in SimpleRNNCell's order so weights can be copied either way."""
        features = input_shape[-1]
        self.kernel = self.add_weight(
            shape=(features, self.units), name="kernel", initializer=self.kernel_initializer
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, self.units), name="recurrent_kernel", initializer=self.recurrent_initializer
        )
        self.bias = self.add_weight(shape=(self.units,), name="bias", initializer=self.bias_initializer)

    def call(self, inputs: Any, states: Any, training: bool = False) -> tuple[Any, Any]:
        """Advance one timestep: return the new hidden state as both output and state."""
        previous = states[0] if isinstance(states, list | tuple) else states
        input_mask = self.get_dropout_mask(inputs)
        recurrent_mask = self.get_recurrent_dropout_mask(previous)
        if training and input_mask is not None:
            inputs = inputs * input_mask
        if training and recurrent_mask is not None:
            previous = previous * recurrent_mask
        hidden = ops.tanh(
            ops.matmul(inputs, self.kernel) + ops.matmul(previous, self.recurrent_kernel) + self.bias
        )
        new_states = [hidden] if isinstance(states, list | tuple) else hidden
        return hidden, new_states

    def get_initial_state(self, batch_size: Any = None) -> list[Any]:
        """Start from a zero hidden state, as SimpleRNNCell does."""
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype)]

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments so a model using the cell saves and loads as .keras."""
        config = {
            "units": self.units,
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "seed": self.seed,
        }
        return {**super().get_config(), **config}


def _step_mask(inputs: Any, mask: Any) -> Any:
    """Return the [batch, steps, 1] float mask that zeroes padded steps when multiplied in."""
    return ops.expand_dims(ops.cast(mask, inputs.dtype), axis=-1)


@keras.saving.register_keras_serializable(package="seqlab")
class MaskedConv1D(keras.layers.Conv1D):
    """Causal Conv1D that zeroes padded steps first and passes the mask on, which plain Conv1D drops."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.padding != "causal":
            raise ValueError(f"padding must be 'causal' for MaskedConv1D, got {self.padding!r}")
        self.supports_masking = True

    def call(self, inputs: Any, mask: Any = None) -> Any:
        """Convolve with padded steps set to zero, so they look like the causal left padding."""
        if mask is not None:
            inputs = inputs * _step_mask(inputs, mask)
        return super().call(inputs)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """Keep output step j when input step j*strides is real: causal output j ends at that step."""
        if mask is None:
            return None
        return mask[:, :: self.strides[0]]


@keras.saving.register_keras_serializable(package="seqlab")
class MaskedSequenceReduction(keras.layers.Layer):
    """Reduce [batch, steps, features] over real steps only (flatten, average or max) and drop the mask."""

    def __init__(self, mode: str = "flatten", **kwargs: Any) -> None:
        if mode not in REDUCTIONS:
            raise ValueError(f"mode must be one of {REDUCTIONS}, got {mode!r}")
        super().__init__(**kwargs)
        self.mode = mode
        self.supports_masking = True

    def call(self, inputs: Any, mask: Any = None) -> Any:
        """Flatten with padded steps zeroed, or average/max over real steps (0 when a row has none)."""
        if self.mode == "flatten":
            if mask is not None:
                inputs = inputs * _step_mask(inputs, mask)
            return ops.reshape(inputs, (-1, inputs.shape[1] * inputs.shape[2]))
        if mask is None:
            return ops.mean(inputs, axis=1) if self.mode == "average" else ops.max(inputs, axis=1)
        weights = _step_mask(inputs, mask)
        real_steps = ops.sum(weights, axis=1)
        if self.mode == "average":
            return ops.divide_no_nan(ops.sum(inputs * weights, axis=1), real_steps)
        lowest = ops.min(inputs) - 1.0
        maximum = ops.max(ops.where(weights > 0, inputs, lowest), axis=1)
        return ops.where(real_steps > 0, maximum, ops.zeros_like(maximum))

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        """Consume the mask: the reduced tensor has no steps left to mask."""
        return None

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        """Give [batch, steps*features] for flatten and [batch, features] for average and max."""
        batch, steps, features = input_shape
        if self.mode == "flatten":
            return (batch, None if steps is None or features is None else steps * features)
        return (batch, features)

    def get_config(self) -> dict[str, Any]:
        """Return the reduction mode so the layer saves and loads as part of a .keras model."""
        return {**super().get_config(), "mode": self.mode}


@keras.saving.register_keras_serializable(package="seqlab")
class HashedBigrams(keras.layers.Layer):
    """Map padded token ids [batch, steps] to hashed bigram ids [batch, steps] in 1..buckets (0 = none).

    Step t holds the bucket of the pair (token t, token t+1) when both are real (non-zero) tokens, and 0
    otherwise, so an ``Embedding(buckets + 1, mask_zero=True)`` over the output embeds the review's word
    pairs and masks the rest: fastText's hashed n-gram features, computed inside the model. Pairs are
    hashed as ``(a * 1000003 + b) mod buckets`` in int64; collisions share an embedding row.
    """

    def __init__(self, buckets: int, **kwargs: Any) -> None:
        if isinstance(buckets, bool) or not isinstance(buckets, int) or buckets <= 0:
            raise ValueError(f"buckets must be a positive integer, got {buckets!r}")
        super().__init__(**kwargs)
        self.buckets = buckets

    def call(self, inputs: Any) -> Any:
        """Hash each adjacent pair of real tokens; pairs touching padding get 0."""
        ids = ops.cast(inputs, "int64")
        first, second = ids[:, :-1], ids[:, 1:]
        hashed = ops.mod(first * 1000003 + second, self.buckets) + 1
        hashed = ops.where(ops.logical_and(first > 0, second > 0), hashed, ops.zeros_like(hashed))
        # The last step has no successor: pad it with 0 so the output keeps the input's length.
        return ops.cast(ops.pad(hashed, [[0, 0], [0, 1]]), "int32")

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        """Keep the input's [batch, steps] shape."""
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        """Return the bucket count so a model using the layer saves and loads as .keras."""
        return {**super().get_config(), "buckets": self.buckets}


@keras.saving.register_keras_serializable(package="seqlab")
class NaiveBayesNgrams(keras.layers.Layer):
    """A linear classifier over a review's set of word n-grams, scaled by Naive Bayes log-count ratios.

    The neural form of NBSVM (Wang & Manning 2012, "Baselines and Bigrams"): each review becomes the
    *set* of its n-grams (n = 1..``max_n``), each n-gram f has a fixed ratio ``r[f]`` and a learned weight
    ``w[f]``, and the layer returns the logit ``b + sum over the set of r[f] * w[f]`` [batch, 1].

    - Features: unigram f = its token id (1..vocab_size-1); an n-gram of real tokens (n >= 2) is hashed
      as ``vocab_size + (a * 1000003^(n-1) + ... ) mod buckets`` in int64; n-grams touching padding
      (id 0) and repeats within a review count nothing. Collisions share a ratio and a weight.
    - Ratios: :meth:`adapt` sets ``r = log((p / |p|) / (q / |q|))`` from the training reviews only, where
      ``p`` (``q``) counts the positive (negative) reviews containing each feature plus ``smoothing``.
      Before ``adapt`` every ratio is 1, i.e. a plain logistic regression on the n-gram set.
    - Weights: learned by gradient descent with the rest of the model, or, with ``logistic_c`` set,
      fitted by :meth:`adapt` too, as the original NBSVM is: an L2 logistic regression (scikit-learn's
      liblinear, inverse strength ``logistic_c``) on the ratio-scaled n-gram sets. Such a layer is
      meant to be frozen (``trainable=False``): a hybrid then learns only what NBSVM misses.
    """

    def __init__(
        self,
        vocab_size: int,
        max_n: int = 3,
        buckets: int = 2**22,
        seed: int | None = None,
        logistic_c: float | None = None,
        **kwargs: Any,
    ) -> None:
        sizes = (("vocab_size", vocab_size, 2), ("max_n", max_n, 1), ("buckets", buckets, 1))
        for name, value, minimum in sizes:
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
        finite_c = isinstance(logistic_c, int | float) and 0 < logistic_c < math.inf
        if logistic_c is not None and (isinstance(logistic_c, bool) or not finite_c):
            raise ValueError(f"logistic_c must be a positive finite number or None, got {logistic_c!r}")
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.max_n = max_n
        self.buckets = buckets
        self.seed = seed
        self.logistic_c = None if logistic_c is None else float(logistic_c)
        self.features = vocab_size + (buckets if max_n > 1 else 0)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        """Create the fixed ratios, the learned weights (small random) and the bias."""
        self.ratios = self.add_weight(
            shape=(self.features,), initializer="ones", trainable=False, name="log_count_ratio"
        )
        self.kernel = self.add_weight(
            shape=(self.features,),
            initializer=keras.initializers.RandomNormal(stddev=0.01, seed=self.seed),
            name="kernel",
        )
        self.bias = self.add_weight(shape=(1,), initializer="zeros", name="bias")

    def feature_ids(self, inputs: Any) -> Any:
        """Map token ids [batch, steps] to each review's feature set [batch, steps * max_n], 0 = none."""
        ids = ops.cast(inputs, "int64")
        steps = ops.shape(ids)[1]
        grams = [ops.where(ids < self.vocab_size, ids, ops.ones_like(ids))]  # out-of-range ids -> [UNK]
        for n in range(2, self.max_n + 1):
            hashed = ids[:, : steps - n + 1]
            real = hashed > 0
            for k in range(1, n):
                part = ids[:, k : steps - n + 1 + k]
                hashed = hashed * 1000003 + part
                real = ops.logical_and(real, part > 0)
            hashed = ops.where(real, ops.mod(hashed, self.buckets) + self.vocab_size, ops.zeros_like(hashed))
            grams.append(ops.pad(hashed, [[0, 0], [0, n - 1]]))  # keep [batch, steps]
        ordered = ops.sort(ops.concatenate(grams, axis=1), axis=1)
        repeat = ops.pad(ops.equal(ordered[:, 1:], ordered[:, :-1]), [[0, 0], [1, 0]])
        return ops.where(repeat, ops.zeros_like(ordered), ordered)

    def call(self, inputs: Any) -> Any:
        """Return the logit [batch, 1]: bias plus the ratio-scaled weights of the review's feature set."""
        features = self.feature_ids(inputs)
        present = ops.cast(features > 0, self.kernel.dtype)
        scores = ops.take(self.ratios, features) * ops.take(self.kernel, features) * present
        return ops.sum(scores, axis=1, keepdims=True) + self.bias

    def adapt(self, token_ids: Any, labels: Any, smoothing: float = 1.0, batch_size: int = 2048) -> None:
        """Set the ratios from training reviews [n, steps] and their 0/1 labels (never from test data)."""
        import numpy as np

        x = np.asarray(token_ids)
        y = np.asarray(labels).reshape(-1)
        if x.ndim != 2 or y.shape != (x.shape[0],):
            raise ValueError(
                f"adapt expects token ids [reviews, steps] and one label per review, got {x.shape} and "
                f"{np.asarray(labels).shape}"
            )
        if set(np.unique(y).tolist()) != {0, 1}:
            raise ValueError(f"adapt expects 0/1 labels with both classes present, got {np.unique(y)[:5]}")
        if not (isinstance(smoothing, int | float) and smoothing > 0):
            raise ValueError(f"smoothing must be a positive number, got {smoothing!r}")
        if not self.built:
            self.build(x.shape)
        counts = np.zeros((2, self.features), dtype=np.float64)
        kept = []  # each review's feature set, kept when the weights are fitted next
        for start in range(0, len(x), batch_size):
            features = np.asarray(self.feature_ids(x[start : start + batch_size]))
            for label in (0, 1):
                chosen = features[y[start : start + batch_size] == label].ravel()
                counts[label] += np.bincount(chosen, minlength=self.features)
            if self.logistic_c is not None:
                kept.append(features)
        counts[:, 0] = 0  # padding
        counts += smoothing
        ratios = np.log(counts[1] / counts[1].sum()) - np.log(counts[0] / counts[0].sum())
        ratios[0] = 0.0
        self.ratios.assign(ratios.astype(self.ratios.dtype))
        if self.logistic_c is not None:
            self._fit_weights(np.concatenate(kept), y, ratios)

    def _fit_weights(self, features: Any, y: Any, ratios: Any) -> None:
        """Fit the weights and bias: L2 logistic regression on the ratio-scaled n-gram sets (NBSVM)."""
        import numpy as np
        from scipy import sparse
        from sklearn.linear_model import LogisticRegression

        rows = np.repeat(np.arange(len(features)), features.shape[1])
        columns = features.ravel()
        present = columns > 0
        values = (ratios[columns[present]], (rows[present], columns[present]))
        design = sparse.csr_matrix(values, shape=(len(features), self.features))
        # liblinear's dual solver suits many more features than reviews; random_state fixes its order.
        fitted = LogisticRegression(
            C=self.logistic_c, solver="liblinear", dual=True, max_iter=1000, random_state=0
        )
        fitted.fit(design, y)
        self.kernel.assign(fitted.coef_[0].astype(self.kernel.dtype))
        self.bias.assign(fitted.intercept_.astype(self.bias.dtype))

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        """One logit per review."""
        return (input_shape[0], 1)

    def get_config(self) -> dict[str, Any]:
        """Return the sizes so a model using the layer saves and loads as .keras (ratios are weights)."""
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "max_n": self.max_n,
            "buckets": self.buckets,
            "seed": self.seed,
            "logistic_c": self.logistic_c,
        }
