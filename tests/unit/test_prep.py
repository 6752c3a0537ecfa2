from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.prep.series import (
    Normalizer,
    make_split_windows,
    make_windows,
    split_series,
)
from seqlab.prep.text import LengthStats, encode, fit_vocabulary, pad, prepare_text

TRAIN_TEXTS = ["The cat sat on the mat.", "The dog sat!", "A cat, a dog; the end"]
TEST_TEXTS = ["The zebra sat", "cat"]


# --- vocabulary and encoding --------------------------------------------------------------------


def test_vocabulary_is_fitted_on_given_texts_only() -> None:
    vocabulary = fit_vocabulary(TRAIN_TEXTS, max_tokens=100)
    assert vocabulary[:2] == ["", "[UNK]"]
    # "the": 4, then "sat", "dog", "cat", "a" (2 each, ties by token, high to low), then singletons.
    assert vocabulary[2:7] == ["the", "sat", "dog", "cat", "a"]
    assert set(vocabulary[7:]) == {"on", "mat", "end"}
    assert "zebra" not in vocabulary
    assert encode(["zebra"], vocabulary)[0].tolist() == [1]


def test_vocabulary_is_deterministic_and_capped() -> None:
    first = fit_vocabulary(TRAIN_TEXTS, max_tokens=5)
    assert first == ["", "[UNK]", "the", "sat", "dog"]
    assert fit_vocabulary(list(TRAIN_TEXTS), max_tokens=5) == first


def test_encode_gives_int32_variable_length_ids() -> None:
    vocabulary = ["", "[UNK]", "the", "cat", "sat"]
    encoded = encode(["The CAT sat.", "", "the zebra", "dog"], vocabulary)
    assert [sequence.tolist() for sequence in encoded] == [[2, 3, 4], [], [2, 1], [1]]
    assert all(sequence.dtype == np.int32 for sequence in encoded)
    assert encode([], vocabulary) == []


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: fit_vocabulary([], 10), "texts"),
        (lambda: fit_vocabulary("just one string", 10), "texts"),
        (lambda: fit_vocabulary(["ok", 3], 10), "texts: item 1"),
        (lambda: fit_vocabulary(["ok"], 2), "max_tokens"),
        (lambda: fit_vocabulary(["ok"], 2.5), "max_tokens"),
        (lambda: encode(["ok"], ["the", "cat"]), "vocabulary"),
        (lambda: encode(["ok"], ["", "[UNK]", "a", "a"]), "repeated"),
    ],
)
def test_text_argument_errors(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


# --- padding ------------------------------------------------------------------------------------

SEQUENCES = [[1, 2, 3, 4], [5, 6], [7]]


@pytest.mark.parametrize(
    ("padding", "truncating", "expected", "expected_mask"),
    [
        ("post", "post", [[1, 2, 3], [5, 6, 0], [7, 0, 0]], [[1, 1, 1], [1, 1, 0], [1, 0, 0]]),
        ("post", "pre", [[2, 3, 4], [5, 6, 0], [7, 0, 0]], [[1, 1, 1], [1, 1, 0], [1, 0, 0]]),
        ("pre", "post", [[1, 2, 3], [0, 5, 6], [0, 0, 7]], [[1, 1, 1], [0, 1, 1], [0, 0, 1]]),
        ("pre", "pre", [[2, 3, 4], [0, 5, 6], [0, 0, 7]], [[1, 1, 1], [0, 1, 1], [0, 0, 1]]),
    ],
)
def test_pad_sides(
    padding: str, truncating: str, expected: list[list[int]], expected_mask: list[list[int]]
) -> None:
    matrix, mask = pad(SEQUENCES, 3, padding=padding, truncating=truncating)
    np.testing.assert_array_equal(matrix, np.array(expected))
    np.testing.assert_array_equal(mask, np.array(expected_mask, dtype=bool))
    assert matrix.dtype == np.int32
    assert mask.dtype == np.bool_


def test_pad_defaults_are_post() -> None:
    matrix, _ = pad(SEQUENCES, 3)
    np.testing.assert_array_equal(matrix, [[1, 2, 3], [5, 6, 0], [7, 0, 0]])


def test_pad_custom_value_colliding_with_a_token_id_still_masks_right() -> None:
    matrix, mask = pad([np.array([5, 6], dtype=np.int32), [], [6, 6, 6, 6]], 4, value=6)
    np.testing.assert_array_equal(matrix, [[5, 6, 6, 6], [6, 6, 6, 6], [6, 6, 6, 6]])
    np.testing.assert_array_equal(
        mask, [[True, True, False, False], [False, False, False, False], [True, True, True, True]]
    )


def test_pad_longer_max_len_and_empty_input() -> None:
    matrix, mask = pad([[3]], 5, padding="pre", value=-1)
    np.testing.assert_array_equal(matrix, [[-1, -1, -1, -1, 3]])
    np.testing.assert_array_equal(mask, [[False, False, False, False, True]])
    empty_matrix, empty_mask = pad([], 4)
    assert empty_matrix.shape == (0, 4)
    assert empty_mask.shape == (0, 4)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_len": 0}, "max_len: expected an integer >= 1, got 0"),
        ({"max_len": 2.0}, "max_len"),
        ({"max_len": True}, "max_len"),
        ({"max_len": 3, "padding": "middle"}, "padding: expected 'pre' or 'post', got 'middle'"),
        ({"max_len": 3, "truncating": "left"}, "truncating: expected 'pre' or 'post', got 'left'"),
        ({"max_len": 3, "value": 0.5}, "value"),
    ],
)
def test_pad_argument_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pad(SEQUENCES, **kwargs)


