"""Loading TensorFlow without its start-up noise in a run's log.

TensorFlow 2.21 writes INFO lines (oneDNN, "Could not find cuda drivers", "All log messages before
absl::InitializeLog()") from C++ before its logging is configured, so ``TF_CPP_MIN_LOG_LEVEL`` does not
reach them. The stages that need Keras call :func:`load_keras` first: the import runs with the process's
native stderr captured, and the capture is printed only if the import fails.

TensorFlow's thread pools are fixed when its runtime starts, so the entry points name the pools of
params.yaml (``pipeline.tensorflow_threads``) with :func:`use_thread_pools` before any stage runs, and
:func:`load_keras` sizes them right after the import.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

_POOLS: dict[str, int] = {"intra_op": 0, "inter_op": 0}  # what load_keras sets; 0: TensorFlow's default


@contextlib.contextmanager
def native_stderr_captured() -> Iterator[None]:
    """Send file descriptor 2 to a temporary file for a block; replay it if the block raises."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode("utf-8", errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def load_keras() -> Any:
    """Import Keras (and TensorFlow) once, quietly; TensorFlow's Python warnings above ERROR only.

    ``tf.function retracing`` warnings (a model predicting inputs of a new shape, e.g. MLflow's
    signature check) are about speed, not results.
    """
    if "keras" not in sys.modules:
        with native_stderr_captured():
            import keras  # noqa: F401
        logging.getLogger("tensorflow").setLevel(logging.ERROR)
        problem = _size_thread_pools()
        if problem:
            logging.getLogger(__name__).warning(problem)
    return sys.modules["keras"]


def use_thread_pools(intra_op: int, inter_op: int) -> str | None:
    """Run TensorFlow with these thread pools (0: its default); return why not, where it cannot.

    ``intra_op`` threads share one operation (a matrix product), ``inter_op`` run operations side by
    side (a bidirectional layer's two directions). Applied now if Keras is loaded, else by
    :func:`load_keras`. A process whose TensorFlow already ran keeps its pools: the returned line says
    so (a test session, or a second pipeline with other params in one Python).
    """
    for name, count in (("intra_op", intra_op), ("inter_op", inter_op)):
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"{name}: expected an integer >= 0, got {count!r}")
    _POOLS.update(intra_op=intra_op, inter_op=inter_op)
    return _size_thread_pools() if "keras" in sys.modules else None


def _size_thread_pools() -> str | None:
    """Set TensorFlow's pools to ``_POOLS`` where they differ; the reason where TensorFlow refuses."""
    import tensorflow as tf

    threading = tf.config.threading
    current = {
        "intra_op": threading.get_intra_op_parallelism_threads(),
        "inter_op": threading.get_inter_op_parallelism_threads(),
    }
    if current == _POOLS:
        return None
    try:
        threading.set_intra_op_parallelism_threads(_POOLS["intra_op"])
        threading.set_inter_op_parallelism_threads(_POOLS["inter_op"])
    except RuntimeError:  # "... cannot be modified after initialization"
        return (
            f"TensorFlow already started in this process with thread pools {_pools(current)}; "
            f"pipeline.tensorflow_threads ({_pools(_POOLS)}) applies from the next process"
        )
    return None


def _pools(pools: dict[str, int]) -> str:
    return ", ".join(f"{name} {count or 'default'}" for name, count in pools.items())
