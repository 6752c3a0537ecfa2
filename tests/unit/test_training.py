"""seqlab.training with real Keras fits on a tiny window-8 regression task."""

from __future__ import annotations

import csv
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from seqlab.models import build_series_model
from seqlab.training import (
    FitResult,
    fit_model,
    set_determinism,
    signals_held,
    signals_released,
    variant_arguments,
)

WINDOW = 8
BATCH = 32


def task(count: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A learnable task: the next value is a fixed linear mix of the window, plus a little noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(count, WINDOW)).astype("float32")
    y = (x @ np.linspace(-1.0, 1.0, WINDOW) + 0.05 * rng.normal(size=count)).astype("float32")[:, None]
    split = int(count * 0.8)
    return x[:split], y[:split], x[split:], y[split:]


def model(seed: int = 1, learning_rate: float = 0.05, family: str = "dense") -> keras.Model:
    # Seeded as seqlab.modelling.fit_variant builds: the layers' seeds then come from a private
    # generator, not from Python's global one, which a thread left by an earlier test may draw from.
    set_determinism(seed)
    return build_series_model(family, WINDOW, units=4, learning_rate=learning_rate, seed=seed)


def fit(net: keras.Model, directory: Path, **options: Any) -> FitResult:
    x_train, y_train, x_val, y_val = task()
    arguments: dict[str, Any] = {"epochs": 5, "batch_size": BATCH, "patience": 5, **options}
    return fit_model(net, x_train, y_train, x_val, y_val, checkpoint_dir=directory, **arguments)


def validation_loss(net: keras.Model) -> float:
    _, _, x_val, y_val = task()
    return float(net.evaluate(x_val, y_val, batch_size=BATCH, verbose=0, return_dict=True)["loss"])


def csv_epochs(directory: Path) -> list[int]:
    with open(directory / "history.csv", newline="", encoding="utf-8") as handle:
        return [int(row["epoch"]) for row in csv.DictReader(handle)]


class Spoil(keras.callbacks.Callback):
    """From epoch ``start`` (0-based) on, shift every weight by a large constant: val_loss gets worse."""

    def __init__(self, start: int) -> None:
        super().__init__()
        self.start = start

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        if epoch >= self.start:
            for weight in self.model.trainable_weights:
                weight.assign(weight + 3.0)


class Interrupted(Exception):
    pass


class Interrupt(keras.callbacks.Callback):
    """Crash like a killed job at the end of a 0-based epoch (after the backup of that epoch)."""

    def __init__(self, epoch: int) -> None:
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        if epoch == self.epoch:
            raise Interrupted(f"interrupted after epoch {epoch}")


