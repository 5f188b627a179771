"""Seconds per grading stage of one submission: OUT/timings.json and `make bench`'s "where
the time goes"."""

from __future__ import annotations

import time

__all__ = ["Clock"]


class Clock:
    """A stopwatch with one running stage at a time."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._stage, self._since = "", time.monotonic()

    def start(self, stage: str) -> None:
        self.stop()
        self._stage, self._since = stage, time.monotonic()

    def stop(self) -> None:
        if self._stage:
            self.seconds[self._stage] = (
                self.seconds.get(self._stage, 0.0) + time.monotonic() - self._since
            )
        self._stage = ""

    def split(self, stage: str, parts: dict[str, float]) -> None:
        """Replace `stage`'s running time by its parts (the rest stays under `stage`)."""
        self.stop()
        total = self.seconds.pop(stage, 0.0)
        self.seconds.update({k: v for k, v in parts.items() if v})
        self.seconds[f"{stage}, other"] = max(0.0, total - sum(parts.values()))
