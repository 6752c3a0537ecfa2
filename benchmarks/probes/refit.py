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

import sys
import time
from pathlib import Path

from common import FAMILIES, SEED, accuracy, load, stacked_ensemble

from seqlab import training

workspace = Path(sys.argv[1])
names = sys.argv[2:] or FAMILIES
probe = load(workspace)
settings = probe.config.training
x, y, xv, yv, index_a, index_aval = probe.x, probe.y, probe.xv, probe.yv, probe.index_a, probe.index_aval
print(f"x_train {x.shape}, A {len(index_a)}, A_val {len(index_aval)}, V {len(yv)}; tuned {probe.tuned}")


out: dict[str, dict] = {}
for name in names:
    started = time.perf_counter()
    model = probe.model(name)
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
    model = probe.model(name)
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
    validation = {n: r["aval_a"] for n, r in out.items()}
    ens_a, details = stacked_ensemble(
        list(out), validation, y[index_aval], {n: r["v_a"] for n, r in out.items()}, SEED
    )
    ens_b, _ = stacked_ensemble(
        list(out), validation, y[index_aval], {n: r["v_b"] for n, r in out.items()}, SEED
    )
    print(
        f"ensemble of {list(out)}: V accuracy A {accuracy(ens_a, yv):.4f} B {accuracy(ens_b, yv):.4f}; "
        f"weights {details['coefficients']}",
        flush=True,
    )
