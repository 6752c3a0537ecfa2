"""Training with early stopping, NaN protection and resumable checkpoints; seeded for determinism.

Tracking is injected: callers pass ``callbacks=`` (MLflow logging lives in seqlab.tracking), and
the function returns plain data (per-epoch history, best epoch).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import math
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seqlab.families import DROPOUT_FREE_FAMILIES, is_recurrent

# Set by the SIGINT handler of `seqlab stage` (seqlab.cli): a Ctrl-C that Python swallowed still stops.
INTERRUPTED = threading.Event()


@dataclass
class _TimeLimit:
    deadline: float  # time.monotonic()
    message: str


_TIME_LIMIT: list[_TimeLimit] = []  # the innermost last (module-level: Keras Tuner copies callbacks)


@contextlib.contextmanager
def time_limit(seconds: float | None, what: str) -> Iterator[None]:
    """Raise TimeoutError once ``seconds`` have passed: at the next batch of a fit, or at the end.

    A backstop for an orchestrator's own timeout (Prefect's alarm or injected exception), which is
    lost when it lands in a ``__del__`` or weakref callback, as :func:`stop_on_interrupt` explains:
    a step past its timeout then ran to its end and was reported Completed. Where that exception
    lands in a module's import instead, the step fails with "ImportError: initialization failed";
    any error raised past the deadline is therefore reported as this TimeoutError, caused by it.
    None: no limit.
    """
    if seconds is None:
        yield
        return
    limit = _TimeLimit(time.monotonic() + seconds, f"{what} ran past its timeout of {seconds:g} s")
    _TIME_LIMIT.append(limit)
    try:
        yield
        _check_time_limit()
    except (TimeoutError, KeyboardInterrupt):
        raise
    except BaseException as error:
        if time.monotonic() > limit.deadline:
            raise TimeoutError(limit.message) from error
        raise
    finally:
        _TIME_LIMIT.remove(limit)


def _check_time_limit() -> None:
    now = time.monotonic()
    for limit in _TIME_LIMIT:
        if now > limit.deadline:
            raise TimeoutError(limit.message)


def stop_on_interrupt() -> Any:
    """Return a Keras callback that raises at the next batch once INTERRUPTED is set or a time limit passed.

    Ctrl-C raises KeyboardInterrupt wherever the main thread is. Inside a weakref callback or a
    ``__del__`` (frequent while Keras builds and drops models) Python prints "Exception ignored" and
    carries on: an interrupted ``dvc repro`` of tune then ran its search to the end. The handler
    also sets the event, and this raises again from ordinary code; likewise TimeoutError once a
    :func:`time_limit` has passed. The state is module-level because Keras Tuner deep-copies
    callbacks for each trial. :func:`fit_model` and the tuner's fits always use it.
    """
    import keras

    class StopOnInterrupt(keras.callbacks.Callback):
        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            if INTERRUPTED.is_set():
                raise KeyboardInterrupt("interrupted")
            if _TIME_LIMIT:
                _check_time_limit()

        on_test_batch_end = on_train_batch_end
        on_predict_batch_end = on_train_batch_end

    return StopOnInterrupt()


# What stops a run from outside: Ctrl-C, a kill, and the alarm of Prefect's step timeouts.
HELD_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM, signal.SIGALRM)


class _Hold:
    """The handlers that a :func:`signals_held` block replaced, and the signals it noted."""

    def __init__(self) -> None:
        self.previous: dict[signal.Signals, Any] = {}
        self.pending: list[int] = []

    def note(self, signum: int, frame: Any) -> None:
        self.pending.append(signum)

    def hold(self) -> None:
        for held in HELD_SIGNALS:
            if signal.getsignal(held) is not None:  # None: installed outside Python, cannot be put back
                self.previous[held] = signal.signal(held, self.note)

    def let_go(self) -> None:
        """Put the handlers back, then raise the noted signals to them (which may raise or exit)."""
        previous, self.previous = self.previous, {}
        for held, handler in previous.items():
            signal.signal(held, handler)
        pending, self.pending = list(dict.fromkeys(self.pending)), []
        for signum in pending:
            signal.raise_signal(signum)


_HOLDS: list[_Hold] = []  # the innermost last


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold Ctrl-C, SIGTERM and SIGALRM while a block writes state; deliver them when it is done.

    Keras Tuner rewrites oracle.json and trial.json in place. A Ctrl-C that landed inside such a
    write left oracle.json empty, and the next ``dvc repro`` could not resume the search. Here a
    signal is only noted, then raised again to the handler that was in place (which may raise or
    end the process) once the block has finished. Signal handlers belong to the main thread:
    elsewhere this holds nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    hold = _Hold()
    _HOLDS.append(hold)
    try:
        hold.hold()
        yield
    finally:
        _HOLDS.remove(hold)
        hold.let_go()


@contextlib.contextmanager
def signals_released() -> Iterator[None]:
    """Inside :func:`signals_held`, let signals through again (the held ones first) for a while.

    For long stretches that write nothing half-done, such as training a trial's model, so that a
    Ctrl-C there stops the run at once rather than when the stretch ends.
    """
    if not _HOLDS or threading.current_thread() is not threading.main_thread():
        yield
        return
    hold = _HOLDS[-1]
    try:
        hold.let_go()
        yield
    finally:
        hold.hold()  # also when a let-go signal raised: the outer block still holds


PROGRESS_INTERVAL_SECONDS = 15.0  # at most one progress line this often (and the first and last epoch)


def progress(log: Callable[[str], None], label: str, epochs: int, monitor: str = "val_loss") -> Any:
    """Return a Keras callback that logs ``<label> · epoch k/n · val_loss x · 12 s`` as training goes.

    One plain line per update (no progress bar: the lines go to Prefect's and DVC's logs), at most
    every ``PROGRESS_INTERVAL_SECONDS``, so a long fit shows it is alive without flooding the log.
    """
    import keras

    class Progress(keras.callbacks.Callback):
        def on_train_begin(self, logs: Any = None) -> None:
            self.started = self.last = time.monotonic()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            now = time.monotonic()
            number = epoch + 1
            if number not in (1, epochs) and now - self.last < PROGRESS_INTERVAL_SECONDS:
                return
            self.last = now
            value = (logs or {}).get(monitor)
            shown = f" · {monitor} {float(value):.4g}" if value is not None else ""
            log(f"{label} · epoch {number}/{epochs}{shown} · {now - self.started:.0f} s")

    return Progress()


def set_determinism(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow and force deterministic ops, so reruns match on CPU."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def adapt_to_training_data(model: Any, x_train: np.ndarray, y_train: np.ndarray) -> int:
    """Fit the statistics of a model's data-fitted layers on the training split; return how many.

    Such a layer (``seqlab.models.cells.NaiveBayesNgrams``: its Naive Bayes ratios) is fitted like a
    Keras preprocessing layer's ``adapt``, here on the training arrays and labels that ``fit`` gets,
    never on validation or test data. It must read the model's input directly.
    """
    from seqlab.models.cells import NaiveBayesNgrams

    adapted = 0
    for layer in model.layers:
        if isinstance(layer, NaiveBayesNgrams):
            if layer.input is not model.inputs[0]:
                raise ValueError(f"layer {layer.name!r} must take the model's input to be fitted on it")
            layer.adapt(x_train, y_train)
            adapted += 1
    return adapted


def array_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool) -> Any:
    """Feed in-memory arrays to ``model.fit`` as a tf.data pipeline with tf.data autotuning off.

    What Keras builds from NumPy arrays itself has autotuning on, and in TensorFlow 2.21 deleting
    such an iterator can wait for the autotuner's next wake-up: the next epoch then started up to
    about 20 s late, often enough that one epoch in three of a 27 s IMDB epoch took 41 s
    (BENCHMARKS.md). Without the autotuner there is nothing to wait for. Batches are gathered from
    the arrays by shuffled indices (reshuffled every epoch, seeded by the global TensorFlow seed),
    as Keras does; floating arrays become float32, as Keras makes them.
    """
    import tensorflow as tf

    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} rows but y has {len(y)}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    inputs = tf.constant(x.astype(np.float32) if np.issubdtype(x.dtype, np.floating) else x)
    targets = tf.constant(y.astype(np.float32) if np.issubdtype(y.dtype, np.floating) else y)
    indices = tf.data.Dataset.range(len(x))
    if shuffle:
        indices = indices.shuffle(len(x), reshuffle_each_iteration=True)
    dataset = indices.batch(batch_size).map(
        lambda batch: (tf.gather(inputs, batch), tf.gather(targets, batch)),
        num_parallel_calls=2,
    )
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.prefetch(2).with_options(options)


def token_lengths(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's first real position and number of real tokens, for rows padded with id 0 on one side.

    A row with a 0 between real tokens cannot be cut to its tokens, so it is an error.
    """
    if x.ndim != 2 or not np.issubdtype(x.dtype, np.integer):
        raise ValueError(f"length bucketing needs a 2-D array of token ids, got {x.dtype} of shape {x.shape}")
    real = x != 0
    lengths = real.sum(axis=1)
    positions = np.arange(x.shape[1])[np.newaxis, :]
    if np.array_equal(real, positions < lengths[:, np.newaxis]):  # post-padded
        return np.zeros(len(x), dtype=np.int64), lengths
    starts = x.shape[1] - lengths
    if np.array_equal(real, positions >= starts[:, np.newaxis]):  # pre-padded
        return starts, lengths
    raise ValueError("length bucketing: token ids must be padded with 0 on one side, with no 0 inside a row")


