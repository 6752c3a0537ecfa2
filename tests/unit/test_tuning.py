"""seqlab.tuning with real Keras Tuner searches and real Keras training on tiny budgets."""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import signal
import sys
from pathlib import Path
from typing import Any, ClassVar

import keras
import keras_tuner
import numpy as np
import pytest

from seqlab.artifacts import SearchResult
from seqlab.errors import CorruptStateError
from seqlab.models import build_series_model
from seqlab.schema import SpaceEntry, TuningParams
from seqlab.tuning import EPOCHS_FILE, declare, search
from tests.unit.helpers import DrawingThread

WINDOW = 8


def task(count: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A learnable task: the next value is a fixed linear mix of the window, plus a little noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(count, WINDOW)).astype("float32")
    y = (x @ np.linspace(-1.0, 1.0, WINDOW) + 0.05 * rng.normal(size=count)).astype("float32")[:, None]
    split = int(count * 0.8)
    return x[:split], y[:split], x[split:], y[split:]


def settings(space: dict[str, dict[str, Any]], **options: Any) -> TuningParams:
    defaults: dict[str, Any] = {"max_trials": 2, "epochs": 3, "batch_size": 32, "seed": 5}
    entries = {name: SpaceEntry(**entry) for name, entry in space.items()}
    return TuningParams(space=entries, **{**defaults, **options})


class Poison(keras.layers.Layer):
    """Turns every output into NaN, so the loss is NaN from the first batch."""

    def call(self, inputs: Any) -> Any:
        return inputs * float("nan")


