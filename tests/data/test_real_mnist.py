"""The official MNIST test set from the data mirror, checked against the numbers in its PROVENANCE.md."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from seqlab.data.mnist import MnistFiles, read_mnist

REPO = Path(__file__).resolve().parents[2]
MIRROR_MNIST = Path(os.environ.get("SEQLAB_DATA_MIRROR", REPO.parent / "shared" / "data")) / "mnist"

pytestmark = [
    pytest.mark.data,
    pytest.mark.skipif(
        not MIRROR_MNIST.is_dir(), reason=f"no MNIST folder in the data mirror: {MIRROR_MNIST}"
    ),
]

DIGIT_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def mnist() -> MnistFiles:
    return read_mnist(MIRROR_MNIST)


def test_test_split_shape(mnist: MnistFiles) -> None:
    assert mnist.test.images.shape == (10_000, 28, 28)
    assert mnist.test.images.dtype == np.uint8
    assert mnist.test.labels.shape == (10_000,)
    assert mnist.test.labels.dtype == np.uint8


def test_digit_counts(mnist: MnistFiles) -> None:
    assert np.bincount(mnist.test.labels, minlength=10).tolist() == DIGIT_COUNTS


def test_mean_pixel(mnist: MnistFiles) -> None:
    assert round(float(mnist.test.images.mean(dtype=np.float64)), 2) == 33.79


def test_pixels_span_full_range(mnist: MnistFiles) -> None:
    assert int(mnist.test.images.min()) == 0
    assert int(mnist.test.images.max()) == 255


def test_no_training_files_in_mirror(mnist: MnistFiles) -> None:
    assert mnist.train is None
