"""Vectorized CSV rendering: a chunk of events becomes CSV bytes without a per-row Python loop.

Each row is laid out in a fixed-width byte matrix (one slot per column, commas and CRLF at fixed
places). Categorical and numeric columns are copied in from lookup tables (one gather per column),
UUIDs and timestamps are assembled from small tables of hex pairs, dates, clock times and offsets.
Slots are padded with NUL bytes, which never occur in the text, so ``matrix[matrix != 0]`` is the
CSV chunk. The few rows the dirt injector rewrites go through :func:`csv_line` instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np

MS_PER_DAY = 86_400_000
MS_PER_MINUTE = 60_000
_EPOCH = datetime(1970, 1, 1)
_SPECIAL = (",", '"', "\r", "\n")


class RenderError(ValueError):
    """A lookup-table value cannot be written unquoted (the vectorized path never quotes)."""


def csv_field(value: str) -> str:
    """RFC 4180: quote a field containing a delimiter, quote or line break; double inner quotes."""
    if any(ch in value for ch in _SPECIAL):
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_line(fields: list[str], terminator: str = "\r\n") -> bytes:
    """One CSV record. Fast path when no field needs quoting (the generator's values never do)."""
    text = ",".join(fields)
    if text.count(",") != len(fields) - 1 or '"' in text or "\r" in text or "\n" in text:
        text = ",".join(csv_field(f) for f in fields)
    return (text + terminator).encode("utf-8")


def lookup_table(values: list[str] | tuple[str, ...], what: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(void LUT padded with NUL, byte lengths, width) for strings that need no quoting."""
    encoded = [v.encode("utf-8") for v in values]
    joined = b"".join(encoded)
    if any(ch.encode() in joined for ch in (*_SPECIAL, "\0")):
        bad = next(v for v in values if any(ch in v for ch in (*_SPECIAL, "\0")))
        raise RenderError(f"{what} value {bad!r} would need CSV quoting; the fast path writes values unquoted")
    width = max(1, max((len(b) for b in encoded), default=1))
    # NUL-padded fixed-width records, built in one go: b"".ljust per value is C-speed.
    table = np.frombuffer(b"".join(b.ljust(width, b"\0") for b in encoded), dtype=np.uint8).reshape(-1, width)
    lengths = np.fromiter((len(b) for b in encoded), dtype=np.int64, count=len(encoded))
    return table.view(f"V{width}").ravel(), lengths, width


# -- timestamps ---------------------------------------------------------------------------------------

def _offset_text(minutes: int, colon: bool = True) -> str:
    sign = "+" if minutes >= 0 else "-"
    h, m = divmod(abs(minutes), 60)
    return f"{sign}{h:02d}:{m:02d}" if colon else f"{sign}{h:02d}{m:02d}"


def _civil(utc_ms: int, offset_min: int) -> tuple[int, int, int, int, int, int, int, int]:
    """(year, month, day, hour, minute, second, millisecond, weekday Mon=0) of local time, using
    H. Hinnant's days-to-civil algorithm: integer arithmetic only, no datetime objects."""
    local = utc_ms + offset_min * MS_PER_MINUTE
    days, ms_of_day = divmod(local, MS_PER_DAY)
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (month <= 2)
    secs, ms = divmod(ms_of_day, 1000)
    hour, rem = divmod(secs, 3600)
    minute, second = divmod(rem, 60)
    return year, month, day, hour, minute, second, ms, (days + 3) % 7


def fmt_iso_offset(utc_ms: int, offset_min: int) -> str:
    """Canonical: device-local time, milliseconds, offset with a colon (2026-11-26T08:15:30.123+01:00)."""
    y, mo, d, h, mi, s, ms, _wd = _civil(utc_ms, offset_min)
    return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}.{ms:03d}{_offset_text(offset_min)}"


def fmt_iso_utc(utc_ms: int, offset_min: int) -> str:
    y, mo, d, h, mi, s, ms, _wd = _civil(utc_ms, 0)
    return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}.{ms:03d}Z"


def fmt_slash_offset(utc_ms: int, offset_min: int) -> str:
    y, mo, d, h, mi, s, _ms, _wd = _civil(utc_ms, offset_min)
    return f"{y:04d}/{mo:02d}/{d:02d} {h:02d}:{mi:02d}:{s:02d}{_offset_text(offset_min, colon=False)}"


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def fmt_rfc2822(utc_ms: int, offset_min: int) -> str:
    y, mo, d, h, mi, s, _ms, wd = _civil(utc_ms, offset_min)
    return (f"{_DAYS[wd]}, {d:02d} {_MONTHS[mo - 1]} {y:04d} {h:02d}:{mi:02d}:{s:02d} "
            f"{_offset_text(offset_min, colon=False)}")


