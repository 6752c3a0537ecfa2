"""Loading TensorFlow without its start-up noise in a run's log.

TensorFlow 2.21 writes INFO lines (oneDNN, "Could not find cuda drivers", "All log messages before
absl::InitializeLog()") from C++ before its logging is configured, so ``TF_CPP_MIN_LOG_LEVEL`` does not
reach them. The stages that need Keras call :func:`load_keras` first: the import runs with the process's
native stderr captured, and the capture is printed only if the import fails.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from typing import Any


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
    return sys.modules["keras"]
