"""Series datasets: the protocol's period, a time split, normalisation on train, windows, forecasts.

Series model inputs are one row per forecast: the last ``window_size`` values, then the target's
calendar as sine/cosine features (month, day of year, or ``t % period``: known in advance, as the
climatology baselines use it), then what a hybrid (``anchor="baseline"``) reads: the residuals of the
climatology + trend + AR baseline over the same window and that baseline's forecast of the targets
(:func:`seqlab.baselines.baseline_rows`, fitted on the training period only). A model keeps the first
``calendar_harmonics`` of the calendar features; only a hybrid reads the baseline's columns, in place of
the window's values.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqlab.baselines import ClimatologyAR
from seqlab.data.series_common import ParsedSeries
from seqlab.datasets import DatasetConfig, SeriesDataset
from seqlab.families import HYBRID_ANCHOR
from seqlab.fileio import atomic_open, save_arrays, write_json
from seqlab.modalities import Builder, Log, Modality, PreparedData, array_record, load_arrays

# Series model inputs carry the calendar features of the target for this many harmonics; a model uses the
# first ``calendar_harmonics`` of them (a hyperparameter, 0 = none).
CALENDAR_HARMONICS_MAX = 4
CHART_STEPS = 730  # what `dvc plots` draws of a test period: two years of days, all of a monthly one
DATE_FORMATS = {"MS": "%Y-%m", "D": "%Y-%m-%d"}
FREQUENCY_NAMES = {"MS": "monthly", "D": "daily"}
# The baselines a served combination reruns, by name: (trend, AR), as seqlab.baselines.series_baselines
# fits them.
SERVED_BASELINES: dict[str, tuple[bool, bool]] = {
    "climatology": (False, False),
    "climatology_trend": (True, False),
    "climatology_ar": (False, True),
    "climatology_trend_ar": (True, True),
}
# The history a served model reads (seqlab.serving): the time, as a date or as a position, and the value.
DATE_COLUMN, TIME_COLUMN, VALUE_COLUMN = "date", "time", "value"


def _series_config(dataset: DatasetConfig) -> SeriesDataset:
    if not isinstance(dataset, SeriesDataset):
        raise TypeError(f"{dataset.name} is not a series dataset")
    return dataset


def protocol_series(dataset: DatasetConfig, parsed: ParsedSeries) -> tuple[pd.Series, list[str] | None]:
    """Return the values between the protocol's start and end dates, and their dates (or None)."""
    config = _series_config(dataset)
    series = parsed.values
    if parsed.frequency not in DATE_FORMATS:
        for key in ("start_date", "end_date"):
            if getattr(config, key) is not None:
                raise ValueError(f"datasets.{config.name}.{key}: this series has no dates; use split_index")
        return series, None
    start = pd.Timestamp(config.start_date) if config.start_date is not None else None
    end = pd.Timestamp(config.end_date) if config.end_date is not None else None
    series = series.loc[start:end]
    if series.empty:
        raise ValueError(
            f"datasets.{config.name}: no values between start_date {config.start_date} and end_date "
            f"{config.end_date} (the data runs {parsed.values.index[0].date()} .. "
            f"{parsed.values.index[-1].date()})"
        )
    return series, [stamp.strftime(DATE_FORMATS[parsed.frequency]) for stamp in series.index]


def model_inputs(array: np.ndarray, values: dict[str, Any] | None, horizon: int) -> np.ndarray:
    """Select what a series model of hyperparameters ``values`` reads from :meth:`SeriesData.inputs` rows.

    The last ``window_size`` steps of the prepared window (window size as a hyperparameter), or of the
    baseline's residuals for a hybrid, then the first ``calendar_harmonics`` harmonics' calendar
    features, then, for a hybrid, the baseline's forecast of the ``horizon`` targets.
    """
    if values is None:
        return array
    prepared = (array.shape[1] - 2 * CALENDAR_HARMONICS_MAX - horizon) // 2
    calendar_end = prepared + 2 * CALENDAR_HARMONICS_MAX
    hybrid = values.get("anchor") == HYBRID_ANCHOR
    steps = array[:, calendar_end : calendar_end + prepared] if hybrid else array[:, :prepared]
    size = values.get("window_size")
    if size is not None:
        steps = steps[:, -int(size) :]
    harmonics = int(values.get("calendar_harmonics", 0) or 0)
    if harmonics > CALENDAR_HARMONICS_MAX:
        raise ValueError(f"calendar_harmonics: at most {CALENDAR_HARMONICS_MAX}, got {harmonics}")
    parts = [steps, array[:, prepared : prepared + 2 * harmonics]]
    if hybrid:
        parts.append(array[:, calendar_end + prepared :])
    return np.ascontiguousarray(np.concatenate(parts, axis=1))