def fmt_epoch_ms(utc_ms: int, offset_min: int) -> str:
    return str(int(utc_ms))


# Renderers for the contract's timestamp format names (the generator emits those it knows).
TIMESTAMP_RENDERERS = {
    "iso_offset": fmt_iso_offset,
    "iso_utc": fmt_iso_utc,
    "slash_offset": fmt_slash_offset,
    "rfc2822": fmt_rfc2822,
    "epoch_ms": fmt_epoch_ms,
}


def day_text(day: int) -> str:
    return (_EPOCH + timedelta(days=day)).strftime("%Y-%m-%dT")


# -- the row layout -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Categorical:
    """A column written from a lookup table: values[code]."""

    table: np.ndarray
    lengths: np.ndarray
    width: int

    @classmethod
    def of(cls, values, what: str) -> "Categorical":
        return cls(*lookup_table(values, what))


@dataclass
class ChunkColumns:
    """Integer codes of one chunk, all of length n."""

    event_id: np.ndarray  # (n, 2) uint64 random bits (made UUID v4 here)
    user: np.ndarray
    emotion: np.ndarray
    intensity: np.ndarray
    valence: np.ndarray
    arousal: np.ndarray
    context: np.ndarray
    channel: np.ndarray
    tz: np.ndarray
    occurred_ms: np.ndarray
    occurred_off: np.ndarray
    recorded_ms: np.ndarray
    recorded_off: np.ndarray


TS_WIDTH = 29  # 17 "YYYY-MM-DDTHH:MM:" + 6 "SS.mmm" + 6 offset
# UUID text positions of the eight 16-bit groups of its bytes (dashes at 8, 13, 18, 23).
_UUID_QUADS = (0, 4, 9, 14, 19, 24, 28, 32)


def _hex_quads() -> np.ndarray:
    """uint32 per 16-bit value: the 4 ASCII hex digits of its two little-endian bytes, in byte order."""
    v = np.arange(65536, dtype=np.uint32)
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8).astype(np.uint32)
    lo, hi = v & 0xFF, v >> 8
    return digits[lo >> 4] | digits[lo & 15] << 8 | digits[hi >> 4] << 16 | digits[hi & 15] << 24


