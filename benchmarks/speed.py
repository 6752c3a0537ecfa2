"""Speed benchmark: seqlab's training overhead, IMDB BiLSTM speed levers, data preparation and growth.

``python -m benchmarks.speed`` runs everything on the prepared data (about 43 minutes on 2 CPU cores,
most of it the IMDB BiLSTM's interleaved rounds) and writes ``benchmarks/speed_results.json``;
``--quick`` shrinks every case to a few hundred items (about 40 s; the numbers then only prove the code
paths work).

What is measured, side by side in one run:

1. ``train_overhead``: throughput of ``seqlab.training.fit_model`` (CSVLogger, EarlyStopping,
   TerminateOnNaN, in-memory best weights and a time-based resumable backup) against a plain
   ``model.fit`` with the same validation data, on the same freshly built CET GRU model, arrays, batch size
   and epochs. Runs alternate (plain, seqlab, plain, seqlab, ...); the ratio is of the medians.
2. ``imdb_bilstm``: one epoch of Embedding(20000, 64) + Bidirectional(LSTM(64)) + Dense(1) over the 25k
   training reviews (train + validation parts; timing only), plain Keras at batch 128 against seqlab's
   builder with one lever changed at a time (batch size, length bucketing, XLA, GRU, bfloat16), then the
   combination of the levers that helped; then a scan of TensorFlow's thread pools for that combination,
   with XLA on and off (each setting in a fresh process, as the pools are fixed when TensorFlow starts),
   and the fastest variants that gain there (two at most) timed on the whole set again, which decides.
   Accuracy on the validation part after a fixed number of epochs on the training part is measured for
   the reference and every candidate; the test split is never read.
3. ``data_preparation``: tokenising and padding 50k reviews and parsing + windowing the CET series, time
   and peak resident memory.
4. ``growth``: preparation and one training epoch of a small model at 1x, 2x and 4x the data.

Peak memory is the high-water mark of resident memory (``VmHWM``, reset through ``/proc/self/clear_refs``)
minus resident memory just before the work, measured in a fresh worker process per point in the full run,
so that TensorFlow's own allocations count and earlier work does not mask later peaks.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
PREPARED_DIR = REPO_ROOT / "data" / "prepared"
RAW_CET = REPO_ROOT / "data" / "raw" / "cet" / "cetdl1772on.dat"
DEFAULT_OUTPUT = REPO_ROOT / "benchmarks" / "speed_results.json"
SECTIONS: tuple[str, ...] = ("overhead", "imdb", "growth")
CPU_FLAGS_OF_INTEREST: tuple[str, ...] = (
    "avx2",
    "fma",
    "avx512f",
    "avx512_vnni",
    "avx512_bf16",
    "avx_vnni",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
)
# The BiLSTM the issue names; vocabulary and length are the prepared arrays' (params.yaml imdb section).
IMDB_VOCABULARY = 20_000
IMDB_MAX_LEN = 200
IMDB_EMBEDDING_DIM = 64
IMDB_UNITS = 64
LEARNING_RATE = 1e-3
# prepare_imdb fits the vocabulary on the 20k training reviews out of the 50k it encodes.
VOCABULARY_FRACTION = 20_000 / 50_000
MEGABYTE = 1024 * 1024
# A timing during which other processes used more than this share of all CPUs is re-taken (IMDB epochs).
CONTENTION_LIMIT = 0.15


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class SpeedSettings:
    """Sizes of every case; ``full()`` is the benchmark, ``quick()`` the smoke profile."""

    mode: str
    seed: int = 42
    # 1. fit_model against model.fit on CET windows (GRU(32), windows of 60 days); None = every window of
    # the split, so each timed epoch is a real one (about 9 s) and fixed costs weigh what they do in use.
    overhead_train_windows: int | None = None
    overhead_validation_windows: int | None = None
    overhead_epochs: int = 2
    overhead_batch_size: int = 256
    overhead_repeats: int = 5
    overhead_warm_up: bool = True
    # 2. IMDB BiLSTM; None means every review of the split.
    imdb_timing_reviews: int | None = None
    imdb_accuracy_train_reviews: int | None = None
    imdb_accuracy_validation_reviews: int | None = None
    imdb_accuracy_epochs: int = 2
    imdb_batch_sizes: tuple[int, ...] = (128, 256, 512)
    imdb_levers: tuple[str, ...] = ("bucketing", "jit", "gru", "bf16")
    imdb_timing_rounds: int = 3  # every configuration timed once per round, rounds interleaved; medians
    imdb_accuracy_tolerance: float = 0.015
    imdb_max_accuracy_runs: int = 4  # the reference, the combination, the two fastest others (+ the scan's)
    imdb_min_gain: float = 0.03
    # (intra_op, inter_op) thread pools tried on the combination, 0 = TensorFlow's default (as many as CPUs),
    # each with XLA on and off (scan_xla: XLA's gain is small and changes which pools help) and at every
    # batch size that gained on its own (scan_batch_sizes); rounds interleaved, medians.
    thread_settings: tuple[tuple[int, int], ...] = ((0, 0), (1, 2), (2, 1))
    thread_reviews: int = 6_400
    scan_xla: bool = True
    scan_rounds: int = 2
    # The subset's ranking does not always hold on all 25k reviews, least of all between XLA on and off
    # (XLA pads buckets more coarsely): for each batch size and XLA setting, the fastest variant that gains
    # and passes the accuracy check is timed on the whole set, which decides. Gaining variants are
    # accuracy-checked fastest first, at most scan_accuracy_checks of them, so a fast variant that fails
    # (XLA with default pools did, three runs in a row) no longer takes a finalist's place.
    scan_finalists: int = 2
    scan_accuracy_checks: int = 4
    scan_min_gain: float = 0.03  # what a scan variant must gain on the base to be checked (as imdb_min_gain)
    # 3 and 4. Preparation and growth; the largest factor of the text preparation is item 3's 50k reviews.
    growth_factors: tuple[int, ...] = (1, 2, 4)
    text_prep_base_reviews: int = 12_500
    text_train_base_reviews: int = 6_250
    series_prep_base_days: int | None = None
    series_train_base_windows: int = 9_000
    isolate_workers: bool = True

    @classmethod
    def full(cls) -> SpeedSettings:
        """Return the benchmark's sizes: realistic cases, each fit a few seconds to half a minute."""
        return cls(mode="full")

    @classmethod
    def quick(cls) -> SpeedSettings:
        """Return tiny sizes that exercise every code path in well under a minute."""
        return cls(
            mode="quick",
            overhead_train_windows=1_024,
            overhead_validation_windows=256,
            overhead_epochs=1,
            overhead_repeats=1,
            overhead_warm_up=False,
            imdb_timing_reviews=512,
            imdb_accuracy_train_reviews=512,
            imdb_accuracy_validation_reviews=256,
            imdb_accuracy_epochs=1,
            imdb_batch_sizes=(128,),
            imdb_levers=("bucketing", "jit"),
            imdb_timing_rounds=1,
            imdb_max_accuracy_runs=2,
            thread_settings=((0, 0), (1, 2)),
            thread_reviews=256,
            scan_rounds=1,
            scan_accuracy_checks=2,
            scan_min_gain=-10.0,  # any variant under 11x the base "gains": check-then-time always runs
            text_prep_base_reviews=128,
            text_train_base_reviews=128,
            series_prep_base_days=10_000,
            series_train_base_windows=512,
            isolate_workers=False,
        )


# --------------------------------------------------------------------------- measuring tools


def _status_kib(field: str) -> int | None:
    """Read one ``kB`` field of /proc/self/status (Linux); None elsewhere."""
    try:
        text = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        return None
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else None


def _reset_peak_rss() -> bool:
    """Reset the kernel's resident-memory high-water mark to the current use; False where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
            handle.write("5")
    except OSError:
        return False
    return _status_kib("VmHWM") is not None


class MemoryProbe:
    """Peak resident memory of a block of work, relative to resident memory just before it."""

    def __init__(self) -> None:
        self.method = ""
        self.before_kib = 0
        self.peak_kib = 0

    def __enter__(self) -> MemoryProbe:
        resettable = _reset_peak_rss()
        self.method = (
            "VmHWM after reset" if resettable else "ru_maxrss (process lifetime, may include earlier work)"
        )
        self.before_kib = _status_kib("VmRSS") or 0
        return self

    def __exit__(self, *exc_info: object) -> None:
        peak = _status_kib("VmHWM") if self.method.startswith("VmHWM") else None
        self.peak_kib = peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def record(self) -> dict[str, Any]:
        """Return resident memory before, the peak, and the increase, in MiB."""
        return {
            "rss_before_mb": round(self.before_kib / 1024, 1),
            "peak_rss_mb": round(self.peak_kib / 1024, 1),
            "peak_increase_mb": round(max(0, self.peak_kib - self.before_kib) / 1024, 1),
            "method": self.method,
        }


@dataclass
class Timing:
    """Wall-clock seconds of a block and the share of the machine's CPU other processes used meanwhile."""

    seconds: float = 0.0
    foreign_cpu_share: float = 0.0

    @property
    def contended(self) -> bool:
        """Whether other processes used enough CPU to distort the timing (the machine is shared)."""
        return self.foreign_cpu_share > CONTENTION_LIMIT


