"""Keras Tuner search over the model builders, with the space, objective and budget from params.

``build(hp)`` only maps search values onto a builder's named arguments, plus ``seed``: Keras Tuner
clears the Keras session before each trial, which drops the global seed, so an unseeded build would
draw its weights from Python's global generator, after whatever else in the process (a Prefect flow
run in-process, say) had drawn from it. Each trial's first model is built with the search seed instead,
its k-th execution with seed + k (the builders draw layer seeds from a private generator,
``seqlab.models.seeding``, so no other thread can shift them). Validation data comes from the
training period (the caller passes it); the test split never reaches this module.
A trial whose loss turns NaN is marked FAILED and is never chosen as best. Rerunning with the
same directory continues the search without repeating finished trials; a saved search whose state
files do not parse (a killed write, a bad copy) fails naming the file instead of resuming.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from seqlab.artifacts import SearchResult, TrialRecord
from seqlab.errors import CorruptStateError
from seqlab.families import model_label
from seqlab.fileio import atomic_open
from seqlab.schema import SpaceEntry, TuningParams
from seqlab.training import adapt_to_training_data, feed, signals_held, signals_released, stop_on_interrupt

BuildFunction = Callable[..., Any]
# Per-epoch logs of a trial, kept in its trial directory: the oracle only stores the best epoch.
EPOCHS_FILE = "epochs.json"
TIMING_FILE = "timing.json"  # when each trial began and ended
# What Keras Tuner reads to resume a search (tuner0.json, oracle.json, each trial's trial.json),
# and our epoch logs, relative to the search's project folder.
STATE_FILES: tuple[str, ...] = ("tuner*.json", "oracle.json", "trial_*/trial.json", f"trial_*/{EPOCHS_FILE}")


def _restart_hint(project_dir: Path) -> str:
    return (
        f"delete {project_dir} to restart this search from its first trial (its finished trials are "
        "lost), then run the tune stage again"
    )


def read_state_file(path: Path, project_dir: Path) -> Any:
    """Parse one JSON state file of a saved search, failing with its name, line and the way out."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise CorruptStateError(
            path, f"corrupt Keras Tuner state ({error.msg}); {_restart_hint(project_dir)}", line=error.lineno
        ) from None
    except UnicodeDecodeError as error:
        raise CorruptStateError(
            path, f"corrupt Keras Tuner state (not UTF-8 text: {error.reason}); {_restart_hint(project_dir)}"
        ) from None


def check_saved_search(project_dir: Path) -> None:
    """Parse every state file of a saved search before Keras Tuner reloads it.

    Keras Tuner's own reload fails on a truncated file with a bare JSON error that names no file.
    """
    for pattern in STATE_FILES:
        for path in sorted(project_dir.glob(pattern)):
            state = read_state_file(path, project_dir)
            if not isinstance(state, dict | list):
                raise CorruptStateError(
                    path,
                    f"corrupt Keras Tuner state (a JSON {type(state).__name__}, not an object); "
                    + _restart_hint(project_dir),
                )


def declare(hp: Any, name: str, entry: SpaceEntry) -> Any:
    """Declare one search-space entry on a Keras Tuner ``HyperParameters`` and return its value."""
    if entry.value is not None:
        return hp.Fixed(name, entry.value)
    if entry.values is not None:
        if all(isinstance(value, bool) for value in entry.values) and len(set(entry.values)) == 2:
            return hp.Boolean(name, default=entry.values[0])  # Choice would hand out 0 and 1
        return hp.Choice(name, entry.values)
    low, high = entry.min, entry.max
    if low is None or high is None:  # guarded by SpaceEntry's validator
        raise ValueError(f"space.{name}: a range needs min and max")
    integral = all(isinstance(v, int) for v in (low, high, entry.step if entry.step is not None else 1))
    if integral:
        step = int(entry.step) if entry.step is not None else None
        return hp.Int(name, int(low), int(high), step=step, sampling=entry.sampling)
    return hp.Float(name, float(low), float(high), step=entry.step, sampling=entry.sampling)