class CountingBuild:
    """A build function over build_series_model that counts its calls; ``poison`` makes the loss NaN."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, poison: bool = False, learning_rate: float = 0.01, **values: Any) -> keras.Model:
        self.calls.append({"poison": poison, "learning_rate": learning_rate, **values})
        net = build_series_model("dense", WINDOW, units=4, learning_rate=learning_rate, **values)
        if not poison:
            return net
        poisoned = keras.Sequential([keras.Input((WINDOW,)), net, Poison()])
        poisoned.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="huber", metrics=["mae"])
        return poisoned


class CountFits(keras.callbacks.Callback):
    """Counts model.fit calls; a class attribute, because the tuner deep-copies its callbacks."""

    started: ClassVar[list[int]] = []

    def on_train_begin(self, logs: Any = None) -> None:
        CountFits.started.append(1)


def run(build: Any, params: TuningParams, directory: Path, **options: Any) -> SearchResult:
    return search(build, params, *task(), directory=directory, **options)


def test_declare_maps_each_kind_of_entry() -> None:
    hp = keras_tuner.HyperParameters()
    assert declare(hp, "family", SpaceEntry(value="gru")) == "gru"
    assert declare(hp, "units", SpaceEntry(values=[16, 32])) == 16
    layers = declare(hp, "layers", SpaceEntry(min=1, max=3))
    filters = declare(hp, "filters", SpaceEntry(min=8, max=32, step=8))
    rate = declare(hp, "learning_rate", SpaceEntry(min=1e-4, max=1e-2, sampling="log"))
    dropout = declare(hp, "dropout", SpaceEntry(min=0.0, max=0.5, step=0.1))
    space = {item.name: item for item in hp.space}

    assert isinstance(space["family"], keras_tuner.engine.hyperparameters.Fixed)
    assert isinstance(space["units"], keras_tuner.engine.hyperparameters.Choice)
    assert space["units"].values == [16, 32]
    assert isinstance(space["layers"], keras_tuner.engine.hyperparameters.Int)
    assert (space["layers"].min_value, space["layers"].max_value, space["layers"].step) == (1, 3, 1)
    assert isinstance(layers, int) and 1 <= layers <= 3
    assert isinstance(space["filters"], keras_tuner.engine.hyperparameters.Int)
    assert space["filters"].step == 8 and filters in (8, 16, 24, 32)
    assert isinstance(space["learning_rate"], keras_tuner.engine.hyperparameters.Float)
    assert space["learning_rate"].sampling == "log"
    assert isinstance(rate, float) and 1e-4 <= rate <= 1e-2
    assert isinstance(space["dropout"], keras_tuner.engine.hyperparameters.Float)
    assert space["dropout"].step == pytest.approx(0.1) and 0.0 <= dropout <= 0.5


def test_declare_maps_a_true_false_choice_to_a_boolean() -> None:
    # A Choice of [False, True] would hand the builder 0 and 1; a Boolean hands it real booleans.
    hp = keras_tuner.HyperParameters()
    assert declare(hp, "bidirectional", SpaceEntry(values=[False, True])) is False
    assert declare(hp, "mixed", SpaceEntry(values=[0, 1])) == 0
    space = {item.name: item for item in hp.space}
    assert isinstance(space["bidirectional"], keras_tuner.engine.hyperparameters.Boolean)
    assert isinstance(space["mixed"], keras_tuner.engine.hyperparameters.Choice)


@pytest.mark.slow
def test_search_picks_the_learnable_configuration(tmp_path: Path) -> None:
    result = run(CountingBuild(), settings({"learning_rate": {"values": [1e-7, 0.05]}}), tmp_path)
    assert len(result.trials) == 2
    assert result.best is not None and result.best.hyperparameters == {"learning_rate": 0.05}
    assert (result.objective, result.direction) == ("val_loss", "min")
    for trial in result.trials:
        assert trial.status == "COMPLETED" and trial.message is None
        assert set(trial.hyperparameters) == {"learning_rate"}
        for name in ("loss", "val_loss"):
            series = trial.history[name]
            assert len(series) == 3 and all(isinstance(v, float) and math.isfinite(v) for v in series)
        assert trial.score == min(trial.history["val_loss"])
    assert result.best.score == min(trial.score or math.inf for trial in result.trials)
    assert result.as_dict()["best"]["trial_id"] == result.best.trial_id


@pytest.mark.slow
def test_search_resumes_without_repeating_trials(tmp_path: Path) -> None:
    space = {"learning_rate": {"min": 1e-3, "max": 1e-1, "sampling": "log"}}
    CountFits.started.clear()
    first = run(CountingBuild(), settings(space, max_trials=2), tmp_path, callbacks=[CountFits()])
    assert len(first.trials) == 2 and len(CountFits.started) == 2

    CountFits.started.clear()
    build = CountingBuild()
    second = run(build, settings(space, max_trials=3), tmp_path, callbacks=[CountFits()])
    assert len(CountFits.started) == 1  # only the new trial trained
    assert 1 <= len(build.calls) <= 2  # that trial, and at most one build while the tuner reloads
    assert len(second.trials) == 3
    for before, after in zip(first.trials, second.trials[:2], strict=True):
        assert (after.trial_id, after.score, after.hyperparameters) == (
            before.trial_id,
            before.score,
            before.hyperparameters,
        )
        assert after.history == before.history
    assert second.trials[2].hyperparameters not in [trial.hyperparameters for trial in first.trials]

    CountFits.started.clear()
    again = run(CountingBuild(), settings(space, max_trials=3), tmp_path, callbacks=[CountFits()])
    assert CountFits.started == [] and again.as_dict() == second.as_dict()


@pytest.mark.slow
def test_a_nan_trial_fails_and_is_never_best(tmp_path: Path) -> None:
    result = run(CountingBuild(), settings({"poison": {"values": [True, False]}}), tmp_path)
    by_poison = {trial.hyperparameters["poison"]: trial for trial in result.trials}
    assert set(by_poison) == {True, False}
    failed = by_poison[True]
    assert failed.status == "FAILED" and failed.score is None
    assert failed.message is not None and "non-finite" in failed.message
    assert not math.isfinite(failed.history["loss"][0])
    assert by_poison[False].status == "COMPLETED"
    assert result.best is by_poison[False]


@pytest.mark.slow
@pytest.mark.parametrize(("max_trials", "limit"), [(2, 3), (3, 2)])
def test_search_raises_when_every_trial_is_nan(tmp_path: Path, max_trials: int, limit: int) -> None:
    space = {"poison": {"value": True}, "learning_rate": {"values": [0.01, 0.02, 0.03]}}
    params = settings(space, max_trials=max_trials, max_consecutive_failed_trials=limit)
    with pytest.raises(RuntimeError, match=r"trial 0 FAILED; trial 1 FAILED") as caught:
        run(CountingBuild(), params, tmp_path)
    assert "trial 2" not in str(caught.value)


@pytest.mark.slow
@pytest.mark.parametrize("algorithm", ["hyperband", "bayesian"])
def test_other_algorithms_run_on_a_tiny_budget(tmp_path: Path, algorithm: str) -> None:
    params = settings({"learning_rate": {"values": [0.01, 0.05]}}, algorithm=algorithm, epochs=2)
    result = run(CountingBuild(), params, tmp_path)
    assert result.best is not None and result.best.score is not None
    assert result.best.hyperparameters["learning_rate"] in (0.01, 0.05)
    # only builder arguments: Hyperband's "tuner/..." bookkeeping would break build(**hyperparameters)
    assert all(set(trial.hyperparameters) == {"learning_rate"} for trial in result.trials)
    assert all(trial.status == "COMPLETED" for trial in result.trials)
    assert all(1 <= len(trial.history["val_loss"]) <= 2 for trial in result.trials)


def test_declare_keeps_float_ranges_with_whole_number_ends_as_floats() -> None:
    hp = keras_tuner.HyperParameters()
    declare(hp, "dropout", SpaceEntry(min=0.0, max=1.0))
    declare(hp, "units", SpaceEntry(min=8, max=64, sampling="log"))
    kinds = {item.name: type(item).__name__ for item in hp.space}
    assert kinds == {"dropout": "Float", "units": "Int"}


def test_search_fits_naive_bayes_ratios_on_the_training_data_of_each_trial(tmp_path: Path) -> None:
    """An nbsvm trial gets its ratios from x_train (as fit_model does), not the default ratios of 1."""
    from seqlab.models import NaiveBayesNgrams, build_text_model

    rng = np.random.default_rng(0)
    x = rng.integers(2, 30, size=(300, 10)).astype("int32")
    y = (rng.random(300) < 0.5).astype("int8")
    x[y == 1, 0] = 7  # token 7 marks a positive review
    built: list[keras.Model] = []

    def build(learning_rate: float, seed: int) -> keras.Model:
        model = build_text_model(
            "nbsvm", 30, 10, ngram=2, ngram_buckets=97, learning_rate=learning_rate, seed=seed
        )
        built.append(model)
        return model

    params = settings({"learning_rate": {"values": [0.01, 0.05]}})
    result = search(build, params, x[:200], y[:200], x[200:], y[200:], directory=tmp_path)
    trained = [model for model in built if int(model.optimizer.iterations) > 0]  # the tuner builds once more
    assert result.best is not None and len(trained) == 2
    expected = NaiveBayesNgrams(30, max_n=2, buckets=97)
    expected.adapt(x[:200], y[:200])
    for model in trained:
        ratios = np.asarray(model.get_layer("naive_bayes_ngrams").ratios)
        np.testing.assert_allclose(ratios, np.asarray(expected.ratios))


class DrawPythonRandom(keras.callbacks.Callback):
    """Draws from Python's global random generator, as other code in the process may between trials."""

    def __init__(self, draws: int) -> None:
        super().__init__()
        self.draws = draws

    def on_train_end(self, logs: Any = None) -> None:
        import random

        for _ in range(self.draws):
            random.random()