def bucketed_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool, width: int) -> Any:
    """Feed token ids in batches of rows of similar length, each batch cut to its longest row (bucketing).

    Rows are grouped by length into buckets ``width`` tokens wide, so a batch of short reviews does
    not run the model over the padding of ``max_len``: the same epoch in less time (BENCHMARKS.md).
    Each batch is padded after its tokens, whichever side the rows were padded on; a model that masks
    padding (Embedding ``mask_zero``, NBSVM's n-grams) gives the same outputs on it as on the full rows.
    Shuffled as :func:`array_dataset` (seeded, every epoch); tf.data autotuning off for the same reason.
    """
    import tensorflow as tf

    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} rows but y has {len(y)}")
    if batch_size < 1 or width < 1:
        raise ValueError(f"batch_size and bucket width must be >= 1, got {batch_size} and {width}")
    starts, lengths = token_lengths(x)
    lengths = np.maximum(lengths, 1)  # an empty row keeps one padding step (all masked, as unbucketed)
    starts = np.minimum(starts, x.shape[1] - 1)
    boundaries = list(range(width + 1, x.shape[1] + 1, width))  # bucket i: lengths [b[i-1], b[i])
    targets = y.astype(np.float32) if np.issubdtype(y.dtype, np.floating) else y
    data = tf.data.Dataset.from_tensor_slices((x, targets, starts, lengths))
    if shuffle:
        data = data.shuffle(len(x), reshuffle_each_iteration=True)
    data = data.map(lambda ids, label, start, length: (ids[start : start + length], label))
    data = data.bucket_by_sequence_length(
        lambda ids, _label: tf.shape(ids)[0], boundaries, [batch_size] * (len(boundaries) + 1)
    )
    # Every epoch has as many batches (they depend on the lengths only); Keras knowing it skips its
    # "ran out of data" pass over the first epoch.
    sizes = np.bincount(np.searchsorted(boundaries, lengths, side="right"))
    data = data.apply(tf.data.experimental.assert_cardinality(int(np.ceil(sizes / batch_size).sum())))
    options = tf.data.Options()
    options.autotune.enabled = False
    return data.prefetch(2).with_options(options)


