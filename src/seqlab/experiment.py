"""Modelling stages per dataset: baselines → tune → train variants → evaluate.

Each stage is a plain function of (dataset, params, paths) that reads the previous stage's files
under ``results/<dataset>/``, writes its own atomically and returns a plain dict. The CLI
(``seqlab stage NAME --dataset D``), ``dvc repro`` and the Prefect flow call these same functions;
tracking is injected through ``callbacks``/return values, never imported here.
The test split is read only by the baselines' and the evaluation's final scoring.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqlab.config import ImdbParams, Params, WindowParams
from seqlab.fileio import atomic_path, save_arrays, write_json
from seqlab.paths import ProjectPaths

Log = Callable[[str], None]
STAGES: tuple[str, ...] = ("baselines", "tune", "train", "evaluate")
CallbackFactory = Callable[[str], list[Any]]
# Series model inputs carry the calendar features of the target for this many harmonics; a model uses the
# first ``calendar_harmonics`` of them (a hyperparameter, 0 = none).
CALENDAR_HARMONICS_MAX = 4
SEASON_KINDS: dict[str, str] = {"giss": "monthly", "cet": "daily"}  # any other series: "periodic"


def results_dir(paths: ProjectPaths, dataset: str, stage: str) -> Path:
    """Folder of one modelling stage's outputs."""
    return paths.root / "results" / dataset / stage


