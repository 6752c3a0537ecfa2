from __future__ import annotations

import gzip
import re
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from seqlab.data.mnist import (
    IMAGE_MAGIC,
    LABEL_MAGIC,
    TEST_FILES,
    TRAIN_FILES,
    MnistSplit,
    read_idx_images,
    read_idx_labels,
    read_mnist,
)
from seqlab.errors import DataFormatError

N, ROWS, COLS = 6, 3, 4
IMAGES = (np.arange(N * ROWS * COLS, dtype=np.int64) * 7 % 256).astype(np.uint8).reshape(N, ROWS, COLS)
LABELS = np.array([5, 0, 4, 1, 9, 2], dtype=np.uint8)


def idx_bytes(magic: int, dims: tuple[int, ...], data: bytes) -> bytes:
    """An IDX file: big-endian magic, one uint32 per dimension, then the raw bytes."""
    return struct.pack(f">I{len(dims)}I", magic, *dims) + data


def image_bytes(images: np.ndarray = IMAGES) -> bytes:
    return idx_bytes(IMAGE_MAGIC, images.shape, images.tobytes())


def label_bytes(labels: np.ndarray = LABELS) -> bytes:
    return idx_bytes(LABEL_MAGIC, labels.shape, labels.tobytes())


def write(path: Path, content: bytes, gzipped: bool = False) -> Path:
    path.write_bytes(gzip.compress(content) if gzipped else content)
    return path


def names(path: Path) -> str:
    """A ``match`` pattern requiring the message to start with the file's path."""
    return "^" + re.escape(str(path)) + ": "


# --- round trips -------------------------------------------------------------------------------


@pytest.mark.parametrize("gzipped", [True, False])
def test_images_round_trip(tmp_path: Path, gzipped: bool) -> None:
    path = write(tmp_path / "images-idx3-ubyte", image_bytes(), gzipped)
    images = read_idx_images(path)
    assert images.dtype == np.uint8
    assert images.shape == (N, ROWS, COLS)
    np.testing.assert_array_equal(images, IMAGES)
    assert images.flags.writeable


@pytest.mark.parametrize("gzipped", [True, False])
def test_labels_round_trip(tmp_path: Path, gzipped: bool) -> None:
    path = write(tmp_path / "labels-idx1-ubyte", label_bytes(), gzipped)
    labels = read_idx_labels(path)
    assert labels.dtype == np.uint8
    assert labels.shape == (N,)
    np.testing.assert_array_equal(labels, LABELS)
    assert labels.flags.writeable


def test_gzip_detected_by_content_not_name(tmp_path: Path) -> None:
    raw_named_gz = write(tmp_path / "raw.gz", image_bytes())
    gz_named_raw = write(tmp_path / "gzipped.idx", image_bytes(), gzipped=True)
    np.testing.assert_array_equal(read_idx_images(raw_named_gz), IMAGES)
    np.testing.assert_array_equal(read_idx_images(gz_named_raw), IMAGES)


def test_accepts_str_path(tmp_path: Path) -> None:
    path = write(tmp_path / "labels", label_bytes())
    np.testing.assert_array_equal(read_idx_labels(str(path)), LABELS)


# --- error paths -------------------------------------------------------------------------------


@pytest.mark.parametrize("gzipped", [True, False])
def test_empty_file(tmp_path: Path, gzipped: bool) -> None:
    path = write(tmp_path / "empty", b"", gzipped)
    with pytest.raises(DataFormatError, match=names(path) + "empty file"):
        read_idx_images(path)
    with pytest.raises(DataFormatError, match=names(path) + "empty file"):
        read_idx_labels(path)


def test_bad_magic(tmp_path: Path) -> None:
    path = write(tmp_path / "images", idx_bytes(0x12345678, (N, ROWS, COLS), IMAGES.tobytes()))
    with pytest.raises(
        DataFormatError, match=names(path) + r"bad magic .*expected 2051.*found 305419896"
    ) as info:
        read_idx_images(path)
    assert "swapped" not in str(info.value)


def test_labels_file_read_as_images_says_swapped(tmp_path: Path) -> None:
    path = write(tmp_path / "labels.gz", label_bytes(), gzipped=True)
    with pytest.raises(
        DataFormatError, match=names(path) + r"bad magic .*expected 2051.*found 2049.*swapped"
    ):
        read_idx_images(path)


def test_images_file_read_as_labels_says_swapped(tmp_path: Path) -> None:
    path = write(tmp_path / "images.gz", image_bytes(), gzipped=True)
    with pytest.raises(
        DataFormatError, match=names(path) + r"bad magic .*expected 2049.*found 2051.*swapped"
    ):
        read_idx_labels(path)


