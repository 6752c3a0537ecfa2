"""A registered model's serving: raw inputs in, real units or probabilities out.

:class:`ChampionModel` knows nothing of MLflow: :meth:`seqlab.tracking.Tracker.log_pyfunc_model`
ships an adapter that wraps it as an MLflow pyfunc ("models from code"). The model's
serving spec, written from the prepared data's manifest when it was registered
(:meth:`seqlab.modalities.PreparedData.serving_spec`), says how raw inputs become the rows the
model was trained on; the rows are built by the same functions that prepared the training data, so
a served forecast equals evaluate's.

Inputs (a pandas DataFrame; arrays and lists where noted) and outputs (a DataFrame):

- series: the recent history, columns ``date`` and ``value`` in the series' units; a series without
  dates takes ``time`` (the step's position in the series the model was trained on) instead of
  ``date``. Only the last ``window_size`` values are read, and they must be consecutive. Output: one
  row per forecast step: the target's ``date`` (or ``time``), ``step`` (1 = next) and ``forecast``.
- text: reviews in a ``review`` (or ``text``) column, or a list or array of strings. Output:
  ``probability_positive`` and ``label``.
- image: images [n, rows, columns] or [n, rows * columns] (an array, nested lists or a DataFrame
  of pixel columns) with pixel values 0..255, as in the official MNIST files. Output: ``digit`` and
  ``probability_<class>`` for each class.

Bad input raises :class:`InputError`, a ValueError; the adapter makes it a 400 of ``mlflow models serve``.
"""

from __future__ import annotations

import importlib
import json
import sys
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from seqlab.baselines import ClimatologyAR, baseline_rows, season_keys
from seqlab.data.imdb import replace_line_breaks
from seqlab.prep.series import Normalizer, calendar_features
from seqlab.prep.text import encode, pad

# Bumped when a spec's meaning changes, so an old loader refuses a new spec (3: series combinations).
SPEC_FORMAT = 3
SPEC_ARTIFACT = "serving_spec"  # names of the model's artifacts (MLflow's context.artifacts)
MODEL_ARTIFACT = "keras_model"
# The modules defining the custom layers saved models use (Keras finds them by registered name).
LAYER_MODULES: tuple[str, ...] = ("seqlab.models.cells", "seqlab.models.series_layers")
PREDICT_BATCH_SIZE = 512
_OWN_PACKAGE = __name__.split(".")[0]  # "seqlab", or "seqlab_champion" inside a registered model


class InputError(ValueError):
    """Input a served model cannot read (the pyfunc adapter answers it with HTTP 400)."""


# --------------------------------------------------------------------------- the Keras model


def _layer_module(name: str) -> ModuleType:
    """Return seqlab's own module if this process imported it, else the copy shipped with this package.

    Keras keeps one class per registered name (``seqlab>ColumnSlice``) and a later registration
    replaces an earlier one: importing the copies after seqlab would swap seqlab's own classes for
    them under seqlab's feet (its ``isinstance`` checks).
    """
    if name in sys.modules:
        return sys.modules[name]
    return importlib.import_module(name.replace("seqlab", _OWN_PACKAGE, 1))


def custom_objects() -> dict[str, type]:
    """Return seqlab's custom layers by registered name: loading never depends on who registered them."""
    import keras

    objects: dict[str, type] = {}
    for name in LAYER_MODULES:
        module = _layer_module(name)
        for value in vars(module).values():
            if isinstance(value, type) and value.__module__ == module.__name__:
                registered = keras.saving.get_registered_name(value)
                if ">" in registered:
                    objects[registered] = value
    return objects


def load_keras_model(path: Path) -> Any:
    """Load a saved variant for inference (no optimizer state needed)."""
    import keras

    return keras.saving.load_model(path, custom_objects=custom_objects(), compile=False)


# --------------------------------------------------------------------------- inputs


def _table(model_input: Any, what: str, columns: str) -> pd.DataFrame:
    """Return the input as a DataFrame (MLflow's ``dataframe_split``/``records``, a dict, records)."""
    if isinstance(model_input, pd.DataFrame):
        return model_input
    if isinstance(model_input, dict) or (
        isinstance(model_input, list) and model_input and all(isinstance(row, dict) for row in model_input)
    ):
        try:
            return pd.DataFrame(model_input)
        except ValueError as error:
            raise InputError(f"{what}: not a table with columns {columns}: {error}") from None
    raise InputError(f"{what}: expected a table with columns {columns}, got {type(model_input).__name__}")