def _read_json(path: Path) -> Any:
    if not path.exists():
        raise FileNotFoundError(f"{path} not found; run the stage that writes it first")
    return json.loads(path.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- prepared data


@dataclass
class SeriesData:
    """Prepared windows of a series dataset plus what is needed to put them back in °C and dates."""

    arrays: dict[str, np.ndarray]
    manifest: dict[str, Any]
    dates: list[str] | None
    dataset: str

    @property
    def season_kind(self) -> str:
        """How seasons are read: "monthly" or "daily" from the dates, else "periodic" from the index."""
        return SEASON_KINDS.get(self.dataset, "periodic")

    @property
    def season_count(self) -> int:
        """Number of distinct season keys: 12 months, 365 days, or the params' period."""
        kind = self.season_kind
        return 12 if kind == "monthly" else 365 if kind == "daily" else int(self.manifest["params"]["period"])

    @cached_property
    def season_keys(self) -> np.ndarray:
        """Season key of every position of the series (see :func:`seqlab.baselines.season_keys`)."""
        from seqlab.baselines import season_keys

        size = int(self.arrays["values"].size)
        return season_keys(self.season_kind, self.dates, size, self.season_count)

    def inputs(self, split: str) -> np.ndarray:
        """Model inputs of a split: the prepared windows, then the calendar features of each target.

        The calendar columns (``2 * CALENDAR_HARMONICS_MAX``) describe the date of the first target of the
        row; :func:`model_inputs` keeps as many as a model's ``calendar_harmonics`` asks for.
        """
        from seqlab.prep.series import calendar_features

        first_target = self.arrays[f"{split}_target_index"][:, 0]
        calendar = calendar_features(
            self.season_keys[first_target], self.season_count, CALENDAR_HARMONICS_MAX
        )
        return np.concatenate([self.arrays[f"x_{split}"], calendar], axis=1).astype("float32")

    @property
    def mean(self) -> float:
        """Normalisation mean fitted on the training period."""
        return float(self.manifest["normalization"]["mean"])

    @property
    def std(self) -> float:
        """Normalisation std fitted on the training period."""
        return float(self.manifest["normalization"]["std"])


def load_series_data(dataset: str, paths: ProjectPaths) -> SeriesData:
    """Load prepared windows, manifest and dates of a series dataset."""
    folder = paths.prepared_dir(dataset)
    manifest = _read_json(folder / "manifest.json")
    with np.load(folder / "windows.npz") as archive:
        arrays = {name: archive[name] for name in archive.files}
    dates_file = folder / "dates.txt"
    dates = dates_file.read_text(encoding="utf-8").split() if dates_file.exists() else None
    return SeriesData(arrays=arrays, manifest=manifest, dates=dates, dataset=dataset)


@dataclass
class TextData:
    """Prepared IMDB id matrices, labels and texts (texts only for the linear baseline)."""

    arrays: dict[str, np.ndarray]
    manifest: dict[str, Any]
    texts: pd.DataFrame


def load_text_data(paths: ProjectPaths) -> TextData:
    """Load prepared IMDB arrays, manifest and texts."""
    folder = paths.prepared_dir("imdb")
    manifest = _read_json(folder / "manifest.json")
    with np.load(folder / "arrays.npz") as archive:
        arrays = {name: archive[name] for name in archive.files}
    return TextData(arrays=arrays, manifest=manifest, texts=pd.read_parquet(folder / "texts.parquet"))


def model_inputs(array: np.ndarray, values: dict[str, Any] | None) -> np.ndarray:
    """Select what a series model of hyperparameters ``values`` reads from :meth:`SeriesData.inputs` rows.

    The last ``window_size`` steps of the prepared window (window size as a hyperparameter), then the
    first ``calendar_harmonics`` harmonics' calendar features. ``values=None`` (text) passes through.
    """
    if values is None:
        return array
    prepared = array.shape[1] - 2 * CALENDAR_HARMONICS_MAX
    window = array[:, :prepared]
    size = values.get("window_size")
    if size is not None:
        window = window[:, -int(size) :]
    harmonics = int(values.get("calendar_harmonics", 0) or 0)
    if harmonics > CALENDAR_HARMONICS_MAX:
        raise ValueError(f"calendar_harmonics: at most {CALENDAR_HARMONICS_MAX}, got {harmonics}")
    if not harmonics:
        return np.ascontiguousarray(window)
    return np.concatenate([window, array[:, prepared : prepared + 2 * harmonics]], axis=1)


# --------------------------------------------------------------------------- baselines


def stage_baselines(dataset: str, params: Params, paths: ProjectPaths, log: Log = print) -> dict[str, Any]:
    """Fit the statistical baselines on training data and score them on the test targets."""
    from seqlab import baselines, evaluation

    out = results_dir(paths, dataset, "baselines")
    if dataset == "imdb":
        settings: ImdbParams = params.imdb
        data = load_text_data(paths)
        train = data.texts[data.texts["split"] == "train"]
        test = data.texts[data.texts["split"] == "test"]
        probabilities = baselines.text_baseline(
            train["text"].tolist(),
            train["label"].to_numpy(),
            test["text"].tolist(),
            max_features=settings.baseline_max_features,
        )
        results = {"tfidf_logreg": evaluation.classification_metrics(test["label"].to_numpy(), probabilities)}
        predictions = {"tfidf_logreg": probabilities}
    else:
        window = params.series(dataset)
        data_series = load_series_data(dataset, paths)
        values = data_series.arrays["values"]
        target_index = data_series.arrays["test_target_index"]
        season_of = baselines.season_keys(
            data_series.season_kind, data_series.dates, values.size, window.period
        )
        forecasts = baselines.series_baselines(
            values, target_index, window.split_index, season_of, window.period, window.ar_order
        )
        y_true = (values[target_index] - data_series.mean) / data_series.std
        results = {}
        predictions = {}
        for name, forecast in forecasts.items():
            normalized = (forecast - data_series.mean) / data_series.std
            results[name] = evaluation.regression_metrics(
                y_true, normalized, data_series.mean, data_series.std, normalized_inputs=True
            )
            predictions[name] = forecast
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "metrics.json", results)
    save_arrays(out / "predictions.npz", predictions)
    for name, metrics in results.items():
        log(
            f"{dataset}: baseline {name}: "
            + ", ".join(f"{k}={v:.4g}" for k, v in metrics.items() if "_h" not in k)
        )
    return results


# --------------------------------------------------------------------------- tuning


def _series_builder(dataset: str, window: WindowParams) -> Callable[..., Any]:
    from seqlab.models.builders import build_series_model

    def build(**values: Any) -> Any:
        arguments = dict(values)
        window_size = int(arguments.pop("window_size", window.window_size))
        if window_size > window.window_size:
            raise ValueError(
                f"{dataset}.tuning.space.window_size: {window_size} exceeds the prepared window_size "
                f"{window.window_size}; raise {dataset}.window_size"
            )
        return build_series_model(window_size=window_size, horizon=window.horizon, **arguments)

    return build