class CountEpochs(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.epochs: list[int] = []

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self.epochs.append(epoch)


class PoisonHead(keras.callbacks.Callback):
    """Set the head's kernel to NaN when a 0-based epoch begins, so that epoch's loss is NaN."""

    def __init__(self, epoch: int) -> None:
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        if epoch == self.epoch:
            kernel = self.model.get_layer("forecast").kernel
            kernel.assign(np.full(kernel.shape, np.nan, dtype="float32"))


@pytest.mark.slow
def test_same_seed_gives_identical_history_and_predictions(tmp_path: Path) -> None:
    _, _, x_val, _ = task()
    runs = []
    for run in range(2):
        net = model(seed=3, family="gru")
        result = fit(net, tmp_path / f"run{run}", epochs=3)
        runs.append((result.history, net.predict(x_val, verbose=0)))
    (history_a, predictions_a), (history_b, predictions_b) = runs
    assert history_a == history_b
    assert len(history_a["loss"]) == 3
    np.testing.assert_array_equal(predictions_a, predictions_b)


def test_early_stopping_keeps_the_best_epochs_weights(tmp_path: Path) -> None:
    net = model()
    result = fit(net, tmp_path, epochs=10, patience=2, callbacks=[Spoil(start=3)])
    val_loss = result.history["val_loss"]
    assert result.best_epoch == int(np.argmin(val_loss)) + 1 == 3
    assert result.stopped_early and result.epochs_run == 5 == len(val_loss)
    assert result.best_metrics["val_loss"] == val_loss[result.best_epoch - 1]
    assert validation_loss(net) == pytest.approx(val_loss[result.best_epoch - 1], abs=1e-6)
    assert not result.terminated_on_nan


def test_nan_midway_stops_and_keeps_the_last_finite_best(tmp_path: Path) -> None:
    net = model()
    result = fit(net, tmp_path, epochs=6, callbacks=[PoisonHead(epoch=2)])
    assert result.terminated_on_nan and result.stopped_early
    assert result.epochs_run == 3  # the NaN epoch is logged, then training stops
    assert not np.isfinite(result.history["loss"][-1])
    assert result.best_epoch == 2
    assert validation_loss(net) == pytest.approx(result.history["val_loss"][1], abs=1e-6)
    assert np.isfinite(net.predict(task()[2], verbose=0)).all()


def test_nan_from_the_first_epoch_raises(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="no finite val_loss"):
        fit(model(), tmp_path, epochs=4, callbacks=[PoisonHead(epoch=0)])
    assert csv_epochs(tmp_path) == [0]  # stopped after the first (NaN) epoch


@pytest.mark.slow
def test_interrupted_fit_resumes_from_the_backup(tmp_path: Path) -> None:
    with pytest.raises(Interrupted):
        fit(model(), tmp_path, epochs=5, callbacks=[Interrupt(epoch=1)])
    assert (tmp_path / "backup").is_dir()
    assert csv_epochs(tmp_path) == [0, 1]

    counter = CountEpochs()
    result = fit(model(), tmp_path, epochs=5, callbacks=[counter])  # a new process: a freshly built model
    assert counter.epochs == [2, 3, 4]
    assert csv_epochs(tmp_path) == [0, 1, 2, 3, 4]
    assert result.epochs_run == 5 and all(len(series) == 5 for series in result.history.values())
    assert not (tmp_path / "backup").exists()

    fresh = fit(model(), tmp_path, epochs=2)  # no backup left: a new fit, not a resume
    assert csv_epochs(tmp_path) == [0, 1] and fresh.epochs_run == 2


@pytest.mark.slow
def test_resumed_fit_restores_a_best_epoch_from_before_the_interruption(tmp_path: Path) -> None:
    with pytest.raises(Interrupted):
        fit(model(), tmp_path, epochs=5, callbacks=[Interrupt(epoch=1)])
    net = model()
    result = fit(net, tmp_path, epochs=5, callbacks=[Spoil(start=2)])
    assert result.best_epoch == int(np.argmin(result.history["val_loss"])) + 1 == 2
    assert validation_loss(net) == pytest.approx(result.history["val_loss"][1], abs=1e-6)


@pytest.mark.slow
def test_a_backup_of_another_fit_is_not_resumed(tmp_path: Path) -> None:
    """Other hyperparameters or other data in the same folder start afresh instead of resuming."""
    with pytest.raises(Interrupted):
        fit(model(), tmp_path, epochs=5, callbacks=[Interrupt(epoch=1)])
    assert (tmp_path / "backup").is_dir()

    counter = CountEpochs()
    result = fit(model(learning_rate=0.01), tmp_path, epochs=3, callbacks=[counter])  # another optimizer
    assert counter.epochs == [0, 1, 2]
    assert csv_epochs(tmp_path) == [0, 1, 2] and result.epochs_run == 3

    with pytest.raises(Interrupted):
        fit(model(), tmp_path, epochs=5, callbacks=[Interrupt(epoch=1)])
    x_train, y_train, x_val, y_val = task(seed=5)  # other data, same model
    counter = CountEpochs()
    options: dict[str, Any] = {"epochs": 3, "batch_size": BATCH, "patience": 5, "callbacks": [counter]}
    fit_model(model(), x_train, y_train, x_val, y_val, checkpoint_dir=tmp_path, **options)
    assert counter.epochs == [0, 1, 2]
    assert not (tmp_path / "backup").exists()


def test_variant_arguments_overrides_only_the_dropouts() -> None:
    best = {"family": "gru", "units": 8, "dropout": 0.0, "recurrent_dropout": 0.1, "learning_rate": 1e-3}
    variant = variant_arguments(best, dropout=0.2, recurrent_dropout=0.3)
    assert variant == {**best, "dropout": 0.2, "recurrent_dropout": 0.3}
    assert best["dropout"] == 0.0 and best["recurrent_dropout"] == 0.1  # the input is not changed
    assert variant_arguments({"family": "dense"}, 0.5, 0.0) == {
        "family": "dense",
        "dropout": 0.5,
        "recurrent_dropout": 0.0,
    }
    # no recurrent layer, no recurrent dropout: the variant equals the one without it
    assert variant_arguments({"family": "conv1d"}, 0.2, 0.3) == variant_arguments(
        {"family": "conv1d"}, 0.2, 0.0
    )


class Pause(keras.callbacks.Callback):
    """Sleep when a 0-based epoch begins, so a time-based backup falls due at the end of that epoch."""

    def __init__(self, epoch: int, seconds: float) -> None:
        super().__init__()
        self.epoch = epoch
        self.seconds = seconds

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        if epoch == self.epoch:
            time.sleep(self.seconds)


class Kill(keras.callbacks.Callback):
    """Copy ``checkpoint_dir`` as a killed process would leave it at the end of a 0-based epoch, then stop.

    A kill writes nothing more, so the copy (not the directory the interrupted fit leaves) is what a
    rerun resumes from.
    """

    def __init__(self, epoch: int, checkpoint_dir: Path, image: Path) -> None:
        super().__init__()
        self.epoch = epoch
        self.checkpoint_dir = checkpoint_dir
        self.image = image

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        if epoch == self.epoch:
            shutil.copytree(self.checkpoint_dir, self.image)
            raise Interrupted(f"killed after epoch {epoch}")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("interval", "pause_epoch", "resumed_epochs"),
    [
        (0.0, None, [4, 5]),  # a backup after every epoch: nothing is lost
        (1.5, 1, [2, 3, 4, 5]),  # the backup of epoch 1 is the last one before the kill after epoch 3
    ],
)
def test_killed_fit_resumes_from_the_last_timed_backup_and_keeps_the_best_epoch(
    tmp_path: Path, interval: float, pause_epoch: int | None, resumed_epochs: list[int]
) -> None:
    run, image = tmp_path / "run", tmp_path / "image"
    pause = [] if pause_epoch is None else [Pause(pause_epoch, interval + 0.1)]
    with pytest.raises(Interrupted):
        fit(model(), run, epochs=6, backup_interval_s=interval, callbacks=[*pause, Kill(3, run, image)])
    assert (image / "backup").is_dir() and not (image / "best.weights.h5").exists()
    assert csv_epochs(image) == [0, 1, 2, 3]  # the CSV log is written as it goes

    net, counter = model(), CountEpochs()
    spoil = Spoil(start=resumed_epochs[0])  # every resumed epoch is worse than the ones before
    result = fit(net, image, epochs=6, backup_interval_s=interval, callbacks=[counter, spoil])
    assert counter.epochs == resumed_epochs
    assert csv_epochs(image) == [0, 1, 2, 3, 4, 5]  # epochs after the backup ran again, logged once
    assert result.epochs_run == 6 and not (image / "backup").exists()
    # The best epoch is the last one in the backup: its weights come from before the kill.
    assert result.best_epoch == int(np.argmin(result.history["val_loss"])) + 1 == resumed_epochs[0]
    assert validation_loss(net) == pytest.approx(result.history["val_loss"][resumed_epochs[0] - 1], abs=1e-6)


