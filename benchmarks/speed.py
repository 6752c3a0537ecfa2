"""Speed benchmark: seqlab's training overhead, the IMDB BiLSTM epoch, data preparation and its growth.

1. ``train_overhead``: ``seqlab.training.fit_model`` against ``model.fit`` on a freshly built CET GRU(32),
   same arrays, validation data and budget, runs alternating; the ratio of the median throughputs.
2. ``imdb_bilstm``: one epoch of Embedding(20000, 64) + Bidirectional(LSTM(64)) + Dense(1) over the 25k
   training reviews: plain Keras at batch 128, seqlab's builder and feed at batch 128 (like for like) and
   ``CHOSEN``, what the scan of git f0dd8fe picked (notes.md); interleaved rounds, medians, warm processes,
   contended epochs re-taken (see ``worker_imdb``). Validation accuracy after fixed epochs on the training
   part checks the chosen configuration against plain Keras; the test split is never read.
3. ``growth``: tokenising and padding reviews (at 4x all 50k), windowing the CET series (at 1x the real one)
   and one small-model epoch at 1x, 2x and 4x the data: time, and peak memory over memory before.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
VOCABULARY, MAX_LEN, EMBEDDING_DIM, UNITS, LEARNING_RATE = 20_000, 200, 64, 64, 1e-3
CONTENTION_LIMIT = 0.15  # the share of the CPUs other processes may take during an IMDB epoch
PROCESS_WARM_UP_EPOCHS = 2  # a fresh process's first bucketed epochs are slow (notes.md, 2026-12-01)


def _prepared(root: Path, dataset: str, name: str) -> Path:
    path = root / "data" / "prepared" / dataset / name
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing; run `seqlab stage prepare --dataset {dataset}` in {root}")
    return path


def cut_to_max_len(x: np.ndarray, padding: str, truncating: str) -> np.ndarray:
    """Prepared token ids of a longer ``max_len`` as if prepared at ``MAX_LEN`` (same vocabulary and sides).

    The speed protocol times 200-token reviews; the pipeline prepares more (params.yaml), and the
    vocabulary does not depend on the length, so cutting the prepared rows gives the same arrays.
    """
    from seqlab.prep.text import pad
    from seqlab.training import token_lengths

    if x.shape[1] == MAX_LEN:
        return x
    if x.shape[1] < MAX_LEN:
        raise ValueError(f"IMDB reviews are padded to {x.shape[1]} tokens, fewer than {MAX_LEN}")
    starts, lengths = token_lengths(x)
    rows = [row[start : start + length] for row, start, length in zip(x, starts, lengths, strict=True)]
    return pad(rows, MAX_LEN, padding, truncating)[0]


def imdb_arrays(root: Path = REPO_ROOT) -> dict[str, np.ndarray]:
    """The prepared IMDB training and validation arrays at ``MAX_LEN``, labels float32 (no test split)."""
    with np.load(_prepared(root, "imdb", "arrays.npz")) as archive:
        data = {key: archive[key] for key in ("x_train", "x_validation")}
        data |= {key: archive[key].astype(np.float32) for key in ("y_train", "y_validation")}
    if data["x_train"].shape[1] != MAX_LEN:
        manifest = json.loads(_prepared(root, "imdb", "manifest.json").read_text(encoding="utf-8"))
        sides = (manifest["params"]["padding"], manifest["params"]["truncating"])
        data |= {key: cut_to_max_len(data[key], *sides) for key in ("x_train", "x_validation")}
    return data


def cet_series(root: Path = REPO_ROOT) -> dict[str, Any]:
    """The prepared CET windows (float32), the series and its windowing protocol (never the test split)."""
    with np.load(_prepared(root, "cet", "windows.npz")) as archive:
        keys = ("x_train", "y_train", "x_validation", "y_validation")
        data: dict[str, Any] = {key: archive[key].astype(np.float32) for key in keys}
        data["values"] = archive["values"]
    manifest = json.loads(_prepared(root, "cet", "manifest.json").read_text(encoding="utf-8"))
    # split_index sat in the manifest's params before the params.yaml of 2026-12-02, beside them after
    params = {**manifest, **manifest.get("params", {})}
    protocol = ("split_index", "window_size", "horizon", "stride", "validation_fraction")
    return {**data, "protocol": {key: params[key] for key in protocol}}


def _proc_kb(field: str, name: str = "self/status") -> int:
    match = re.search(rf"{field}:\s+(\d+) kB", Path("/proc", name).read_text(encoding="utf-8"))
    return int(match.group(1)) if match else 0


def _cpu_seconds() -> tuple[float, float]:
    """(seconds all CPUs were busy since boot, CPU seconds of this process and its children)."""
    ticks = [int(value) for value in Path("/proc/stat").read_text(encoding="utf-8").split()[1:9]]
    own = os.times()
    busy = (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # minus idle and iowait
    return busy, own.user + own.system + own.children_user + own.children_system


@contextlib.contextmanager
def _stopwatch(memory: bool = False) -> Iterator[dict[str, Any]]:
    """Time a block, and the share of all CPUs other processes took meanwhile (the machine is shared).

    With ``memory``, also the peak of resident memory over resident memory before the block: VmHWM, reset
    through /proc/self/clear_refs, so TensorFlow's own allocations count and earlier peaks mask nothing.
    """
    record: dict[str, Any] = {}
    if memory:
        Path("/proc/self/clear_refs").write_text("5", encoding="ascii")
        before = _proc_kb("VmRSS")
    busy, own = _cpu_seconds()
    start = time.perf_counter()
    yield record
    seconds = time.perf_counter() - start
    busy_after, own_after = _cpu_seconds()
    foreign = max(0.0, busy_after - busy - (own_after - own)) / (seconds * len(os.sched_getaffinity(0)))
    record.update(seconds=round(seconds, 4), foreign_cpu_share=round(min(foreign, 1.0), 3))
    if memory:
        record["peak_memory_increase_mb"] = round(max(0.0, _proc_kb("VmHWM") - before) / 1024, 1)


def machine_info() -> dict[str, Any]:
    """The CPU, memory and library versions the numbers were taken on (what report.py names)."""
    import keras
    import tensorflow as tf

    cpu = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text(encoding="utf-8"))
    cpus, memory = len(os.sched_getaffinity(0)), round(_proc_kb("MemTotal", "meminfo") / 1024**2, 1)
    machine = {"cpu_model": cpu.group(1).strip() if cpu else "unknown", "usable_cpus": cpus}
    return {**machine, "memory_total_gb": memory, "tensorflow": tf.__version__, "keras": keras.__version__}


def _run_worker(name: str, arguments: dict[str, Any], isolate: bool) -> dict[str, Any]:
    """Run one measurement, in a fresh Python process when ``isolate`` (own thread pools, clean peaks)."""
    if not isolate:
        return {**WORKERS[name](**arguments), "isolated_process": False}
    with tempfile.TemporaryDirectory(prefix="seqlab-speed-") as folder:
        output = Path(folder) / "result.json"
        command = [sys.executable, "-m", "benchmarks.speed", "--worker", name, "--output", str(output)]
        command += ["--worker-arguments", json.dumps(arguments)]
        done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not output.exists():
            raise RuntimeError(f"worker {name} {arguments} failed ({done.returncode}): {done.stderr[-3000:]}")
        return {**json.loads(output.read_text(encoding="utf-8")), "isolated_process": True}


@dataclass(frozen=True)
class SpeedSettings:
    """Sizes of every case; ``full()`` is the benchmark, ``quick()`` the smoke profile. None = all."""

    mode: str = "full"
    seed: int = 42
    overhead_windows: int | None = None  # CET training windows (validation: a quarter as many)
    overhead_epochs: int = 2
    overhead_repeats: int = 5
    imdb_reviews: int | None = None  # timed, and trained on for accuracy (validation: half as many)
    imdb_rounds: int = 3
    imdb_accuracy_epochs: int = 2
    imdb_accuracy_tolerance: float = 0.015
    growth_factors: tuple[int, ...] = (1, 2, 4)
    text_prep_reviews: int = 12_500  # x 4: all 50k prepared reviews
    text_train_reviews: int = 6_250
    series_prep_days: int | None = None
    series_train_windows: int = 9_000
    isolate_workers: bool = True

    @classmethod
    def full(cls) -> SpeedSettings:
        return cls()

    @classmethod
    def quick(cls) -> SpeedSettings:
        quick: dict[str, Any] = {"overhead_windows": 1_024, "imdb_reviews": 512, "series_prep_days": 10_000}
        quick |= {"text_prep_reviews": 128, "text_train_reviews": 128, "series_train_windows": 512}
        quick |= {"overhead_epochs": 1, "overhead_repeats": 1, "imdb_rounds": 1, "imdb_accuracy_epochs": 1}
        return cls(mode="quick", isolate_workers=False, **quick)


def measure_train_overhead(settings: SpeedSettings) -> dict[str, Any]:
    """Time seqlab's ``fit_model`` and ``model.fit`` alternately on the same model, data and budget."""
    import keras

    from seqlab.models.builders import build_series_model
    from seqlab.training import fit_model

    cet, count, epochs = cet_series(), settings.overhead_windows, settings.overhead_epochs
    x, y = cet["x_train"][:count], cet["y_train"][:count]
    validation = tuple(cet[key][: count and count // 4] for key in ("x_validation", "y_validation"))

    def run(side: str, rows: int, epochs: int) -> float:
        keras.backend.clear_session(free_memory=True)
        model = build_series_model("gru", x.shape[1], units=32, seed=settings.seed)
        with tempfile.TemporaryDirectory() as folder, _stopwatch() as timing:
            if side == "plain":
                model.fit(x[:rows], y[:rows], 256, epochs, verbose=0, validation_data=validation)
            else:  # patience beyond the budget: both sides train every epoch
                budget = {"epochs": epochs, "batch_size": 256, "patience": epochs + 1}
                fit_model(model, x[:rows], y[:rows], *validation, checkpoint_dir=folder, **budget)
        return timing["seconds"]

    for side in ("plain", "seqlab"):  # untimed: the process's first models (oneDNN primitive caches)
        run(side, 1024, 1)
    seconds: dict[str, list[float]] = {"plain": [], "seqlab": []}
    for _ in range(settings.overhead_repeats):
        for side, runs in seconds.items():
            runs.append(run(side, len(x), epochs))
    plain, ours = (statistics.median(seconds[side]) for side in ("plain", "seqlab"))
    result: dict[str, Any] = {
        "train_windows": len(x),
        "validation_windows": len(validation[0]),
        "epochs": epochs,
    }
    result |= {f"{side}_seconds": runs for side, runs in seconds.items()}
    return {**result, "train_overhead_ratio": round(plain / ours, 3)}  # seqlab / plain throughput


@dataclass(frozen=True)
class LeverConfig:
    """One way to train the IMDB BiLSTM: plain Keras fed NumPy arrays, or seqlab's builder and feed."""

    name: str
    builder: str = "seqlab"
    batch_size: int = 128
    bucketing: bool = False
    threads: tuple[int, int] = (0, 0)  # TensorFlow (intra_op, inter_op) pools, 0 = default; own process

    def levers(self) -> dict[str, Any]:
        """The settings that differ from the plain reference's, as results.json holds them (sorted, lists)."""
        plain, own = (json.loads(json.dumps(asdict(config), sort_keys=True)) for config in (PLAIN, self))
        return {key: value for key, value in own.items() if key != "name" and value != plain[key]}


PLAIN, SEQLAB = LeverConfig("plain_b128", builder="plain"), LeverConfig("seqlab_b128")
CHOSEN = LeverConfig("seqlab_chosen", batch_size=512, bucketing=True, threads=(1, 2))
BUCKET_WIDTH = 25  # tokens per length bucket: the pipeline's own feed (seqlab.training.bucketed_dataset)


def build_bilstm(config: LeverConfig, seed: int) -> Any:
    """The BiLSTM of ``config``, seeded and compiled (it masks padding: bucketed batches need no rewiring)."""
    import keras

    from seqlab.models.builders import build_text_model

    keras.backend.clear_session(free_memory=True)
    if config.builder == "plain":
        keras.utils.set_random_seed(seed)
        layers = [keras.layers.Embedding(VOCABULARY, EMBEDDING_DIM, mask_zero=True)]
        layers += [keras.layers.Bidirectional(keras.layers.LSTM(UNITS)), keras.layers.Dense(1, "sigmoid")]
        model = keras.Sequential([keras.Input(shape=(MAX_LEN,), dtype="int32"), *layers])
        model.compile(keras.optimizers.Adam(LEARNING_RATE), "binary_crossentropy", metrics=["accuracy"])
        return model
    sizes = {"embedding_dim": EMBEDDING_DIM, "units": UNITS, "learning_rate": LEARNING_RATE}
    return build_text_model("lstm", VOCABULARY, MAX_LEN, bidirectional=True, seed=seed, **sizes)


def _fit(model: Any, config: LeverConfig, x: np.ndarray, y: np.ndarray, epochs: int, seed: int) -> dict:
    """Train as ``config`` feeds data; return the stopwatch's record (input pipeline included)."""
    from seqlab.training import array_dataset, bucketed_dataset

    batch = config.batch_size
    with _stopwatch() as timing:
        if config.builder == "plain":
            model.fit(x, y, batch_size=batch, epochs=epochs, shuffle=True, verbose=0)
        elif config.bucketing:
            data = bucketed_dataset(x, y, batch, shuffle=True, width=BUCKET_WIDTH)
            model.fit(data, epochs=epochs, shuffle=False, verbose=0)
        else:
            model.fit(array_dataset(x, y, batch, shuffle=True), epochs=epochs, shuffle=False, verbose=0)
    return timing


_WARM_CONFIGS: set[LeverConfig] = set()


def worker_imdb(config: dict, task: str, seed: int, reviews: int | None, epochs: int = 1) -> dict[str, Any]:
    """Time one steady-state epoch of ``config`` (``task="time"``), or train it ``epochs`` on the training
    part and score the validation part (``"accuracy"``), in this process, after setting its thread pools.

    Untimed before a timed epoch: ``PROCESS_WARM_UP_EPOCHS`` whole epochs of a throwaway model, once per
    process and configuration (a fresh process stays slow for its first epochs, whatever the model), and
    one fit of the timed model on both batch shapes (tracing). A timed epoch during which other processes
    took over ``CONTENTION_LIMIT`` of the CPUs is timed again, and the faster kept.
    """
    import tensorflow as tf

    lever = LeverConfig(**{**config, "threads": tuple(config["threads"])})
    pools = ("intra_op", "inter_op")
    for pool, count in zip(pools, lever.threads, strict=True):
        if count:  # fixed once TensorFlow's runtime starts: a non-default setting runs in a fresh process
            getattr(tf.config.threading, f"set_{pool}_parallelism_threads")(count)
    data = imdb_arrays()
    if task == "accuracy":
        model, part = build_bilstm(lever, seed), slice(reviews and reviews // 2)
        trained_x = data["x_train"][:reviews]
        trained = _fit(model, lever, trained_x, data["y_train"][:reviews], epochs, seed)
        x_validation, y_validation = data["x_validation"][part], data["y_validation"][part]
        scores = model.evaluate(x_validation, y_validation, batch_size=512, verbose=0, return_dict=True)
        scored = {"epochs": epochs, "train_seconds": trained["seconds"], "train_reviews": len(trained_x)}
        return scored | {f"validation_{key}": round(float(scores[key]), 4) for key in ("accuracy", "loss")}
    x = np.concatenate([data["x_train"], data["x_validation"]])[:reviews]
    y = np.concatenate([data["y_train"], data["y_validation"]])[:reviews]
    result: dict[str, Any] = {"reviews": len(x), "process_warm_up_seconds": None}
    if lever not in _WARM_CONFIGS:  # the same seed and batches as the timed epoch
        warm_up = _fit(build_bilstm(lever, seed), lever, x, y, PROCESS_WARM_UP_EPOCHS, seed)
        result["process_warm_up_seconds"] = warm_up["seconds"]
        _WARM_CONFIGS.add(lever)
    model = build_bilstm(lever, seed)
    rows = lever.batch_size + (len(x) % lever.batch_size or lever.batch_size)  # both batch shapes
    result["step_warm_up_seconds"] = _fit(model, lever, x[:rows], y[:rows], 1, seed)["seconds"]
    attempts = [_fit(model, lever, x, y, 1, seed)]
    if attempts[0]["foreign_cpu_share"] > CONTENTION_LIMIT:
        attempts.append(_fit(model, lever, x, y, 1, seed))
    result["threads"] = [getattr(tf.config.threading, f"get_{pool}_parallelism_threads")() for pool in pools]
    return result | {"epoch_seconds": min(run["seconds"] for run in attempts), "attempts": attempts}


def measure_imdb_bilstm(settings: SpeedSettings, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Time plain Keras, seqlab at batch 128 and ``CHOSEN`` in interleaved rounds; check accuracy."""

    def run(config: LeverConfig, task: str, epochs: int = 1) -> dict[str, Any]:
        arguments = {"config": asdict(config), "task": task, "seed": settings.seed, "epochs": epochs}
        arguments["reviews"] = settings.imdb_reviews
        return _run_worker("imdb", arguments, isolate=config.threads != (0, 0))

    rounds: dict[str, list[dict[str, Any]]] = {config.name: [] for config in (PLAIN, SEQLAB, CHOSEN)}
    for index in range(settings.imdb_rounds):  # a slow spell of the shared host hits every configuration
        for config in (PLAIN, SEQLAB, CHOSEN):
            rounds[config.name].append(run(config, "time"))
            log(f"speed: IMDB round {index + 1} {config.name}: {rounds[config.name][-1]['epoch_seconds']} s")
    seconds = {name: statistics.median(run["epoch_seconds"] for run in runs) for name, runs in rounds.items()}
    # accuracy: a fresh model trained on x_train, scored on x_validation
    epochs = settings.imdb_accuracy_epochs
    accuracy = {config.name: run(config, "accuracy", epochs) for config in (PLAIN, CHOSEN)}
    plain, chosen = (accuracy[name]["validation_accuracy"] for name in (PLAIN.name, CHOSEN.name))
    within = chosen >= plain - settings.imdb_accuracy_tolerance
    return {
        "timings": {name: {"epoch_seconds": seconds[name], "rounds": runs} for name, runs in rounds.items()},
        "accuracy": accuracy,
        "chosen": {"levers": CHOSEN.levers(), "epoch_seconds": seconds[CHOSEN.name]}
        | {"validation_accuracy": chosen, "within_tolerance": within},
    }


def worker_prepare_text(factor: int, base: int) -> dict[str, Any]:
    """Fit the vocabulary on 40% of ``factor * base`` real reviews (prepare_imdb: 20k of 50k), encode, pad."""
    import pandas as pd

    from seqlab.prep.text import encode, fit_vocabulary, pad

    texts = list(pd.read_parquet(_prepared(REPO_ROOT, "imdb", "texts.parquet"), columns=["text"])["text"])
    # evenly spaced rows of the 50k prepared reviews: the full set's mix of splits at every size
    picked = np.unique(np.linspace(0, len(texts) - 1, factor * base).round().astype(int))
    sample = [texts[index] for index in picked]
    del texts
    pad(encode(sample[:64], fit_vocabulary(sample[:64], 100)), MAX_LEN)  # untimed: first use of the layers
    with _stopwatch(memory=True) as timing:
        pad(encode(sample, fit_vocabulary(sample[: round(0.4 * len(sample))], VOCABULARY)), MAX_LEN)
    return {"reviews": len(sample), **timing}


def worker_prepare_series(factor: int, base: int | None) -> dict[str, Any]:
    """Window ``factor`` copies of the CET series' first ``base`` days as prepare does."""
    from seqlab.prep.series import make_split_windows

    cet = cet_series()
    with _stopwatch(memory=True) as timing:
        days = np.tile(cet["values"][:base], factor)
        split = round(len(days) * cet["protocol"]["split_index"] / len(cet["values"]))
        windows = make_split_windows(days, **{**cet["protocol"], "split_index": split})
    made = len(windows.x_train) + len(windows.x_validation) + len(windows.x_test)
    return {**timing, "days": len(days), "windows": made}


def worker_train_epoch(kind: str, factor: int, base: int, seed: int = 42) -> dict[str, Any]:
    """Time one epoch, through seqlab's feed, of a small model: a text Conv1D or a series GRU(32)."""
    import keras

    from seqlab.models.builders import build_series_model, build_text_model
    from seqlab.training import array_dataset

    if kind == "text":
        data, batch = imdb_arrays(), 128
        model = build_text_model("conv1d", VOCABULARY, MAX_LEN, embedding_dim=32, filters=32, seed=seed)
    else:
        data, batch = cet_series(), 256
        model = build_series_model("gru", data["x_train"].shape[1], units=32, seed=seed)
    x = np.concatenate([data["x_train"], data["x_validation"]])[: factor * base]
    y = np.concatenate([data["y_train"], data["y_validation"]])[: factor * base]
    if len(x) < factor * base:
        raise ValueError(f"{kind}: {len(x)} examples, {factor * base} asked for")
    model.fit(array_dataset(x[: 2 * batch], y[: 2 * batch], batch, shuffle=False), verbose=0)  # untimed
    keras.utils.set_random_seed(seed)
    with _stopwatch(memory=True) as timing:
        model.fit(array_dataset(x.copy(), y.copy(), batch, shuffle=True), shuffle=False, verbose=0)
    return {"items": len(x), "batch_size": batch, **timing}


GROWTH = {  # case (and its worker's name): the settings field of its size at 1x, the size's unit
    "text_preparation": ("text_prep_reviews", "reviews"),
    "series_preparation": ("series_prep_days", "days"),
    "text_training_epoch": ("text_train_reviews", "items"),
    "series_training_epoch": ("series_train_windows", "items"),
}
WORKERS: dict[str, Callable[..., dict]] = {"imdb": worker_imdb, "text_preparation": worker_prepare_text}
WORKERS |= {"series_preparation": worker_prepare_series}
WORKERS |= {
    f"{kind}_training_epoch": functools.partial(worker_train_epoch, kind) for kind in ("text", "series")
}


def _scaling(sizes: Sequence[float], values: Sequence[float]) -> dict[str, Any]:
    """The slope of value over size and the log-log exponent, with a verdict on linear growth."""
    slope = float(np.polyfit(sizes, values, 1)[0])
    exponent = float(np.polyfit(np.log(sizes), np.log(np.maximum(values, 1e-9)), 1)[0])
    verdict = "sublinear: fixed costs still dominate" if exponent < 0.85 else "about linear"
    verdict = "superlinear: grows faster than the data" if exponent > 1.15 else verdict
    scaled = {"slope_per_1000": round(slope * 1000, 4), "loglog_exponent": round(exponent, 3)}
    return {**scaled, "verdict": verdict}


def measure_growth(settings: SpeedSettings) -> dict[str, Any]:
    """Preparation and one small-model epoch at each growth factor, a fresh process per point (full run)."""
    growth: dict[str, Any] = {"factors": list(settings.growth_factors)}
    for name, (base, unit) in GROWTH.items():
        # series preparation imports no TensorFlow: a process of its own costs well under a second
        isolate = settings.isolate_workers or name == "series_preparation"
        size = getattr(settings, base)
        points = [_run_worker(name, {"factor": k, "base": size}, isolate) for k in settings.growth_factors]
        sizes, seconds = [point[unit] for point in points], [point["seconds"] for point in points]
        memory = [point["peak_memory_increase_mb"] for point in points]
        growth[name] = {"size_unit": unit, "points": points, "time_seconds": _scaling(sizes, seconds)}
        growth[name]["peak_memory_increase_mb"] = _scaling(sizes, memory)
    return growth


def run_speed_benchmark(
    settings: SpeedSettings, output: str | Path | None = None, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """Measure every case; return the results with the headline ``summary`` report.py reads, and write
    them atomically to ``output``. ``imdb_best_*`` names the chosen configuration (the scan's "best")."""
    from seqlab.fileio import write_json

    results: dict[str, Any] = {"mode": settings.mode, "settings": asdict(settings), "machine": machine_info()}
    log("speed: training overhead ...")
    overhead = results["train_overhead"] = measure_train_overhead(settings)
    log("speed: IMDB BiLSTM ...")
    imdb = results["imdb_bilstm"] = measure_imdb_bilstm(settings, log)
    log("speed: preparation and growth ...")
    growth = results["growth"] = measure_growth(settings)
    text, series = growth["text_preparation"]["points"][-1], growth["series_preparation"]["points"][0]
    results["summary"] = {
        "train_overhead_ratio": overhead["train_overhead_ratio"],
        **{f"imdb_best_{key}": value for key, value in imdb["chosen"].items() if key != "within_tolerance"},
        "imdb_plain_epoch_seconds": imdb["timings"][PLAIN.name]["epoch_seconds"],
        "imdb_seqlab_b128_epoch_seconds": imdb["timings"][SEQLAB.name]["epoch_seconds"],
        "imdb_plain_validation_accuracy": imdb["accuracy"][PLAIN.name]["validation_accuracy"],
        "imdb_tokenise_pad_reviews": text["reviews"],
        "imdb_tokenise_pad_seconds": text["seconds"],
        "imdb_tokenise_pad_peak_increase_mb": text["peak_memory_increase_mb"],
        "cet_windowing_seconds": series["seconds"],
    }
    if output is not None:
        write_json(output, results)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m benchmarks.speed [--quick] [--output PATH]``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.speed", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the harness in minutes")
    parser.add_argument("--output", type=Path, help="JSON to write (the summary is printed either way)")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--worker-arguments", default="{}", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from seqlab.fileio import write_json

    if arguments.worker:
        write_json(arguments.output, WORKERS[arguments.worker](**json.loads(arguments.worker_arguments)))
        return 0
    settings = SpeedSettings.quick() if arguments.quick else SpeedSettings.full()
    print(json.dumps(run_speed_benchmark(settings, arguments.output)["summary"], indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
