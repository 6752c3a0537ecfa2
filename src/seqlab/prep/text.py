"""Text preparation for sequence models: vocabulary, integer encoding and padding with a mask.

Keras does the work (``keras.layers.TextVectorization`` with its default standardisation, lower-case and
strip punctuation, and whitespace split; ``keras.utils.pad_sequences`` for padding). Keras is imported
inside the functions so importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

PADDING_TOKEN = ""
UNKNOWN_TOKEN = "[UNK]"
PADDING_ID = 0
UNKNOWN_ID = 1
SIDES: tuple[str, ...] = ("pre", "post")


@dataclass(frozen=True)
class LengthStats:
    """Token counts of a set of encoded texts before padding, and how many ``max_len`` cut."""

    count: int
    minimum: int
    maximum: int
    mean: float
    median: float
    truncated_fraction: float

    @classmethod
    def from_lengths(cls, lengths: np.ndarray, max_len: int) -> LengthStats:
        """Summarise sequence lengths so a caller can judge whether ``max_len`` fits the data."""
        if lengths.size == 0:
            return cls(count=0, minimum=0, maximum=0, mean=0.0, median=0.0, truncated_fraction=0.0)
        return cls(
            count=int(lengths.size),
            minimum=int(lengths.min()),
            maximum=int(lengths.max()),
            mean=float(lengths.mean()),
            median=float(np.median(lengths)),
            truncated_fraction=float(np.mean(lengths > max_len)),
        )


@dataclass(frozen=True)
class PreparedText:
    """Padded id matrices and masks for train and test, with the vocabulary fitted on train only."""

    x_train: np.ndarray
    mask_train: np.ndarray
    x_test: np.ndarray
    mask_test: np.ndarray
    vocabulary: list[str]
    train_lengths: LengthStats
    test_lengths: LengthStats


def _check_texts(texts: Sequence[str], argument: str) -> list[str]:
    """Return ``texts`` as a list after checking every item is a string."""
    if isinstance(texts, str):
        raise ValueError(f"{argument}: expected a sequence of strings, got a single string")
    items = list(texts)
    for index, text in enumerate(items):
        if not isinstance(text, str):
            raise ValueError(f"{argument}: item {index} is {type(text).__name__}, expected str")
    return items


def _check_positive_int(value: Any, argument: str, minimum: int = 1) -> int:
    """Return ``value`` if it is an int of at least ``minimum``, else raise a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{argument}: expected an integer >= {minimum}, got {value!r}")
    return int(value)


def fit_vocabulary(texts: Sequence[str], max_tokens: int) -> list[str]:
    """Learn the vocabulary from the given (training) texts only, so test words never leak into it.

    Index 0 is ``""`` (padding) and 1 is ``"[UNK]"``; the rest are the most frequent tokens, ties
    broken by token (Keras' deterministic order). ``max_tokens`` counts the two special tokens.
    """
    items = _check_texts(texts, "texts")
    if not items:
        raise ValueError("texts: cannot fit a vocabulary on no texts")
    limit = _check_positive_int(max_tokens, "max_tokens", minimum=3)
    from seqlab.runtime import load_keras

    keras = load_keras()

    layer = keras.layers.TextVectorization(max_tokens=limit, output_mode="int")
    layer.adapt(np.array(items, dtype=object), batch_size=1024)
    vocabulary = [str(token) for token in layer.get_vocabulary()]
    return vocabulary


def _check_vocabulary(vocabulary: Sequence[str]) -> list[str]:
    """Return the vocabulary as a list after checking its special tokens and uniqueness."""
    items = list(vocabulary)
    if len(items) < 2 or items[0] != PADDING_TOKEN or items[1] != UNKNOWN_TOKEN:
        raise ValueError(
            f"vocabulary: must start with {PADDING_TOKEN!r} (padding) and {UNKNOWN_TOKEN!r}; "
            f"got {items[:2]!r}"
        )
    if len(set(items)) != len(items):
        raise ValueError("vocabulary: contains repeated tokens")
    return items


def encode(texts: Sequence[str], vocabulary: Sequence[str]) -> list[np.ndarray]:
    """Turn texts into variable-length int32 id sequences (unknown words -> 1) in one batched Keras call."""
    items = _check_texts(texts, "texts")
    tokens = _check_vocabulary(vocabulary)
    if not items:
        return []
    from seqlab.runtime import load_keras

    keras = load_keras()
    import tensorflow as tf

    layer = keras.layers.TextVectorization(vocabulary=tokens, output_mode="int", ragged=True)
    ragged = layer(tf.constant(items, dtype=tf.string))
    values = ragged.flat_values.numpy().astype(np.int32)
    row_splits = ragged.row_splits.numpy()
    return list(np.split(values, row_splits[1:-1]))


def _check_side(value: Any, argument: str) -> str:
    """Return ``value`` if it is "pre" or "post", else raise a ValueError naming the argument."""
    if value not in SIDES:
        raise ValueError(f"{argument}: expected 'pre' or 'post', got {value!r}")
    return str(value)


def pad(
    sequences: Sequence[Sequence[int] | np.ndarray],
    max_len: int,
    padding: str = "post",
    truncating: str = "post",
    value: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Pad/truncate id sequences to ``max_len`` and return the int32 matrix and a mask of the real tokens.

    The mask is built from the sequence lengths, not by comparing with ``value``, so it stays right
    even when ``value`` equals a real token id.
    """
    length = _check_positive_int(max_len, "max_len")
    padding_side = _check_side(padding, "padding")
    truncating_side = _check_side(truncating, "truncating")
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"value: expected an integer pad value, got {value!r}")
    from seqlab.runtime import load_keras

    keras = load_keras()

    items = list(sequences)
    matrix = keras.utils.pad_sequences(
        items,
        maxlen=length,
        dtype="int32",
        padding=padding_side,
        truncating=truncating_side,
        value=int(value),
    )
    matrix = np.asarray(matrix, dtype=np.int32).reshape(len(items), length)
    kept = np.minimum(np.fromiter((len(item) for item in items), dtype=np.int64, count=len(items)), length)
    positions = np.arange(length)
    if padding_side == "post":
        mask = positions[np.newaxis, :] < kept[:, np.newaxis]
    else:
        mask = positions[np.newaxis, :] >= (length - kept)[:, np.newaxis]
    return matrix, mask


def prepare_text(
    train_texts: Sequence[str],
    test_texts: Sequence[str],
    max_tokens: int,
    max_len: int,
    padding: str = "post",
    truncating: str = "post",
    value: int = 0,
) -> PreparedText:
    """Fit the vocabulary on train only, then encode and pad both splits the same way."""
    length = _check_positive_int(max_len, "max_len")
    _check_side(padding, "padding")
    _check_side(truncating, "truncating")
    vocabulary = fit_vocabulary(train_texts, max_tokens)
    encoded_train = encode(train_texts, vocabulary)
    encoded_test = encode(test_texts, vocabulary)
    x_train, mask_train = pad(encoded_train, length, padding, truncating, value)
    x_test, mask_test = pad(encoded_test, length, padding, truncating, value)
    return PreparedText(
        x_train=x_train,
        mask_train=mask_train,
        x_test=x_test,
        mask_test=mask_test,
        vocabulary=vocabulary,
        train_lengths=LengthStats.from_lengths(_lengths(encoded_train), length),
        test_lengths=LengthStats.from_lengths(_lengths(encoded_test), length),
    )


def _lengths(sequences: list[np.ndarray]) -> np.ndarray:
    return np.fromiter((len(sequence) for sequence in sequences), dtype=np.int64, count=len(sequences))
