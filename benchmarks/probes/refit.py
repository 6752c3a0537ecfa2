"""Probe (outside the pipeline, validation only, never the test split): does refitting on all training
reviews for the early-stopped number of epochs beat early stopping on a carved validation split?

Protocol A (the bench's): train on 80% of x_train, early-stop on the other 20% (A_val), keep the best epoch E.
Protocol B (the lever): a fresh model, same seed, trained on all of x_train for E epochs.
Both scored on the pipeline's validation split V, which neither saw. The stacked ensemble's combiner is
fitted on A's A_val predictions and applied to A's and to B's V predictions.

Usage: python benchmarks/probes/refit.py WORKSPACE [families...]
(WORKSPACE: a quality workspace of make bench, e.g. benchmarks/work/quality/project.)
Results of 2026-12-01: benchmarks/notes.md.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

workspace = Path(sys.argv[1])
names = sys.argv[2:] or ["nbsvm", "bag_of_embeddings", "conv1d", "conv1d_gru_max_pool", "bilstm"]

from sklearn.model_selection import train_test_split  # noqa: E402

from seqlab import evaluation, experiment, training  # noqa: E402
from seqlab.config import load_params  # noqa: E402
from seqlab.paths import ProjectPaths  # noqa: E402

SEED = 42
params = load_params(workspace / "params.yaml", [f"imdb.training.seed={SEED}"], "full")
paths = ProjectPaths.at(workspace)
build, arrays = experiment._builder_and_data("imdb", params, paths)
summary = json.loads((workspace / "results" / "imdb" / "train" / "summary.json").read_text())
tuned = {k: v for k, v in summary["best_hyperparameters"].items() if k != "family"}
settings = params.imdb.training
x, y = arrays["x_train"], arrays["y_train"]
xv, yv = arrays["x_validation"], arrays["y_validation"]
index_a, index_aval = train_test_split(np.arange(len(y)), test_size=0.2, stratify=y, random_state=SEED)
print(f"x_train {x.shape}, A {len(index_a)}, A_val {len(index_aval)}, V {len(yv)}; tuned {tuned}", flush=True)


def accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean((probabilities >= 0.5) == (labels >= 0.5)))


out: dict[str, dict] = {}
for name in names:
    spec = params.benchmark.families["imdb"][name]
    hyper = {**tuned, "dropout": 0.0, "recurrent_dropout": 0.0, **spec, "seed": SEED}
    started = time.perf_counter()
    training.set_determinism(SEED)
    model = build(**hyper)
    result = training.fit_model(
        model,
        x[index_a],
        y[index_a],
        x[index_aval],
        y[index_aval],
        epochs=settings.epochs,
        batch_size=settings.batch_size,
        patience=settings.patience,
        checkpoint_dir=Path("/tmp/probe_refit") / name,
    )
    aval_a = model.predict(x[index_aval], batch_size=512, verbose=0).reshape(-1)
    v_a = model.predict(xv, batch_size=512, verbose=0).reshape(-1)
    epochs = result.best_epoch
    middle = time.perf_counter()
    training.set_determinism(SEED)
    model = build(**hyper)
    training.adapt_to_training_data(model, x, y)
    model.fit(training.array_dataset(x, y, settings.batch_size, shuffle=True), epochs=epochs, verbose=0)
    v_b = model.predict(xv, batch_size=512, verbose=0).reshape(-1)
    out[name] = {"epoch": epochs, "aval_a": aval_a, "v_a": v_a, "v_b": v_b}
    print(
        f"{name}: E={epochs} (of {result.epochs_run}); V accuracy A {accuracy(v_a, yv):.4f} "
        f"B {accuracy(v_b, yv):.4f}; {middle - started:.0f} s + {time.perf_counter() - middle:.0f} s",
        flush=True,
    )

if len(out) >= 2:
    ensemble = evaluation.stack_classifiers(
        {n: r["aval_a"] for n, r in out.items()}, y[index_aval], seed=SEED
    )
    ens_a = ensemble.predict_proba({n: r["v_a"] for n, r in out.items()})
    ens_b = ensemble.predict_proba({n: r["v_b"] for n, r in out.items()})
    print(
        f"ensemble of {list(out)}: V accuracy A {accuracy(ens_a, yv):.4f} B {accuracy(ens_b, yv):.4f}; "
        f"weights {ensemble.coefficients}",
        flush=True,
    )