def feed(
    x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool, bucket_width: int | None = None
) -> Any:
    """Return what ``model.fit`` reads: length-bucketed batches when ``bucket_width`` is set, else fixed."""
    if bucket_width is None:
        return array_dataset(x, y, batch_size, shuffle)
    return bucketed_dataset(x, y, batch_size, shuffle, bucket_width)


@dataclass
class FitResult:
    """What a fit did: the full per-epoch history (across resumes) and the epoch it kept."""

    history: dict[str, list[float]]
    best_epoch: int
    epochs_run: int
    best_metrics: dict[str, float]
    stopped_early: bool
    terminated_on_nan: bool


def _read_history(csv_path: Path) -> dict[str, list[float]]:
    if not csv_path.exists():
        return {}
    with open(csv_path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    history: dict[str, list[float]] = {}
    for row in rows:
        for key, value in row.items():
            if key != "epoch":
                history.setdefault(key, []).append(float(value))
    return history


def _direction(monitor: str) -> str:
    """Return "max" for accuracy-like metrics and "min" for losses and errors."""
    name = monitor.removeprefix("val_")
    return "max" if any(word in name for word in ("acc", "auc", "precision", "recall")) else "min"


def _truncate_history(csv_path: Path, last_epoch: int) -> None:
    """Drop the CSV rows of epochs after ``last_epoch`` (0-based): a resume runs them again."""
    if not csv_path.exists():
        return
    with open(csv_path, newline="", encoding="utf-8") as handle:
        lines = handle.read().splitlines(keepends=True)
    if not lines:
        return
    kept = [lines[0]] + [line for line in lines[1:] if int(next(csv.reader([line]))[0]) <= last_epoch]
    if len(kept) < len(lines):
        with open(csv_path, "w", newline="", encoding="utf-8") as handle:
            handle.writelines(kept)


class _TrainingState:
    """The resumable state of one ``fit_model`` run, held in memory and written to disk now and then.

    After every epoch it keeps a copy of the model's and the optimizer's variables (the snapshot: a
    few array copies, cheap next to an epoch) and, when ``monitor`` improved, of the model's weights.
    The snapshot (with the best weights) goes to ``backup_dir/state.npz`` once ``backup_interval_s``
    seconds have passed since the last write, and when ``model.fit`` raises (an interrupt, a crash in a
    callback), so a rerun resumes after the last completed epoch; a killed process loses at most the
    epochs since the last write.
    """

    def __init__(
        self,
        model: Any,
        backup_dir: Path,
        monitor: str,
        mode: str,
        backup_interval_s: float,
        fingerprint: str,
    ):
        self.model = model
        self.fingerprint = fingerprint
        self.backup_file = backup_dir / "state.npz"
        self.monitor = monitor
        self.mode = mode
        self.backup_interval_s = backup_interval_s
        self.best_value: float | None = None
        self.best_epoch = -1
        self.best_weights: list[np.ndarray] | None = None
        self.epoch = -1  # the last completed 0-based epoch, the one the snapshot belongs to
        self.snapshot: list[np.ndarray] | None = None
        self.resumed = False
        self.written_epoch = -1
        self.written_at = time.monotonic()

    def _variables(self) -> list[Any]:
        optimizer = self.model.optimizer
        return [*self.model.weights, *(optimizer.variables if optimizer is not None else [])]

    def load(self) -> bool:
        """Read the backup of this very fit, if any; ``restore`` puts it into the model once it is built.

        A backup left by another fit (other hyperparameters, settings or data) is not resumed: False.
        """
        if not self.backup_file.exists():
            return False
        with np.load(self.backup_file) as archive:
            meta = json.loads(str(archive["meta"]))
            if meta.get("fingerprint") != self.fingerprint:
                return False
            self.snapshot = [archive[f"state_{index}"] for index in range(meta["state"])]
            if meta["best"]:
                self.best_weights = [archive[f"best_{index}"] for index in range(meta["best"])]
        self.epoch = self.written_epoch = int(meta["epoch"])
        self.best_epoch = int(meta["best_epoch"])
        self.best_value = meta["best_value"]
        self.resumed = True
        return True

    def restore(self, logs: Any = None) -> None:
        """``on_train_begin``: on a resume, set the model's and optimizer's variables from the backup."""
        self.written_at = time.monotonic()
        if not self.resumed or self.snapshot is None:
            return
        optimizer = self.model.optimizer
        if optimizer is not None and not optimizer.built:
            optimizer.build(self.model.trainable_variables)
        variables = self._variables()
        if [tuple(variable.shape) for variable in variables] != [value.shape for value in self.snapshot]:
            raise ValueError(f"the backup {self.backup_file} does not fit this model and optimizer")
        for variable, value in zip(variables, self.snapshot, strict=True):
            variable.assign(value)

    def end_epoch(self, epoch: int, logs: Any = None) -> None:
        """``on_epoch_end``: track the best epoch, take the snapshot, write it when it is time."""
        value = (logs or {}).get(self.monitor)
        if value is not None and math.isfinite(value):
            best = self.best_value
            if best is None or (value < best if self.mode == "min" else value > best):
                self.best_value, self.best_epoch = float(value), epoch
                self.best_weights = self.model.get_weights()
        self.epoch = epoch
        self.snapshot = [variable.numpy() for variable in self._variables()]
        if time.monotonic() - self.written_at >= self.backup_interval_s:
            self.write()

    def write(self) -> None:
        """Write the snapshot and the best weights (atomically) unless that epoch is on disk already."""
        if self.snapshot is None or self.epoch <= self.written_epoch:
            return
        best = self.best_weights or []
        meta = {
            "epoch": self.epoch,
            "best_epoch": self.best_epoch,
            "best_value": self.best_value,
            "state": len(self.snapshot),
            "best": len(best),
            "fingerprint": self.fingerprint,
        }
        arrays: dict[str, Any] = {f"state_{index}": value for index, value in enumerate(self.snapshot)}
        arrays.update({f"best_{index}": value for index, value in enumerate(best)})
        self.backup_file.parent.mkdir(parents=True, exist_ok=True)
        partial = self.backup_file.with_name(f".{self.backup_file.name}.partial")
        with open(partial, "wb") as handle:
            np.savez(handle, meta=np.array(json.dumps(meta)), **arrays)
        os.replace(partial, self.backup_file)
        self.written_epoch = self.epoch
        self.written_at = time.monotonic()


def _without_names(config: Any) -> Any:
    """Drop the auto-numbered names (``adam_1``, ``dense_3``) from a Keras config: the same fit, rebuilt."""
    if isinstance(config, dict):
        return {key: _without_names(value) for key, value in config.items() if key != "name"}
    if isinstance(config, list):
        return [_without_names(value) for value in config]
    return config


def _fit_fingerprint(
    model: Any, arrays: tuple[np.ndarray, ...], batch_size: int, monitor: str, bucket_width: int | None
) -> str:
    """Return what a backup must match to be resumed: the model, its optimizer, the data, the feed."""
    configuration = {
        "model": _without_names(json.loads(model.to_json())),
        "optimizer": _without_names(model.optimizer.get_config()) if model.optimizer is not None else None,
    }
    digest = hashlib.sha256(json.dumps(configuration, sort_keys=True, default=str).encode())
    for array in arrays:
        contiguous = np.ascontiguousarray(array)
        digest.update(f"{contiguous.dtype}{contiguous.shape}".encode())
        digest.update(contiguous.tobytes())
    digest.update(f"{batch_size} {monitor}".encode() + (f" {bucket_width}".encode() if bucket_width else b""))
    return digest.hexdigest()


def fit_model(
    model: Any,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_validation: np.ndarray,
    y_validation: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    patience: int,
    checkpoint_dir: str | Path,
    monitor: str = "val_loss",
    callbacks: list[Any] | None = None,
    verbose: int = 0,
    backup_interval_s: float = 10.0,
    bucket_width: int | None = None,
) -> FitResult:
    """Fit with EarlyStopping, TerminateOnNaN, a resumable backup and the best epoch's weights.

    Data-fitted layers are first fitted on the training split (:func:`adapt_to_training_data`).

    ``checkpoint_dir`` holds the backup an interrupted fit resumes from (``backup/``), the CSV history
    (appended across resumes) and, once the fit is done, the best epoch's weights
    (``best.weights.h5``); a finished fit removes the backup but keeps the history. The backup (model
    and optimizer state after an epoch, plus the best weights so far) is written at the end of an
    epoch when ``backup_interval_s`` seconds have passed since the last one (0: after every epoch),
    and whenever ``model.fit`` raises. A resume therefore starts after the last completed epoch after
    an exception, and loses at most about ``backup_interval_s`` seconds of training (plus the epoch
    in progress) after a hard kill; the history rows of epochs after the backup are dropped, as
    those epochs run again. The best weights are kept in memory between writes, so the per-epoch cost
    is a few array copies. The model ends with the weights of ``best_epoch`` counted over the whole
    history, also when the best epoch came before an interruption. Patience restarts on a resume.
    A backup of another fit (a different model, optimizer, data or batch size) is not resumed: the
    fit starts afresh. ``bucket_width`` feeds token ids length-bucketed (:func:`bucketed_dataset`).
    """
    import keras

    checkpoint_dir = Path(checkpoint_dir)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    history_csv = checkpoint_dir / "history.csv"
    backup_dir = checkpoint_dir / "backup"
    best_weights = checkpoint_dir / "best.weights.h5"
    mode = _direction(monitor)
    arrays = (x_train, y_train, x_validation, y_validation)
    fingerprint = _fit_fingerprint(model, arrays, batch_size, monitor, bucket_width)
    state = _TrainingState(model, backup_dir, monitor, mode, backup_interval_s, fingerprint)
    if state.load():
        _truncate_history(history_csv, state.epoch)
    else:  # a fresh fit, not a resume
        shutil.rmtree(backup_dir, ignore_errors=True)
        history_csv.unlink(missing_ok=True)
        best_weights.unlink(missing_ok=True)
    early_stopping = keras.callbacks.EarlyStopping(monitor=monitor, patience=patience, mode=mode)
    adapt_to_training_data(model, x_train, y_train)
    try:
        model.fit(
            feed(x_train, y_train, batch_size, True, bucket_width),
            validation_data=feed(x_validation, y_validation, batch_size, False, bucket_width),
            epochs=epochs,
            initial_epoch=state.epoch + 1,
            shuffle=False,  # the dataset shuffles (Keras would warn that it ignores shuffle=True)
            verbose=verbose,
            callbacks=[
                keras.callbacks.CSVLogger(str(history_csv), append=True),
                keras.callbacks.LambdaCallback(on_train_begin=state.restore, on_epoch_end=state.end_epoch),
                early_stopping,
                keras.callbacks.TerminateOnNaN(),
                stop_on_interrupt(),
                *(callbacks or []),
            ],
        )
    except BaseException as error:
        try:  # keep the last completed epoch, so that a rerun resumes there
            state.write()
        except Exception as failure:
            error.add_note(f"fit_model could not write its backup: {failure!r}")
        raise
    if state.best_weights is not None:
        model.set_weights(state.best_weights)
        model.save_weights(str(best_weights))
    shutil.rmtree(backup_dir, ignore_errors=True)
    history = _read_history(history_csv)
    monitored = history.get(monitor, [])
    finite = [(value, index) for index, value in enumerate(monitored) if math.isfinite(value)]
    if not finite:
        raise RuntimeError(f"training produced no finite {monitor}; history: {history}")
    # Earliest epoch among ties, as only a strict improvement counts as a new best.
    best_value, best_index = min(finite, key=lambda item: (item[0] if mode == "min" else -item[0], item[1]))
    return FitResult(
        history=history,
        best_epoch=best_index + 1,
        epochs_run=len(monitored),
        best_metrics={
            name: values[best_index] for name, values in history.items() if best_index < len(values)
        },
        stopped_early=len(monitored) < epochs,
        terminated_on_nan=any(not math.isfinite(value) for values in history.values() for value in values),
    )


def variant_arguments(best: dict[str, Any], dropout: float, recurrent_dropout: float) -> dict[str, Any]:
    """Return the best configuration's builder arguments with a variant's dropout settings.

    A family without recurrent layers has no recurrent dropout, so it gets 0.0 there: its
    ``recurrent_dropout`` variant is then the same model as ``none`` (and ``both`` as ``dropout``),
    which lets the caller train it once.
    """
    if not is_recurrent(best.get("family")):
        recurrent_dropout = 0.0
    if best.get("family") in DROPOUT_FREE_FAMILIES:
        dropout = 0.0
    return {**best, "dropout": dropout, "recurrent_dropout": recurrent_dropout}