class SeriesData(PreparedData):
    """Prepared windows of a series plus what puts them back in real units and dates."""

    def __init__(self, dataset: DatasetConfig, folder: Path, manifest: dict[str, Any]) -> None:
        super().__init__(dataset, folder, manifest)
        self.arrays = load_arrays(folder / "windows.npz")
        dates_file = folder / "dates.txt"
        self.dates = dates_file.read_text(encoding="utf-8").split() if dates_file.exists() else None

    def at_origin(self, origin: int, end: int) -> SeriesData:
        """Return this dataset as if its test period were ``values[origin:end]``, refitted before it.

        Normalisation, windows, the validation part and the hybrid's baseline come from the values
        before ``origin`` only, and nothing after ``end`` exists: what a rolling-origin backtest refits
        at each origin (:mod:`seqlab.backtest`).
        """
        from seqlab.prep.series import make_split_windows

        params = self.manifest["params"]
        values = self.arrays["values"][:end]
        windows = make_split_windows(
            values,
            split_index=origin,
            window_size=int(params["window_size"]),
            horizon=int(params["horizon"]),
            stride=int(params["stride"]),
            validation_fraction=float(params["validation_fraction"]),
        )
        manifest = {
            **self.manifest,
            "split_index": origin,
            "normalization": {**windows.normalizer.to_dict(), "fitted_on": f"values[:{origin}]"},
        }
        view = SeriesData.__new__(SeriesData)
        PreparedData.__init__(view, self.dataset, self.folder, manifest)
        view.arrays = {
            **{
                f"{part}_{split}": getattr(windows, f"{part}_{split}")
                for part in ("x", "y")
                for split in ("train", "validation", "test")
            },
            **{
                f"{split}_target_index": getattr(windows, f"{split}_target_index")
                for split in ("train", "validation", "test")
            },
            "values": values,
        }
        view.dates = self.dates[:end] if self.dates is not None else None
        return view

    @property
    def season_kind(self) -> str:
        """How seasons are read: "monthly" or "daily" from the dates, else "periodic" from the index."""
        return str(self.manifest["season"]["kind"])

    @property
    def season_count(self) -> int:
        """Number of distinct season keys: 12 months, 365 days, or the period."""
        return int(self.manifest["season"]["count"])

    @cached_property
    def season_keys(self) -> np.ndarray:
        """Season key of every position of the series (see :func:`seqlab.baselines.season_keys`)."""
        from seqlab.baselines import season_keys

        size = int(self.arrays["values"].size)
        return season_keys(self.season_kind, self.dates, size, self.season_count)

    @property
    def horizon(self) -> int:
        """Steps ahead each window forecasts."""
        return int(self.manifest["params"]["horizon"])

    @cached_property
    def hybrid_baseline(self) -> ClimatologyAR:
        """Climatology + trend + AR fitted on the training period: where a hybrid's test forecast starts."""
        return self._climatology_ar(int(self.manifest["split_index"]))

    @cached_property
    def fit_baseline(self) -> ClimatologyAR:
        """The same baseline fitted before the validation period: what a hybrid's training rows read.

        Fitted on the whole training period, it would have seen the validation targets, so early
        stopping would judge corrections to an in-sample forecast. A series too short to hold every
        season before its validation period falls back to the training period's fit.
        """
        return self._climatology_ar(int(self.arrays["validation_target_index"].min()))

    def _climatology_ar(self, split: int) -> ClimatologyAR:
        from seqlab.baselines import fit_climatology_ar

        return fit_climatology_ar(
            self.arrays["values"],
            self.season_keys,
            split,
            order=_series_config(self.dataset).baselines.ar_order,
            trend=True,
            smoothing=_series_config(self.dataset).baselines.season_smoothing,
            selection=_series_config(self.dataset).baselines.ar_selection,
        )

    def inputs(self, split: str) -> np.ndarray:
        """Model inputs of a split: windows, calendar features, the baseline's residuals and forecast.

        The baseline of the train and validation rows is fitted before the validation period, that of
        the test rows on the whole training period (the one the test period reports).
        """
        from seqlab.baselines import baseline_rows
        from seqlab.prep.series import calendar_features

        target_index = self.arrays[f"{split}_target_index"]
        calendar = calendar_features(
            self.season_keys[target_index[:, 0]], self.season_count, CALENDAR_HARMONICS_MAX
        )
        values = self.arrays["values"]

        def rows(baseline: Callable[[], ClimatologyAR]) -> tuple[np.ndarray, np.ndarray]:
            return baseline_rows(
                baseline(),
                values,
                np.arange(values.size, dtype=np.float64),
                self.season_keys,
                target_index[:, 0] - 1,
                self.horizon,
                int(self.manifest["params"]["window_size"]),
            )

        if split == "test":
            residuals, forecasts = rows(lambda: self.hybrid_baseline)
        else:
            try:
                residuals, forecasts = rows(lambda: self.fit_baseline)
            except ValueError:  # a season missing before validation: the training period's fit
                residuals, forecasts = rows(lambda: self.hybrid_baseline)
        return np.concatenate(
            [self.arrays[f"x_{split}"], calendar, residuals / self.std, (forecasts - self.mean) / self.std],
            axis=1,
        ).astype("float32")

    @property
    def mean(self) -> float:
        """Normalisation mean fitted on the training period."""
        return float(self.manifest["normalization"]["mean"])

    @property
    def std(self) -> float:
        """Normalisation std fitted on the training period."""
        return float(self.manifest["normalization"]["std"])

    def fit_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Windows of the training period (the validation part is its end)."""
        return (
            self.inputs("train"),
            self.arrays["y_train"].astype("float32"),
            self.inputs("validation"),
            self.arrays["y_validation"].astype("float32"),
        )

    def builder(self) -> Builder:
        """Return a forecaster of the prepared horizon; a tuned window may only shorten the prepared one."""
        from seqlab.models.builders import build_series_model

        config = _series_config(self.dataset)
        prepared_window = int(self.manifest["params"]["window_size"])
        horizon = int(self.manifest["params"]["horizon"])

        def build(**values: Any) -> Any:
            arguments = dict(values)
            window_size = int(arguments.pop("window_size", prepared_window))
            if window_size > prepared_window:
                raise ValueError(
                    f"datasets.{config.name}.tuning.space.window_size: {window_size} exceeds the prepared "
                    f"window_size {prepared_window}; raise defaults.{config.source.kind}.prepare.window_size"
                )
            return build_series_model(window_size=window_size, horizon=horizon, **arguments)

        return build

    def select_inputs(self, x: np.ndarray, hyperparameters: dict[str, Any]) -> np.ndarray:
        """Return the window length and calendar harmonics the model was built for."""
        return model_inputs(x, hyperparameters, self.horizon)

    def predict_test(self, model: Any, hyperparameters: dict[str, Any]) -> np.ndarray:
        """Normalised forecasts of the test targets."""
        return np.asarray(
            model.predict(
                model_inputs(self.inputs("test"), hyperparameters, self.horizon), batch_size=1024, verbose=0
            )
        )

    def score(self, predictions: np.ndarray) -> dict[str, float]:
        """MAE, RMSE in real units and MAE in normalised units."""
        from seqlab.evaluation import regression_metrics

        return regression_metrics(
            self.arrays["y_test"], predictions, self.mean, self.std, normalized_inputs=True
        )

    def baselines(self) -> tuple[dict[str, dict[str, float]], dict[str, np.ndarray]]:
        """Return persistence, seasonal naive, climatologies (± trend, + AR), differencing + MA."""
        from seqlab.baselines import series_baselines

        config = _series_config(self.dataset)
        values = self.arrays["values"]
        forecasts = series_baselines(
            values,
            self.arrays["test_target_index"],
            int(self.manifest["split_index"]),
            self.season_keys,
            self.season_count,
            config.baselines.ar_order,
            season_smoothing=config.baselines.season_smoothing,
            ar_selection=config.baselines.ar_selection,
        )
        metrics = {
            name: self.score((forecast - self.mean) / self.std) for name, forecast in forecasts.items()
        }
        return metrics, {name: (forecast - self.mean) / self.std for name, forecast in forecasts.items()}

    def test_errors(self, predictions: np.ndarray) -> np.ndarray | None:
        """Forecast minus actual per test row and horizon step, in normalised units."""
        actual = self.arrays["y_test"]
        return np.asarray(predictions, dtype=np.float64).reshape(actual.shape) - actual

    def validation_baselines(self) -> dict[str, np.ndarray] | None:
        """Every series baseline's normalised forecasts of the validation targets, fitted before them.

        The fitted baselines learn from the values before the first validation target only, so a
        combination weight chosen on these forecasts has not seen them in-sample.
        """
        from seqlab.baselines import series_baselines

        targets = self.arrays["validation_target_index"]
        forecasts = series_baselines(
            self.arrays["values"],
            targets,
            int(targets.min()),
            self.season_keys,
            self.season_count,
            _series_config(self.dataset).baselines.ar_order,
            season_smoothing=_series_config(self.dataset).baselines.season_smoothing,
            ar_selection=_series_config(self.dataset).baselines.ar_selection,
        )
        return {name: (forecast - self.mean) / self.std for name, forecast in forecasts.items()}

    def test_fingerprint(self) -> str:
        """The test targets' values and dates (independent of window size and normalisation)."""
        digest = hashlib.sha256(self.dataset.name.encode())
        target_index = self.arrays["test_target_index"]
        digest.update(np.ascontiguousarray(self.arrays["values"][target_index], dtype="float64").tobytes())
        if self.dates is not None:
            digest.update(" ".join(self.dates[i] for i in target_index[:, 0]).encode())
        return digest.hexdigest()

    training_units = "normalised units"  # models train on (value - mean) / std of the training period

    @property
    def metric_unit(self) -> str | None:
        """The series' unit (°C for the temperatures), which MAE and the forecasts share."""
        return self.dataset.kind.unit_of(self.dataset)

    def plots(
        self,
        best: str,
        model: str,
        predictions: dict[str, np.ndarray],
        best_baseline: str,
        baseline_predictions: dict[str, np.ndarray],
        folder: Path,
    ) -> list[Path]:
        """Draw the best variant's and best baseline's test forecasts, and the variant's residuals."""
        from seqlab import plots

        target_index = self.arrays["test_target_index"][:, 0]
        axis: Any = [self.dates[i] for i in target_index] if self.dates else target_index
        actual = self.arrays["values"][target_index]
        forecast = np.asarray(predictions[best])[:, 0] * self.std + self.mean
        baseline = np.asarray(baseline_predictions[best_baseline])[:, 0] * self.std + self.mean
        name = plots.subject(self.dataset.name, best, model)
        return [
            plots.plot_forecast(
                axis,
                actual,
                {f"variant {best} · {model}": forecast, f"baseline {best_baseline}": baseline},
                folder / "forecast.png",
                title=f"{name} vs baseline {best_baseline}",
                unit=self.metric_unit,
            ),
            plots.plot_residuals(
                axis, actual, forecast, folder / "residuals.png", title=name, unit=self.metric_unit
            ),
        ]

    def chart(
        self,
        figures: Path,
        folder: Path,
        best: str,
        predictions: dict[str, np.ndarray],
        best_baseline: str,
        baseline_predictions: dict[str, np.ndarray],
    ) -> Path:
        """Write forecast vs actual over the test period, in the series' units (``forecast.csv``).

        One row per (time, line) for the actual values, the best variant and the best baseline, over
        the test period's last ``CHART_STEPS`` steps: CET's 10,663 test days drew an unreadable band
        and made a `dvc plots diff` page of 12.9 MB.

        ``time`` is a decimal year for a dated series (monthly and daily alike draw on one
        quantitative axis, and an undated series' steps on the same kind), ``date`` the label.
        """
        target_index = self.arrays["test_target_index"][:, 0][-CHART_STEPS:]
        if self.dates:
            stamps = pd.to_datetime([self.dates[i] for i in target_index])
            days = np.where(stamps.is_leap_year, 366.0, 365.0)
            time = stamps.year + (stamps.dayofyear - 1) / days
            labels = [self.dates[i] for i in target_index]
        else:
            time = target_index.astype(float)
            labels = [str(int(i)) for i in target_index]
        shown = slice(-target_index.size, None)
        lines = {
            "actual": self.arrays["values"][target_index],
            f"model ({best})": np.asarray(predictions[best])[shown, 0] * self.std + self.mean,
            f"baseline ({best_baseline})": np.asarray(baseline_predictions[best_baseline])[shown, 0]
            * self.std
            + self.mean,
        }
        table = pd.concat(
            pd.DataFrame(
                {"time": np.round(time, 5), "date": labels, "line": name, "value": np.round(values, 4)}
            )
            for name, values in lines.items()
        )
        destination = folder / "forecast.csv"
        table.to_csv(destination, index=False)
        return destination

    def _model_window(self, hyperparameters: dict[str, Any]) -> int:
        """Return the window a model of these hyperparameters reads (a tuned one, or the prepared one)."""
        size = hyperparameters.get("window_size")
        return int(size) if size is not None else int(self.manifest["params"]["window_size"])

    @property
    def served_baselines(self) -> tuple[str, ...]:
        """The climatologies (± trend, ± AR): what :meth:`served_baseline` refits."""
        return tuple(SERVED_BASELINES)

    def served_baseline(self, name: str) -> ClimatologyAR:
        """Baseline ``name`` fitted as for its test forecasts, as a model a served combination reruns.

        Only the climatologies (± trend, ± AR) are rebuilt at serving time; persistence, the seasonal
        naive forecast and differencing + moving average are not (a combination with one of them is
        reported, not registered).
        """
        from seqlab.baselines import Climatology, fit_climatology, fit_climatology_ar

        if name not in SERVED_BASELINES:
            raise ValueError(f"{name}: a served combination reruns {', '.join(SERVED_BASELINES)} only")
        trend, autoregressive = SERVED_BASELINES[name]
        config = _series_config(self.dataset).baselines
        split = int(self.manifest["split_index"])
        if autoregressive:
            return fit_climatology_ar(
                self.arrays["values"],
                self.season_keys,
                split,
                order=config.ar_order,
                trend=trend,
                smoothing=config.season_smoothing,
                selection=config.ar_selection,
            )
        fitted: Climatology = fit_climatology(
            self.arrays["values"], self.season_keys, split, trend=trend, smoothing=config.season_smoothing
        )
        return ClimatologyAR(fitted, np.zeros(1))

    def _reads(self, hyperparameters: dict[str, Any], combination: dict[str, Any] | None) -> int:
        """How many values before a target a served forecast reads (window, AR lags of the baselines)."""
        reads = self._model_window(hyperparameters)
        if hyperparameters.get("anchor") == HYBRID_ANCHOR:  # the residuals' one-step forecasts read back
            reads += self.hybrid_baseline.order
        if combination is not None:
            reads = max(reads, self.served_baseline(str(combination["baseline"])).order)
        return reads

    def input_example(
        self, hyperparameters: dict[str, Any], combination: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """Return the history of the last test forecast: the dates (or times) and values it reads."""
        target = int(self.arrays["test_target_index"][-1, 0])
        positions = np.arange(target - self._reads(hyperparameters, combination), target)
        if self.dates:
            times: Any = [self.dates[i] for i in positions]
            return pd.DataFrame({DATE_COLUMN: times, VALUE_COLUMN: self.arrays["values"][positions]})
        return pd.DataFrame({TIME_COLUMN: positions, VALUE_COLUMN: self.arrays["values"][positions]})

    def serving_spec(
        self, hyperparameters: dict[str, Any], combination: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Return window, horizon, calendar harmonics, training normalisation, seasons and date format.

        A hybrid's spec holds the baseline it corrects; a combination's (``weight`` × the model +
        (1 - ``weight``) × ``baseline``, from :func:`seqlab.stages.evaluate.combine`) the baseline it
        blends in, fitted as for the test period.
        """
        date_formats = {name: DATE_FORMATS[frequency] for frequency, name in FREQUENCY_NAMES.items()}
        starts = self.dates[0] if self.dates else 0
        return {
            "window_size": self._model_window(hyperparameters),
            "horizon": int(self.manifest["params"]["horizon"]),
            "calendar_harmonics": int(hyperparameters.get("calendar_harmonics", 0) or 0),
            "normalization": {"mean": self.mean, "std": self.std},
            "season": {"kind": self.season_kind, "count": self.season_count},
            "columns": {"time": DATE_COLUMN if self.dates else TIME_COLUMN, "value": VALUE_COLUMN},
            "date_format": date_formats[self.season_kind] if self.dates else None,
            "unit": self.dataset.kind.unit_of(self.dataset),
            "series_ends": self.manifest["series"]["test_period"]["last"],
            "baseline": (
                {**self.hybrid_baseline.to_dict(), "series_starts": starts}
                if hyperparameters.get("anchor") == HYBRID_ANCHOR
                else None
            ),
            "combination": (
                None
                if combination is None
                else {
                    "weight": float(combination["weight"]),
                    "baseline": str(combination["baseline"]),
                    "fitted": {
                        **self.served_baseline(str(combination["baseline"])).to_dict(),
                        "series_starts": starts,
                    },
                }
            ),
        }


class SeriesModality(Modality):
    """Univariate series forecast ``horizon`` steps ahead."""

    name = "series"
    metric = "test_mae"
    higher_is_better = False
    test_metrics = ("test_mae", "test_rmse", "test_mae_normalized")
    data_class = SeriesData

    def data_artifacts(self, folder: Path, manifest: dict[str, Any]) -> dict[str, Path | str]:
        """Return the manifest and the normalisation a forecast is mapped back with."""
        return {
            "data/manifest.json": folder / "manifest.json",
            "data/normalization.json": json.dumps(manifest["normalization"], indent=2),
        }

    def describe(self, dataset: DatasetConfig, parsed: ParsedSeries) -> dict[str, Any]:
        """Return counts, dates (or positions), missing values and range of the raw series."""
        values = parsed.values
        summary: dict[str, Any] = {"valid_records": int(values.size)}
        if parsed.frequency in DATE_FORMATS:
            date_format = DATE_FORMATS[parsed.frequency]
            summary.update(
                frequency=FREQUENCY_NAMES[parsed.frequency],
                first_date=values.index[0].strftime(date_format),
                last_date=values.index[-1].strftime(date_format),
            )
        else:
            summary.update(frequency="other", first_index=0, last_index=int(values.size - 1))
        summary.update(
            missing=parsed.missing,
            filled_by_gap_policy=parsed.filled,
            mean=float(values.mean()),
            minimum=float(values.min()),
            maximum=float(values.max()),
        )
        unit = dataset.kind.unit_of(dataset)
        if unit:
            summary["unit"] = unit
        return summary

    def check(self, dataset: DatasetConfig, parsed: ParsedSeries) -> None:
        """Check that the protocol's dates and test period fit the data."""
        series, _ = protocol_series(dataset, parsed)
        _series_config(dataset).split_at(int(series.size))

    def prepare(self, dataset: DatasetConfig, parsed: ParsedSeries, folder: Path, log: Log) -> dict[str, Any]:
        """Cut the protocol's period, split by time, normalise on train only and window."""
        from seqlab.prep.series import make_split_windows

        config = _series_config(dataset)
        series, dates = protocol_series(config, parsed)
        values = series.to_numpy(dtype=np.float64)
        split = config.split_at(values.size)
        settings = config.prepare
        windows = make_split_windows(
            values,
            split_index=split,
            window_size=settings.window_size,
            horizon=settings.horizon,
            stride=settings.stride,
            validation_fraction=settings.validation_fraction,
        )
        arrays = {
            "x_train": windows.x_train,
            "y_train": windows.y_train,
            "x_validation": windows.x_validation,
            "y_validation": windows.y_validation,
            "x_test": windows.x_test,
            "y_test": windows.y_test,
            "train_target_index": windows.train_target_index,
            "validation_target_index": windows.validation_target_index,
            "test_target_index": windows.test_target_index,
            "values": values,
        }

        def period(start: int, end: int) -> dict[str, Any]:
            labels = dates if dates is not None else [str(index) for index in range(values.size)]
            return {"first": labels[start], "last": labels[end - 1], "count": end - start}

        season = config.kind.season(config)
        manifest: dict[str, Any] = {
            "dataset": config.name,
            "kind": config.source.kind,
            "source": config.source.model_dump(mode="json"),
            "params": settings.model_dump(mode="json"),
            "split_index": split,
            "season": {"kind": season.kind, "count": season.count},
            "series": {
                "count": int(values.size),
                "missing_in_raw": parsed.missing,
                "filled_by_gap_policy": parsed.filled,
                "train_period": period(0, split),
                "test_period": period(split, values.size),
            },
            "normalization": {**windows.normalizer.to_dict(), "fitted_on": "train_period"},
            "windows": {name: int(arrays[f"x_{name}"].shape[0]) for name in ("train", "validation", "test")},
            "arrays": {name: array_record(array) for name, array in arrays.items()},
        }
        save_arrays(folder / "windows.npz", arrays)
        if dates is not None:
            with atomic_open(folder / "dates.txt") as handle:
                handle.write("\n".join(dates) + "\n")
        write_json(folder / "manifest.json", manifest)
        log(
            f"{config.name}: {manifest['windows']} windows of {settings.window_size} → horizon "
            f"{settings.horizon}, normalised with mean {windows.normalizer.mean:.3f}, "
            f"std {windows.normalizer.std:.3f}"
        )
        return manifest


SERIES = SeriesModality()
