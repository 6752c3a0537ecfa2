"""Builders and custom layers in seqlab.models: shapes, masks, dropout, the scratch cell and saving."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from seqlab.models import (
    MERGE_MODES,
    RECURRENT_CELLS,
    RECURRENT_FAMILIES,
    SERIES_FAMILIES,
    TEXT_FAMILIES,
    ScratchRNNCell,
    build_series_model,
    build_text_model,
    count_parameters,
)
from tests.unit.helpers import DrawingThread

WINDOW = 8
VOCAB = 50
MAX_LEN = 12
SMALL = {"units": 4, "filters": 4, "kernel_size": 3}
TEXT_SMALL = {**SMALL, "embedding_dim": 4}


def post_padded(pre: np.ndarray) -> np.ndarray:
    """The same token rows with their padding (0) moved to the end."""
    post = np.zeros_like(pre)
    for row, ids in enumerate(pre):
        tokens = ids[ids != 0]
        post[row, : tokens.size] = tokens
    return post


def windows(count: int = 5, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(count, WINDOW)).astype("float32")


def token_ids(count: int = 4, seed: int = 0) -> np.ndarray:
    """Token rows of different lengths, pre-padded with 0 like keras.utils.pad_sequences."""
    rng = np.random.default_rng(seed)
    rows = np.zeros((count, MAX_LEN), dtype="int32")
    for row in range(count):
        length = 3 + row * 2
        rows[row, MAX_LEN - length :] = rng.integers(1, VOCAB, size=length)
    return rows


def recurrent_layers(model: keras.Model) -> list[keras.layers.RNN]:
    """Every RNN layer of a model, looking inside Bidirectional wrappers."""
    found: list[keras.layers.RNN] = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Bidirectional):
            found += [layer.forward_layer, layer.backward_layer]
        elif isinstance(layer, keras.layers.RNN):
            found.append(layer)
    return found


# --- series --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("horizon", [1, 3])
@pytest.mark.parametrize("family", SERIES_FAMILIES)
def test_series_family_predicts_horizon(family: str, horizon: int) -> None:
    model = build_series_model(family, WINDOW, horizon, **SMALL)
    prediction = model.predict(windows(), verbose=0)
    assert prediction.shape == (5, horizon)
    assert np.isfinite(prediction).all()
    assert model.name == f"series_{family}"


@pytest.mark.parametrize("merge_mode", MERGE_MODES)
def test_series_bidirectional_merge_modes(merge_mode: str) -> None:
    model = build_series_model(
        "scratch_rnn", WINDOW, 3, bidirectional=True, merge_mode=merge_mode, layers=2, **SMALL
    )
    wrappers = [layer for layer in model.layers if isinstance(layer, keras.layers.Bidirectional)]
    assert len(wrappers) == 2
    assert all(wrapper.merge_mode == merge_mode for wrapper in wrappers)
    assert model(windows()).shape == (5, 3)


@pytest.mark.parametrize("family", RECURRENT_CELLS)
def test_series_stacked_layers_return_sequences_except_last(family: str) -> None:
    model = build_series_model(family, WINDOW, 3, layers=2, **SMALL)
    stack = recurrent_layers(model)
    assert [layer.return_sequences for layer in stack] == [True, False]
    assert model(windows()).shape == (5, 3)


@pytest.mark.parametrize("cell", RECURRENT_CELLS)
def test_series_conv1d_rnn_uses_requested_cell(cell: str) -> None:
    model = build_series_model("conv1d_rnn", WINDOW, 3, cell=cell, dilation_rate=2, conv_layers=2, **SMALL)
    expected = {
        "simple_rnn": keras.layers.SimpleRNN,
        "gru": keras.layers.GRU,
        "lstm": keras.layers.LSTM,
        "scratch_rnn": keras.layers.RNN,
    }[cell]
    (layer,) = recurrent_layers(model)
    assert type(layer) is expected
    if cell == "scratch_rnn":
        assert isinstance(layer.cell, ScratchRNNCell)
    assert sum(isinstance(layer, keras.layers.Conv1D) for layer in model.layers) == 2
    assert model(windows()).shape == (5, 3)


@pytest.mark.parametrize("family", SERIES_FAMILIES)
def test_series_mask_value_builds_masking(family: str) -> None:
    model = build_series_model(family, WINDOW, 3, mask_value=-9.0, dense_units=4, **SMALL)
    assert any(isinstance(layer, keras.layers.Masking) for layer in model.layers)
    x = windows()
    x[:, :3] = -9.0
    prediction = model(x)
    assert prediction.shape == (5, 3)
    assert np.isfinite(np.asarray(prediction)).all()


def test_series_masked_steps_are_skipped_by_recurrent_layers() -> None:
    long = build_series_model("lstm", WINDOW, 2, mask_value=-9.0, **SMALL)
    short = build_series_model("lstm", WINDOW - 3, 2, **SMALL)
    short.set_weights(long.get_weights())
    x = windows()
    padded = x.copy()
    padded[:, :3] = -9.0
    np.testing.assert_allclose(long(padded), short(x[:, 3:]), atol=1e-6)


# --- text ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("family", TEXT_FAMILIES)
def test_text_family_predicts_probability(family: str) -> None:
    model = build_text_model(family, VOCAB, MAX_LEN, **TEXT_SMALL)
    prediction = model.predict(token_ids(), verbose=0)
    assert prediction.shape == (4, 1)
    assert ((prediction >= 0) & (prediction <= 1)).all()
    assert model.name == f"text_{family}"


def test_text_strided_conv_and_extras_build() -> None:
    model = build_text_model(
        "conv1d_rnn",
        VOCAB,
        MAX_LEN,
        strides=2,
        conv_layers=2,
        bidirectional=True,
        merge_mode="sum",
        dense_units=3,
        head_dropout=0.2,
        cell="gru",
        **TEXT_SMALL,
    )
    prediction = np.asarray(model(token_ids()))
    assert prediction.shape == (4, 1)
    assert ((prediction >= 0) & (prediction <= 1)).all()


def test_text_all_padding_row_gives_a_probability() -> None:
    rows = token_ids()
    rows[0] = 0
    for family in ("dense", "conv1d", "lstm"):
        prediction = np.asarray(build_text_model(family, VOCAB, MAX_LEN, **TEXT_SMALL)(rows))
        assert np.isfinite(prediction).all(), family


@pytest.mark.parametrize("family", TEXT_FAMILIES)
def test_text_prediction_ignores_padding(family: str) -> None:
    """Same tokens, pre- or post-padded, to max_len 12 or 16: the mask makes the predictions equal."""
    bidirectional = family in ("gru", "scratch_rnn")
    options = {**TEXT_SMALL, "bidirectional": bidirectional, "conv_layers": 2, "dilation_rate": 2}
    model = build_text_model(family, VOCAB, MAX_LEN, **options)
    longer = build_text_model(family, VOCAB, MAX_LEN + 4, **options)
    longer.set_weights(model.get_weights())
    pre = token_ids()
    post = post_padded(pre)
    pre_longer = np.pad(pre, ((0, 0), (4, 0)))
    expected = np.asarray(model(pre))
    np.testing.assert_allclose(model(post), expected, atol=1e-5)
    np.testing.assert_allclose(longer(pre_longer), expected, atol=1e-5)
    # The check has teeth: changing a real token does change the prediction.
    changed = pre.copy()
    changed[:, -1] = changed[:, -1] % (VOCAB - 1) + 1
    assert not np.allclose(model(changed), expected, atol=1e-7)


# --- dropout -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("family", RECURRENT_FAMILIES)
def test_dropout_is_set_on_every_recurrent_layer(family: str) -> None:
    model = build_series_model(
        family, WINDOW, layers=2, dropout=0.25, recurrent_dropout=0.125, bidirectional=True, **SMALL
    )
    stack = recurrent_layers(model)
    assert len(stack) == 4
    for layer in stack:
        assert layer.cell.dropout == pytest.approx(0.25)
        assert layer.cell.recurrent_dropout == pytest.approx(0.125)


@pytest.mark.parametrize("family", ["scratch_rnn", "lstm"])
def test_dropout_acts_in_training_only(family: str) -> None:
    with_dropout = build_series_model(family, WINDOW, dropout=0.5, recurrent_dropout=0.5, seed=1, **SMALL)
    without = build_series_model(family, WINDOW, **SMALL)
    without.set_weights(with_dropout.get_weights())
    x = windows()
    np.testing.assert_allclose(with_dropout(x, training=False), without(x, training=False), atol=1e-6)
    assert not np.allclose(with_dropout(x, training=True), without(x), atol=1e-4)
    np.testing.assert_allclose(without(x, training=True), without(x, training=False), atol=1e-6)


# --- the scratch cell ----------------------------------------------------------------------------------


@pytest.mark.parametrize("return_sequences", [False, True])
def test_scratch_cell_matches_simple_rnn(return_sequences: bool) -> None:
    x = np.random.default_rng(3).normal(size=(3, 6, 2)).astype("float32")
    scratch = keras.layers.RNN(ScratchRNNCell(5), return_sequences=return_sequences)
    reference = keras.layers.SimpleRNN(5, return_sequences=return_sequences)
    scratch.build(x.shape)
    reference.build(x.shape)
    # Names and shapes line up, and copying works in both directions.
    assert [w.name for w in scratch.weights] == [w.name for w in reference.weights]
    assert [w.shape for w in scratch.weights] == [w.shape for w in reference.weights]
    rng = np.random.default_rng(4)
    reference.set_weights([rng.normal(scale=0.5, size=w.shape) for w in reference.weights])
    scratch.set_weights(reference.get_weights())
    expected = np.asarray(reference(x))
    assert expected.shape == ((3, 6, 5) if return_sequences else (3, 5))
    np.testing.assert_allclose(scratch(x), expected, atol=1e-5)
    scratch.set_weights([rng.normal(scale=0.5, size=w.shape) for w in scratch.weights])
    reference.set_weights(scratch.get_weights())
    np.testing.assert_allclose(reference(x), scratch(x), atol=1e-5)


def test_scratch_cell_config_round_trip() -> None:
    cell = ScratchRNNCell(3, dropout=0.1, recurrent_dropout=0.2, seed=7)
    config = cell.get_config()
    assert (config["units"], config["dropout"], config["recurrent_dropout"], config["seed"]) == (
        3,
        0.1,
        0.2,
        7,
    )
    again = ScratchRNNCell.from_config(config)
    assert (again.units, again.state_size, again.output_size) == (3, 3, 3)


@pytest.mark.parametrize(
    ("arguments", "name"),
    [
        ({"units": 0}, "units"),
        ({"units": 2, "dropout": 1.0}, "dropout"),
        ({"units": 2, "recurrent_dropout": -0.1}, "recurrent_dropout"),
    ],
)
def test_scratch_cell_rejects_bad_arguments(arguments: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        ScratchRNNCell(**arguments)


def test_models_with_custom_layers_save_and_load(tmp_path: Any) -> None:
    series = build_series_model("scratch_rnn", WINDOW, 2, layers=2, bidirectional=True, dropout=0.1, **SMALL)
    text = build_text_model("conv1d", VOCAB, MAX_LEN, strides=2, **TEXT_SMALL)
    for model, x, y in ((series, windows(), np.zeros((5, 2))), (text, token_ids(), np.array([0, 1, 0, 1]))):
        model.fit(x, y, epochs=1, batch_size=len(x), verbose=0)  # trained, so the optimizer state saves too
        path = tmp_path / f"{model.name}.keras"
        model.save(path)
        loaded = keras.models.load_model(path)
        np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


# --- helpers, seeds and validation ---------------------------------------------------------------------


def test_seed_makes_weights_reproducible_and_count_parameters() -> None:
    first = build_series_model("gru", WINDOW, seed=5, **SMALL)
    second = build_series_model("gru", WINDOW, seed=5, **SMALL)
    for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert count_parameters(first) == first.count_params() > 0


@pytest.mark.parametrize(
    ("build", "options"),
    [
        (
            build_text_model,
            {"family": "lstm", "bidirectional": True, "layers": 2, "dropout": 0.2, "head_dropout": 0.2},
        ),
        (build_series_model, {"family": "conv1d_rnn", "cell": "gru", "dropout": 0.2}),
    ],
)
def test_seeded_weights_do_not_depend_on_other_threads_drawing_from_python_random(
    build: Any, options: dict[str, Any]
) -> None:
    """Keras draws each unseeded layer's seed from Python's global generator, which every thread
    shares; a seeded build draws them from its own generator, so the weights and dropout seeds repeat
    while another thread draws, and equal those of an undisturbed build."""
    shape = (VOCAB, MAX_LEN) if build is build_text_model else (WINDOW,)
    small = TEXT_SMALL if build is build_text_model else SMALL
    family = options.pop("family")
    quiet = build(family, *shape, seed=11, **small, **options)
    with DrawingThread() as drawing:
        disturbed = [build(family, *shape, seed=11, **small, **options) for _ in range(3)]
    assert drawing.draws > 100  # the other thread did run during the builds
    for model in disturbed:
        for a, b in zip(quiet.get_weights(), model.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
        assert dropout_seeds(model) == dropout_seeds(quiet)
    assert dropout_seeds(quiet)  # the dropout seeds are compared too


def dropout_seeds(model: keras.Model) -> list[list[int]]:
    """The state of every seed generator in the model (dropout masks), nested layers and cells included."""
    layers = model._flatten_layers()  # model.layers is the top level only; cells sit inside RNN layers
    return [
        np.asarray(layer.seed_generator.state).tolist()
        for layer in layers
        if hasattr(layer, "seed_generator")
    ]


def test_unseeded_builds_still_draw_from_python_random() -> None:
    """Outside a seeded build Keras keeps drawing default seeds from the global generator."""
    import random

    random.seed(3)
    first = build_series_model("dense", WINDOW, **SMALL)
    random.seed(3)
    second = build_series_model("dense", WINDOW, **SMALL)
    third = build_series_model("dense", WINDOW, **SMALL)
    for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(second.get_weights()[0], third.get_weights()[0])


def test_unknown_family_lists_valid_ones() -> None:
    with pytest.raises(ValueError, match="family") as error:
        build_series_model("transformer", WINDOW)
    assert all(family in str(error.value) for family in SERIES_FAMILIES)
    with pytest.raises(ValueError, match="'transformer'"):
        build_text_model("transformer", VOCAB, MAX_LEN)


@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("window_size", 0),
        ("horizon", 0),
        ("horizon", 1.5),
        ("units", 0),
        ("layers", 0),
        ("dropout", 1.0),
        ("recurrent_dropout", -0.5),
        ("bidirectional", "yes"),
        ("merge_mode", "max"),
        ("cell", "transformer"),
        ("filters", 0),
        ("kernel_size", True),
        ("strides", 0),
        ("dilation_rate", 0),
        ("conv_layers", 0),
        ("dense_units", -1),
        ("mask_value", float("nan")),
        ("learning_rate", 0.0),
        ("loss", "mae"),
        ("seed", -1),
    ],
)
def test_series_bad_argument_is_named(argument: str, value: Any) -> None:
    arguments: dict[str, Any] = {"family": "lstm", "window_size": WINDOW, argument: value}
    with pytest.raises(ValueError, match=re.escape(argument)):
        build_series_model(**arguments)


@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("vocab_size", 1),
        ("max_len", 0),
        ("embedding_dim", 0),
        ("head_dropout", 1.5),
        ("merge_mode", None),
        ("learning_rate", -1.0),
    ],
)
def test_text_bad_argument_is_named(argument: str, value: Any) -> None:
    arguments: dict[str, Any] = {"family": "gru", "vocab_size": VOCAB, "max_len": MAX_LEN, argument: value}
    with pytest.raises(ValueError, match=re.escape(argument)):
        build_text_model(**arguments)


def test_strides_and_dilation_together_are_rejected() -> None:
    with pytest.raises(ValueError, match="strides and dilation_rate"):
        build_series_model("conv1d", WINDOW, strides=2, dilation_rate=2)


def test_numpy_integers_from_a_tuner_are_accepted() -> None:
    model = build_series_model(
        "conv1d", np.int64(WINDOW), np.int64(2), units=np.int32(4), filters=np.int64(4)
    )
    assert model(windows()).shape == (5, 2)


@pytest.mark.parametrize(
    "extras",
    [
        {"family": "dense", "bigram_buckets": 64, "embedding_dropout": 0.2},
        {"family": "gru", "pooling": "max", "bidirectional": True},
        {"family": "conv1d_rnn", "cell": "gru", "strides": 2, "pooling": "average"},
    ],
)
def test_text_pooling_bigrams_and_embedding_dropout_build(extras: dict[str, Any]) -> None:
    model = build_text_model(vocab_size=VOCAB, max_len=MAX_LEN, **{**TEXT_SMALL, **extras})
    assert model(token_ids()).shape == (4, 1)


@pytest.mark.parametrize(
    ("argument", "value"),
    [("pooling", "first"), ("embedding_dropout", 1.0), ("bigram_buckets", -1)],
)
def test_text_new_bad_argument_is_named(argument: str, value: Any) -> None:
    with pytest.raises(ValueError, match=re.escape(argument)):
        build_text_model("dense", VOCAB, MAX_LEN, **{argument: value})


def test_hashed_bigrams_hash_real_pairs_and_leave_padding_empty() -> None:
    from seqlab.models.cells import HashedBigrams

    ids = np.array([[3, 5, 7, 0, 0], [0, 0, 4, 9, 0]], dtype="int32")
    pairs = np.asarray(HashedBigrams(97)(ids))

    def bucket(a: int, b: int) -> int:
        return (a * 1000003 + b) % 97 + 1

    np.testing.assert_array_equal(pairs[0], [bucket(3, 5), bucket(5, 7), 0, 0, 0])
    np.testing.assert_array_equal(pairs[1], [0, 0, bucket(4, 9), 0, 0])
    with pytest.raises(ValueError, match="buckets must be a positive integer"):
        HashedBigrams(0)


def test_bigram_bag_ignores_padding_side_and_saves(tmp_path: Path) -> None:
    model = build_text_model("dense", VOCAB, MAX_LEN, bigram_buckets=64, seed=4, **TEXT_SMALL)
    assert "bigram_embedding" in [layer.name for layer in model.layers]
    pre = token_ids()
    post = post_padded(pre)
    np.testing.assert_allclose(model.predict(pre, verbose=0), model.predict(post, verbose=0), atol=1e-6)
    model.save(tmp_path / "bigrams.keras")
    loaded = keras.models.load_model(tmp_path / "bigrams.keras")
    np.testing.assert_allclose(loaded.predict(pre, verbose=0), model.predict(pre, verbose=0), atol=1e-6)


# --- nbsvm ---------------------------------------------------------------------------------------------


def test_naive_bayes_ngrams_feature_set_counts_each_real_ngram_once() -> None:
    from seqlab.models.cells import NaiveBayesNgrams

    layer = NaiveBayesNgrams(10, max_n=3, buckets=97)
    # A repeated token, a repeated pair, padding on both sides and an id beyond the vocabulary ([UNK]).
    ids = np.array([[0, 3, 5, 3, 5, 12, 0]], dtype="int32")
    features = np.asarray(layer.feature_ids(ids))[0]

    def gram(*tokens: int) -> int:
        value = 0
        for token in tokens:
            value = value * 1000003 + token
        return 10 + value % 97

    expected = {3, 5, 1, gram(3, 5), gram(5, 3), gram(5, 12), gram(3, 5, 3), gram(5, 3, 5), gram(3, 5, 12)}
    present = features[features > 0]
    assert features.shape == (21,)
    assert sorted(present.tolist()) == sorted(expected)  # each once, nothing for padding


def test_naive_bayes_ngrams_adapt_sets_log_count_ratios_from_the_review_sets() -> None:
    from seqlab.models.cells import NaiveBayesNgrams

    layer = NaiveBayesNgrams(6, max_n=1)
    ids = np.array([[2, 2, 3], [2, 4, 0], [5, 0, 0], [3, 5, 0]], dtype="int32")
    labels = np.array([1, 1, 0, 0])
    layer.adapt(ids, labels)
    # Reviews containing each token: positive (2: 2, 3: 1, 4: 1), negative (3: 1, 5: 2); smoothing 1.
    positive = np.array([0, 0, 2, 1, 1, 0], dtype=float) + 1  # padding (id 0) gets only the smoothing
    negative = np.array([0, 0, 0, 1, 0, 2], dtype=float) + 1
    expected = np.log(positive / positive.sum()) - np.log(negative / negative.sum())
    expected[0] = 0.0
    np.testing.assert_allclose(np.asarray(layer.ratios), expected, rtol=1e-6)
    with pytest.raises(ValueError, match="one label per review"):
        layer.adapt(ids, labels[:3])
    with pytest.raises(ValueError, match="both classes"):
        layer.adapt(ids, np.ones(4))
    with pytest.raises(ValueError, match="max_n must be an integer >= 1"):
        NaiveBayesNgrams(6, max_n=0)


def test_nbsvm_model_saves_with_its_ratios_and_ignores_padding_side(tmp_path: Path) -> None:
    from seqlab.training import adapt_to_training_data

    model = build_text_model("nbsvm", VOCAB, MAX_LEN, ngram=2, ngram_buckets=101, seed=3)
    pre = np.concatenate([token_ids(4, seed=1), token_ids(4, seed=2)])
    assert adapt_to_training_data(model, pre, np.arange(8) % 2) == 1
    ratios = np.asarray(model.get_layer("naive_bayes_ngrams").ratios)
    assert np.abs(ratios).max() > 0.1 and ratios[0] == 0.0
    post = post_padded(pre)
    np.testing.assert_allclose(model.predict(pre, verbose=0), model.predict(post, verbose=0), atol=1e-6)
    model.save(tmp_path / "nbsvm.keras")
    loaded = keras.models.load_model(tmp_path / "nbsvm.keras")
    np.testing.assert_allclose(np.asarray(loaded.get_layer("naive_bayes_ngrams").ratios), ratios)
    np.testing.assert_allclose(loaded.predict(pre, verbose=0), model.predict(pre, verbose=0), atol=1e-6)


def test_text_hybrid_starts_as_its_nbsvm_and_learns_a_correction(tmp_path: Path) -> None:
    from seqlab.families import applicable, model_label
    from seqlab.training import adapt_to_training_data

    options = {"units": 4, "embedding_dim": 4, "ngram": 2, "ngram_buckets": 101, "seed": 3}
    hybrid = build_text_model("lstm", VOCAB, MAX_LEN, bidirectional=True, anchor="nbsvm", **options)
    reviews = np.concatenate([token_ids(4, seed=1), token_ids(4, seed=2)])
    assert adapt_to_training_data(hybrid, reviews, np.arange(8) % 2) == 1  # the NBSVM part's ratios
    logit = keras.Model(hybrid.inputs, hybrid.get_layer("naive_bayes_ngrams").output)
    untrained = 1 / (1 + np.exp(-logit.predict(reviews, verbose=0)))
    np.testing.assert_allclose(hybrid.predict(reviews, verbose=0), untrained, atol=1e-6)
    hybrid.fit(reviews, (np.arange(8) % 2).astype("float32"), epochs=2, verbose=0)
    assert np.abs(np.asarray(hybrid.get_layer("correction").kernel)).max() > 0  # the body now corrects
    hybrid.save(tmp_path / "hybrid.keras")
    loaded = keras.models.load_model(tmp_path / "hybrid.keras")
    np.testing.assert_allclose(
        loaded.predict(reviews, verbose=0), hybrid.predict(reviews, verbose=0), atol=1e-6
    )
    hyperparameters = {"family": "lstm", "bidirectional": True, "units": 4, "anchor": "nbsvm", "ngram": 2}
    assert model_label(hyperparameters) == "hybrid bidirectional lstm(4)"
    assert applicable(hyperparameters)["ngram"] == 2  # the hybrid's NBSVM reads it
    plain = {"family": "nbsvm", "anchor": "nbsvm", "ngram": 2}  # an NBSVM anchored on itself is itself
    assert model_label(plain) == "nbsvm" and "anchor" not in applicable(plain)
    assert (
        build_text_model("nbsvm", VOCAB, MAX_LEN, anchor="nbsvm", ngram=2, ngram_buckets=101).name
        == "text_nbsvm"
    )


def test_frozen_text_hybrid_starts_as_a_fitted_nbsvm_that_training_leaves_alone(tmp_path: Path) -> None:
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    from seqlab.families import applicable, model_label
    from seqlab.training import adapt_to_training_data

    options = {"units": 4, "embedding_dim": 4, "ngram": 2, "ngram_buckets": 101, "seed": 3}
    hybrid = build_text_model(
        "lstm", VOCAB, MAX_LEN, anchor="nbsvm", anchor_training="frozen", anchor_c=2.0, **options
    )
    nbsvm = hybrid.get_layer("naive_bayes_ngrams")
    assert not nbsvm.trainable_weights and nbsvm.logistic_c == 2.0
    reviews = np.concatenate([token_ids(4, seed=1), token_ids(4, seed=2), token_ids(4, seed=3)])
    labels = np.arange(12) % 2
    adapt_to_training_data(hybrid, reviews, labels)
    # The weights are scikit-learn's logistic regression on the ratio-scaled n-gram sets (NBSVM).
    features = np.asarray(nbsvm.feature_ids(reviews))
    ratios = np.asarray(nbsvm.ratios)
    design = np.zeros((12, nbsvm.features))
    for row, ids in enumerate(features):
        design[row, ids[ids > 0]] = ratios[ids[ids > 0]]
    expected = LogisticRegression(C=2.0, solver="liblinear", dual=True, max_iter=1000, random_state=0)
    expected.fit(sparse.csr_matrix(design), labels)
    np.testing.assert_allclose(np.asarray(nbsvm.kernel), expected.coef_[0], atol=1e-5)
    np.testing.assert_allclose(
        hybrid.predict(reviews, verbose=0)[:, 0], expected.predict_proba(design)[:, 1], atol=1e-5
    )
    kernel = np.asarray(nbsvm.kernel).copy()
    hybrid.fit(reviews, labels.astype("float32"), epochs=2, verbose=0)
    np.testing.assert_array_equal(np.asarray(nbsvm.kernel), kernel)  # frozen
    assert np.abs(np.asarray(hybrid.get_layer("correction").kernel)).max() > 0  # the body learned
    hybrid.save(tmp_path / "frozen.keras")
    loaded = keras.models.load_model(tmp_path / "frozen.keras")
    assert not loaded.get_layer("naive_bayes_ngrams").trainable
    np.testing.assert_allclose(
        loaded.predict(reviews, verbose=0), hybrid.predict(reviews, verbose=0), atol=1e-6
    )
    hyperparameters = {"family": "lstm", "units": 4, "anchor": "nbsvm", "anchor_training": "frozen"}
    assert model_label(hyperparameters) == "hybrid lstm(4) on frozen nbsvm"
    assert applicable({**hyperparameters, "anchor_c": 0.3})["anchor_c"] == 0.3
    # Neither NBSVM alone nor a pure or series model reads them.
    for other in (
        {"family": "nbsvm", "anchor": "nbsvm"},
        {"family": "lstm"},
        {"family": "gru", "anchor": "baseline"},
    ):
        assert not {"anchor_training", "anchor_c"} & set(
            applicable({**other, "anchor_training": "frozen", "anchor_c": 1})
        )
    with pytest.raises(ValueError, match="anchor_training must be one of end_to_end, frozen; got 'fixed'"):
        build_text_model("lstm", VOCAB, MAX_LEN, anchor="nbsvm", anchor_training="fixed")
    with pytest.raises(ValueError, match="anchor_c must be a positive finite number"):
        build_text_model("lstm", VOCAB, MAX_LEN, anchor="nbsvm", anchor_training="frozen", anchor_c=0)


# --------------------------------------------------------------------------- images read row by row


def digit_rows(count: int = 6, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random(size=(count, 5, 4)).astype("float32")


@pytest.mark.parametrize(
    ("family", "options"),
    [("gru", {}), ("lstm", {"bidirectional": True}), ("dense", {}), ("conv1d", {"kernel_size": 2})],
)
def test_rows_model_gives_class_probabilities(family: str, options: dict[str, Any]) -> None:
    from seqlab.models.builders import build_rows_model

    model = build_rows_model(family, 5, 4, 3, units=4, filters=4, seed=0, **options)
    assert model.input_shape == (None, 5, 4)
    assert model.output_shape == (None, 3)
    probabilities = model.predict(digit_rows(), verbose=0)
    assert probabilities.shape == (6, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert model.loss == "sparse_categorical_crossentropy"
    again = build_rows_model(family, 5, 4, 3, units=4, filters=4, seed=0, **options)
    np.testing.assert_allclose(again.predict(digit_rows(), verbose=0), probabilities, atol=1e-6)


@pytest.mark.slow
def test_rows_model_trains_on_labels_and_saves(tmp_path: Path) -> None:
    from seqlab.models.builders import build_rows_model

    model = build_rows_model("gru", 5, 4, 3, units=4, seed=1, learning_rate=0.01)
    x = digit_rows(12, seed=1)
    model.fit(x, np.arange(12) % 3, epochs=1, verbose=0)
    path = tmp_path / "rows.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"rows": 0}, "rows must be an integer >= 1"),
        ({"columns": 2.5}, "columns must be an integer >= 1"),
        ({"classes": 1}, "classes must be an integer >= 2"),
        ({"family": "transformer"}, "family"),
        ({"learning_rate": 0.0}, "learning_rate must be a positive finite number"),
        ({"dropout": 1.0}, r"dropout must be a number in \[0, 1\)"),
    ],
)
def test_rows_model_rejects_bad_arguments_naming_them(arguments: dict[str, Any], message: str) -> None:
    from seqlab.models.builders import build_rows_model

    values: dict[str, Any] = {"family": "gru", "rows": 5, "columns": 4, "classes": 3, **arguments}
    with pytest.raises(ValueError, match=message):
        build_rows_model(**values)