def test_prepare_text_fits_on_train_only() -> None:
    prepared = prepare_text(
        TRAIN_TEXTS, TEST_TEXTS, max_tokens=100, max_len=4, padding="pre", truncating="pre"
    )
    assert "zebra" not in prepared.vocabulary
    index = {token: position for position, token in enumerate(prepared.vocabulary)}
    np.testing.assert_array_equal(
        prepared.x_test, [[0, index["the"], 1, index["sat"]], [0, 0, 0, index["cat"]]]
    )
    np.testing.assert_array_equal(
        prepared.mask_test, [[False, True, True, True], [False, False, False, True]]
    )
    assert prepared.x_train.shape == (3, 4)
    assert prepared.mask_train.sum(axis=1).tolist() == [4, 3, 4]
    assert prepared.train_lengths == LengthStats(
        count=3, minimum=3, maximum=6, mean=5.0, median=6.0, truncated_fraction=2 / 3
    )
    assert prepared.test_lengths.count == 2
    assert prepared.test_lengths.truncated_fraction == 0.0


def test_prepare_text_validates_before_fitting() -> None:
    with pytest.raises(ValueError, match="padding"):
        prepare_text(TRAIN_TEXTS, TEST_TEXTS, max_tokens=100, max_len=4, padding="both")


# --- series: split and normalizer ---------------------------------------------------------------


def test_split_series_is_time_based() -> None:
    values = np.arange(10.0)
    train, test = split_series(values, 7)
    np.testing.assert_array_equal(train, np.arange(7.0))
    np.testing.assert_array_equal(test, [7.0, 8.0, 9.0])


@pytest.mark.parametrize("split_index", [0, 10, -1, 11])
def test_split_series_out_of_range(split_index: int) -> None:
    with pytest.raises(ValueError, match=f"split_index: {split_index} out of range"):
        split_series(np.arange(10.0), split_index)


def test_split_series_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="1-D"):
        split_series(np.zeros((3, 2)), 1)
    with pytest.raises(ValueError, match="NaN"):
        split_series(np.array([1.0, np.nan, 3.0]), 1)


def test_normalizer_fits_on_train_only_and_round_trips() -> None:
    values = np.array([1.0, 2.0, 3.0, 4.0, 100.0, 200.0])
    train, test = split_series(values, 4)
    normalizer = Normalizer.fit(train)
    assert normalizer.mean == pytest.approx(2.5)
    assert normalizer.std == pytest.approx(np.std([1.0, 2.0, 3.0, 4.0]))
    scaled = normalizer.transform(train)
    assert scaled.mean() == pytest.approx(0.0)
    assert scaled.std() == pytest.approx(1.0)
    np.testing.assert_allclose(normalizer.inverse_transform(normalizer.transform(test)), test)
    assert Normalizer.from_dict(normalizer.to_dict()) == normalizer