def _cpu_counters() -> tuple[float, float]:
    """Return (seconds all CPUs were busy since boot, CPU seconds of this process and its children)."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    fields = _read_text("/proc/stat").split("\n", 1)[0].split()[1:9]
    values = [int(value) for value in fields]
    busy = (sum(values) - sum(values[3:5])) / ticks if len(values) >= 5 else 0.0  # minus idle, iowait
    own = os.times()
    return busy, own.user + own.system + own.children_user + own.children_system


@contextlib.contextmanager
def _stopwatch() -> Iterator[Timing]:
    """Time a block; also measure how much CPU other processes took meanwhile (0 where /proc is absent)."""
    timing = Timing()
    busy_before, own_before = _cpu_counters()
    start = time.perf_counter()
    try:
        yield timing
    finally:
        timing.seconds = time.perf_counter() - start
        busy_after, own_after = _cpu_counters()
        foreign = max(0.0, (busy_after - busy_before) - (own_after - own_before))
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        timing.foreign_cpu_share = min(1.0, foreign / max(timing.seconds * cpus, 1e-9)) if busy_after else 0.0


def _round(value: float, digits: int = 3) -> float:
    return float(round(value, digits))


def _require(path: Path, how: str) -> Path:
    """Return ``path`` or raise naming the command that creates it."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing; create it with `{how}` (from {REPO_ROOT})")
    return path


def load_imdb_arrays() -> dict[str, np.ndarray]:
    """Load the prepared IMDB training and validation arrays (never the test split)."""
    path = _require(PREPARED_DIR / "imdb" / "arrays.npz", ".venv/bin/seqlab prepare imdb")
    with np.load(path) as archive:
        arrays = {key: archive[key] for key in ("x_train", "y_train", "x_validation", "y_validation")}
    if arrays["x_train"].shape[1] != IMDB_MAX_LEN:
        raise ValueError(
            f"{path}: reviews are padded to {arrays['x_train'].shape[1]} tokens, the speed case needs "
            f"{IMDB_MAX_LEN}; prepare with the default params (`.venv/bin/seqlab prepare imdb`)"
        )
    for key in ("y_train", "y_validation"):
        arrays[key] = arrays[key].astype(np.float32)
    return arrays


def load_cet_windows() -> dict[str, np.ndarray]:
    """Load the prepared CET windows (float32, as the modelling stages use them) and the series values."""
    path = _require(PREPARED_DIR / "cet" / "windows.npz", ".venv/bin/seqlab prepare cet")
    with np.load(path) as archive:
        arrays = {key: archive[key] for key in ("x_train", "y_train", "x_validation", "y_validation")}
        values = archive["values"]
    converted = {key: value.astype(np.float32) for key, value in arrays.items()}
    converted["values"] = values
    return converted


def _cet_protocol() -> dict[str, Any]:
    """Return the CET windowing parameters the prepared data was made with (its manifest)."""
    manifest = _require(PREPARED_DIR / "cet" / "manifest.json", ".venv/bin/seqlab prepare cet")
    params = json.loads(manifest.read_text(encoding="utf-8"))["params"]
    return {
        key: params[key] for key in ("split_index", "window_size", "horizon", "stride", "validation_fraction")
    }


def post_padded_lengths(x: np.ndarray) -> np.ndarray:
    """Return each row's number of real tokens, checking the rows are post-padded with id 0."""
    lengths = np.count_nonzero(x, axis=1).astype(np.int32)
    expected = np.arange(x.shape[1])[np.newaxis, :] < lengths[:, np.newaxis]
    if not np.array_equal(x != 0, expected):
        raise ValueError("token ids: expected rows post-padded with 0 and no 0 inside a review")
    return lengths


