"""A dependency-free progress bar on stderr for long runs (a line per 10 % when not a terminal)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    def __init__(self, total: int, label: str = "rows", stream: TextIO | None = None, width: int = 30) -> None:
        self.total = max(total, 1)
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.perf_counter()
        self._last_draw = 0.0
        self._last_decile = -1

    def __call__(self, done: int) -> None:
        now = time.perf_counter()
        frac = min(done / self.total, 1.0)
        if self.tty:
            if now - self._last_draw < 0.1 and done < self.total:
                return
            self._last_draw = now
            self.stream.write("\r" + self._text(done, frac, now))
            if done >= self.total:
                self.stream.write("\n")
        else:
            decile = int(frac * 10)
            if decile == self._last_decile:
                return
            self._last_decile = decile
            self.stream.write(self._text(done, frac, now) + "\n")
        self.stream.flush()

    def _text(self, done: int, frac: float, now: float) -> str:
        elapsed = max(now - self.start, 1e-9)
        rate = done / elapsed
        eta = (self.total - done) / rate if rate > 0 else 0.0
        filled = int(frac * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        return f"[{bar}] {frac * 100:5.1f}% {done:,}/{self.total:,} {self.label} {rate / 1e6:.2f}M/s ETA {eta:4.0f}s"