class DiskWatch(keras.callbacks.Callback):
    """Record, at the end of every epoch, which of fit_model's files exist in ``checkpoint_dir``."""

    def __init__(self, checkpoint_dir: Path) -> None:
        super().__init__()
        self.checkpoint_dir = checkpoint_dir
        self.seen: list[list[str]] = []

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        self.seen.append(sorted(path.name for path in self.checkpoint_dir.iterdir()))


def test_short_fit_writes_only_the_log_while_training_and_the_best_weights_at_the_end(tmp_path: Path) -> None:
    watch = DiskWatch(tmp_path)
    net = model()
    result = fit(net, tmp_path, epochs=6, callbacks=[watch, Spoil(start=3)])  # default backup interval
    assert watch.seen == [["history.csv"]] * 6  # no backup or weights file per epoch
    assert sorted(path.name for path in tmp_path.iterdir()) == ["best.weights.h5", "history.csv"]
    assert result.best_epoch == 3
    stored = model(seed=9)  # other initial weights
    stored.optimizer.build(stored.trainable_variables)  # the file holds the optimizer's state too
    stored.load_weights(str(tmp_path / "best.weights.h5"))
    assert validation_loss(stored) == pytest.approx(result.history["val_loss"][2], abs=1e-6)
    assert validation_loss(net) == pytest.approx(result.history["val_loss"][2], abs=1e-6)