def _text_builder(settings: ImdbParams, vocab_size: int) -> Callable[..., Any]:
    from seqlab.models.builders import build_text_model

    def build(**values: Any) -> Any:
        return build_text_model(vocab_size=vocab_size, max_len=settings.max_len, **values)

    return build


def _builder_and_data(
    dataset: str, params: Params, paths: ProjectPaths
) -> tuple[Callable[..., Any], dict[str, Any]]:
    """Return the builder of a dataset and its train/validation arrays (no test data)."""
    if dataset == "imdb":
        text = load_text_data(paths)
        vocab_size = int(text.manifest["vocabulary"]["size"])
        arrays = {
            "x_train": text.arrays["x_train"],
            "y_train": text.arrays["y_train"].astype("float32"),
            "x_validation": text.arrays["x_validation"],
            "y_validation": text.arrays["y_validation"].astype("float32"),
        }
        return _text_builder(params.imdb, vocab_size), arrays
    series = load_series_data(dataset, paths)
    arrays = {
        "x_train": series.inputs("train"),
        "y_train": series.arrays["y_train"].astype("float32"),
        "x_validation": series.inputs("validation"),
        "y_validation": series.arrays["y_validation"].astype("float32"),
    }
    return _series_builder(dataset, params.series(dataset)), arrays


def stage_tune(
    dataset: str, params: Params, paths: ProjectPaths, log: Log = print, callbacks: list[Any] | None = None
) -> dict[str, Any]:
    """Run (or resume) the Keras Tuner search on train/validation and record every trial."""
    from seqlab import tuning

    settings = params.imdb.tuning if dataset == "imdb" else params.series(dataset).tuning
    build, arrays = _builder_and_data(dataset, params, paths)
    out = results_dir(paths, dataset, "tune")
    # Resume only the same search: a changed space, budget or prepared data starts a new one.
    manifest = _read_json(paths.prepared_dir(dataset) / "manifest.json")
    fingerprint = hashlib.sha256(
        json.dumps(
            {"tuning": settings.model_dump(mode="json"), "data": manifest["arrays"]}, sort_keys=True
        ).encode()
    ).hexdigest()[:12]
    result = tuning.search(
        build,
        settings,
        arrays["x_train"],
        arrays["y_train"],
        arrays["x_validation"],
        arrays["y_validation"],
        directory=out / "tuner",
        project_name=f"{dataset}-{fingerprint}",
        input_slicer=None if dataset == "imdb" else model_inputs,
        callbacks=callbacks,
    )
    payload = result.as_dict()
    write_json(out / "trials.json", payload)
    best = result.best
    log(
        f"{dataset}: {len(result.trials)} trials, best {best.trial_id if best else None} "
        f"{settings.objective}={best.score if best else None} {best.hyperparameters if best else ''}"
    )
    return payload


# --------------------------------------------------------------------------- training