def machine_info() -> dict[str, Any]:
    """Describe the CPU, memory, library versions and TensorFlow settings the numbers were taken on."""
    import keras
    import tensorflow as tf

    cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8") if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    flags_line = re.search(r"^flags\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    flags = set(flags_line.group(1).split()) if flags_line else set()
    memory = re.search(r"^MemTotal:\s+(\d+) kB", _read_text("/proc/meminfo"), re.MULTILINE)
    build = tf.sysconfig.get_build_info()
    return {
        "cpu_model": model.group(1).strip() if model else platform.processor(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cgroup_cpu_max": _read_text("/sys/fs/cgroup/cpu.max").strip() or None,
        "cpu_flags": {flag: flag in flags for flag in CPU_FLAGS_OF_INTEREST},
        "memory_total_gb": round(int(memory.group(1)) / MEGABYTE, 1) if memory else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "tensorflow_cuda_build": bool(build.get("is_cuda_build", False)),
        "tensorflow_gpus": len(tf.config.list_physical_devices("GPU")),
        "tensorflow_threads": {
            "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
            "note": "0 = TensorFlow chooses (one per usable core)",
        },
        "environment": {
            name: os.environ.get(name)
            for name in (
                "TF_ENABLE_ONEDNN_OPTS",
                "TF_NUM_INTRAOP_THREADS",
                "TF_NUM_INTEROP_THREADS",
                "OMP_NUM_THREADS",
                "TF_XLA_FLAGS",
            )
        },
        "onednn": "on (TensorFlow's default on x86 Linux)"
        if os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1") != "0"
        else "off (TF_ENABLE_ONEDNN_OPTS=0)",
    }


def _read_text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError:
        return ""


# --------------------------------------------------------------------------- worker processes


def _run_worker(name: str, arguments: dict[str, Any], isolate: bool) -> dict[str, Any]:
    """Run one measurement, in a fresh Python process when ``isolate`` (clean peak memory, thread setup)."""
    if not isolate:
        return {**WORKERS[name](**arguments), "isolated_process": False}
    with tempfile.TemporaryDirectory(prefix="seqlab-speed-") as folder:
        result_path = Path(folder) / "result.json"
        command = [
            sys.executable,
            "-m",
            "benchmarks.speed",
            "--worker",
            name,
            "--worker-arguments",
            json.dumps(arguments),
            "--output",
            str(result_path),
        ]
        environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
        completed = subprocess.run(
            command, cwd=REPO_ROOT, env=environment, capture_output=True, text=True, check=False
        )
        if completed.returncode != 0 or not result_path.exists():
            raise RuntimeError(
                f"benchmark worker {name} {arguments} failed with exit code {completed.returncode}:\n"
                f"{completed.stderr[-3000:]}"
            )
        result: dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
    return {**result, "isolated_process": True}


def _warm_up_tensorflow() -> None:
    """Start TensorFlow's runtime (thread pools, oneDNN) so that it is not billed to the first measurement."""
    import tensorflow as tf

    float(tf.reduce_sum(tf.matmul(tf.ones((64, 64)), tf.ones((64, 64)))))


def worker_prepare_text(reviews: int, max_tokens: int = IMDB_VOCABULARY, max_len: int = IMDB_MAX_LEN) -> dict:
    """Fit the vocabulary, encode and pad ``reviews`` real reviews the way ``prepare_imdb`` does."""
    import pandas as pd

    from seqlab.prep.text import encode, fit_vocabulary, pad

    path = _require(PREPARED_DIR / "imdb" / "texts.parquet", ".venv/bin/seqlab prepare imdb")
    texts: list[str] = pd.read_parquet(path, columns=["text"])["text"].tolist()
    if not 0 < reviews <= len(texts):
        raise ValueError(f"reviews: expected 1..{len(texts)} (the prepared texts), got {reviews}")
    # Evenly spaced rows keep the mix of train/validation/test reviews of the full set at every size.
    picked = np.unique(np.linspace(0, len(texts) - 1, reviews).round().astype(np.int64))
    sample = [texts[index] for index in picked]
    fit_count = max(1, round(len(sample) * VOCABULARY_FRACTION))
    del texts
    # Untimed warm-up on a few reviews: TensorFlow's runtime and the layers' first use.
    warm_vocabulary = fit_vocabulary(sample[:64], 100)
    pad(encode(sample[:64], warm_vocabulary), max_len)
    with MemoryProbe() as memory, _stopwatch() as whole:
        with _stopwatch() as vocabulary_time:
            vocabulary = fit_vocabulary(sample[:fit_count], max_tokens)
        with _stopwatch() as encode_time:
            encoded = encode(sample, vocabulary)
        with _stopwatch() as pad_time:
            x, _mask = pad(encoded, max_len, "post", "post", 0)
    total = vocabulary_time.seconds + encode_time.seconds + pad_time.seconds
    return {
        "reviews": len(sample),
        "vocabulary_fitted_on": fit_count,
        "vocabulary_size": len(vocabulary),
        "output_shape": list(x.shape),
        "seconds": {
            "fit_vocabulary": _round(vocabulary_time.seconds),
            "encode": _round(encode_time.seconds),
            "pad": _round(pad_time.seconds),
            "total": _round(total),
        },
        "reviews_per_second": _round(len(sample) / total, 1),
        "foreign_cpu_share": _round(whole.foreign_cpu_share),
        "memory": memory.record(),
    }


def worker_prepare_series(factor: int, base_days: int | None = None, parse_raw: bool = False) -> dict:
    """Window ``factor`` copies of the CET series (normalise + split + window, as ``prepare_series``)."""
    from seqlab.prep.series import make_split_windows

    protocol = _cet_protocol()
    values = load_cet_windows()["values"]
    base = values if base_days is None else values[:base_days]
    result: dict[str, Any] = {"factor": factor, "base_days": int(base.size)}
    if parse_raw:
        from seqlab.data.cet import parse_cet_dat

        _require(RAW_CET, ".venv/bin/seqlab fetch cet")
        with MemoryProbe() as parse_memory, _stopwatch() as parse_time:
            parsed = parse_cet_dat(RAW_CET, gap_policy="interpolate")
        result["parse_raw"] = {
            "file": RAW_CET.name,
            "days": len(parsed.values),
            "seconds": _round(parse_time.seconds),
            "memory": parse_memory.record(),
        }
        del parsed
    split_fraction = protocol["split_index"] / values.size
    with MemoryProbe() as memory, _stopwatch() as window_time:
        series = np.tile(base, factor)
        windows = make_split_windows(
            series,
            split_index=int(round(series.size * split_fraction)),
            window_size=protocol["window_size"],
            horizon=protocol["horizon"],
            stride=protocol["stride"],
            validation_fraction=protocol["validation_fraction"],
        )
    windows_made = windows.x_train.shape[0] + windows.x_validation.shape[0] + windows.x_test.shape[0]
    result.update(
        {
            "days": int(series.size),
            "windows": int(windows_made),
            "window_size": protocol["window_size"],
            "seconds": _round(window_time.seconds, 4),
            "days_per_second": _round(series.size / max(window_time.seconds, 1e-9), 0),
            "foreign_cpu_share": _round(window_time.foreign_cpu_share),
            "memory": memory.record(),
        }
    )
    return result


def worker_train_epoch(kind: str, items: int, batch_size: int, seed: int = 42) -> dict:
    """Time one epoch of a small model on ``items`` real examples: a text Conv1D or a series GRU(32)."""
    import keras

    from seqlab.models.builders import build_series_model, build_text_model
    from seqlab.training import array_dataset

    if kind == "text":
        arrays = load_imdb_arrays()
        source_x = np.concatenate([arrays["x_train"], arrays["x_validation"]])
        source_y = np.concatenate([arrays["y_train"], arrays["y_validation"]])
        model = build_text_model(
            "conv1d", IMDB_VOCABULARY, IMDB_MAX_LEN, embedding_dim=32, filters=32, kernel_size=5, seed=seed
        )
        description = "text conv1d: Embedding(20000, 32) + causal Conv1D(32, 5) + max over real steps"
    elif kind == "series":
        arrays = load_cet_windows()
        source_x, source_y = arrays["x_train"], arrays["y_train"]
        model = build_series_model("gru", source_x.shape[1], units=32, seed=seed)
        description = f"series GRU(32) on CET windows of {source_x.shape[1]} days"
    else:
        raise ValueError(f"kind: expected 'text' or 'series', got {kind!r}")
    if not 0 < items <= source_x.shape[0]:
        raise ValueError(f"items: expected 1..{source_x.shape[0]} for {kind}, got {items}")
    with _stopwatch() as warmup_time:
        count = 2 * batch_size
        warm = array_dataset(source_x[:count], source_y[:count], batch_size, shuffle=False)
        model.fit(warm, shuffle=False, verbose=0)
    keras.utils.set_random_seed(seed)
    with MemoryProbe() as memory:
        x, y = source_x[:items].copy(), source_y[:items].copy()
        with _stopwatch() as epoch_time:  # seqlab's feed, as fit_model trains
            model.fit(array_dataset(x, y, batch_size, shuffle=True), epochs=1, shuffle=False, verbose=0)
    return {
        "kind": kind,
        "model": description,
        "items": items,
        "batch_size": batch_size,
        "warmup_seconds": _round(warmup_time.seconds),
        "seconds": _round(epoch_time.seconds),
        "items_per_second": _round(items / epoch_time.seconds, 1),
        "foreign_cpu_share": _round(epoch_time.foreign_cpu_share),
        "memory": memory.record(),
    }


def worker_imdb_lever(
    config: dict[str, Any], task: str, seed: int, reviews: int | None = None, accuracy: dict | None = None
) -> dict:
    """Time (``task="time"``) or accuracy-check (``"accuracy"``) one BiLSTM configuration in this process.

    Runs in a fresh process for configurations with their own TensorFlow thread pools, which have to be
    set before the runtime starts; the data is the same as the parent's (the first ``reviews`` of
    train + validation for timing; the accuracy split of ``accuracy``'s settings).
    """
    import tensorflow as tf

    lever = LeverConfig(**{**config, "threads": tuple(config.get("threads", (0, 0)))})
    intra_op, inter_op = lever.threads
    if intra_op:
        tf.config.threading.set_intra_op_parallelism_threads(intra_op)
    if inter_op:
        tf.config.threading.set_inter_op_parallelism_threads(inter_op)
    arrays = load_imdb_arrays()
    if task == "time":
        x = np.concatenate([arrays["x_train"], arrays["x_validation"]])[:reviews]
        y = np.concatenate([arrays["y_train"], arrays["y_validation"]])[:reviews]
        result = _time_config(lever, x, y, seed)
    elif task == "accuracy":
        result = _accuracy_of(lever, arrays, SpeedSettings(mode="worker", **(accuracy or {}), seed=seed))
    else:
        raise ValueError(f"task: expected 'time' or 'accuracy', got {task!r}")
    return {
        **result,
        "effective_intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
        "effective_inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
    }


WORKERS: dict[str, Callable[..., dict]] = {
    "prepare_text": worker_prepare_text,
    "prepare_series": worker_prepare_series,
    "train_epoch": worker_train_epoch,
    "imdb_lever": worker_imdb_lever,
}


# --------------------------------------------------------------------------- 1. training overhead


def measure_train_overhead(settings: SpeedSettings) -> dict[str, Any]:
    """Compare seqlab's ``fit_model`` with a plain ``model.fit`` on the same model, data and budget."""
    import keras

    from seqlab.models.builders import build_series_model
    from seqlab.training import fit_model

    cet = load_cet_windows()
    x_train = cet["x_train"][: settings.overhead_train_windows]
    y_train = cet["y_train"][: settings.overhead_train_windows]
    x_validation = cet["x_validation"][: settings.overhead_validation_windows]
    y_validation = cet["y_validation"][: settings.overhead_validation_windows]
    window_size = x_train.shape[1]
    batch_size, epochs = settings.overhead_batch_size, settings.overhead_epochs

    def build() -> Any:
        keras.backend.clear_session(free_memory=True)
        return build_series_model("gru", window_size, units=32, seed=settings.seed)

    def run_plain(x: np.ndarray, y: np.ndarray, run_epochs: int) -> Timing:
        model = build()
        with _stopwatch() as elapsed:
            model.fit(
                x,
                y,
                validation_data=(x_validation, y_validation),
                epochs=run_epochs,
                batch_size=batch_size,
                shuffle=True,
                verbose=0,
            )
        return elapsed

    def run_seqlab(x: np.ndarray, y: np.ndarray, run_epochs: int) -> Timing:
        model = build()
        with tempfile.TemporaryDirectory(prefix="seqlab-speed-fit-") as folder, _stopwatch() as elapsed:
            fit_model(
                model,
                x,
                y,
                x_validation,
                y_validation,
                epochs=run_epochs,
                batch_size=batch_size,
                patience=run_epochs + 1,  # never stop early: both sides run every epoch
                checkpoint_dir=folder,
            )
        return elapsed

    if settings.overhead_warm_up:  # untimed: first model of the process, oneDNN primitive caches
        warm = min(4 * batch_size, x_train.shape[0])
        run_plain(x_train[:warm], y_train[:warm], 1)
        run_seqlab(x_train[:warm], y_train[:warm], 1)
    samples = x_train.shape[0] * epochs
    plain_runs: list[Timing] = []
    seqlab_runs: list[Timing] = []
    for _ in range(settings.overhead_repeats):  # ABAB...: A = plain model.fit, B = seqlab fit_model
        plain_runs.append(run_plain(x_train, y_train, epochs))
        seqlab_runs.append(run_seqlab(x_train, y_train, epochs))
    plain_seconds = [run.seconds for run in plain_runs]
    seqlab_seconds = [run.seconds for run in seqlab_runs]
    plain_rate = [samples / seconds for seconds in plain_seconds]
    seqlab_rate = [samples / seconds for seconds in seqlab_seconds]
    pair_ratios = [ours / plain for ours, plain in zip(seqlab_rate, plain_rate, strict=True)]
    ratio = statistics.median(seqlab_rate) / statistics.median(plain_rate)
    added = statistics.median(ours - plain for ours, plain in zip(seqlab_seconds, plain_seconds, strict=True))
    return {
        "case": {
            "data": "CET daily windows (prepared, float32)",
            "model": f"build_series_model('gru', {window_size}, units=32, seed={settings.seed})",
            "train_windows": int(x_train.shape[0]),
            "validation_windows": int(x_validation.shape[0]),
            "epochs": epochs,
            "batch_size": batch_size,
            "repeats": settings.overhead_repeats,
            "order": "ABAB...: A = plain model.fit(validation_data=...), B = seqlab.training.fit_model",
            "timed": "whole call on a freshly built model (graph tracing included on both sides)",
        },
        "plain_seconds": [_round(value) for value in plain_seconds],
        "seqlab_seconds": [_round(value) for value in seqlab_seconds],
        "plain_samples_per_second": [_round(value, 1) for value in plain_rate],
        "seqlab_samples_per_second": [_round(value, 1) for value in seqlab_rate],
        "median_plain_samples_per_second": _round(statistics.median(plain_rate), 1),
        "median_seqlab_samples_per_second": _round(statistics.median(seqlab_rate), 1),
        "pair_ratios": [_round(value) for value in pair_ratios],
        "foreign_cpu_share": {
            "plain": [_round(run.foreign_cpu_share) for run in plain_runs],
            "seqlab": [_round(run.foreign_cpu_share) for run in seqlab_runs],
        },
        "train_overhead_ratio": _round(ratio),
        "added_seconds_per_epoch": _round(added / epochs),
        "note": "ratio = seqlab / plain throughput (< 1: seqlab slower). Both validate every epoch; the "
        "difference is fit_model's callbacks (backup, CSV log, best-weights checkpoint, early-stopping "
        "weight copies, NaN check), its final load_weights and history read, and its feed "
        "(seqlab.training.array_dataset, tf.data autotuning off, vs Keras's autotuned pipeline from NumPy "
        "arrays, whose iterator can hold up the next epoch: see the BiLSTM section). "
        "added_seconds_per_epoch is seqlab's time minus plain Keras's, per epoch: the callbacks add a "
        "fixed cost per epoch and per fit, the feed can save more than that (then it is negative). The "
        "full profile times whole CET epochs, as the pipeline runs them.",
    }


# --------------------------------------------------------------------------- 2. IMDB BiLSTM levers


@dataclass(frozen=True)
class LeverConfig:
    """One way to train the IMDB BiLSTM; the defaults are seqlab's builder at batch 128."""

    name: str
    builder: str = "seqlab"  # "plain": hand-written Keras; "seqlab": seqlab.models.builders
    batch_size: int = 128
    cell: str = "lstm"
    bucketing: bool = False
    jit_compile: bool = False
    bfloat16: bool = False
    threads: tuple[int, int] = (0, 0)  # TensorFlow (intra_op, inter_op) pools; 0 = default; own process

    def levers(self) -> dict[str, Any]:
        """Return the settings that differ from the plain batch-128 reference."""
        reference = LeverConfig("reference", builder="plain")
        return {
            key: value
            for key, value in asdict(self).items()
            if key != "name" and value != getattr(reference, key)
        }


@contextlib.contextmanager
def _precision_policy(name: str) -> Iterator[None]:
    """Build layers under a Keras dtype policy, then restore the previous one."""
    import keras

    previous = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def _compile_like_builder(model: Any, jit_compile: bool) -> None:
    """Compile exactly as ``build_text_model`` does, optionally with XLA."""
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=LEARNING_RATE),
        loss="binary_crossentropy",
        metrics=["accuracy", keras.metrics.AUC(name="auc")],
        jit_compile=jit_compile,
    )