# --------------------------------------------------------------------------- array_dataset


def _epoch_rows(dataset: Any) -> tuple[list[int], list[int], Any]:
    """Row ids (column 0 of x) of one pass over the dataset, the batch sizes, and the x dtype."""
    rows: list[int] = []
    sizes: list[int] = []
    dtype = None
    for x_batch, y_batch in dataset:
        x_values, y_values = x_batch.numpy(), y_batch.numpy()
        assert (x_values[:, 0] == y_values).all(), "x and y rows came apart"
        rows.extend(int(value) for value in x_values[:, 0])
        sizes.append(len(x_values))
        dtype = x_batch.dtype
    return rows, sizes, dtype


def test_array_dataset_gives_every_row_once_per_epoch_and_reshuffles() -> None:
    from seqlab.training import array_dataset

    set_determinism(3)
    x = np.repeat(np.arange(50, dtype=np.float64)[:, None], 3, axis=1)  # row id in every column
    y = np.arange(50, dtype=np.float64)
    dataset = array_dataset(x, y, batch_size=16, shuffle=True)
    first, sizes, dtype = _epoch_rows(dataset)
    second, _, _ = _epoch_rows(dataset)
    assert sorted(first) == sorted(second) == list(range(50))
    assert first != second, "each epoch should see a new order"
    assert first != list(range(50))
    assert sizes == [16, 16, 16, 2]
    assert dtype.name == "float32", "float64 arrays are fed as float32, as Keras does"
    assert dataset.options().autotune.enabled is False

    ordered, _, _ = _epoch_rows(array_dataset(x, y, batch_size=16, shuffle=False))
    assert ordered == list(range(50))


def test_array_dataset_keeps_integer_tokens_and_refuses_bad_input() -> None:
    from seqlab.training import array_dataset

    tokens = np.arange(12, dtype=np.int32).reshape(6, 2)
    labels = np.arange(6, dtype=np.int64)
    (x_batch, _), *_ = list(array_dataset(tokens, labels, batch_size=6, shuffle=False))
    assert x_batch.dtype.name == "int32"
    with pytest.raises(ValueError, match="x has 6 rows but y has 5"):
        array_dataset(tokens, labels[:5], batch_size=2, shuffle=True)
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        array_dataset(tokens, labels, batch_size=0, shuffle=True)


def test_fit_model_fits_naive_bayes_ratios_on_training_data_only_and_learns(tmp_path: Path) -> None:
    """A review is positive when it holds token 7 followed by token 8: the pair, not either word."""
    from seqlab.models import build_text_model
    from seqlab.models.cells import NaiveBayesNgrams

    rng = np.random.default_rng(0)
    x = rng.integers(2, 30, size=(600, 12)).astype("int32")
    x[x == 7] = 9  # token 7 only where planted
    y = (rng.random(600) < 0.5).astype("int8")
    starts = rng.integers(0, 11, size=600)
    x[np.arange(600), starts] = 7
    x[np.arange(600), starts + 1] = np.where(y == 1, 8, 10)
    x[y == 0, rng.integers(0, 12, size=int((y == 0).sum()))] = 8  # 8 alone says nothing
    set_determinism(0)
    net = build_text_model("nbsvm", 30, 12, ngram=2, ngram_buckets=997, learning_rate=0.05, seed=0)
    result = fit_model(
        net,
        x[:400],
        y[:400],
        x[400:500],
        y[400:500],
        epochs=8,
        batch_size=32,
        patience=8,
        checkpoint_dir=tmp_path,
    )
    fitted = NaiveBayesNgrams(30, max_n=2, buckets=997)
    fitted.adapt(x[:400], y[:400])
    ratios = np.asarray(net.get_layer("naive_bayes_ngrams").ratios)
    np.testing.assert_allclose(ratios, np.asarray(fitted.ratios))
    accuracy = float(((net.predict(x[500:], verbose=0)[:, 0] > 0.5) == y[500:]).mean())
    assert accuracy > 0.95, (accuracy, result.history)


