"""Probe (outside the pipeline, validation only, never the test split): is the IMDB epoch cap of 3 what
stops the families, and what would a longer budget give?

Each family (at the bench's settings) trains on 80% of x_train (A) for MAX_EPOCHS epochs without stopping;
after every epoch it predicts the other 20% (A_val) and the pipeline's validation split V, which it never
sees. Early stopping on A_val's loss is then replayed for each (cap, patience) budget: the epoch it keeps
is the best A_val loss among the epochs it would have run, and that epoch's V accuracy is reported, for
each family and for the stacked ensemble (combiner fitted on A_val, applied to V).

Usage: python benchmarks/probes/epochs.py WORKSPACE MAX_EPOCHS [families...]
(WORKSPACE: a quality workspace of make bench, e.g. benchmarks/work/quality/project.)
Results of 2026-12-01 (MAX_EPOCHS 8, all five families): benchmarks/notes.md.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from common import FAMILIES, SEED, accuracy, load, stacked_ensemble
from sklearn.metrics import log_loss

from seqlab import training

workspace = Path(sys.argv[1])
max_epochs = int(sys.argv[2])
names = sys.argv[3:] or FAMILIES
BUDGETS = list(dict.fromkeys([(3, 1), (4, 1), (5, 1), (6, 2), (8, 2), (max_epochs, 2)]))
probe = load(workspace)
settings = probe.config.training
x, y, xv, yv, index_a, index_aval = probe.x, probe.y, probe.xv, probe.yv, probe.index_a, probe.index_aval
print(
    f"A {len(index_a)}, A_val {len(index_aval)}, V {len(yv)}; cap now {settings.epochs}, "
    f"patience {settings.patience}; tuned {probe.tuned}",
    flush=True,
)


def kept_epoch(losses: list[float], cap: int, patience: int) -> int:
    """The epoch (0-based) early stopping on these losses keeps with this cap and patience."""
    best, waited = 0, 0
    for epoch in range(1, min(cap, len(losses))):
        if losses[epoch] < losses[best]:
            best, waited = epoch, 0
        else:
            waited += 1
            if waited >= patience:
                break
    return best


per_epoch: dict[str, dict[str, list]] = {}
for name in names:
    started = time.perf_counter()
    model = probe.model(name)
    training.adapt_to_training_data(model, x[index_a], y[index_a])
    feed = training.array_dataset(x[index_a], y[index_a], settings.batch_size, shuffle=True)
    record: dict[str, list] = {"aval": [], "v": [], "aval_loss": [], "v_accuracy": []}
    for epoch in range(max_epochs):
        model.fit(feed, initial_epoch=epoch, epochs=epoch + 1, verbose=0)
        aval = model.predict(x[index_aval], batch_size=512, verbose=0).reshape(-1)
        v = model.predict(xv, batch_size=512, verbose=0).reshape(-1)
        record["aval"].append(aval)
        record["v"].append(v)
        record["aval_loss"].append(float(log_loss(y[index_aval], aval, labels=[0, 1])))
        record["v_accuracy"].append(accuracy(v, yv))
        print(
            f"{name} epoch {epoch + 1}: A_val loss {record['aval_loss'][-1]:.4f}, "
            f"V accuracy {record['v_accuracy'][-1]:.4f} ({time.perf_counter() - started:.0f} s)",
            flush=True,
        )
    per_epoch[name] = record

for cap, patience in BUDGETS:
    kept = {n: kept_epoch(r["aval_loss"], cap, patience) for n, r in per_epoch.items()}
    line = ", ".join(f"{n} {per_epoch[n]['v_accuracy'][e]:.4f} (epoch {e + 1})" for n, e in kept.items())
    if len(per_epoch) >= 2:
        stacked, _ = stacked_ensemble(
            list(kept),
            {n: per_epoch[n]["aval"][e] for n, e in kept.items()},
            y[index_aval],
            {n: per_epoch[n]["v"][e] for n, e in kept.items()},
            SEED,
        )
        line += f"; ensemble {accuracy(stacked, yv):.4f}"
    print(f"cap {cap}, patience {patience}: {line}", flush=True)