def variable_length_view(model: Any) -> Any:
    """Re-wire a chain model from ``build_text_model`` onto an input of any length, sharing its layers.

    The builder fixes the input at ``max_len``; length bucketing needs batches as long as their longest
    review. Embedding(mask_zero) + recurrent layers give the same result on a trimmed post-padded row.
    """
    import keras

    inputs = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    x = inputs
    for layer in model.layers[1:]:
        x = layer(x)
    return keras.Model(inputs, x, name=f"{model.name}_any_length")


def build_bilstm(config: LeverConfig, seed: int) -> Any:
    """Build and compile the IMDB BiLSTM (or BiGRU) of ``config``, seeded."""
    import keras

    from seqlab.models.builders import build_text_model

    keras.backend.clear_session(free_memory=True)
    with _precision_policy("mixed_bfloat16" if config.bfloat16 else "float32"):
        if config.builder == "plain":
            keras.utils.set_random_seed(seed)
            recurrent = keras.layers.LSTM if config.cell == "lstm" else keras.layers.GRU
            model = keras.Sequential(
                [
                    keras.Input(shape=(IMDB_MAX_LEN,), dtype="int32"),
                    keras.layers.Embedding(IMDB_VOCABULARY, IMDB_EMBEDDING_DIM, mask_zero=True),
                    keras.layers.Bidirectional(recurrent(IMDB_UNITS)),
                    keras.layers.Dense(1, activation="sigmoid"),
                ]
            )
            model.compile(
                optimizer=keras.optimizers.Adam(learning_rate=LEARNING_RATE),
                loss="binary_crossentropy",
                metrics=["accuracy"],
                jit_compile=config.jit_compile,
            )
            return model
        model = build_text_model(
            config.cell,
            IMDB_VOCABULARY,
            IMDB_MAX_LEN,
            embedding_dim=IMDB_EMBEDDING_DIM,
            units=IMDB_UNITS,
            bidirectional=True,
            learning_rate=LEARNING_RATE,
            seed=seed,
        )
        if config.bucketing:
            model = variable_length_view(model)
        if config.bucketing or config.jit_compile:
            _compile_like_builder(model, config.jit_compile)
        return model


def bucket_boundaries(pad_to_boundary: bool) -> list[int]:
    """Return bucket boundaries: fine when batches pad to their longest row, a few fixed ones for XLA."""
    step = 50 if pad_to_boundary else 25
    return list(range(step + 1, IMDB_MAX_LEN + 2, step))


def _bucket_counts(lengths: np.ndarray, boundaries: list[int]) -> np.ndarray:
    """Count reviews per bucket as bucket_by_sequence_length assigns them (bucket i: [b[i-1], b[i]))."""
    return np.bincount(np.searchsorted(boundaries, lengths, side="right"), minlength=len(boundaries) + 1)


def bucketed_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int, pad_to_boundary: bool) -> Any:
    """Shuffle, trim every review to its real tokens and batch reviews of similar length together.

    Each batch is padded (with 0, so the mask still hides it) to its longest review, or to the bucket's
    upper boundary when ``pad_to_boundary`` (a handful of fixed shapes, which XLA compiles once each).
    """
    import tensorflow as tf

    lengths = np.maximum(post_padded_lengths(x), 1)
    boundaries = bucket_boundaries(pad_to_boundary)
    dataset = tf.data.Dataset.from_tensor_slices((x, y, lengths))
    dataset = dataset.shuffle(x.shape[0], seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.map(lambda ids, label, length: (ids[:length], label))
    dataset = dataset.bucket_by_sequence_length(
        element_length_func=lambda ids, label: tf.shape(ids)[0],
        bucket_boundaries=boundaries,
        bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
        pad_to_bucket_boundary=pad_to_boundary,
    )
    # A bucket's size depends on lengths only, not on the shuffle, so every epoch has the same batches;
    # telling Keras avoids its "ran out of data" pass over the first epoch.
    batches = int(sum(math.ceil(count / batch_size) for count in _bucket_counts(lengths, boundaries)))
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(batches))
    options = tf.data.Options()
    options.autotune.enabled = False  # as seqlab.training.array_dataset: no autotuner to wait for
    return dataset.prefetch(2).with_options(options)


def _fit_epochs(
    model: Any, config: LeverConfig, x: np.ndarray, y: np.ndarray, epochs: int, seed: int
) -> Timing:
    """Train ``epochs`` epochs the way ``config`` feeds data; return wall-clock seconds (input included)."""
    with _stopwatch() as elapsed:
        if config.bucketing:
            dataset = bucketed_dataset(x, y, config.batch_size, seed, pad_to_boundary=config.jit_compile)
            model.fit(dataset, epochs=epochs, shuffle=False, verbose=0)
        else:
            _fit_arrays(model, config, x, y, epochs)
    return elapsed


def _fit_arrays(model: Any, config: LeverConfig, x: np.ndarray, y: np.ndarray, epochs: int) -> None:
    """Fit on arrays as each side does: a plain script hands Keras NumPy arrays, seqlab its own feed."""
    if config.builder == "seqlab":
        from seqlab.training import array_dataset

        dataset = array_dataset(x, y, config.batch_size, shuffle=True)
        model.fit(dataset, epochs=epochs, shuffle=False, verbose=0)
    else:
        model.fit(x, y, batch_size=config.batch_size, epochs=epochs, shuffle=True, verbose=0)