def test_variant_arguments_drops_dropout_for_a_family_without_dropout_layers() -> None:
    assert variant_arguments({"family": "nbsvm"}, 0.3, 0.3) == {
        "family": "nbsvm",
        "dropout": 0.0,
        "recurrent_dropout": 0.0,
    }


def test_a_swallowed_ctrl_c_still_stops_the_fit_at_the_next_batch(tmp_path: Path) -> None:
    """The SIGINT handler of `seqlab stage` sets INTERRUPTED; the callback raises from a batch end."""
    import copy

    from seqlab import training

    stop = copy.deepcopy(training.stop_on_interrupt())  # as Keras Tuner copies it for each trial
    training.INTERRUPTED.set()
    try:
        with pytest.raises(KeyboardInterrupt):
            fit(model(), tmp_path, epochs=3, callbacks=[stop])
    finally:
        training.INTERRUPTED.clear()
    assert fit(model(), tmp_path / "again", epochs=1, callbacks=[stop]).epochs_run == 1
    training.INTERRUPTED.set()  # fit_model itself always checks
    try:
        with pytest.raises(KeyboardInterrupt):
            fit(model(), tmp_path / "own", epochs=3)
    finally:
        training.INTERRUPTED.clear()


def test_a_time_limit_stops_a_fit_at_the_next_batch_and_a_step_at_its_end(tmp_path: Path) -> None:
    """The backstop of pipeline.step_timeouts: raised from ordinary code, not from a signal handler."""
    import time

    from seqlab import training

    too_late = pytest.raises(TimeoutError, match="step tune ran past its timeout of 0 s")
    with too_late, training.time_limit(0, "step tune"):
        fit(model(), tmp_path, epochs=3)
    assert not (tmp_path / "best.weights.h5").exists()  # stopped before the fit finished
    too_late = pytest.raises(TimeoutError, match="step prepare ran past its timeout of 0.01 s")
    with too_late, training.time_limit(0.01, "step prepare"):
        time.sleep(0.05)  # no fit to stop: raised when the step ends
    # An error past the deadline (here the import an alarm broke) is the timeout's, and keeps its cause.
    with (
        pytest.raises(TimeoutError, match="step tune ran past") as raised,
        training.time_limit(0, "step tune"),
    ):
        raise ImportError("initialization failed")
    assert isinstance(raised.value.__cause__, ImportError)
    with pytest.raises(ValueError, match="in time"), training.time_limit(600, "step tune"):
        raise ValueError("in time")
    with training.time_limit(600, "step train"), training.time_limit(None, "no limit"):
        assert fit(model(), tmp_path / "in_time", epochs=1).epochs_run == 1
    assert fit(model(), tmp_path / "after", epochs=1).epochs_run == 1  # the limits are gone


def _padded_reviews(rows: int, width: int, side: str, seed: int = 0) -> np.ndarray:
    """Token ids 2..49, lengths 0..width, padded with 0 on ``side``; row i starts with id 2 + i % 40."""
    rng = np.random.default_rng(seed)
    x = np.zeros((rows, width), dtype=np.int32)
    for row, length in enumerate(rng.integers(0, width + 1, size=rows)):
        tokens = rng.integers(2, 50, size=length)
        if length:
            tokens[0] = 2 + row % 40
        if side == "post":
            x[row, :length] = tokens
        elif length:
            x[row, -length:] = tokens
    return x


