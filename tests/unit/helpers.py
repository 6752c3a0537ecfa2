"""Helpers shared by the unit tests."""

from __future__ import annotations

import random
import threading
import time
from typing import Any


class DrawingThread:
    """Draws from Python's global random generator every 0.1 ms or so until the block ends.

    The short sleep leaves the GIL to the code under test (a draw loop without it made a 15 s tuner
    search take 38 s) while still drawing thousands of times a second.
    """

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
            time.sleep(0.0001)

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        self.thread.join()
