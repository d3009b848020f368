"""UTC offsets of the contract's time zones over a time window, as a 15-minute grid.

Real-world offset changes happen on quarter hours of UTC, so a 15-minute grid built from the exact
zoneinfo transitions answers "what was the device's offset at instant t" with one array gather,
for millions of events, with the same daylight-saving rules Python's ``zoneinfo`` applies.
"""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

SLOT_MS = 15 * 60 * 1000
_DAY_S = 86_400


class TimeZoneError(ValueError):
    """A contract time zone is unknown to this machine's tz database."""


def _offset_minutes(zone: ZoneInfo, epoch_s: int) -> int:
    off = datetime.fromtimestamp(epoch_s, tz=timezone.utc).astimezone(zone).utcoffset()
    assert off is not None
    return int(off.total_seconds() // 60)


def _transitions(zone: ZoneInfo, start_s: int, end_s: int) -> tuple[list[int], list[int]]:
    """Offsets in force from start_s on, and the instants (s) where they change, found by daily
    probing plus bisection (offsets never change twice within a day)."""
    instants: list[int] = []
    offsets = [_offset_minutes(zone, start_s)]
    t = start_s
    while t < end_s:
        nxt = min(t + _DAY_S, end_s)
        off = _offset_minutes(zone, nxt)
        if off != offsets[-1]:
            lo, hi = t, nxt  # offset(lo) == previous, offset(hi) == new
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _offset_minutes(zone, mid) == offsets[-1]:
                    lo = mid
                else:
                    hi = mid
            instants.append(hi)
            offsets.append(off)
        t = nxt
    return instants, offsets


class OffsetGrid:
    """offset_minutes[tz, slot] for slots of 15 minutes from ``start_ms`` (UTC epoch ms)."""

    def __init__(self, time_zones: tuple[str, ...], start_ms: int, end_ms: int) -> None:
        self.time_zones = time_zones
        self.start_ms = start_ms - start_ms % SLOT_MS
        slots = (end_ms - self.start_ms) // SLOT_MS + 2
        self.slots = int(slots)
        grid = np.empty((len(time_zones), self.slots), dtype=np.int16)
        slot_starts_s = (self.start_ms + np.arange(self.slots, dtype=np.int64) * SLOT_MS) // 1000
        for i, name in enumerate(time_zones):
            try:
                zone = ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise TimeZoneError(f"time zone {name!r} from the contract is not in the tz database: {exc}") from exc
            instants, offsets = _transitions(zone, int(slot_starts_s[0]), int(slot_starts_s[-1]) + 1)
            idx = np.searchsorted(np.array(instants, dtype=np.int64), slot_starts_s, side="right")
            grid[i] = np.array(offsets, dtype=np.int16)[idx]
        self.grid = grid
        self.end_ms = self.start_ms + self.slots * SLOT_MS

    def lookup(self, tz: np.ndarray, utc_ms: np.ndarray) -> np.ndarray:
        """Offset in minutes (int16) of time zone index ``tz`` at instant ``utc_ms``."""
        slot = (utc_ms - self.start_ms) // SLOT_MS
        np.clip(slot, 0, self.slots - 1, out=slot)
        return self.grid[tz, slot]

    def offset_at(self, tz: int, utc_ms: int) -> int:
        slot = min(max((utc_ms - self.start_ms) // SLOT_MS, 0), self.slots - 1)
        return int(self.grid[tz, slot])