def _shown(value: Any) -> str:
    """Return a cell as its user wrote it (a numpy scalar as a plain number)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _columns(frame: pd.DataFrame) -> str:
    return ", ".join(str(column) for column in frame.columns) or "none"


class Serving(ABC):
    """How one modality's raw inputs become model rows, and model outputs a table."""

    def __init__(self, spec: Mapping[str, Any], files: Mapping[str, str]) -> None:
        self.spec = spec

    @abstractmethod
    def rows(self, model_input: Any) -> tuple[np.ndarray, Any]:
        """Model rows of the input, and what :meth:`table` needs besides the outputs."""

    @abstractmethod
    def table(self, outputs: np.ndarray, context: Any) -> pd.DataFrame:
        """Return the model's outputs as users read them."""

    @staticmethod
    @abstractmethod
    def output_columns(spec: Mapping[str, Any]) -> dict[str, str]:
        """Name → MLflow type of each output column (the model's signature)."""

    def predict(self, model: Any, model_input: Any) -> pd.DataFrame:
        """Raw input → rows → model → table."""
        rows, context = self.rows(model_input)
        outputs = np.asarray(model.predict(rows, batch_size=PREDICT_BATCH_SIZE, verbose=0))
        return self.table(outputs, context)


class SeriesServing(Serving):
    """A forecast from the recent history, in the series' units, dated like the series."""

    def __init__(self, spec: Mapping[str, Any], files: Mapping[str, str]) -> None:
        super().__init__(spec, files)
        self.window_size = int(spec["window_size"])
        self.horizon = int(spec["horizon"])
        self.harmonics = int(spec["calendar_harmonics"])
        self.normalizer = Normalizer.from_dict(spec["normalization"])
        self.season_kind = str(spec["season"]["kind"])
        self.season_count = int(spec["season"]["count"])
        self.date_format: str | None = spec.get("date_format")
        self.time_column, self.value_column = str(spec["columns"]["time"]), str(spec["columns"]["value"])
        # A hybrid: the baseline it corrects, and the step number of the series' first value (time 0).
        self.baseline: ClimatologyAR | None = None
        self.reads = self.window_size  # values of history a forecast reads
        if spec.get("baseline") is not None:
            self.baseline = ClimatologyAR.from_dict(spec["baseline"])
            self.reads = self.window_size + self.baseline.order
            self.first_step = int(self._steps(pd.Series([spec["baseline"]["series_starts"]]))[0])
        # A forecast combination: weight × the model's forecast + (1 - weight) × this baseline's.
        self.partner: ClimatologyAR | None = None
        self.weight = 1.0
        combination = spec.get("combination")
        if combination is not None:
            self.partner = ClimatologyAR.from_dict(combination["fitted"])
            self.weight = float(combination["weight"])
            self.reads = max(self.reads, self.partner.order)
            self.first_step = int(self._steps(pd.Series([combination["fitted"]["series_starts"]]))[0])

    @staticmethod
    def output_columns(spec: Mapping[str, Any]) -> dict[str, str]:
        """Return the target's date (or time), the step ahead and the forecast."""
        time = str(spec["columns"]["time"])
        return {time: "string" if spec.get("date_format") else "long", "step": "long", "forecast": "double"}

    def _steps(self, column: pd.Series) -> np.ndarray:
        """Each row's step number (months or days since 1970, or the time itself): consecutive = +1."""
        name = self.time_column
        if not self.date_format:
            numbers = pd.to_numeric(column, errors="coerce")
            bad = ~(np.isfinite(numbers) & (numbers == np.round(numbers)) & (numbers >= 0))
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise InputError(
                    f"{name}: row {row + 1} ({_shown(column.iloc[row])}) is not a step number (integer >= 0)"
                )
            return numbers.to_numpy(dtype=np.int64)
        stamps = pd.to_datetime(column.astype("string"), format="ISO8601", errors="coerce")
        if stamps.isna().any():
            row = int(np.flatnonzero(stamps.isna().to_numpy())[0])
            example = "2019-12" if self.season_kind == "monthly" else "2019-12-31"
            raise InputError(
                f"{name}: row {row + 1} ({_shown(column.iloc[row])}) is not a date like {example}"
            )
        if self.season_kind == "monthly":
            return (stamps.dt.year * 12 + stamps.dt.month - 1).to_numpy(dtype=np.int64)
        return (stamps.dt.normalize() - pd.Timestamp("1970-01-01")).dt.days.to_numpy(dtype=np.int64)

    def _label(self, step: int) -> str | int:
        """Return the date (in the series' format) or time of a step number."""
        if not self.date_format:
            return int(step)
        if self.season_kind == "monthly":
            stamp = pd.Timestamp(year=step // 12, month=step % 12 + 1, day=1)
        else:
            stamp = pd.Timestamp("1970-01-01") + pd.Timedelta(days=int(step))
        return stamp.strftime(self.date_format)

    def _season_key(self, label: str | int) -> int:
        """Return the target's season key, by the definition the training data used."""
        if isinstance(label, int):  # "periodic": season_keys numbers positions, t % period
            return label % self.season_count
        return int(season_keys(self.season_kind, [label], 1, self.season_count)[0])

    def history(self, model_input: Any) -> tuple[np.ndarray, np.ndarray]:
        """Return the history's step numbers and values, sorted by time, checked to end in a full window."""
        columns = f"{self.time_column}, {self.value_column}"
        frame = _table(model_input, "history", columns)
        missing = [name for name in (self.time_column, self.value_column) if name not in frame.columns]
        if missing:
            raise InputError(
                f"history: missing column(s) {', '.join(missing)}; expected {columns} (got {_columns(frame)})"
            )
        if len(frame) < self.reads:
            why = "its window_size" + (
                "" if self.baseline is None and self.partner is None else " and its baseline's AR order"
            )
            raise InputError(
                f"history: {len(frame)} row(s); this model reads the last {self.reads} values "
                f"({why}), so give at least {self.reads}"
            )
        raw = frame[self.value_column]
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"{self.value_column}: row {row + 1} ({_shown(raw.iloc[row])}) is not a finite number"
            )
        steps = self._steps(frame[self.time_column])
        order = np.argsort(steps, kind="stable")
        steps, values = steps[order], values[order]
        repeated = np.flatnonzero(np.diff(steps) == 0)
        if repeated.size:
            raise InputError(f"{self.time_column}: {self._label(int(steps[repeated[0]]))} appears twice")
        window = steps[-self.reads :]
        gaps = np.flatnonzero(np.diff(window) != 1)
        if gaps.size:
            before, after = (self._label(int(window[index])) for index in (gaps[0], gaps[0] + 1))
            unit = {"monthly": "months", "daily": "days"}.get(self.season_kind, "steps")
            raise InputError(
                f"{self.time_column}: the last {self.reads} values must be consecutive {unit}, but "
                f"{before} is followed by {after} (fill the gap first)"
            )
        return steps, values

    def rows(self, model_input: Any) -> tuple[np.ndarray, Any]:
        """Return the last window, normalised, then the first target's calendar features.

        A hybrid's row holds the baseline's residuals in place of the window, and ends with the
        baseline's forecast, built by the function that built its training rows.
        """
        steps, values = self.history(model_input)
        targets = [self._label(int(steps[-1]) + ahead) for ahead in range(1, self.horizon + 1)]
        calendar = calendar_features(
            np.array([self._season_key(targets[0])], dtype=np.int64), self.season_count, self.harmonics
        )
        if self.baseline is None:
            window = self.normalizer.transform(values[-self.window_size :])[np.newaxis, :]
            return np.concatenate([window, calendar], axis=1).astype("float32"), targets
        residuals, forecasts = self._forecast(self.baseline, steps, values, self.window_size)
        row = [residuals / self.normalizer.std, calendar, forecasts]
        return np.concatenate(row, axis=1).astype("float32"), targets

    def predict(self, model: Any, model_input: Any) -> pd.DataFrame:
        """Raw input → rows → model → table; a combination blends in its baseline's forecast."""
        rows, targets = self.rows(model_input)
        outputs = np.asarray(model.predict(rows, batch_size=PREDICT_BATCH_SIZE, verbose=0), dtype=np.float64)
        if self.partner is not None:
            steps, values = self.history(model_input)
            partner = self._forecast(self.partner, steps, values, 1)[1]
            outputs = self.weight * outputs.reshape(partner.shape) + (1 - self.weight) * partner
        return self.table(outputs, targets)

    def _forecast(
        self, baseline: ClimatologyAR, steps: np.ndarray, values: np.ndarray, window: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return a baseline's last ``window`` residuals (real units) and normalised forecast."""
        read = np.concatenate([steps[-self.reads :], int(steps[-1]) + np.arange(1, self.horizon + 1)])
        labels = [self._label(int(step)) for step in read]
        keys = np.array([self._season_key(label) for label in labels], dtype=np.int64)
        residuals, forecasts = baseline_rows(
            baseline,
            values[-self.reads :],
            (read - self.first_step).astype(np.float64),
            keys,
            np.array([self.reads - 1]),
            self.horizon,
            window,
        )
        return residuals, (forecasts - self.normalizer.mean) / self.normalizer.std

    def table(self, outputs: np.ndarray, context: Any) -> pd.DataFrame:
        """One row per step ahead, in the series' units."""
        forecasts = self.normalizer.inverse_transform(outputs.reshape(-1, self.horizon)[0])
        return pd.DataFrame(
            {self.time_column: context, "step": np.arange(1, self.horizon + 1), "forecast": forecasts}
        )


class TextServing(Serving):
    """P(positive) of reviews, tokenised with the training vocabulary."""

    def __init__(self, spec: Mapping[str, Any], files: Mapping[str, str]) -> None:
        super().__init__(spec, files)
        # one token per line; the first, padding, is the empty string
        self.vocabulary = Path(files["vocabulary"]).read_text(encoding="utf-8").removesuffix("\n").split("\n")
        if len(self.vocabulary) != int(spec["vocabulary_size"]):
            raise ValueError(
                f"vocabulary: {len(self.vocabulary)} tokens, the spec says {spec['vocabulary_size']}"
            )
        self.labels = [str(label) for label in spec["labels"]]
        self.columns = [str(name) for name in spec["columns"]]

    @staticmethod
    def output_columns(spec: Mapping[str, Any]) -> dict[str, str]:
        """P(positive) and the label it gives."""
        return {"probability_positive": "double", "label": "string"}

    def reviews(self, model_input: Any) -> list[str]:
        """Return the reviews as strings, each checked to be non-empty text."""
        if isinstance(model_input, pd.DataFrame):
            found = [name for name in self.columns if name in model_input.columns]
            if not found:
                raise InputError(
                    f"reviews: expected a column {' or '.join(self.columns)} (got {_columns(model_input)})"
                )
            items = list(model_input[found[0]])
        elif isinstance(model_input, str):
            items = [model_input]
        elif isinstance(model_input, list | tuple | np.ndarray | pd.Series):
            items = list(np.asarray(model_input, dtype=object).reshape(-1))
        else:
            raise InputError(
                f"reviews: expected a table or a list of strings, got {type(model_input).__name__}"
            )
        if not items:
            raise InputError("reviews: none given")
        texts: list[str] = []
        for row, item in enumerate(items, start=1):
            if isinstance(item, bytes):
                try:
                    item = item.decode("utf-8")
                except UnicodeDecodeError as error:
                    raise InputError(
                        f"review {row}: not UTF-8 text (byte {error.start}: {error.reason})"
                    ) from None
            if not isinstance(item, str):
                raise InputError(f"review {row}: {type(item).__name__} {_shown(item)} is not text")
            if not item.strip():
                raise InputError(f"review {row}: empty")
            texts.append(item)
        return texts

    def rows(self, model_input: Any) -> tuple[np.ndarray, Any]:
        """Reviews cleaned like the training reviews, encoded, padded and truncated to ``max_len``."""
        texts = [replace_line_breaks(text) for text in self.reviews(model_input)]
        ids, _ = pad(
            encode(texts, self.vocabulary),
            int(self.spec["max_len"]),
            str(self.spec["padding"]),
            str(self.spec["truncating"]),
            int(self.spec["pad_value"]),
        )
        return ids, None

    def table(self, outputs: np.ndarray, context: Any) -> pd.DataFrame:
        """P(positive) and the label at the threshold evaluate's accuracy uses."""
        probabilities = outputs.reshape(-1).astype(np.float64)
        positive = probabilities >= float(self.spec["threshold"])
        return pd.DataFrame(
            {
                "probability_positive": probabilities,
                "label": np.where(positive, self.labels[1], self.labels[0]),
            }
        )


class ImageServing(Serving):
    """Class probabilities of images given as pixel values 0..255."""

    def __init__(self, spec: Mapping[str, Any], files: Mapping[str, str]) -> None:
        super().__init__(spec, files)
        self.rows_count, self.columns_count = (int(size) for size in spec["image_shape"])
        self.classes = [str(name) for name in spec["classes"]]

    @staticmethod
    def output_columns(spec: Mapping[str, Any]) -> dict[str, str]:
        """Return the predicted class, then one probability per class."""
        return {"digit": "long", **{f"probability_{name}": "double" for name in spec["classes"]}}

    def images(self, model_input: Any) -> np.ndarray:
        """Return the images as [n, rows, columns] float64 pixel values, checked."""
        rows, columns = self.rows_count, self.columns_count
        wanted = f"[n, {rows}, {columns}] or [n, {rows * columns}]"
        try:
            array = np.asarray(model_input, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(f"images: expected numbers in an array {wanted}") from None
        if array.shape == (rows, columns):
            array = array[np.newaxis]
        if array.ndim == 2 and array.shape[1] == rows * columns:
            array = array.reshape(-1, rows, columns)
        if array.ndim != 3 or array.shape[1:] != (rows, columns) or not array.shape[0]:
            raise InputError(f"images: expected an array {wanted}, got shape {list(array.shape)}")
        if not np.all(np.isfinite(array)) or array.min() < 0 or array.max() > 255:
            raise InputError(
                f"images: pixel values must be numbers in 0..255 (as in the MNIST files), got "
                f"{np.nanmin(array):g}..{np.nanmax(array):g}"
            )
        return array

    def rows(self, model_input: Any) -> tuple[np.ndarray, Any]:
        """Pixels scaled as the training images were."""
        scale = float(self.spec["pixel_scale"])
        return (self.images(model_input).astype(np.float32) / scale).astype(np.float32), None

    def table(self, outputs: np.ndarray, context: Any) -> pd.DataFrame:
        """Return the most probable class and every class's probability."""
        probabilities = outputs.astype(np.float64)
        return pd.DataFrame(
            {
                "digit": probabilities.argmax(axis=1),
                **{f"probability_{name}": probabilities[:, index] for index, name in enumerate(self.classes)},
            }
        )


SERVINGS: dict[str, type[Serving]] = {"series": SeriesServing, "text": TextServing, "image": ImageServing}


def check_spec(spec: Mapping[str, Any]) -> Mapping[str, Any]:
    """Refuse a spec of another format or an unknown modality, naming it."""
    if spec.get("format") != SPEC_FORMAT:
        raise ValueError(f"serving spec: format {spec.get('format')!r}; this code reads format {SPEC_FORMAT}")
    if spec.get("modality") not in SERVINGS:
        raise ValueError(
            f"serving spec: modality {spec.get('modality')!r} is not one of {', '.join(SERVINGS)}"
        )
    return spec


def serving(spec: Mapping[str, Any], files: Mapping[str, str]) -> Serving:
    """Return the serving of a spec; it reads its files (the vocabulary) from ``files``."""
    return SERVINGS[str(check_spec(spec)["modality"])](spec, files)


def output_columns(spec: Mapping[str, Any]) -> dict[str, str]:
    """Name → MLflow type of each column a model of this spec returns."""
    return SERVINGS[str(check_spec(spec)["modality"])].output_columns(spec)


class ChampionModel:
    """A registered seqlab model: the Keras model, its serving spec and files (the model's artifacts)."""

    def __init__(self, artifacts: Mapping[str, str]) -> None:
        """Read the spec and its files, then the Keras model (paths by artifact name)."""
        spec = json.loads(Path(artifacts[SPEC_ARTIFACT]).read_text(encoding="utf-8"))
        self.serving = serving(spec, artifacts)
        self.model = load_keras_model(Path(artifacts[MODEL_ARTIFACT]))

    def predict(self, model_input: Any) -> pd.DataFrame:
        """Forecasts or probabilities of raw inputs (module docstring); InputError if they are bad."""
        return self.serving.predict(self.model, model_input)