def test_normalizer_errors() -> None:
    with pytest.raises(ValueError, match="standard deviation is 0"):
        Normalizer.fit(np.full(5, 3.0))
    with pytest.raises(ValueError, match="empty"):
        Normalizer.fit(np.array([]))
    with pytest.raises(ValueError, match="std"):
        Normalizer(mean=0.0, std=0.0)
    with pytest.raises(ValueError, match="missing key"):
        Normalizer.from_dict({"mean": 1.0})
    with pytest.raises(ValueError, match="invalid values"):
        Normalizer.from_dict({"mean": "x", "std": 1.0})


# --- series: windows ----------------------------------------------------------------------------


def test_make_windows_hand_computed() -> None:
    inputs, targets = make_windows(np.arange(6.0), window_size=3)
    np.testing.assert_array_equal(inputs, [[0, 1, 2], [1, 2, 3], [2, 3, 4]])
    np.testing.assert_array_equal(targets, [[3], [4], [5]])


def test_make_windows_horizon_and_stride() -> None:
    values = np.arange(10.0) * 10
    inputs, targets = make_windows(values, window_size=3, horizon=2, stride=2)
    np.testing.assert_array_equal(inputs, [[0, 10, 20], [20, 30, 40], [40, 50, 60]])
    np.testing.assert_array_equal(targets, [[30, 40], [50, 60], [70, 80]])
    assert inputs.flags.c_contiguous
    assert targets.flags.c_contiguous


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"window_size": 0}, "window_size"),
        ({"window_size": 2, "horizon": 0}, "horizon"),
        ({"window_size": 2, "stride": 0}, "stride"),
        ({"window_size": 2.5}, "window_size"),
        ({"window_size": 5}, "too short"),
        ({"window_size": 4, "horizon": 2}, "too short"),
    ],
)
def test_make_windows_argument_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_windows(np.arange(5.0), **kwargs)


def naive_windows(values: list[float], window_size: int, horizon: int, stride: int) -> tuple[list, list]:
    inputs, targets = [], []
    start = 0
    while start + window_size + horizon <= len(values):
        inputs.append(values[start : start + window_size])
        targets.append([values[start + window_size + j] for j in range(horizon)])
        start += stride
    return inputs, targets


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=2, max_size=60),
    window_size=st.integers(1, 12),
    horizon=st.integers(1, 5),
    stride=st.integers(1, 6),
)
def test_make_windows_matches_naive_loop(
    values: list[float], window_size: int, horizon: int, stride: int
) -> None:
    if len(values) < window_size + horizon:
        with pytest.raises(ValueError, match="too short"):
            make_windows(np.array(values), window_size, horizon, stride)
        return
    inputs, targets = make_windows(np.array(values), window_size, horizon, stride)
    expected_inputs, expected_targets = naive_windows(values, window_size, horizon, stride)
    assert inputs.tolist() == expected_inputs
    assert targets.tolist() == expected_targets


# --- series: split windows ----------------------------------------------------------------------


def check_split_windows(
    values: np.ndarray,
    split_index: int,
    window_size: int,
    horizon: int,
    stride: int,
    validation_fraction: float,
) -> None:
    windows = make_split_windows(values, split_index, window_size, horizon, stride, validation_fraction)
    scaled = windows.normalizer.transform(values)
    # The normalizer only saw the training part.
    assert windows.normalizer.mean == pytest.approx(values[:split_index].mean())
    assert windows.normalizer.std == pytest.approx(values[:split_index].std())
    # No leakage across the split.
    assert windows.train_target_index.size > 0
    assert windows.train_target_index.max() < split_index
    if windows.validation_target_index.size:
        assert windows.validation_target_index.max() < split_index
        assert windows.validation_target_index.min() > windows.train_target_index.max()
    assert windows.test_target_index.min() == split_index
    assert windows.test_target_index.max() < values.size
    # Every window's targets and inputs are the right slices of the scaled series.
    for x, y, index in [
        (windows.x_train, windows.y_train, windows.train_target_index),
        (windows.x_validation, windows.y_validation, windows.validation_target_index),
        (windows.x_test, windows.y_test, windows.test_target_index),
    ]:
        assert x.shape == (index.shape[0], window_size)
        assert y.shape == (index.shape[0], horizon)
        np.testing.assert_allclose(y, scaled[index])
        input_index = index[:, :1] - window_size + np.arange(window_size)
        np.testing.assert_allclose(x, scaled[input_index])
        if index.shape[0] > 1:
            assert np.all(np.diff(index[:, 0]) == stride)