@pytest.mark.parametrize("side", ["post", "pre"])
def test_bucketed_dataset_cuts_each_batch_to_its_bucket_and_keeps_every_review(side: str) -> None:
    from seqlab.training import bucketed_dataset, token_lengths

    set_determinism(5)
    x = _padded_reviews(300, 40, side)
    y = np.arange(300, dtype=np.int64)  # the label names the row
    starts, lengths = token_lengths(x)
    dataset = bucketed_dataset(x, y, batch_size=16, shuffle=True, width=10)
    epochs = []
    for _ in range(2):
        seen: list[int] = []
        for batch_x, batch_y in dataset:
            ids, rows = batch_x.numpy(), batch_y.numpy()
            batch_lengths = lengths[rows]
            assert ids.shape[1] == max(int(batch_lengths.max()), 1), "a batch is cut to its longest review"
            # one bucket per batch: lengths 1-10, 11-20, 21-30, 31-40
            assert len(set((np.maximum(batch_lengths, 1) - 1) // 10)) == 1
            for row, tokens in zip(rows, ids, strict=True):  # each review's tokens, first, in order
                real = x[row, starts[row] : starts[row] + lengths[row]]
                np.testing.assert_array_equal(tokens[: lengths[row]], real)
                assert not tokens[lengths[row] :].any()
            seen.extend(rows.tolist())
        assert sorted(seen) == list(range(300))
        epochs.append(seen)
    assert epochs[0] != epochs[1], "each epoch should see a new order"
    assert dataset.cardinality().numpy() == sum(1 for _ in dataset)


def test_token_lengths_refuse_a_zero_inside_a_review_and_non_token_arrays() -> None:
    from seqlab.training import bucketed_dataset, token_lengths

    with pytest.raises(ValueError, match="padded with 0 on one side, with no 0 inside a row"):
        token_lengths(np.array([[3, 0, 4, 0]], dtype=np.int32))
    with pytest.raises(ValueError, match="2-D array of token ids, got float32"):
        token_lengths(np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="bucket width must be >= 1"):
        bucketed_dataset(np.ones((2, 3), dtype=np.int32), np.zeros(2), batch_size=2, shuffle=False, width=0)


def test_a_masked_text_model_scores_bucketed_batches_as_full_rows(tmp_path: Path) -> None:
    """The hybrid BiLSTM (masked embedding + NBSVM): the same loss either way, and bucketed fits learn."""
    from seqlab.models import build_text_model
    from seqlab.training import array_dataset, bucketed_dataset

    x = _padded_reviews(400, 30, "post", seed=1)
    y = (x == 7).any(axis=1).astype("float32")  # positive when the review holds token 7
    set_determinism(0)
    net = build_text_model(
        "lstm", 50, 30, anchor="nbsvm", bidirectional=True, units=8, embedding_dim=8, ngram=2,
        ngram_buckets=101, learning_rate=0.01, seed=0,
    )  # fmt: skip
    result = fit_model(
        net, x[:300], y[:300], x[300:], y[300:], epochs=6, batch_size=32, patience=6,
        checkpoint_dir=tmp_path, bucket_width=10,
    )  # fmt: skip
    full = net.evaluate(array_dataset(x[300:], y[300:], 32, shuffle=False), verbose=0, return_dict=True)
    cut = net.evaluate(bucketed_dataset(x[300:], y[300:], 32, False, 10), verbose=0, return_dict=True)
    assert cut["loss"] == pytest.approx(full["loss"], rel=1e-5)
    assert cut["accuracy"] == full["accuracy"]
    assert result.best_metrics["val_loss"] == pytest.approx(full["loss"], rel=1e-5)
    assert full["accuracy"] > 0.9, result.history


def test_held_signals_arrive_when_the_block_ends_and_released_ones_at_once() -> None:
    steps: list[str] = []
    with pytest.raises(KeyboardInterrupt), signals_held():
        signal.raise_signal(signal.SIGINT)
        steps.append("write finished")
    assert steps == ["write finished"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back

    with pytest.raises(KeyboardInterrupt), signals_held():
        signal.raise_signal(signal.SIGINT)
        with pytest.raises(KeyboardInterrupt), signals_released():  # the held Ctrl-C comes through
            steps.append("not reached")
        signal.raise_signal(signal.SIGINT)  # held again once the stretch is over
        steps.append("second write finished")
    assert steps == ["write finished", "second write finished"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
