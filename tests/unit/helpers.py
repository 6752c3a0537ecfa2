"""Helpers shared by the unit tests."""

from __future__ import annotations

import random
import threading
from typing import Any


class DrawingThread:
    """Draws from Python's global random generator without pause until the block ends."""

    def __enter__(self) -> DrawingThread:
        self.stop = threading.Event()
        self.draws = 0
        self.thread = threading.Thread(target=self._draw, daemon=True)
        self.thread.start()
        return self

    def _draw(self) -> None:
        while not self.stop.is_set():
            random.getrandbits(32)
            self.draws += 1

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        self.thread.join()