def _make_hypermodel(
    build: BuildFunction,
    space: Mapping[str, SpaceEntry],
    input_slicer: Callable[[np.ndarray, dict[str, Any]], np.ndarray],
    seed: int,
) -> Any:
    import keras_tuner

    class SearchHyperModel(keras_tuner.HyperModel):
        """Maps search values onto the builder (seeded) and refuses NaN trials."""

        # Builds since the current trial began (the tuner resets it): execution k gets seed + k.
        builds_in_trial = 0

        def build(self, hp: Any) -> Any:
            values = {name: declare(hp, name, entry) for name, entry in space.items()}
            execution_seed = seed + self.builds_in_trial
            self.builds_in_trial += 1
            return build(**{**values, "seed": execution_seed})

        def fit(self, hp: Any, model: Any, x: np.ndarray, y: np.ndarray, **kwargs: Any) -> Any:
            values = dict(hp.values)
            x_val, y_val = kwargs.pop("validation_data")
            batch_size, bucket_width = kwargs.pop("batch_size"), kwargs.pop("bucket_width", None)
            kwargs["shuffle"] = False  # the dataset shuffles
            x_train = input_slicer(x, values)
            adapt_to_training_data(model, x_train, y)  # e.g. Naive Bayes ratios, from training data only
            # the same feed as fit_model (seqlab.training.feed: bucketed or not, tf.data autotuning off)
            x_validation = input_slicer(x_val, values)
            history = model.fit(
                feed(x_train, y, batch_size, True, bucket_width),
                validation_data=feed(x_validation, y_val, batch_size, False, bucket_width),
                **kwargs,
            )
            for name, series in history.history.items():
                if not all(math.isfinite(float(value)) for value in series):
                    raise keras_tuner.errors.FailedTrialError(f"{name} became non-finite: {series}")
            return history

    return SearchHyperModel()


def _recording(tuner_class: type, log: Callable[[str], None] | None = None, label: str = "tune") -> type:
    """Subclass a tuner so each trial writes every epoch's logs to its directory (and says it began).

    Its state files are written whole: signals wait while Keras Tuner writes them (in place) and
    come through while a trial builds and trains its model (:func:`seqlab.training.signals_held`).
    """

    class RecordingTuner(tuner_class):
        def search(self, *fit_args: Any, **fit_kwargs: Any) -> Any:
            with signals_held():
                return super().search(*fit_args, **fit_kwargs)

        def run_trial(self, trial: Any, *fit_args: Any, **fit_kwargs: Any) -> Any:
            with signals_released():
                return super().run_trial(trial, *fit_args, **fit_kwargs)

        def save(self) -> None:
            with signals_held():
                super().save()

        def on_trial_begin(self, trial: Any) -> None:
            super().on_trial_begin(trial)
            if log is not None:
                values = {k: v for k, v in trial.hyperparameters.values.items() if not k.startswith("tuner/")}
                total = getattr(self.oracle, "max_trials", None) or "?"
                log(
                    f"{label} trial {len(self.oracle.trials)}/{total}: {model_label(values)}, "
                    + ", ".join(
                        f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                        for k, v in values.items()
                        if k != "family"
                    )
                )
            self.hypermodel.builds_in_trial = 0  # every trial starts from the search seed
            if not hasattr(self, "_epoch_logs"):
                self._epoch_logs: dict[str, list[dict[str, float]]] = {}
            self._epoch_logs[trial.trial_id] = []
            self._write_epochs(trial.trial_id)  # a retried trial starts over
            self._write_timing(trial.trial_id, {"started_ms": _now_ms()})

        def on_trial_end(self, trial: Any) -> None:
            timing = Path(self.get_trial_dir(trial.trial_id)) / TIMING_FILE
            started = json.loads(timing.read_text()) if timing.exists() else {}
            self._write_timing(trial.trial_id, {**started, "ended_ms": _now_ms()})
            super().on_trial_end(trial)

        def _write_timing(self, trial_id: str, timing: dict[str, int]) -> None:
            with atomic_open(Path(self.get_trial_dir(trial_id)) / TIMING_FILE) as handle:
                json.dump(timing, handle)

        def on_epoch_end(self, trial: Any, model: Any, epoch: int, logs: Any = None) -> None:
            with signals_held():  # the oracle rewrites the trial's trial.json
                super().on_epoch_end(trial, model, epoch, logs=logs)
            row = {"epoch": int(epoch), **{name: float(value) for name, value in (logs or {}).items()}}
            self._epoch_logs.setdefault(trial.trial_id, []).append(row)
            self._write_epochs(trial.trial_id)

        def _write_epochs(self, trial_id: str) -> None:
            # whole or absent: a search killed mid-write must still resume
            with atomic_open(Path(self.get_trial_dir(trial_id)) / EPOCHS_FILE) as handle:
                json.dump(self._epoch_logs[trial_id], handle)

    RecordingTuner.__name__ = RecordingTuner.__qualname__ = tuner_class.__name__
    return RecordingTuner


