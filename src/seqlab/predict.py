"""``seqlab predict``: a registered model on a file of raw inputs, printed as a table or written as CSV.

Input files, by the model's modality (its serving spec):

- series: a CSV with columns ``date`` and ``value`` (``time`` and ``value`` for a series without dates);
- text: a CSV with a ``review`` (or ``text``) column, or any other file: one review per line;
- image: a ``.npy`` array [n, 28, 28] of pixel values 0..255, or an MNIST IDX image file (gzipped or not).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqlab.tracking import Tracker

DECISION_TAG = "seqlab.champion_decision"  # why a registered version got the alias or not (recording)


@dataclass(frozen=True)
class Prediction:
    """A model's predictions and which registered version made them."""

    table: pd.DataFrame
    model_uri: str
    description: str


def model_uri(tracker: Tracker, name: str, alias: str, version: str | None) -> tuple[str, str]:
    """Return the URI of ``version``, or of the version holding ``alias``, and a description of it.

    Raises RuntimeError naming the registered model when it has no such version, or no ``alias``:
    then the latest version's recorded decision says why, and ``--version`` is suggested.
    """
    if version is not None:
        if not tracker.version_exists(name, version):
            raise RuntimeError(f"{name} has no version {version} in {tracker.uri}")
        return f"models:/{name}/{version}", f"{name} v{version}"
    holder = tracker.alias_version(name, alias)
    if holder is not None:
        return f"models:/{name}@{alias}", f"{name} v{holder[0]} ({alias})"
    latest = tracker.latest_version(name)
    if latest is None:
        raise RuntimeError(f"no registered model {name} in {tracker.uri}: run its pipeline first")
    number, tags = latest
    why = tags.get(DECISION_TAG, "no decision recorded")
    raise RuntimeError(
        f"{name} has no {alias}; its latest version, v{number}: {why}. "
        f"To predict with that version anyway: --version {number}"
    )


def read_input(path: Path, modality: str) -> Any:
    """Read an input file for a model of ``modality``; ValueError naming the file when it cannot."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such input file")
    if modality == "image":
        return _read_images(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{path}: not UTF-8 text (byte {error.start}: {error.reason}); save it as UTF-8"
        ) from None
    if modality == "series" or path.suffix.lower() == ".csv":
        try:
            return pd.read_csv(io.StringIO(text), dtype={"date": "string"})
        except (ValueError, pd.errors.ParserError) as error:
            raise ValueError(f"{path}: not a readable CSV file: {error}") from None
    from seqlab.modalities.text import REVIEW_COLUMNS

    return pd.DataFrame({REVIEW_COLUMNS[0]: [line for line in text.splitlines() if line.strip()]})


def _read_images(path: Path) -> np.ndarray:
    if path.suffix.lower() == ".npy":
        try:
            return np.asarray(np.load(path, allow_pickle=False))
        except (ValueError, OSError) as error:
            raise ValueError(f"{path}: not a readable .npy array: {error}") from None
    from seqlab.data.mnist import read_idx_images

    return read_idx_images(path)  # a DataFormatError (a ValueError) naming the file otherwise


def predict_file(
    tracker: Tracker, name: str, alias: str, version: str | None, input_file: Path, modality: str
) -> Prediction:
    """Predict the raw inputs of ``input_file`` (read first: a bad file fails before the slow load)."""
    uri, description = model_uri(tracker, name, alias, version)
    model_input = read_input(input_file, modality)
    from seqlab.runtime import load_keras

    load_keras()  # quietly: TensorFlow's start-up lines are noise on a command's output
    model = tracker.load_pyfunc_model(uri)
    try:
        table = model.predict(model_input)
    except ValueError as error:  # the served model's InputError: what is wrong with the file's rows
        raise ValueError(f"{input_file}: {error}") from None
    return Prediction(table=table, model_uri=uri, description=description)


def format_table(table: pd.DataFrame) -> str:
    """Return the predictions as a plain-text table, numbers to 4 significant digits."""
    return table.to_string(index=False, float_format=lambda value: f"{value:.4g}")


def write_csv(table: pd.DataFrame, destination: Path) -> None:
    """Write the predictions (full precision) as CSV, whole or not at all."""
    from seqlab.fileio import atomic_path

    with atomic_path(destination) as temporary:
        table.to_csv(temporary, index=False)