def stage_train(
    dataset: str,
    params: Params,
    paths: ProjectPaths,
    log: Log = print,
    callbacks_for: CallbackFactory | None = None,
) -> dict[str, Any]:
    """Retrain the best configuration once per dropout variant; save each model as .keras."""
    from seqlab import training

    settings = params.imdb.training if dataset == "imdb" else params.series(dataset).training
    trials = _read_json(results_dir(paths, dataset, "tune") / "trials.json")
    if not trials.get("best"):
        raise ValueError(f"{dataset}: the tuning stage recorded no completed trial to train")
    best_hyperparameters = dict(trials["best"]["hyperparameters"])
    build, arrays = _builder_and_data(dataset, params, paths)
    slice_values = None if dataset == "imdb" else best_hyperparameters
    out = results_dir(paths, dataset, "train")
    summary: dict[str, Any] = {"best_hyperparameters": best_hyperparameters, "variants": {}}
    trained: dict[str, str] = {}  # builder arguments → the variant that already trained them
    for name, variant in settings.variants.items():
        arguments = training.variant_arguments(
            best_hyperparameters, variant.dropout, variant.recurrent_dropout
        )
        signature = json.dumps(arguments, sort_keys=True)
        if signature in trained:
            # Same model, same seed, same data: train once (e.g. recurrent dropout of a conv model).
            twin = trained[signature]
            shutil.rmtree(out / name, ignore_errors=True)
            shutil.copytree(out / twin, out / name, ignore=shutil.ignore_patterns("checkpoint"))
            record = {**summary["variants"][twin], "same_as": twin}
            write_json(out / name / "fit.json", record)
            summary["variants"][name] = record
            log(f"{dataset}: variant {name}: the same model as {twin}, not trained again")
            continue
        training.set_determinism(settings.seed)
        model = build(**{**arguments, "seed": settings.seed})
        result = training.fit_model(
            model,
            model_inputs(arrays["x_train"], slice_values),
            arrays["y_train"],
            model_inputs(arrays["x_validation"], slice_values),
            arrays["y_validation"],
            epochs=settings.epochs,
            batch_size=settings.batch_size,
            patience=settings.patience,
            checkpoint_dir=out / name / "checkpoint",
            callbacks=callbacks_for(name) if callbacks_for else None,
        )
        with atomic_path(out / name / "model.keras") as temporary:
            keras_path = temporary.with_suffix(".keras")
            model.save(keras_path)
            keras_path.replace(temporary)
        record = {
            "hyperparameters": arguments,
            "best_epoch": result.best_epoch,
            "epochs_run": result.epochs_run,
            "best_metrics": result.best_metrics,
            "history": result.history,
            "stopped_early": result.stopped_early,
            "terminated_on_nan": result.terminated_on_nan,
        }
        write_json(out / name / "fit.json", record)
        summary["variants"][name] = record
        trained[signature] = name
        log(
            f"{dataset}: variant {name}: best epoch {result.best_epoch}/{result.epochs_run} "
            f"{result.best_metrics}"
        )
    write_json(out / "summary.json", summary)
    return summary


# --------------------------------------------------------------------------- evaluation


def stage_evaluate(dataset: str, params: Params, paths: ProjectPaths, log: Log = print) -> dict[str, Any]:
    """Score every variant on the held-out test split beside the baselines; leaderboard and plots."""
    import keras

    import seqlab.models  # noqa: F401  (registers the custom layers that saved models use)
    from seqlab import evaluation

    out = results_dir(paths, dataset, "evaluate")
    plots_dir = out / "plots"
    if out.exists():
        shutil.rmtree(plots_dir, ignore_errors=True)
    plots_dir.mkdir(parents=True, exist_ok=True)
    baseline_metrics = _read_json(results_dir(paths, dataset, "baselines") / "metrics.json")
    trials = _read_json(results_dir(paths, dataset, "tune") / "trials.json")
    summary = _read_json(results_dir(paths, dataset, "train") / "summary.json")
    text = dataset == "imdb"
    metric = "test_accuracy" if text else "test_mae"
    higher_is_better = text
    best_name, best_value = evaluation.best_baseline(baseline_metrics, metric, higher_is_better)

    variant_metrics: dict[str, dict[str, float]] = {}
    predictions: dict[str, np.ndarray] = {}
    for name, record in summary["variants"].items():
        model = keras.models.load_model(results_dir(paths, dataset, "train") / name / "model.keras")
        if text:
            data = load_text_data(paths)
            probabilities = model.predict(data.arrays["x_test"], batch_size=512, verbose=0).reshape(-1)
            metrics = evaluation.classification_metrics(data.arrays["y_test"], probabilities)
            predictions[name] = probabilities
        else:
            series = load_series_data(dataset, paths)
            x_test = model_inputs(series.inputs("test"), record["hyperparameters"])
            forecast = model.predict(x_test, batch_size=1024, verbose=0)
            metrics = evaluation.regression_metrics(
                series.arrays["y_test"], forecast, series.mean, series.std, normalized_inputs=True
            )
            predictions[name] = forecast * series.std + series.mean
        metrics["skill_vs_best_baseline"] = evaluation.skill(metrics[metric], best_value, higher_is_better)
        variant_metrics[name] = metrics
        log(
            f"{dataset}: variant {name}: {metric}={metrics[metric]:.4f} "
            f"(best baseline {best_name} {best_value:.4f})"
        )

    rows: list[dict[str, Any]] = []
    for name, metrics in baseline_metrics.items():
        rows.append({"model": name, "kind": "baseline", **metrics})
    for trial in trials["trials"]:
        rows.append(
            {
                "model": f"trial_{trial['trial_id']}",
                "kind": "trial",
                "status": trial["status"],
                f"val_{trials['objective'].removeprefix('val_')}": trial["score"],
                "hyperparameters": json.dumps(trial["hyperparameters"], sort_keys=True),
            }
        )
    for name, metrics in variant_metrics.items():
        rows.append({"model": f"variant_{name}", "kind": "variant", **metrics})
    board = evaluation.leaderboard(rows, metric, higher_is_better)
    evaluation.write_leaderboard(board, out / "leaderboard.csv", out / "leaderboard.md")

    _write_plots(dataset, paths, summary, predictions, plots_dir, text)
    write_learning_curves(summary, out / "learning_curves.csv")
    best_variant = (max if higher_is_better else min)(
        variant_metrics, key=lambda v: variant_metrics[v][metric]
    )
    result = {
        "metric": metric,
        "higher_is_better": higher_is_better,
        "test_data_sha256": test_data_sha256(dataset, paths),
        "best_baseline": {"name": best_name, metric: best_value},
        "best_variant": {"name": best_variant, **variant_metrics[best_variant]},
        "variants": variant_metrics,
        "baselines": baseline_metrics,
    }
    write_json(out / "metrics.json", result)
    return result