def _now_ms() -> int:
    return int(time.time() * 1000)


def _epoch_history(rows: list[dict[str, float]]) -> dict[str, list[float]]:
    """Per-epoch series from logged rows; with several executions, the per-epoch mean."""
    executions: list[list[dict[str, float]]] = []
    for row in rows:
        if not executions or row["epoch"] <= executions[-1][-1]["epoch"]:
            executions.append([])
        executions[-1].append(row)
    history: dict[str, list[float]] = {}
    for epoch_rows in zip(*executions, strict=False):
        for name in epoch_rows[0]:
            if name != "epoch":
                history.setdefault(name, []).append(float(np.mean([row[name] for row in epoch_rows])))
    return history


def make_tuner(
    build: BuildFunction,
    settings: TuningParams,
    directory: str | Path,
    project_name: str,
    input_slicer: Callable[[np.ndarray, dict[str, Any]], np.ndarray] | None = None,
    log: Callable[[str], None] | None = None,
    label: str = "tune",
) -> Any:
    """Create (or reload, when ``directory`` holds an earlier search) the configured tuner.

    A saved search that cannot be reloaded fails with a ``CorruptStateError`` naming the file (or
    the folder) and how to restart.
    """
    import keras_tuner

    hypermodel = _make_hypermodel(
        build, settings.space, input_slicer or (lambda array, _values: array), settings.seed
    )
    objective = keras_tuner.Objective(settings.objective, direction=settings.direction)
    common: dict[str, Any] = {
        "objective": objective,
        "directory": str(directory),
        "project_name": project_name,
        "overwrite": False,
        "seed": settings.seed,
        "executions_per_trial": settings.executions_per_trial,
        "max_consecutive_failed_trials": settings.max_consecutive_failed_trials,
    }
    if settings.algorithm == "random":
        tuner_class, options = keras_tuner.RandomSearch, {"max_trials": settings.max_trials}
    elif settings.algorithm == "bayesian":
        tuner_class, options = keras_tuner.BayesianOptimization, {"max_trials": settings.max_trials}
    else:
        tuner_class = keras_tuner.Hyperband
        options = {"max_epochs": settings.epochs, "factor": 3, "hyperband_iterations": 1}
    project_dir = Path(directory) / project_name
    if not project_dir.is_dir():
        return _recording(tuner_class, log, label)(hypermodel, **options, **common)
    check_saved_search(project_dir)
    try:
        return _recording(tuner_class, log, label)(hypermodel, **options, **common)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RuntimeError) as error:
        # well-formed JSON that is not what Keras Tuner wrote (an edited or mixed-up file)
        raise CorruptStateError(
            project_dir,
            f"cannot resume the saved search ({type(error).__name__}: {error}); {_restart_hint(project_dir)}",
        ) from error


