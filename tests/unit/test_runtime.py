"""TensorFlow's thread pools come from params.yaml, set before TensorFlow starts, in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from seqlab import runtime

SCRIPT = """
import json
from seqlab import runtime
result = {"before_keras": runtime.use_thread_pools(1, 2)}
runtime.load_keras()
import tensorflow as tf
threading = tf.config.threading
result["pools"] = [threading.get_intra_op_parallelism_threads(), threading.get_inter_op_parallelism_threads()]
result["sum"] = float(tf.reduce_sum(tf.ones(4)))  # the runtime has started: its pools are fixed now
result["unchanged"] = runtime.use_thread_pools(1, 2)
result["refused"] = runtime.use_thread_pools(2, 1)
result["after"] = [threading.get_intra_op_parallelism_threads(), threading.get_inter_op_parallelism_threads()]
print(json.dumps(result))
"""


def test_the_pools_are_set_when_keras_loads_and_a_started_runtime_keeps_its_own() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["before_keras"] is None and result["pools"] == [1, 2] and result["sum"] == 4.0
    assert result["unchanged"] is None  # what it runs with already: nothing to change
    assert result["refused"] == (
        "TensorFlow already started in this process with thread pools intra_op 1, inter_op 2; "
        "pipeline.tensorflow_threads (intra_op 2, inter_op 1) applies from the next process"
    )
    assert result["after"] == [1, 2]


@pytest.mark.parametrize("counts", [(-1, 0), (0, 1.5), (True, 0)])
def test_a_pool_size_must_be_a_whole_number_of_at_least_0(counts: tuple[object, object]) -> None:
    with pytest.raises(ValueError, match="expected an integer >= 0"):
        runtime.use_thread_pools(*counts)  # type: ignore[arg-type]