def test_data_sha256(dataset: str, paths: ProjectPaths) -> str:
    """Fingerprint of what a model is scored on, in real units: models compare only on equal test data.

    Series: the test targets' dates and values (independent of window size and normalisation);
    IMDB: the test reviews' texts and labels (independent of the vocabulary).
    """
    digest = hashlib.sha256(dataset.encode())
    if dataset == "imdb":
        texts = load_text_data(paths).texts
        test = texts[texts["split"] == "test"]
        for text, label in zip(test["text"], test["label"], strict=True):
            digest.update(f"{int(label)}\t{text}\n".encode())
        return digest.hexdigest()
    series = load_series_data(dataset, paths)
    target_index = series.arrays["test_target_index"]
    digest.update(np.ascontiguousarray(series.arrays["values"][target_index], dtype="float64").tobytes())
    if series.dates is not None:
        digest.update(" ".join(series.dates[i] for i in target_index[:, 0]).encode())
    return digest.hexdigest()


def write_learning_curves(summary: dict[str, Any], destination: Path) -> None:
    """One CSV row per (variant, epoch): what ``dvc plots`` draws as learning curves."""
    rows = []
    for name, record in summary["variants"].items():
        history = record["history"]
        for epoch in range(len(next(iter(history.values()), []))):
            rows.append(
                {
                    "variant": name,
                    "epoch": epoch + 1,
                    **{key: values[epoch] for key, values in history.items()},
                }
            )
    with atomic_path(destination) as temporary:
        pd.DataFrame(rows).to_csv(temporary, index=False)


def _write_plots(
    dataset: str,
    paths: ProjectPaths,
    summary: dict[str, Any],
    predictions: dict[str, np.ndarray],
    plots_dir: Path,
    text: bool,
) -> None:
    from seqlab import plots

    for name, record in summary["variants"].items():
        plots.plot_learning_curves(record["history"], plots_dir / f"learning_curves_{name}.png")
    if text:
        data = load_text_data(paths)
        best = next(iter(predictions))
        plots.plot_roc(data.arrays["y_test"], predictions[best], plots_dir / "roc.png")
        plots.plot_confusion_matrix(
            data.arrays["y_test"], predictions[best], plots_dir / "confusion_matrix.png"
        )
        return
    series = load_series_data(dataset, paths)
    target_index = series.arrays["test_target_index"][:, 0]
    axis: Any = [series.dates[i] for i in target_index] if series.dates else target_index
    actual = series.arrays["values"][target_index]
    first_step = {name: forecast[:, 0] for name, forecast in predictions.items()}
    baseline_forecasts = np.load(results_dir(paths, dataset, "baselines") / "predictions.npz")
    for name in baseline_forecasts.files:
        first_step[f"baseline {name}"] = baseline_forecasts[name][:, 0]
    plots.plot_forecast(
        axis,
        actual,
        first_step,
        plots_dir / "forecast.png",
        title=f"{dataset}: test period",
        zoom=min(120, len(actual)),
    )
    best_variant = next(iter(predictions))
    plots.plot_residuals(axis, actual, predictions[best_variant][:, 0], plots_dir / "residuals.png")


