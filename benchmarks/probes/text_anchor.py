"""Probe (validation only, never the test split): which frozen NBSVM should the text hybrid's
correction learn from?

The frozen NBSVM fitted at C 0.3 classifies its own training reviews almost perfectly (accuracy
0.9999), so the BiLSTM correction learns from logits far more confident than those it meets later.
Two remedies: a smaller C (NBSVM alone worse on validation, its training logits less extreme), or
cross-fitting (``anchor_training: cross_fitted`` of commit ca99966: the correction trains on
out-of-fold logits; reverted, as it did not help). For each C this fits the bench's
``hybrid_bilstm_frozen`` with the given ``anchor_training`` on the pipeline's training split (the
NBSVM first, as the pipeline does) and reports, on the validation split V: the NBSVM alone (the
untrained hybrid), then the hybrid after each epoch.

Usage: python benchmarks/probes/text_anchor.py WORKSPACE EPOCHS ANCHOR_TRAINING C [C ...]
(the bench's learning rate, or the environment's LEARNING_RATE)
(WORKSPACE: a quality workspace of make bench, e.g. benchmarks/work/quality/project.)
Results: benchmarks/notes.md.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from common import SEED, accuracy, load
from sklearn.metrics import log_loss

from seqlab import training

workspace = Path(sys.argv[1])
epochs = int(sys.argv[2])
anchor_training = sys.argv[3]
strengths = [float(value) for value in sys.argv[4:]]
probe = load(workspace)
settings = probe.config.training
x, y, xv, yv = probe.x, probe.y, probe.xv, probe.yv
print(f"train {len(y)}, V {len(yv)}; batch {settings.batch_size}, bucket {settings.bucket_width}", flush=True)


def report(model: object, what: str) -> None:
    train_p = model.predict(x[:5000], batch_size=512, verbose=0).ravel()  # type: ignore[attr-defined]
    p = model.predict(xv, batch_size=512, verbose=0).ravel()  # type: ignore[attr-defined]
    print(
        f"  {what}: V loss {log_loss(yv, p, labels=[0, 1]):.4f}, V accuracy {accuracy(p, yv):.4f}; "
        f"train accuracy {accuracy(train_p, y[:5000]):.4f} (first 5000)",
        flush=True,
    )


for strength in strengths:
    started = time.monotonic()
    spec = {
        **probe.families["hybrid_bilstm_frozen"],
        "anchor_training": anchor_training,
        "anchor_c": strength,
    }
    if os.environ.get("LEARNING_RATE"):
        spec["learning_rate"] = float(os.environ["LEARNING_RATE"])
    training.set_determinism(SEED)
    model = probe.build(**{**probe.tuned, "dropout": 0.0, "recurrent_dropout": 0.0, **spec, "seed": SEED})
    training.adapt_to_training_data(model, x, y)
    print(f"{anchor_training}, C {strength}: NBSVM fitted in {time.monotonic() - started:.0f} s", flush=True)
    report(model, "epoch 0 (NBSVM alone)")
    data = training.feed(x, y, settings.batch_size, True, settings.bucket_width)
    for epoch in range(1, epochs + 1):
        model.fit(data, epochs=1, verbose=0)
        report(model, f"epoch {epoch}")
    print(f"C {strength}: {time.monotonic() - started:.0f} s", flush=True)