def collect_trials(tuner: Any) -> SearchResult:
    """Turn the oracle's trials into plain records; best = best COMPLETED trial with a finite score."""
    objective = tuner.oracle.objective
    records = []
    # Ids are numbers whose zero padding follows max_trials, which a resumed search may change.
    for trial_id, trial in sorted(tuner.oracle.trials.items(), key=lambda item: (int(item[0]), item[0])):
        epochs_file = Path(tuner.get_trial_dir(trial_id)) / EPOCHS_FILE
        history: dict[str, list[float]] = {}
        if epochs_file.exists():
            history = _epoch_history(read_state_file(epochs_file, Path(tuner.project_dir)))
        else:  # a project written without per-epoch logs: the oracle's best-epoch values
            for name in trial.metrics.metrics:
                observations = trial.metrics.get_history(name)
                history[name] = [float(np.mean(observation.value)) for observation in observations]
        timing_file = Path(tuner.get_trial_dir(trial_id)) / TIMING_FILE
        timing = read_state_file(timing_file, Path(tuner.project_dir)) if timing_file.exists() else {}
        score = None if trial.score is None or not math.isfinite(float(trial.score)) else float(trial.score)
        records.append(
            TrialRecord(
                trial_id=str(trial_id),
                status=str(trial.status),
                score=score,
                # Hyperband's "tuner/epochs", "tuner/bracket", ... are bookkeeping, not builder arguments.
                hyperparameters={
                    name: value
                    for name, value in trial.hyperparameters.values.items()
                    if not name.startswith("tuner/")
                },
                history=history,
                message=(trial.message or None) if trial.status != "COMPLETED" else None,
                started_ms=timing.get("started_ms"),
                ended_ms=timing.get("ended_ms"),
            )
        )
    completed = [record for record in records if record.status == "COMPLETED" and record.score is not None]
    best = None
    if completed:
        chooser = max if objective.direction == "max" else min
        best = chooser(completed, key=lambda record: float(record.score or 0.0))
    return SearchResult(trials=records, best=best, objective=objective.name, direction=objective.direction)


def search(
    build: BuildFunction,
    settings: TuningParams,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_validation: np.ndarray,
    y_validation: np.ndarray,
    directory: str | Path,
    project_name: str = "search",
    input_slicer: Callable[[np.ndarray, dict[str, Any]], np.ndarray] | None = None,
    callbacks: list[Any] | None = None,
    verbose: int = 0,
    log: Callable[[str], None] | None = None,
    label: str = "tune",
) -> SearchResult:
    """Run (or resume) the configured search on training and validation data only.

    With ``log``: a line as each trial begins and, every few seconds, its epoch (``label`` leads them).
    """
    import keras

    from seqlab.training import progress

    keras.utils.set_random_seed(settings.seed)
    tuner = make_tuner(build, settings, directory, project_name, input_slicer, log, label)
    if log is not None and settings.algorithm != "hyperband":
        callbacks = [*(callbacks or []), progress(log, label, settings.epochs, settings.objective)]
    fit_arguments: dict[str, Any] = {
        "batch_size": settings.batch_size,
        "bucket_width": settings.bucket_width,
        "validation_data": (x_validation, y_validation),
        "callbacks": [keras.callbacks.TerminateOnNaN(), stop_on_interrupt(), *(callbacks or [])],
        "verbose": verbose,
    }
    if settings.algorithm != "hyperband":
        fit_arguments["epochs"] = settings.epochs
    try:
        tuner.search(x_train, y_train, **fit_arguments)
    except RuntimeError as error:  # keras-tuner stops after max_consecutive_failed_trials
        if "consecutive failures" not in str(error):
            raise
        trials = "; ".join(f"trial {t.trial_id} {t.status}" for t in collect_trials(tuner).trials)
        raise RuntimeError(f"tuning: {str(error).splitlines()[0]} {trials}") from error
    result = collect_trials(tuner)
    if result.best is None:
        raise RuntimeError(
            f"tuning: no trial completed with a finite {settings.objective}; "
            + "; ".join(f"trial {t.trial_id} {t.status}" for t in result.trials)
        )
    return result