def text_test_probabilities(model: Any, paths: ProjectPaths) -> tuple[np.ndarray, np.ndarray]:
    """Return the IMDB test labels and ``model``'s probabilities for them: for final scoring only."""
    data = load_text_data(paths)
    probabilities = model.predict(data.arrays["x_test"], batch_size=512, verbose=0).reshape(-1)
    return data.arrays["y_test"], probabilities


def score_model(
    dataset: str, model: Any, paths: ProjectPaths, hyperparameters: dict[str, Any]
) -> dict[str, float]:
    """Test metrics of a trained model, in the same names and units as the evaluation stage."""
    from seqlab import evaluation

    if dataset == "imdb":
        y_test, probabilities = text_test_probabilities(model, paths)
        return evaluation.classification_metrics(y_test, probabilities)
    series = load_series_data(dataset, paths)
    x_test = model_inputs(series.inputs("test"), hyperparameters)
    forecast = model.predict(x_test, batch_size=1024, verbose=0)
    return evaluation.regression_metrics(
        series.arrays["y_test"], forecast, series.mean, series.std, normalized_inputs=True
    )


def fit_and_score(
    dataset: str,
    params: Params,
    paths: ProjectPaths,
    hyperparameters: dict[str, Any],
    checkpoint_dir: Path,
    seed: int | None = None,
    keep_probabilities: bool = False,
) -> dict[str, Any]:
    """Train one configuration with the dataset's training settings, then score it on the test split.

    What a comparison of model families needs beside the tuned pipeline: the same data, split,
    early stopping and metrics, for a configuration chosen by the caller (never by test scores).
    ``keep_probabilities`` (IMDB only) adds the model's ``probabilities`` for the validation and test
    rows, what :func:`seqlab.evaluation.stack_classifiers` combines.
    """
    if keep_probabilities and dataset != "imdb":
        raise ValueError(f"keep_probabilities: only for imdb (a classifier), not {dataset!r}")
    from seqlab import training

    settings = params.imdb.training if dataset == "imdb" else params.series(dataset).training
    seed = settings.seed if seed is None else seed
    build, arrays = _builder_and_data(dataset, params, paths)
    slice_values = None if dataset == "imdb" else hyperparameters
    training.set_determinism(seed)
    model = build(**{**hyperparameters, "seed": seed})
    result = training.fit_model(
        model,
        model_inputs(arrays["x_train"], slice_values),
        arrays["y_train"],
        model_inputs(arrays["x_validation"], slice_values),
        arrays["y_validation"],
        epochs=settings.epochs,
        batch_size=settings.batch_size,
        patience=settings.patience,
        checkpoint_dir=checkpoint_dir,
    )
    from seqlab import evaluation
    from seqlab.models.builders import count_parameters

    record = {
        "hyperparameters": hyperparameters,
        "seed": seed,
        "parameters": count_parameters(model),
        "best_epoch": result.best_epoch,
        "epochs_run": result.epochs_run,
        "best_metrics": result.best_metrics,
        "history": result.history,
    }
    if not keep_probabilities:
        return {**record, "test": score_model(dataset, model, paths, hyperparameters)}
    y_test, test_probabilities = text_test_probabilities(model, paths)
    validation = model.predict(arrays["x_validation"], batch_size=512, verbose=0).reshape(-1)
    return {
        **record,
        "test": evaluation.classification_metrics(y_test, test_probabilities),
        "probabilities": {"validation": validation, "test": test_probabilities},
    }


STAGE_FUNCTIONS: dict[str, Callable[..., dict[str, Any]]] = {
    "baselines": stage_baselines,
    "tune": stage_tune,
    "train": stage_train,
    "evaluate": stage_evaluate,
}