def test_text_file_is_bad_magic(tmp_path: Path) -> None:
    path = write(tmp_path / "page.html", b"<html>Not Found</html>")
    with pytest.raises(DataFormatError, match=names(path) + "bad magic"):
        read_idx_images(path)


@pytest.mark.parametrize("length", [1, 3])
def test_too_short_for_magic(tmp_path: Path, length: int) -> None:
    path = write(tmp_path / "tiny", b"\x00" * length)
    with pytest.raises(DataFormatError, match=names(path) + rf"header shorter than required.*found {length}"):
        read_idx_images(path)


def test_image_header_too_short(tmp_path: Path) -> None:
    path = write(tmp_path / "images", struct.pack(">III", IMAGE_MAGIC, N, ROWS), gzipped=True)
    with pytest.raises(
        DataFormatError, match=names(path) + r"header shorter than required.*16 bytes, found 12"
    ):
        read_idx_images(path)


def test_label_header_too_short(tmp_path: Path) -> None:
    path = write(tmp_path / "labels", struct.pack(">IH", LABEL_MAGIC, N))
    with pytest.raises(
        DataFormatError, match=names(path) + r"header shorter than required.*8 bytes, found 6"
    ):
        read_idx_labels(path)


@pytest.mark.parametrize("gzipped", [True, False])
def test_truncated_images(tmp_path: Path, gzipped: bool) -> None:
    path = write(tmp_path / "images", image_bytes()[:-5], gzipped)
    expected = N * ROWS * COLS
    with pytest.raises(
        DataFormatError, match=names(path) + rf"truncated data.*{expected} bytes, found {expected - 5} bytes"
    ):
        read_idx_images(path)


def test_truncated_labels(tmp_path: Path) -> None:
    path = write(tmp_path / "labels", label_bytes()[:-1], gzipped=True)
    with pytest.raises(
        DataFormatError, match=names(path) + rf"truncated data.*{N} bytes, found {N - 1} bytes"
    ):
        read_idx_labels(path)


def test_trailing_bytes_images(tmp_path: Path) -> None:
    path = write(tmp_path / "images", image_bytes() + b"\x00\x00\x00", gzipped=True)
    with pytest.raises(DataFormatError, match=names(path) + "3 trailing extra bytes"):
        read_idx_images(path)


def test_trailing_bytes_labels(tmp_path: Path) -> None:
    path = write(tmp_path / "labels", label_bytes() + b"\x01")
    with pytest.raises(DataFormatError, match=names(path) + "1 trailing extra bytes"):
        read_idx_labels(path)


def test_label_out_of_range_names_index(tmp_path: Path) -> None:
    labels = LABELS.copy()
    labels[3] = 10
    labels[5] = 255
    path = write(tmp_path / "labels", label_bytes(labels), gzipped=True)
    with pytest.raises(
        DataFormatError, match=names(path) + r"label 10 at index 3 is outside 0\.\.9 \(2 such"
    ):
        read_idx_labels(path)


@pytest.mark.parametrize(
    ("dims", "what"),
    [((0, ROWS, COLS), "image count"), ((N, 0, COLS), "rows"), ((N, ROWS, 0), "columns")],
)
def test_zero_image_dimensions(tmp_path: Path, dims: tuple[int, int, int], what: str) -> None:
    path = write(tmp_path / "images", idx_bytes(IMAGE_MAGIC, dims, b""))
    with pytest.raises(DataFormatError, match=names(path) + f"zero dimensions.*{what} = 0"):
        read_idx_images(path)


def test_zero_labels(tmp_path: Path) -> None:
    path = write(tmp_path / "labels", idx_bytes(LABEL_MAGIC, (0,), b""), gzipped=True)
    with pytest.raises(DataFormatError, match=names(path) + "zero dimensions.*label count = 0"):
        read_idx_labels(path)


def _gz_truncated(content: bytes) -> bytes:
    return gzip.compress(content)[:-12]  # cut into the deflate stream: EOFError


def _gz_bad_crc(content: bytes) -> bytes:
    packed = bytearray(gzip.compress(content))
    packed[-8] ^= 0xFF  # CRC32 in the trailer: BadGzipFile
    return bytes(packed)


def _gz_bad_deflate(content: bytes) -> bytes:
    packed = bytearray(gzip.compress(content))
    packed[10] = 0xFF  # first deflate block header: invalid block type, zlib.error
    return bytes(packed)


def _gz_bad_header(content: bytes) -> bytes:
    packed = bytearray(gzip.compress(content))
    packed[2] = 7  # compression method other than deflate: BadGzipFile
    return bytes(packed)


