"""Probe: do TensorFlow's thread pools (params.yaml ``pipeline.tensorflow_threads``) speed up the
default run's training, and which setting?

Times the first training epoch of the two models that cost the default run most, as the train stage
fits them (seqlab.modelling.fit_variant: the dataset's training settings, its dropout variant), each in a
fresh Python whose pools are set before TensorFlow starts, in interleaved rounds (a slow spell of the
shared machine hits every setting): IMDB's hybrid BiLSTM(32) + NBSVM and CET's hybrid GRU(32). Needs
the prepared data of a project (``make data`` or a run). Validation loss is printed beside the time: the
pools change the order of sums, not the model.

Usage: python benchmarks/probes/threads.py PROJECT_ROOT ROUNDS [INTRA,INTER ...]
Results: benchmarks/notes.md.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MODELS: dict[str, tuple[str, dict[str, Any], str]] = {  # name: dataset, tuned choices, variant
    "imdb_hybrid_bilstm": ("imdb", {"family": "lstm"}, "dropout"),
    "cet_hybrid_gru": ("cet", {"family": "gru", "anchor": "baseline"}, "none"),
}


def worker(root: Path, name: str, intra: int, inter: int) -> dict[str, Any]:
    """Train ``name`` for one epoch with the given pools; return the seconds and validation loss."""
    from seqlab import runtime

    runtime.use_thread_pools(intra, inter)
    runtime.load_keras()
    from seqlab.config import load_params
    from seqlab.modalities import modality
    from seqlab.modelling import fit_variant
    from seqlab.paths import ProjectPaths
    from seqlab.training import variant_arguments

    dataset, choices, variant = MODELS[name]
    config = load_params(root / "params.yaml").dataset(dataset)
    data = modality(config).load(config, ProjectPaths.at(root))
    space = {
        key: entry.value if entry.values is None else entry.values[0]
        for key, entry in config.tuning.space.items()
    }
    dropout = config.training.variants[variant]
    arguments = variant_arguments({**space, **choices}, dropout.dropout, dropout.recurrent_dropout)
    settings = config.training.model_copy(update={"epochs": 1})
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        _, result = fit_variant(data, arguments, settings, checkpoint_dir=Path(folder))
        seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 2), "val_loss": round(float(result.best_metrics["val_loss"]), 5)}


def main(root: Path, rounds: int, settings: list[tuple[int, int]]) -> None:
    times: dict[tuple[str, tuple[int, int]], list[float]] = {}
    for index in range(rounds):
        for pools in settings:
            for name in MODELS:
                command = [sys.executable, __file__, "--worker", str(root), name, *map(str, pools)]
                done = subprocess.run(command, capture_output=True, text=True, check=True)
                result = json.loads(done.stdout.splitlines()[-1])
                times.setdefault((name, pools), []).append(result["seconds"])
                print(f"round {index + 1} {name} pools {pools}: {result}", flush=True)
    for (name, pools), values in times.items():
        print(f"{name} pools {pools}: median {statistics.median(values):.1f} s of {values}")


if __name__ == "__main__":
    if sys.argv[1] == "--worker":
        print(json.dumps(worker(Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))))
    else:
        pairs = [tuple(int(part) for part in text.split(",")) for text in sys.argv[3:] or ["0,0", "1,2"]]
        main(Path(sys.argv[1]), int(sys.argv[2]), [(intra, inter) for intra, inter in pairs])