def _seconds_table() -> np.ndarray:
    """60,000 entries "SS.mmm" (V6), from digit arithmetic."""
    v = np.arange(60_000)
    digits = np.stack([v // 10_000, v // 1000 % 10, np.full_like(v, -2), v // 100 % 10, v // 10 % 10, v % 10], axis=1)
    return np.ascontiguousarray((digits + ord("0")).astype(np.uint8)).view("V6").ravel()


class RowRenderer:
    """Renders :class:`ChunkColumns` into CSV bytes plus the end offset of every line.

    ``categoricals`` maps the categorical column names (user, emotion, intensity, valence, arousal,
    context, channel, tz) to their tables; ``day_range`` covers every local day a timestamp can fall on.
    """

    COLUMNS = ("event_id", "user_id", "emotion", "intensity", "valence", "arousal", "context",
               "source_channel", "device_tz", "occurred_at", "recorded_at")
    _CATEGORICAL = {"user_id": "user", "emotion": "emotion", "intensity": "intensity", "valence": "valence",
                    "arousal": "arousal", "context": "context", "source_channel": "channel", "device_tz": "tz"}

    def __init__(self, categoricals: dict[str, Categorical], day_range: tuple[int, int], max_rows: int,
                 header: tuple[str, ...], terminator: str = "\r\n") -> None:
        if tuple(header) != self.COLUMNS:
            raise RenderError(f"bronze header {header} differs from the renderer's columns {self.COLUMNS}")
        self.cat = categoricals
        self.terminator = terminator.encode()
        widths = {"event_id": 36, "occurred_at": TS_WIDTH, "recorded_at": TS_WIDTH}
        offsets: dict[str, int] = {}
        pos = 0
        for col in self.COLUMNS:
            offsets[col] = pos
            pos += widths[col] if col in widths else categoricals[self._CATEGORICAL[col]].width
            pos += 1  # comma, or the first byte of the terminator
        self.width = pos + len(self.terminator) - 1
        self.offsets = offsets
        self.fixed_length = 36 + 2 * TS_WIDTH + (len(self.COLUMNS) - 1) + len(self.terminator)

        # Row template: commas, terminator and UUID dashes never change; the buffer is reused.
        self.max_rows = max_rows
        self._matrix = np.zeros((max_rows, self.width), dtype=np.uint8)
        for col in self.COLUMNS[1:]:
            self._matrix[:, offsets[col] - 1] = ord(",")
        self._matrix[:, self.width - len(self.terminator):] = np.frombuffer(self.terminator, dtype=np.uint8)
        for d in (8, 13, 18, 23):
            self._matrix[:, d] = ord("-")

        fields: dict[str, tuple[str, int]] = {}
        for col, name in self._CATEGORICAL.items():
            fields[name] = (f"V{categoricals[name].width}", offsets[col])
        for i, upos in enumerate(_UUID_QUADS):
            fields[f"q{i}"] = ("<u4", upos)
        for col in ("occurred_at", "recorded_at"):
            for part, (off, ln) in {"dm": (0, 17), "s": (17, 6), "z": (23, 6)}.items():
                fields[f"{col}.{part}"] = (f"V{ln}", offsets[col] + off)
        self._row_dtype = np.dtype({"names": list(fields), "formats": [f for f, _o in fields.values()],
                                    "offsets": [o for _f, o in fields.values()], "itemsize": self.width})
        self._hex = _hex_quads()

        # Timestamp pieces: local minute -> "YYYY-MM-DDTHH:MM:", ms of minute -> "SS.mmm", offset.
        day0, day1 = day_range
        self.minute0 = day0 * 1440
        days = Categorical.of([day_text(d) for d in range(day0, day1 + 1)], "date")
        mins = Categorical.of([f"{h:02d}:{m:02d}:" for h in range(24) for m in range(60)], "clock")
        dm = np.concatenate([np.repeat(days.table.view(np.uint8).reshape(-1, 11), 1440, axis=0),
                             np.tile(mins.table.view(np.uint8).reshape(-1, 6), (day1 - day0 + 1, 1))], axis=1)
        self._minutes = np.ascontiguousarray(dm).view("V17").ravel()
        self._secs = _seconds_table()
        self._zones = Categorical.of([_offset_text(q * 15) for q in range(-16 * 4, 16 * 4 + 1)], "offset").table

    def _timestamp(self, rows: np.ndarray, col: str, utc_ms: np.ndarray, off_min: np.ndarray) -> None:
        local = utc_ms + off_min.astype(np.int64) * MS_PER_MINUTE
        minute = local // MS_PER_MINUTE
        idx = minute - self.minute0
        if idx.min() < 0 or idx.max() >= len(self._minutes):
            raise RenderError(f"{col}: a local time falls outside the prepared day range")
        rows[f"{col}.dm"] = self._minutes[idx]
        rows[f"{col}.s"] = self._secs[local - minute * MS_PER_MINUTE]
        rows[f"{col}.z"] = self._zones[off_min // 15 + 64]

    def render(self, c: ChunkColumns) -> tuple[np.ndarray, np.ndarray]:
        """CSV bytes of all rows (uint8 array) and the end offset of each line (int64)."""
        n = len(c.user)
        if n == 0:
            return np.zeros(0, dtype=np.uint8), np.zeros(0, dtype=np.int64)
        if n > self.max_rows:
            raise RenderError(f"chunk of {n} rows exceeds the renderer's {self.max_rows}")
        m = self._matrix[:n]
        rows = m.view(self._row_dtype).ravel()

        quads = np.ascontiguousarray(c.event_id, dtype=np.uint64).view(np.uint16).reshape(n, 8).copy()
        quads[:, 3] = (quads[:, 3] & 0xFF0F) | 0x0040  # byte 6: version 4
        quads[:, 4] = (quads[:, 4] & 0xFF3F) | 0x0080  # byte 8: RFC 4122 variant
        for i in range(8):
            rows[f"q{i}"] = self._hex[quads[:, i]]

        length = np.full(n, self.fixed_length, dtype=np.int64)
        for name, codes in (("user", c.user), ("emotion", c.emotion), ("intensity", c.intensity),
                            ("valence", c.valence), ("arousal", c.arousal), ("context", c.context),
                            ("channel", c.channel), ("tz", c.tz)):
            cat = self.cat[name]
            rows[name] = cat.table[codes]
            length += cat.lengths[codes]
        self._timestamp(rows, "occurred_at", c.occurred_ms, c.occurred_off)
        self._timestamp(rows, "recorded_at", c.recorded_ms, c.recorded_off)
        out = m[m != 0]
        ends = np.cumsum(length)
        if ends[-1] != out.size:  # a NUL inside a value or a table mismatch: never silently corrupt
            raise RenderError(f"rendered {out.size} bytes, expected {int(ends[-1])}")
        return out, ends