@pytest.mark.parametrize(
    ("corrupt", "error_name"),
    [
        (_gz_truncated, "EOFError"),
        (_gz_bad_crc, "BadGzipFile"),
        (_gz_bad_deflate, "error"),
        (_gz_bad_header, "BadGzipFile"),
    ],
)
def test_corrupt_gzip(tmp_path: Path, corrupt: Callable[[bytes], bytes], error_name: str) -> None:
    path = tmp_path / "images.gz"
    path.write_bytes(corrupt(image_bytes()))
    with pytest.raises(DataFormatError, match=names(path) + rf"corrupt gzip stream \({error_name}"):
        read_idx_images(path)
    with pytest.raises(DataFormatError, match=names(path) + "corrupt gzip stream"):
        read_idx_labels(path)


def test_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_idx_images(tmp_path / "nope")


# --- MnistSplit --------------------------------------------------------------------------------


def test_split_checks_lengths() -> None:
    with pytest.raises(ValueError, match="6 images but 5 labels"):
        MnistSplit(images=IMAGES, labels=LABELS[:5])


def test_split_checks_shapes() -> None:
    with pytest.raises(ValueError, match="images must have shape"):
        MnistSplit(images=IMAGES.reshape(N, -1), labels=LABELS)
    with pytest.raises(ValueError, match="labels must have shape"):
        MnistSplit(images=IMAGES, labels=LABELS.reshape(N, 1))


# --- read_mnist --------------------------------------------------------------------------------


def write_split(folder: Path, files: tuple[str, str], n: int = N, gzipped: bool = True) -> None:
    write(folder / files[0], image_bytes(IMAGES[:n]), gzipped)
    write(folder / files[1], label_bytes(LABELS[:n]), gzipped)


def test_read_mnist_test_only(tmp_path: Path) -> None:
    write_split(tmp_path, TEST_FILES)
    mnist = read_mnist(tmp_path)
    assert mnist.train is None
    np.testing.assert_array_equal(mnist.test.images, IMAGES)
    np.testing.assert_array_equal(mnist.test.labels, LABELS)


def test_read_mnist_with_train(tmp_path: Path) -> None:
    write_split(tmp_path, TEST_FILES, n=4)
    write_split(tmp_path, TRAIN_FILES, gzipped=False)  # raw bytes under .gz names still read
    mnist = read_mnist(str(tmp_path))
    assert mnist.test.images.shape == (4, ROWS, COLS)
    assert mnist.train is not None
    np.testing.assert_array_equal(mnist.train.images, IMAGES)
    np.testing.assert_array_equal(mnist.train.labels, LABELS)


@pytest.mark.parametrize("missing", [0, 1])
def test_read_mnist_missing_test_file(tmp_path: Path, missing: int) -> None:
    write_split(tmp_path, TEST_FILES)
    gone = tmp_path / TEST_FILES[missing]
    gone.unlink()
    with pytest.raises(FileNotFoundError, match=re.escape(str(gone))):
        read_mnist(tmp_path)


def test_read_mnist_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "absent" / TEST_FILES[0]))):
        read_mnist(tmp_path / "absent")


@pytest.mark.parametrize("present", [0, 1])
def test_read_mnist_only_one_train_file(tmp_path: Path, present: int) -> None:
    write_split(tmp_path, TEST_FILES)
    write_split(tmp_path, TRAIN_FILES)
    other = tmp_path / TRAIN_FILES[1 - present]
    other.unlink()
    pattern = names(tmp_path / TRAIN_FILES[present]) + ".*" + re.escape(str(other)) + " is missing"
    with pytest.raises(DataFormatError, match=pattern):
        read_mnist(tmp_path)


def test_read_mnist_count_mismatch(tmp_path: Path) -> None:
    write(tmp_path / TEST_FILES[0], image_bytes(), gzipped=True)
    write(tmp_path / TEST_FILES[1], label_bytes(LABELS[:5]), gzipped=True)
    pattern = (
        names(tmp_path / TEST_FILES[0])
        + "6 images but "
        + re.escape(str(tmp_path / TEST_FILES[1]))
        + " has 5"
    )
    with pytest.raises(DataFormatError, match=pattern):
        read_mnist(tmp_path)


def test_read_mnist_train_count_mismatch(tmp_path: Path) -> None:
    write_split(tmp_path, TEST_FILES)
    write(tmp_path / TRAIN_FILES[0], image_bytes(IMAGES[:2]), gzipped=True)
    write(tmp_path / TRAIN_FILES[1], label_bytes(), gzipped=True)
    with pytest.raises(
        DataFormatError, match=names(tmp_path / TRAIN_FILES[0]) + "2 images but .* has 6 labels"
    ):
        read_mnist(tmp_path)


def test_read_mnist_swapped_files(tmp_path: Path) -> None:
    write(tmp_path / TEST_FILES[0], label_bytes(), gzipped=True)
    write(tmp_path / TEST_FILES[1], image_bytes(), gzipped=True)
    with pytest.raises(DataFormatError, match=names(tmp_path / TEST_FILES[0]) + "bad magic.*swapped"):
        read_mnist(tmp_path)