def test_trials_do_not_depend_on_what_else_draws_from_python_random(tmp_path: Path) -> None:
    """Keras Tuner clears the Keras session before each trial, which drops the global seed; every
    trial's model is built with the search seed, so its weights and scores are the same whatever
    else in the process draws from Python's generator: code between trials, or another thread during
    the builds (in the full suite a background thread once changed a trial's score from 0.675 to 0.247)."""
    params = settings({"learning_rate": {"values": [0.01, 0.02, 0.03, 0.05]}}, max_trials=3)
    scores = []
    for draws in (0, 3):
        with DrawingThread() if draws else contextlib.nullcontext():
            callbacks = [DrawPythonRandom(draws)]
            result = run(CountingBuild(), params, tmp_path / f"draws{draws}", callbacks=callbacks)
        scores.append([(trial.hyperparameters, trial.score) for trial in result.trials])
    assert scores[0] == scores[1]


def test_each_execution_of_a_trial_gets_its_own_seed(tmp_path: Path) -> None:
    """With executions_per_trial > 1 the executions differ (seed + k); every trial restarts at the seed."""
    build = CountingBuild()
    params = settings({"learning_rate": {"values": [0.01, 0.05]}}, executions_per_trial=2, epochs=1)
    result = run(build, params, tmp_path)
    assert len(result.trials) == 2
    # The tuner builds once to read the space, then twice per trial.
    assert [call["seed"] for call in build.calls[-4:]] == [5, 6, 5, 6]


TINY_SPACE = {"learning_rate": {"values": [1e-3, 0.05]}}


