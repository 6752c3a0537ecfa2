"""Strict reader for the official MNIST IDX files (gzipped or raw), so a bad download fails loudly."""

from __future__ import annotations

import gzip
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqlab.errors import DataFormatError

# IDX magic: two zero bytes, a type byte (0x08 = unsigned byte), then the number of dimensions.
IMAGE_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions (count, rows, columns)
LABEL_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension (count)
TEST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
TRAIN_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
NUM_CLASSES = 10

_GZIP_MAGIC = b"\x1f\x8b"
_MAGIC_BYTES = 4
_IMAGE_HEADER_BYTES = 16  # magic, count, rows, columns: four big-endian uint32
_LABEL_HEADER_BYTES = 8  # magic, count


@dataclass(frozen=True, eq=False)  # eq=False: comparing or hashing numpy arrays field by field is ambiguous
class MnistSplit:
    """Images and their labels, checked to line up so no caller can pair image i with the wrong label."""

    images: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        if self.images.ndim != 3:
            raise ValueError(f"images must have shape [n, rows, cols], got shape {self.images.shape}")
        if self.labels.ndim != 1:
            raise ValueError(f"labels must have shape [n], got shape {self.labels.shape}")
        if len(self.images) != len(self.labels):
            raise ValueError(f"{len(self.images)} images but {len(self.labels)} labels")


@dataclass(frozen=True, eq=False)
class MnistFiles:
    """The test split (always shipped) and the training split when its files are present."""

    test: MnistSplit
    train: MnistSplit | None


def read_idx_images(path: str | Path) -> np.ndarray:
    """Read an IDX3 image file into a writable uint8 array of shape [n, rows, cols]."""
    source = Path(path)
    payload = _read_payload(source)
    _check_magic(source, payload, IMAGE_MAGIC, "images")
    count, rows, cols = _read_header(source, payload, _IMAGE_HEADER_BYTES, "images")
    for name, value in (("image count", count), ("rows", rows), ("columns", cols)):
        if value == 0:
            raise DataFormatError(source, f"zero dimensions: the header gives {name} = 0")
    _check_data_size(
        source, payload, _IMAGE_HEADER_BYTES, count * rows * cols, f"{count} images of {rows}x{cols}"
    )
    # copy(): own the memory (writable, e.g. for torch.from_numpy) instead of viewing the read-only buffer.
    data = np.frombuffer(payload, dtype=np.uint8, offset=_IMAGE_HEADER_BYTES)
    return data.reshape(count, rows, cols).copy()


def read_idx_labels(path: str | Path) -> np.ndarray:
    """Read an IDX1 label file into a writable uint8 array of shape [n], every value a digit 0..9."""
    source = Path(path)
    payload = _read_payload(source)
    _check_magic(source, payload, LABEL_MAGIC, "labels")
    (count,) = _read_header(source, payload, _LABEL_HEADER_BYTES, "labels")
    if count == 0:
        raise DataFormatError(source, "zero dimensions: the header gives label count = 0")
    _check_data_size(source, payload, _LABEL_HEADER_BYTES, count, f"{count} labels")
    labels = np.frombuffer(payload, dtype=np.uint8, offset=_LABEL_HEADER_BYTES).copy()
    bad = np.flatnonzero(labels >= NUM_CLASSES)
    if bad.size:
        first = int(bad[0])
        raise DataFormatError(
            source,
            f"label {int(labels[first])} at index {first} is outside 0..{NUM_CLASSES - 1} "
            f"({bad.size} such labels in all)",
        )
    return labels


def read_mnist(folder: str | Path) -> MnistFiles:
    """Read the test split from ``folder`` and the training split when both of its files are there."""
    root = Path(folder)
    missing = [root / name for name in TEST_FILES if not (root / name).exists()]
    if missing:
        listed = ", ".join(str(path) for path in missing)
        raise FileNotFoundError(f"MNIST test file(s) missing: {listed}")
    test = _read_split(root / TEST_FILES[0], root / TEST_FILES[1])

    train_images, train_labels = (root / name for name in TRAIN_FILES)
    if not train_images.exists() and not train_labels.exists():
        return MnistFiles(test=test, train=None)
    for present, absent in ((train_images, train_labels), (train_labels, train_images)):
        if not absent.exists():
            raise DataFormatError(
                present,
                f"the matching training file {absent} is missing: both training files are needed, or neither",
            )
    return MnistFiles(test=test, train=_read_split(train_images, train_labels))


def _read_split(images_path: Path, labels_path: Path) -> MnistSplit:
    images = read_idx_images(images_path)
    labels = read_idx_labels(labels_path)
    if len(images) != len(labels):
        raise DataFormatError(
            images_path,
            f"{len(images)} images but {labels_path} has {len(labels)} labels: "
            "the two files do not belong together",
        )
    return MnistSplit(images=images, labels=labels)


def _read_payload(source: Path) -> bytes:
    """Return the file's bytes, gunzipped when they start with the gzip magic (whatever the name says)."""
    raw = source.read_bytes()
    if not raw:
        raise DataFormatError(source, "empty file (0 bytes)")
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        payload = gzip.decompress(raw)
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise DataFormatError(
            source, f"corrupt gzip stream ({type(error).__name__}: {error}); download the file again"
        ) from error
    if not payload:
        raise DataFormatError(source, "empty file (the gzip stream decompresses to 0 bytes)")
    return payload


def _check_magic(source: Path, payload: bytes, expected: int, kind: str) -> None:
    if len(payload) < _MAGIC_BYTES:
        raise DataFormatError(
            source,
            f"header shorter than required: need {_MAGIC_BYTES} bytes for the magic number, "
            f"found {len(payload)}",
        )
    (found,) = struct.unpack(">I", payload[:_MAGIC_BYTES])
    if found == expected:
        return
    message = (
        f"bad magic number for an IDX {kind} file: "
        f"expected {expected} (0x{expected:08x}), found {found} (0x{found:08x})"
    )
    other = {IMAGE_MAGIC: "an images", LABEL_MAGIC: "a labels"}.get(found)
    if other is not None:
        message += f"; this is {other} file: were the images and labels files swapped?"
    raise DataFormatError(source, message)


def _read_header(source: Path, payload: bytes, header_bytes: int, kind: str) -> tuple[int, ...]:
    """Return the big-endian uint32 sizes that follow the magic number."""
    if len(payload) < header_bytes:
        raise DataFormatError(
            source,
            f"header shorter than required: an IDX {kind} header needs {header_bytes} bytes, "
            f"found {len(payload)}",
        )
    sizes = (header_bytes - _MAGIC_BYTES) // 4
    return struct.unpack(f">{sizes}I", payload[_MAGIC_BYTES:header_bytes])


def _check_data_size(source: Path, payload: bytes, header_bytes: int, expected: int, described: str) -> None:
    found = len(payload) - header_bytes
    if found < expected:
        raise DataFormatError(
            source, f"truncated data: the header promises {described} = {expected} bytes, found {found} bytes"
        )
    if found > expected:
        raise DataFormatError(
            source,
            f"{found - expected} trailing extra bytes after the {expected} data bytes for {described}",
        )