def test_make_split_windows_hand_computed() -> None:
    values = np.arange(20.0)
    windows = make_split_windows(
        values, split_index=14, window_size=3, horizon=2, stride=2, validation_fraction=0.25
    )
    # Candidates before the split start at 0, 2, 4, 6, 8 (targets 3-4, 5-6, 7-8, 9-10, 11-12);
    # ceil(5 * 0.25) = 2 go to validation (targets 9-10, 11-12); the training window with targets 7-8
    # does not overlap them, so it is kept.
    assert windows.train_target_index.tolist() == [[3, 4], [5, 6], [7, 8]]
    assert windows.validation_target_index.tolist() == [[9, 10], [11, 12]]
    # Test windows: first target at the split, every stride, up to the end of the series.
    assert windows.test_target_index.tolist() == [[14, 15], [16, 17], [18, 19]]
    np.testing.assert_allclose(windows.normalizer.inverse_transform(windows.x_test[0]), [11.0, 12.0, 13.0])
    assert windows.split_index == 14
    assert (windows.window_size, windows.horizon, windows.stride) == (3, 2, 2)


def test_make_split_windows_drops_training_windows_overlapping_validation() -> None:
    windows = make_split_windows(
        np.arange(30.0), split_index=20, window_size=4, horizon=3, stride=1, validation_fraction=0.2
    )
    # 14 candidates (targets start 4..17); 3 validation windows with first target 15, so training windows
    # must end before 15: last training targets are 12-14.
    assert windows.validation_target_index[:, 0].tolist() == [15, 16, 17]
    assert windows.train_target_index[-1].tolist() == [12, 13, 14]
    check_split_windows(np.arange(30.0), 20, 4, 3, 1, 0.2)


def test_make_split_windows_without_validation() -> None:
    windows = make_split_windows(np.sin(np.arange(50.0)), split_index=40, window_size=5)
    assert windows.x_validation.shape == (0, 5)
    assert windows.y_validation.shape == (0, 1)
    assert windows.train_target_index[:, 0].tolist() == list(range(5, 40))
    assert windows.test_target_index[:, 0].tolist() == list(range(40, 50))


@settings(max_examples=150, deadline=None)
@given(
    length=st.integers(10, 80),
    split_fraction=st.floats(0.3, 0.9),
    window_size=st.integers(1, 6),
    horizon=st.integers(1, 4),
    stride=st.integers(1, 4),
    validation_fraction=st.sampled_from([0.0, 0.1, 0.25, 0.4]),
    seed=st.integers(0, 2**16),
)
def test_make_split_windows_properties(
    length: int,
    split_fraction: float,
    window_size: int,
    horizon: int,
    stride: int,
    validation_fraction: float,
    seed: int,
) -> None:
    values = np.random.default_rng(seed).normal(size=length).cumsum()
    split_index = int(length * split_fraction)
    try:
        make_split_windows(values, split_index, window_size, horizon, stride, validation_fraction)
    except ValueError as error:
        # Only too-short configurations are allowed to fail.
        assert (
            "too short" in str(error)
            or "shorter than horizon" in str(error)
            or "leaves no training" in str(error)
        )
        return
    check_split_windows(values, split_index, window_size, horizon, stride, validation_fraction)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"split_index": 0}, "split_index"),
        ({"split_index": 3}, "split_index: training part of length 3 is too short"),
        ({"split_index": 19, "horizon": 2}, "test part of length 1 is shorter than horizon 2"),
        ({"split_index": 10, "validation_fraction": 1.0}, "validation_fraction"),
        ({"split_index": 10, "validation_fraction": -0.1}, "validation_fraction"),
        ({"split_index": 10, "validation_fraction": 0.99}, "leaves no training window"),
        ({"split_index": 10, "stride": 0}, "stride"),
    ],
)
def test_make_split_windows_errors(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"window_size": 3, **kwargs}
    with pytest.raises(ValueError, match=message):
        make_split_windows(np.arange(20.0), **arguments)


def test_make_split_windows_constant_training_part_is_refused() -> None:
    values = np.concatenate([np.zeros(10), np.arange(5.0)])
    with pytest.raises(ValueError, match="standard deviation is 0"):
        make_split_windows(values, 10, 3)