@pytest.fixture(scope="module")
def saved_search(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished two-trial search, copied by each test that damages it."""
    directory = tmp_path_factory.mktemp("saved")
    run(CountingBuild(), settings(TINY_SPACE, epochs=1), directory)
    return directory


@pytest.mark.parametrize(
    ("pattern", "line"),
    [("oracle.json", 1), ("tuner0.json", 1), ("trial_0/trial.json", 1), (f"trial_1/{EPOCHS_FILE}", 1)],
)
def test_a_truncated_state_file_is_named_with_the_way_out(
    saved_search: Path, tmp_path: Path, pattern: str, line: int
) -> None:
    shutil.copytree(saved_search, tmp_path, dirs_exist_ok=True)
    (state,) = (tmp_path / "search").glob(pattern)
    text = state.read_text(encoding="utf-8")
    state.write_text(text[: len(text) // 2], encoding="utf-8")  # a write cut short by a kill

    with pytest.raises(CorruptStateError) as caught:
        run(CountingBuild(), settings(TINY_SPACE, epochs=1), tmp_path)
    message = str(caught.value)
    assert caught.value.path == state and caught.value.line == line
    assert message.startswith(f"{state}, line {line}: corrupt Keras Tuner state")
    assert f"delete {tmp_path / 'search'} to restart this search" in message


def test_well_formed_json_that_is_not_tuner_state_names_the_folder(
    saved_search: Path, tmp_path: Path
) -> None:
    shutil.copytree(saved_search, tmp_path, dirs_exist_ok=True)
    (tmp_path / "search" / "trial_0" / "trial.json").write_text("{}", encoding="utf-8")
    with pytest.raises(CorruptStateError, match="cannot resume the saved search") as caught:
        run(CountingBuild(), settings(TINY_SPACE, epochs=1), tmp_path)
    assert caught.value.path == tmp_path / "search"


def test_garbage_state_then_deleting_the_folder_restarts_the_search(
    saved_search: Path, tmp_path: Path
) -> None:
    shutil.copytree(saved_search, tmp_path, dirs_exist_ok=True)
    (tmp_path / "search" / "oracle.json").write_bytes(b"\x00\xff garbage")
    with pytest.raises(CorruptStateError, match="not UTF-8"):
        run(CountingBuild(), settings(TINY_SPACE, epochs=1), tmp_path)
    shutil.rmtree(tmp_path / "search")  # what the message says to do
    assert len(run(CountingBuild(), settings(TINY_SPACE, epochs=1), tmp_path).trials) == 2


@pytest.mark.parametrize("state_file", ["oracle.json", "trial.json"])
def test_a_ctrl_c_inside_a_state_write_waits_for_it_then_the_search_resumes(
    tmp_path: Path, state_file: str
) -> None:
    """An interrupted `dvc repro` of tune once left oracle.json empty: the search could not resume.

    The Ctrl-C is sent just after Keras Tuner's file writer has truncated the state file (TensorFlow's
    GFile creates its writer on the first write), where Python would otherwise raise it.
    """
    sent: list[str] = []

    def ctrl_c_inside_the_write(frame: Any, event: str, arg: Any) -> None:
        if event != "return" or frame.f_code.co_name != "_prewrite_check" or sent:
            return
        name = str(frame.f_locals["self"].name)
        if name.endswith(state_file):
            sent.append(name)
            signal.raise_signal(signal.SIGINT)

    sys.setprofile(ctrl_c_inside_the_write)
    try:
        with pytest.raises(KeyboardInterrupt) as caught:
            run(CountingBuild(), settings(TINY_SPACE, epochs=1), tmp_path)
    finally:
        sys.setprofile(None)
    assert len(sent) == 1, "the Ctrl-C was never sent"
    # the writer is still open (its frames are in the traceback): the file must be whole already
    assert isinstance(json.loads(Path(sent[0]).read_text(encoding="utf-8")), dict), sent[0]
    del caught

    result = run(CountingBuild(), settings(TINY_SPACE, epochs=1), tmp_path)
    assert [trial.status for trial in result.trials] == ["COMPLETED", "COMPLETED"]


def test_random_search_with_as_many_trials_as_combinations_tries_each_once(tmp_path: Path) -> None:
    """What CET's and synthetic's default spaces rely on: 4 trials over 4 combinations cover them all."""
    space = {"learning_rate": {"values": [0.01, 0.05]}, "dropout": {"values": [0.0, 0.1]}}
    result = run(CountingBuild(), settings(space, max_trials=4, epochs=1), tmp_path)
    tried = {
        (trial.hyperparameters["learning_rate"], trial.hyperparameters["dropout"]) for trial in result.trials
    }
    assert tried == {(0.01, 0.0), (0.01, 0.1), (0.05, 0.0), (0.05, 0.1)}