def _warm_up_fit(model: Any, config: LeverConfig, x: np.ndarray, y: np.ndarray, seed: int) -> float:
    """Trace (and for XLA compile) the training step for the batch shapes of an epoch, untimed by callers."""
    import tensorflow as tf

    batch = config.batch_size
    with _stopwatch() as elapsed:
        if not config.bucketing:
            remainder = x.shape[0] % batch
            count = min(x.shape[0], batch + (remainder or batch))
            _fit_arrays(model, config, x[:count], y[:count], epochs=1)
        else:
            # Without XLA one batch traces the step for every shape. With XLA each (size, width) pair of the
            # epoch compiles separately, so warm them all (they depend on the lengths, not the shuffle).
            shapes = [(batch, IMDB_MAX_LEN)]
            if config.jit_compile:
                boundaries = bucket_boundaries(True)
                counts = _bucket_counts(post_padded_lengths(x), boundaries)
                shapes = [
                    (size, boundaries[index] - 1)
                    for index, count in enumerate(counts[: len(boundaries)])
                    for size in sorted({min(count, batch), count % batch} - {0})
                ]
            batches = [(x[:size, :width], y[:size]) for size, width in shapes]
            dataset = tf.data.Dataset.from_generator(
                lambda: iter(batches),
                output_signature=(
                    tf.TensorSpec(shape=(None, None), dtype=tf.int32),
                    tf.TensorSpec(shape=(None,), dtype=tf.float32),
                ),
            ).apply(tf.data.experimental.assert_cardinality(len(batches)))
            model.fit(dataset, epochs=1, shuffle=False, verbose=0)
    return elapsed.seconds


