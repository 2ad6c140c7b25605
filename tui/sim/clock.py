"""Simulated time for the gateway simulator.

Batch progress in the simulator is a pure function of this clock, so a test can freeze
it and step it exactly, and a demo can run it faster than real time.
"""

from __future__ import annotations

import threading
import time


class SimClock:
    """A thread-safe clock in unix seconds that can run fast, stand still or jump.

    While running, ``now() == start + monotonic elapsed * speed``; the monotonic source
    keeps a wall-clock adjustment on the host from moving simulated batches backwards.
    """

    def __init__(self, start: float | None = None, speed: float = 1.0, frozen: bool = False) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._lock = threading.Lock()
        self._base = float(round(time.time()) if start is None else start)
        self._anchor = time.monotonic()
        self._speed = float(speed)
        self._frozen = frozen

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def frozen(self) -> bool:
        with self._lock:
            return self._frozen

    def now(self) -> float:
        with self._lock:
            return self._now_locked()

    def advance(self, seconds: float) -> None:
        """Jump forward (or back, for a negative value) by ``seconds`` of simulated time."""
        with self._lock:
            self._base += seconds

    def freeze(self) -> None:
        with self._lock:
            self._base = self._now_locked()
            self._frozen = True

    def unfreeze(self) -> None:
        with self._lock:
            if self._frozen:
                self._anchor = time.monotonic()
                self._frozen = False

    def _now_locked(self) -> float:
        if self._frozen:
            return self._base
        return self._base + (time.monotonic() - self._anchor) * self._speed
