"""Seeded model building that other threads cannot disturb.

Keras gives every initializer and dropout layer built without a ``seed`` a default seed drawn from
Python's global ``random`` generator (``keras.src.random.seed_generator.make_default_seed``).
``keras.utils.set_random_seed`` reseeds that generator, but it is shared by every thread in the
process: a draw made by another thread between the reseed and the last layer (a websocket ping of
Prefect's events client, say) shifts every later default seed, and the model starts from other
weights. In the full test suite this changed a tuning trial's validation loss from 0.675 to 0.247.

``seeded(seed)`` reseeds as before and, until it exits, makes this thread's Keras default seeds come
from a private ``random.Random(seed)``. That generator draws exactly what the global one draws after
``random.seed(seed)``, so models get the same weights as a build that nothing disturbed.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Iterator
from typing import Any


class _ThreadScopedRandom:
    """Stands in for the ``random`` module where Keras draws its default seeds.

    Inside ``seeded`` on this thread the draws come from the build's private generator, everywhere
    else from the global one.
    """

    def __init__(self) -> None:
        self.local = threading.local()

    def __getattr__(self, name: str) -> Any:
        generator = getattr(self.local, "generator", None)
        return getattr(random if generator is None else generator, name)


_SCOPED = _ThreadScopedRandom()


def _route_keras_default_seeds() -> None:
    """Point Keras's default-seed source at the scoped generator (once per process)."""
    from keras.src.random import seed_generator

    current = getattr(seed_generator, "python_random", None)
    if current is _SCOPED:
        return
    if current is not random:
        raise RuntimeError(
            "seqlab.models.seeding: keras.src.random.seed_generator no longer draws default seeds from "
            f"Python's random module (found {current!r}); seeded builds cannot be isolated from other threads"
        )
    seed_generator.python_random = _SCOPED


@contextlib.contextmanager
def seeded(seed: int | None) -> Iterator[None]:
    """Seed Python, NumPy and TensorFlow, and build this thread's layers from a private generator.

    With ``seed=None`` nothing is seeded: layers draw from the global generator, as Keras does.
    """
    if seed is None:
        yield
        return
    import keras

    keras.utils.set_random_seed(seed)
    _route_keras_default_seeds()
    previous = getattr(_SCOPED.local, "generator", None)
    _SCOPED.local.generator = random.Random(seed)
    try:
        yield
    finally:
        _SCOPED.local.generator = previous