def _median_timing(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Combine one configuration's per-round timings: the median epoch, and every round kept."""
    seconds = [timing["epoch_seconds"] for timing in rounds]
    median = statistics.median(seconds)
    return {
        **rounds[0],
        "epoch_seconds": _round(median),
        "reviews_per_second": _round(rounds[0]["reviews"] / median, 1),
        "round_epoch_seconds": seconds,
        "round_process_warm_up_seconds": [timing["process_warm_up_seconds"] for timing in rounds],
        "contended": any(timing["contended"] for timing in rounds),
        "foreign_cpu_share": max(timing["foreign_cpu_share"] for timing in rounds),
        "attempts": [attempt for timing in rounds for attempt in timing["attempts"]],
    }


def _threads_in_force(threads: tuple[int, int]) -> bool:
    """Whether this process runs TensorFlow with the (intra_op, inter_op) pools asked for (0 = default)."""
    import tensorflow as tf

    current = (
        tf.config.threading.get_intra_op_parallelism_threads(),
        tf.config.threading.get_inter_op_parallelism_threads(),
    )
    return current == tuple(threads)


# The configurations (names aside) this process has trained whole untimed epochs of; see _warm_process.
_WARM_CONFIGS: set[LeverConfig] = set()
PROCESS_WARM_UP_EPOCHS = 2


def _warm_process(config: LeverConfig, x: np.ndarray, y: np.ndarray, seed: int) -> float | None:
    """Train ``PROCESS_WARM_UP_EPOCHS`` untimed epochs of a throwaway ``config`` model, once per process
    and configuration.

    A fresh process's first epochs of length-bucketed batches are slower than later ones, although the
    model's own warm-up has traced its step: the cost stays with the process, not the model. Probes, the
    combination with (1, 2) pools on all 25k reviews, one fresh process each: epochs 29.0, 19.1, 19.9,
    19.0 s on one model; 30.0, 19.9, 20.3 s on a first model, then 19.1, 18.8, 18.9 s on a second; but
    28.5, 24.9, 22.6 s with a new model every epoch. One warm-up epoch was not always enough (the bench
    run with one timed this configuration at 22.3 s), hence two. A configuration timed in its own process
    paid this cost in its timed epoch; one timed in the bench's process, after many others, did not.
    With this, every timed epoch runs in a process that has already trained whole epochs of the same
    configuration, wherever it runs. Returns the seconds it took, None if the process was warm.
    """
    key = replace(config, name="")
    if key in _WARM_CONFIGS:
        return None
    throwaway = build_bilstm(config, seed)  # same seed, same batches: the timed epoch's shapes
    elapsed = _fit_epochs(throwaway, config, x, y, epochs=PROCESS_WARM_UP_EPOCHS, seed=seed)
    _WARM_CONFIGS.add(key)
    return elapsed.seconds


def _time_config(
    config: LeverConfig, x: np.ndarray, y: np.ndarray, seed: int, retries: int = 1
) -> dict[str, Any]:
    """Time one steady-state epoch of ``config`` over ``x`` (after untimed warm-ups).

    Two warm-ups come first, both untimed: whole epochs of a throwaway model, the first time this process
    times the configuration (``_warm_process``), and a trace/compile of the timed model's step.
    The machine is shared: when other processes took more than ``CONTENTION_LIMIT`` of the CPUs during
    the epoch, another epoch is timed (up to ``retries`` more) and the fastest is kept (interference only
    adds time; the foreign-CPU share alone does not say how much).
    """
    if not _threads_in_force(config.threads):
        arguments = {"config": asdict(config), "task": "time", "seed": seed, "reviews": int(x.shape[0])}
        return _run_worker("imdb_lever", arguments, isolate=True)
    process_warm_up = _warm_process(config, x, y, seed)
    model = build_bilstm(config, seed)
    warmup_seconds = _warm_up_fit(model, config, x, y, seed)
    attempts = [_fit_epochs(model, config, x, y, epochs=1, seed=seed)]
    while attempts[-1].contended and len(attempts) <= retries:
        attempts.append(_fit_epochs(model, config, x, y, epochs=1, seed=seed))
    kept = min(attempts, key=lambda attempt: attempt.seconds)
    return {
        "levers": config.levers(),
        "reviews": int(x.shape[0]),
        "process_warm_up_seconds": None if process_warm_up is None else _round(process_warm_up),
        "warmup_seconds": _round(warmup_seconds),
        "epoch_seconds": _round(kept.seconds),
        "reviews_per_second": _round(x.shape[0] / kept.seconds, 1),
        "foreign_cpu_share": _round(kept.foreign_cpu_share),
        "contended": kept.contended,
        "attempts": [[_round(attempt.seconds), _round(attempt.foreign_cpu_share)] for attempt in attempts],
    }


def _accuracy_of(config: LeverConfig, arrays: dict[str, np.ndarray], settings: SpeedSettings) -> dict:
    """Train a fresh model of ``config`` on the training part and return its validation accuracy."""
    if not _threads_in_force(config.threads):
        fields = ("imdb_accuracy_train_reviews", "imdb_accuracy_validation_reviews", "imdb_accuracy_epochs")
        arguments = {
            "config": asdict(config),
            "task": "accuracy",
            "seed": settings.seed,
            "accuracy": {name: getattr(settings, name) for name in fields},
        }
        return _run_worker("imdb_lever", arguments, isolate=True)
    x_train = arrays["x_train"][: settings.imdb_accuracy_train_reviews]
    y_train = arrays["y_train"][: settings.imdb_accuracy_train_reviews]
    x_validation = arrays["x_validation"][: settings.imdb_accuracy_validation_reviews]
    y_validation = arrays["y_validation"][: settings.imdb_accuracy_validation_reviews]
    model = build_bilstm(config, settings.seed)
    timing = _fit_epochs(model, config, x_train, y_train, settings.imdb_accuracy_epochs, settings.seed)
    scores = model.evaluate(x_validation, y_validation, batch_size=512, verbose=0, return_dict=True)
    return {
        "epochs": settings.imdb_accuracy_epochs,
        "train_reviews": int(x_train.shape[0]),
        "validation_reviews": int(x_validation.shape[0]),
        "train_seconds_including_tracing": _round(timing.seconds),
        "foreign_cpu_share": _round(timing.foreign_cpu_share),
        "validation_accuracy": _round(float(scores["accuracy"]), 4),
        "validation_loss": _round(float(scores["loss"]), 4),
    }


def paired_ratio(timings: dict[str, dict[str, Any]], name: str, base: str = "seqlab_b128") -> float:
    """Median over the interleaved rounds of ``name``'s epoch over ``base``'s epoch in the same round.

    The machine's speed moves from round to round (in one run every configuration was 10-25% slower in
    round 2 than in round 1), and a ratio of medians lets such a drift pick levers: that run's medians had
    GRU and bfloat16 gaining on batch 128, though each lost to it in some round. Pairing each round with
    the same round of the base cancels the drift. Without per-round times, the ratio of the medians.
    """
    rounds = timings[name].get("round_epoch_seconds")
    base_rounds = timings[base].get("round_epoch_seconds")
    if rounds and base_rounds and len(rounds) == len(base_rounds):
        return float(statistics.median(own / other for own, other in zip(rounds, base_rounds, strict=True)))
    return float(timings[name]["epoch_seconds"] / timings[base]["epoch_seconds"])


def _gains(timings: dict[str, dict[str, Any]], name: str, settings: SpeedSettings) -> bool:
    """Whether single lever ``name`` beat seqlab at batch 128 by at least ``imdb_min_gain``, paired."""
    return name in timings and paired_ratio(timings, name) < 1 - settings.imdb_min_gain


def _combined_config(timings: dict[str, dict[str, Any]], settings: SpeedSettings) -> LeverConfig:
    """Combine the single levers that beat seqlab at batch 128 by at least ``imdb_min_gain`` (paired)."""
    faster = {name for name in timings if name != "seqlab_b128" and _gains(timings, name, settings)}
    return LeverConfig(
        "seqlab_combined",
        batch_size=scan_batch_sizes(timings, settings)[0],
        cell="gru" if "seqlab_gru" in faster else "lstm",
        bucketing="seqlab_bucketed" in faster,
        jit_compile="seqlab_jit" in faster,
        bfloat16="seqlab_bf16" in faster,
    )


LEVERS: dict[str, LeverConfig] = {
    "bucketing": LeverConfig("seqlab_bucketed", bucketing=True),
    "jit": LeverConfig("seqlab_jit", jit_compile=True),
    "gru": LeverConfig("seqlab_gru", cell="gru"),
    "bf16": LeverConfig("seqlab_bf16", bfloat16=True),
}


def measure_imdb_levers(settings: SpeedSettings, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Time the plain BiLSTM epoch against seqlab's builder with each lever, checking accuracy on the way.

    The fastest configuration counts only if its validation accuracy is within the tolerance of the
    plain reference's; the thread/XLA scan's variants are checked before they are timed on all reviews.
    """
    arrays = load_imdb_arrays()
    x_all = np.concatenate([arrays["x_train"], arrays["x_validation"]])[: settings.imdb_timing_reviews]
    y_all = np.concatenate([arrays["y_train"], arrays["y_validation"]])[: settings.imdb_timing_reviews]
    post_padded_lengths(x_all)  # fail early on data that bucketing would trim wrongly
    _warm_up_tensorflow()

    sizes = [128, *(size for size in settings.imdb_batch_sizes if size != 128)]
    singles = [LeverConfig("plain_b128", builder="plain")]
    singles += [LeverConfig(f"seqlab_b{size}", batch_size=size) for size in sizes]
    singles += [LEVERS[lever] for lever in settings.imdb_levers]
    configs = {config.name: config for config in singles}
    # Interleaved rounds: every configuration once per round, so a change in the CPU the machine gets
    # (a shared host) spreads over all of them instead of landing on whichever ran at that moment.
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in configs}
    round_count = max(1, settings.imdb_timing_rounds)
    for round_index in range(round_count):
        for config in configs.values():
            timing = _time_config(config, x_all, y_all, settings.seed)
            rounds[config.name].append(timing)
            log(f"speed: round {round_index + 1}/{round_count} {config.name}: {timing['epoch_seconds']} s")
    timings = {name: _median_timing(runs) for name, runs in rounds.items()}

    def time_against_plain(config: LeverConfig) -> None:
        """Time ``config`` and the plain reference in alternation, as many rounds as the single levers."""
        rounds[config.name] = []
        for _ in range(max(1, settings.imdb_timing_rounds)):
            rounds[config.name].append(_time_config(config, x_all, y_all, settings.seed))
            rounds["plain_b128"].append(_time_config(configs["plain_b128"], x_all, y_all, settings.seed))
        timings[config.name] = _median_timing(rounds[config.name])
        timings["plain_b128"] = _median_timing(rounds["plain_b128"])
        log(f"speed: {config.name}: {timings[config.name]['epoch_seconds']} s")

    # What picked the levers: each single's epoch over batch 128's in the same round, median of rounds.
    paired = {name: _round(paired_ratio(timings, name)) for name in timings if name.startswith("seqlab_")}
    combined = _combined_config(timings, settings)
    same_as = next(
        (name for name, config in configs.items() if replace(config, name=combined.name) == combined), None
    )
    if same_as is None:
        # The combination against the reference, interleaved again, as many rounds.
        configs[combined.name] = combined
        time_against_plain(combined)
    combined_name = same_as or combined.name
    # Accuracy checks are cached by configuration: the plain reference's sets the bar for the scan too.
    accuracy: dict[str, dict[str, Any]] = {}

    def passes(name: str) -> bool:
        """Accuracy-check ``name`` (once) and say whether it is within the tolerance of the plain one."""
        for checked in ("plain_b128", name):
            if checked not in accuracy:
                accuracy[checked] = _accuracy_of(configs[checked], arrays, settings)
                log(f"speed: accuracy {checked}: {accuracy[checked]['validation_accuracy']}")
        bar = accuracy["plain_b128"]["validation_accuracy"] - settings.imdb_accuracy_tolerance
        return bool(accuracy[name]["validation_accuracy"] >= bar)

    # Thread pools, XLA and the gaining batch sizes, for the combination: scanned on a subset, one fresh
    # process per setting. The variants that gain there are accuracy-checked fastest first; the first to
    # pass for each batch size and XLA setting (scan_finalists at most) is timed on the whole set against
    # the reference, interleaved again: the subset's ranking did not always hold on all 25k reviews, least
    # of all across XLA settings, and a fast variant that fails the check cannot be the answer.
    scan = scan_threads_and_xla(settings, configs[combined_name], scan_batch_sizes(timings, settings), log)

    def check(candidate: dict[str, Any]) -> tuple[bool, float]:
        """Accuracy-check a scan variant of the combination: (passes, validation accuracy)."""
        variant = replace(
            configs[combined_name],
            name=candidate["name"],
            threads=tuple(candidate["threads"]),
            jit_compile=candidate["jit_compile"],
            batch_size=candidate["batch_size"],
        )
        configs.setdefault(variant.name, variant)
        return passes(variant.name), accuracy[variant.name]["validation_accuracy"]

    scan["checked"], scan["finalists"] = pick_finalists(
        scan.get("gaining", []), check, settings.scan_finalists, settings.scan_accuracy_checks
    )
    scan["configs"] = []
    scan["best"] = scan["finalists"][0] if scan["finalists"] else None
    for finalist in scan["finalists"]:
        if finalist["name"] not in timings:
            time_against_plain(configs[finalist["name"]])
        scan["configs"].append(finalist["name"])
    plain_runs = timings["plain_b128"]["round_epoch_seconds"]
    reference_seconds = statistics.median(plain_runs)
    for timing in timings.values():
        timing["speedup_vs_plain"] = _round(reference_seconds / timing["epoch_seconds"])

    # Accuracy: the reference, the combination and the fastest other configurations that were clearly
    # faster, imdb_max_accuracy_runs in all (the scan's checks come on top).
    threshold = reference_seconds * (1 - settings.imdb_min_gain)
    candidates = sorted(
        (
            name
            for name, timing in timings.items()
            if name not in ("plain_b128", combined_name) and timing["epoch_seconds"] < threshold
        ),
        key=lambda name: timings[name]["epoch_seconds"],
    )
    unchecked = [name for name in candidates if name not in accuracy]
    for name in ["plain_b128", combined_name, *unchecked][: max(1, settings.imdb_max_accuracy_runs)]:
        passes(name)
    plain_accuracy = accuracy["plain_b128"]["validation_accuracy"]
    honest = [
        name
        for name in accuracy
        if name != "plain_b128"
        and name in timings
        and passes(name)
        and timings[name]["epoch_seconds"] < reference_seconds
    ]
    best_name = min(honest, key=lambda name: timings[name]["epoch_seconds"]) if honest else "plain_b128"
    return {
        "case": {
            "model": "Embedding(20000, 64, mask_zero=True) + Bidirectional(LSTM(64)) + Dense(1, sigmoid), "
            "Adam(1e-3), binary cross-entropy",
            "timing_data": "x_train + x_validation (post-padded to 200 tokens), one epoch, shuffled",
            "timing_reviews": int(x_all.shape[0]),
            "mean_real_tokens": _round(float(post_padded_lengths(x_all).mean()), 1),
            "accuracy_protocol": f"fresh seeded model, {settings.imdb_accuracy_epochs} epoch(s) on x_train, "
            "accuracy on x_validation; the test split is not read",
            "plain": "hand-written keras.Sequential with the same layers (mask_zero, as post-padding needs), "
            "metrics=['accuracy'], fed NumPy arrays (model.fit(x, y, batch_size, shuffle=True): Keras's own "
            "tf.data pipeline, autotuned)",
            "seqlab": "seqlab.models.builders.build_text_model('lstm', 20000, 200, embedding_dim=64, "
            "units=64, bidirectional=True) (adds an AUC metric), fed by seqlab.training.array_dataset "
            "(tf.data autotuning off, as fit_model does); bucketing re-wires its layers onto a "
            "length-free input",
            "bucketing": "tf.data shuffle, trim each review to its real tokens, bucket_by_sequence_length "
            f"(boundaries {bucket_boundaries(False)}, batches padded to their longest review; with XLA "
            f"padded to {bucket_boundaries(True)} minus 1)",
            "epoch_timing": "steady state: the first time a process times a configuration it first trains "
            f"{PROCESS_WARM_UP_EPOCHS} whole untimed epochs of a throwaway model of it, and every timed "
            "model first traces/compiles its step for the batch shapes, untimed; input pipeline "
            "construction is timed",
        },
        "plain_reference_epoch_seconds": _round(reference_seconds),
        "plain_reference_runs": plain_runs,
        "plain_reference_drift": _round(plain_runs[-1] / plain_runs[0] - 1),
        "timings": timings,
        "single_paired_ratios_vs_seqlab_b128": paired,
        "combined_levers": combined.levers() if same_as is None else configs[combined_name].levers(),
        "combined_config": combined_name,
        "accuracy": accuracy,
        "accuracy_tolerance": settings.imdb_accuracy_tolerance,
        "best": {
            "config": best_name,
            "levers": configs[best_name].levers(),
            "epoch_seconds": timings[best_name]["epoch_seconds"],
            "speedup_vs_plain": _round(reference_seconds / timings[best_name]["epoch_seconds"]),
            "validation_accuracy": accuracy[best_name]["validation_accuracy"],
            "plain_validation_accuracy": plain_accuracy,
            "rule": "fastest accuracy-checked configuration faster than the plain reference whose validation "
            "accuracy is within the tolerance of the plain one",
        },
        "threads": scan,
    }


def scan_batch_sizes(timings: dict[str, dict[str, Any]], settings: SpeedSettings) -> list[int]:
    """Batch sizes the scan tries the combination at: every size that beat batch 128 on its own.

    Fastest first (by ``paired_ratio``); ``[128]`` when none did. The combination takes only the fastest,
    but batch size interacts with bucketing (bucketed batches are shorter, so a larger batch costs less
    padding), and the single-lever ranking between sizes that both gain is within the noise: in one run
    batch 256 beat 512 by 0.5 s on its own, and in the combination 512 was 16% faster.
    """
    sizes = [size for size in settings.imdb_batch_sizes if size != 128]
    gaining = [size for size in sizes if _gains(timings, f"seqlab_b{size}", settings)]
    return sorted(gaining, key=lambda size: paired_ratio(timings, f"seqlab_b{size}")) or [128]


def _variant_name(
    base: LeverConfig, jit_compile: bool, threads: tuple[int, int], batch_size: int | None = None
) -> str:
    """Name a scan variant of ``base``: what it changes (batch size, XLA, pools) appended to its name."""
    name = base.name
    if batch_size is not None and batch_size != base.batch_size:
        name += f"_b{batch_size}"
    if jit_compile != base.jit_compile:
        name += "_xla" if jit_compile else "_no_xla"
    if tuple(threads) != (0, 0):
        name += f"_threads_{threads[0]}_{threads[1]}"
    return name


def gaining_variants(variants: list[dict[str, Any]], min_gain: float, count: int) -> list[dict[str, Any]]:
    """The (at most ``count``) fastest scan variants that beat the first, the base, by ``min_gain``."""
    limit = variants[0]["epoch_seconds"] * (1 - min_gain)
    gaining = sorted(
        (variant for variant in variants[1:] if variant["epoch_seconds"] < limit),
        key=lambda variant: variant["epoch_seconds"],
    )
    keys = ("name", "batch_size", "jit_compile", "threads")
    return [{key: variant[key] for key in keys} for variant in gaining[:count]]


def _group(variant: dict[str, Any]) -> tuple[int, bool]:
    """The settings whose subset ranking was not trusted to hold on the whole set: batch size and XLA."""
    return int(variant["batch_size"]), bool(variant["jit_compile"])


def pick_finalists(
    gaining: list[dict[str, Any]],
    check: Callable[[dict[str, Any]], tuple[bool, float]],
    max_finalists: int,
    max_checks: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Accuracy-check scan variants fastest first; the first to pass per (batch size, XLA setting) are the
    finalists.

    ``check`` returns (passes, validation accuracy) for a variant. Stops at ``max_finalists`` finalists or
    ``max_checks`` checks; a variant whose batch size and XLA setting have their finalist already is skipped
    unchecked.
    Returns (the checked variants with their accuracy and verdict, the finalists).
    """
    checked: list[dict[str, Any]] = []
    finalists: list[dict[str, Any]] = []
    for candidate in gaining:
        if len(finalists) >= max_finalists or len(checked) >= max_checks:
            break
        if any(_group(finalist) == _group(candidate) for finalist in finalists):
            continue  # this batch size and XLA setting have their finalist already
        passed, validation_accuracy = check(candidate)
        checked.append({**candidate, "validation_accuracy": validation_accuracy, "passes": passed})
        if passed:
            finalists.append(candidate)
    return checked, finalists


def scan_threads_and_xla(
    settings: SpeedSettings,
    base: LeverConfig,
    batch_sizes: Sequence[int] = (),
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Time ``base`` at each batch size, XLA as in ``base`` and toggled, and each thread setting, on a subset.

    Thread pools are fixed when TensorFlow starts, so every non-default setting runs in its own process
    (the default too, in the full run, for a fair comparison). XLA is scanned with them because its gain
    is within the noise of the single-lever timings and it changes which pools help (a probe: one
    intra-op and two inter-op threads helped batch 512 without XLA, not with it). ``batch_sizes`` (base's
    own first, whether listed or not) are scanned too: see ``scan_batch_sizes``. Variants are timed in
    interleaved rounds; ``gaining`` lists the variants whose medians beat ``base`` as it is (its batch size
    and XLA setting, default pools) by at least ``scan_min_gain``, fastest first: the caller
    accuracy-checks them in that order to pick the finalists it times on the whole set.
    """
    if not settings.thread_settings:
        return {"note": "skipped", "runs": [], "variants": [], "gaining": []}
    arrays = load_imdb_arrays()
    reviews = min(settings.thread_reviews, arrays["x_train"].shape[0] + arrays["x_validation"].shape[0])
    sizes = [base.batch_size, *(size for size in batch_sizes if size != base.batch_size)]
    xla_settings = [base.jit_compile] + ([not base.jit_compile] if settings.scan_xla else [])
    grid = [
        (size, jit, tuple(threads))
        for size in sizes
        for jit in xla_settings
        for threads in settings.thread_settings
    ]
    runs = []
    rounds = max(1, settings.scan_rounds)
    for round_index in range(rounds):
        for size, jit_compile, (intra, inter) in grid:
            config = replace(
                base,
                name=_variant_name(base, jit_compile, (intra, inter), size),
                threads=(intra, inter),
                jit_compile=jit_compile,
                batch_size=size,
            )
            arguments = {"config": asdict(config), "task": "time", "seed": settings.seed, "reviews": reviews}
            isolate = settings.isolate_workers or (intra, inter) != (0, 0)
            result = _run_worker("imdb_lever", arguments, isolate)
            log(
                f"speed: scan round {round_index + 1}/{rounds} {config.name} ({len(runs) + 1}/"
                f"{rounds * len(grid)}): {result['epoch_seconds']} s"
            )
            runs.append(
                {
                    "round": round_index,
                    "batch_size": size,
                    "jit_compile": jit_compile,
                    "intra_op": intra,
                    "inter_op": inter,
                    **result,
                }
            )
    variants: list[dict[str, Any]] = []
    for size, jit_compile, (intra, inter) in grid:
        seconds = [
            run["epoch_seconds"]
            for run in runs
            if (run["batch_size"], run["jit_compile"], run["intra_op"], run["inter_op"])
            == (size, jit_compile, intra, inter)
        ]
        variants.append(
            {
                "name": _variant_name(base, jit_compile, (intra, inter), size),
                "batch_size": size,
                "jit_compile": jit_compile,
                "threads": [intra, inter],
                "round_epoch_seconds": seconds,
                "epoch_seconds": _round(statistics.median(seconds)),
            }
        )
    default = variants[0]  # base as it is: its batch size and XLA setting, default pools
    for variant in variants:
        variant["speedup_vs_base"] = _round(default["epoch_seconds"] / variant["epoch_seconds"])
    return {
        "note": f"{base.name} ({base.levers()}) on the first {reviews} reviews at batch sizes {sizes}, XLA "
        f"as in it and toggled, {max(1, settings.scan_rounds)} interleaved round(s), one process per "
        "non-default pool setting; 0 = TensorFlow's default (a pool as large as the CPU count)",
        "batch_sizes": sizes,
        "runs": runs,
        "variants": variants,
        "gaining": gaining_variants(variants, settings.scan_min_gain, len(variants)),
    }


# --------------------------------------------------------------------------- 3 and 4. preparation, growth


def _scaling(sizes: Sequence[float], values: Sequence[float]) -> dict[str, Any]:
    """Fit value = intercept + slope * size and the log-log exponent; say whether growth is linear."""
    size_array = np.asarray(sizes, dtype=np.float64)
    value_array = np.asarray(values, dtype=np.float64)
    slope, intercept = np.polyfit(size_array, value_array, 1)
    predicted = intercept + slope * size_array
    spread = float(np.sum((value_array - value_array.mean()) ** 2))
    r_squared = 1.0 - float(np.sum((value_array - predicted) ** 2)) / spread if spread > 0 else 1.0
    exponent = (
        float(np.polyfit(np.log(size_array), np.log(value_array), 1)[0])
        if np.all(value_array > 0)
        else math.nan
    )
    if math.isnan(exponent):
        verdict = "not measurable (zero values)"
    elif exponent < 0.85:
        verdict = "sublinear: fixed costs still dominate at these sizes"
    elif exponent <= 1.15:
        verdict = "about linear"
    else:
        verdict = "superlinear: grows faster than the data"
    return {
        "slope_per_1000": _round(slope * 1000, 4),
        "intercept": _round(intercept, 4),
        "r_squared": _round(r_squared, 4),
        "loglog_exponent": _round(exponent, 3) if not math.isnan(exponent) else None,
        "largest_over_smallest": _round(value_array[-1] / value_array[0], 3) if value_array[0] > 0 else None,
        "verdict": verdict,
    }


def _growth_series(points: list[dict[str, Any]], size_key: str, seconds: Callable[[dict], float]) -> dict:
    """Summarise measured points (time and peak memory increase) against their size."""
    sizes = [float(point[size_key]) for point in points]
    return {
        "size_unit": size_key,
        "points": points,
        "time_seconds": _scaling(sizes, [seconds(point) for point in points]),
        "peak_memory_increase_mb": _scaling(sizes, [point["memory"]["peak_increase_mb"] for point in points]),
    }


def measure_growth(settings: SpeedSettings) -> dict[str, Any]:
    """Measure preparation and one small-model epoch at each growth factor, one process per point."""
    isolate = settings.isolate_workers
    factors = settings.growth_factors
    text_prep = [
        _run_worker("prepare_text", {"reviews": settings.text_prep_base_reviews * factor}, isolate)
        for factor in factors
    ]
    series_prep = [
        _run_worker(
            "prepare_series",
            {
                "factor": factor,
                "base_days": settings.series_prep_base_days,
                "parse_raw": factor == factors[0],
            },
            isolate=True,  # no TensorFlow in this worker: a fresh process costs well under a second
        )
        for factor in factors
    ]
    text_train = [
        _run_worker(
            "train_epoch",
            {"kind": "text", "items": settings.text_train_base_reviews * factor, "batch_size": 128},
            isolate,
        )
        for factor in factors
    ]
    series_train = [
        _run_worker(
            "train_epoch",
            {"kind": "series", "items": settings.series_train_base_windows * factor, "batch_size": 256},
            isolate,
        )
        for factor in factors
    ]
    return {
        "factors": list(factors),
        "text_preparation": _growth_series(text_prep, "reviews", lambda point: point["seconds"]["total"]),
        "series_preparation": _growth_series(series_prep, "days", lambda point: point["seconds"]),
        "text_training_epoch": _growth_series(text_train, "items", lambda point: point["seconds"]),
        "series_training_epoch": _growth_series(series_train, "items", lambda point: point["seconds"]),
        "note": "series growth tiles the CET series (windowing cost does not depend on the values); text "
        "growth takes evenly spaced real reviews (preparation) or the first N training reviews (training)",
    }


def data_preparation_from(growth: dict[str, Any]) -> dict[str, Any]:
    """Pick item 3's cases out of the growth points: the largest text sample and the real CET series."""
    text = growth["text_preparation"]["points"][-1]
    series = growth["series_preparation"]["points"][0]
    return {
        "imdb_tokenise_pad": {
            "reviews": text["reviews"],
            "seconds": text["seconds"],
            "reviews_per_second": text["reviews_per_second"],
            "memory": text["memory"],
            "functions": "seqlab.prep.text fit_vocabulary (on 40% of the reviews, as prepare_imdb's 20k of "
            "50k), encode, pad(max_len=200, post)",
        },
        "cet_parse": series.get("parse_raw"),
        "cet_windowing": {
            "days": series["days"],
            "windows": series["windows"],
            "seconds": series["seconds"],
            "memory": series["memory"],
            "functions": "seqlab.prep.series.make_split_windows with the prepared CET protocol",
        },
    }


# --------------------------------------------------------------------------- the run


def _summary(results: dict[str, Any]) -> dict[str, Any]:
    """Collect the headline numbers of the sections that ran."""
    summary: dict[str, Any] = {}
    if "train_overhead" in results:
        summary["train_overhead_ratio"] = results["train_overhead"]["train_overhead_ratio"]
    if "imdb_bilstm" in results:
        imdb = results["imdb_bilstm"]
        best = imdb["best"]
        summary.update(
            {
                "imdb_plain_epoch_seconds": imdb["plain_reference_epoch_seconds"],
                "imdb_best_config": best["config"],
                "imdb_best_levers": best["levers"],
                "imdb_best_epoch_seconds": best["epoch_seconds"],
                "imdb_best_speedup": best["speedup_vs_plain"],
                "imdb_plain_validation_accuracy": best["plain_validation_accuracy"],
                "imdb_best_validation_accuracy": best["validation_accuracy"],
            }
        )
    if "data_preparation" in results:
        preparation = results["data_preparation"]
        summary.update(
            {
                "imdb_tokenise_pad_reviews": preparation["imdb_tokenise_pad"]["reviews"],
                "imdb_tokenise_pad_seconds": preparation["imdb_tokenise_pad"]["seconds"]["total"],
                "imdb_tokenise_pad_peak_increase_mb": preparation["imdb_tokenise_pad"]["memory"][
                    "peak_increase_mb"
                ],
                "cet_windowing_seconds": preparation["cet_windowing"]["seconds"],
            }
        )
    return summary


def run_speed_benchmark(
    settings: SpeedSettings,
    output: str | Path | None = None,
    sections: Sequence[str] = SECTIONS,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the chosen sections in one process, return the results and write them atomically to ``output``."""
    from seqlab.fileio import write_json

    unknown = [section for section in sections if section not in SECTIONS]
    if unknown:
        raise ValueError(f"sections: unknown {unknown}; choose from {', '.join(SECTIONS)}")
    started = time.perf_counter()
    results: dict[str, Any] = {
        "benchmark": "seqlab speed",
        "mode": settings.mode,
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "settings": asdict(settings),
        "machine": machine_info(),
        "load_average_at_start": list(os.getloadavg()),
    }
    section_seconds: dict[str, float] = {}
    if "overhead" in sections:
        log("speed: 1/3 fit_model against model.fit (CET GRU) ...")
        with _stopwatch() as elapsed:
            results["train_overhead"] = measure_train_overhead(settings)
        results["train_overhead_ratio"] = results["train_overhead"]["train_overhead_ratio"]
        section_seconds["overhead"] = _round(elapsed.seconds, 1)
    if "imdb" in sections:
        log("speed: 2/3 IMDB BiLSTM levers ...")
        with _stopwatch() as elapsed:
            results["imdb_bilstm"] = measure_imdb_levers(settings, log)
        section_seconds["imdb"] = _round(elapsed.seconds, 1)
    if "growth" in sections:
        log("speed: 3/3 data preparation and growth ...")
        with _stopwatch() as elapsed:
            results["growth"] = measure_growth(settings)
        results["data_preparation"] = data_preparation_from(results["growth"])
        section_seconds["growth"] = _round(elapsed.seconds, 1)
    results["section_seconds"] = section_seconds
    results["load_average_at_end"] = list(os.getloadavg())
    results["total_seconds"] = _round(time.perf_counter() - started, 1)
    results["summary"] = _summary(results)
    if output is not None:
        write_json(output, results)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m benchmarks.speed [--quick] [--output PATH] [--sections a,b]``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.speed", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the harness in seconds")
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help=f"JSON file to write (default: {DEFAULT_OUTPUT.relative_to(REPO_ROOT)} for a full run; "
        "a quick run writes nothing unless given)",
    )
    parser.add_argument(
        "--sections", default=",".join(SECTIONS), help=f"comma-separated subset of {', '.join(SECTIONS)}"
    )
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--worker-arguments", default="{}", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if arguments.worker:
        from seqlab.fileio import write_json

        if arguments.output is None:
            parser.error("--worker needs --output")
        write_json(arguments.output, WORKERS[arguments.worker](**json.loads(arguments.worker_arguments)))
        return 0
    sections = [section.strip() for section in arguments.sections.split(",") if section.strip()]
    if not sections or any(section not in SECTIONS for section in sections):
        parser.error(f"--sections: expected a comma-separated subset of {', '.join(SECTIONS)}")
    settings = SpeedSettings.quick() if arguments.quick else SpeedSettings.full()
    output = arguments.output if arguments.output is not None or arguments.quick else DEFAULT_OUTPUT
    results = run_speed_benchmark(settings, output=output, sections=sections)
    print(json.dumps(results["summary"], indent=2, sort_keys=True))
    if output is not None:
        print(f"speed: wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
