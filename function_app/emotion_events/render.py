"""Vectorized CSV rendering: a chunk of lines becomes CSV bytes without a per-row Python loop.

Each line is laid out in a fixed-width byte matrix (one slot per column, commas and CRLF at fixed
places). Categorical and numeric columns are copied in from lookup tables (one gather per column),
UUIDs and timestamps are assembled from small tables of hex quads, dates, clock times and offsets.
Slots are padded with NUL bytes, which never occur in the text, so ``matrix[matrix != 0]`` is the
CSV chunk. Dirt that is not a different lookup-table entry (other timestamp formats, emptied fields,
truncated lines, decimal commas) is applied to the matrix before that compaction, also vectorized.

The ``fmt_*`` functions are the row-by-row definition of each timestamp format; tests hold the
vectorized output to them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

MS_PER_DAY = 86_400_000
MS_PER_MINUTE = 60_000
_EPOCH = datetime(1970, 1, 1)
_SPECIAL = (",", '"', "\r", "\n")


class RenderError(ValueError):
    """The renderer was given something it cannot lay out (a NUL byte, a date outside its tables)."""


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
    """(void LUT padded with NUL, byte lengths, width). Values are stored as CSV fields, i.e. quoted
    per RFC 4180 if they ever needed it (the contract's codes never do)."""
    encoded = [csv_field(v).encode("utf-8") for v in values]
    if any(b"\0" in b for b in encoded):
        raise RenderError(f"{what}: a value contains a NUL byte, which the renderer uses as padding")
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
    return f"{_DAYS[wd]}, {d:02d} {_MONTHS[mo - 1]} {y:04d} {h:02d}:{mi:02d}:{s:02d} {_offset_text(offset_min, colon=False)}"


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

    @classmethod
    def fixed_width(cls, table: np.ndarray) -> "Categorical":
        """From an (entries, width) uint8 matrix of values that all fill the width."""
        rows, width = table.shape
        return cls(np.ascontiguousarray(table).view(f"V{width}").ravel(), np.full(rows, width, np.int64), width)


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
# Timestamp formats the renderer writes, by code; 0 is the contract's canonical format.
FORMAT_CODES = {"iso_offset": 0, "iso_utc": 1, "slash_offset": 2, "epoch_ms": 3}


def _hex_quads() -> np.ndarray:
    """uint32 per 16-bit value: the 4 ASCII hex digits of its two little-endian bytes, in byte order."""
    v = np.arange(65536, dtype=np.uint32)
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8).astype(np.uint32)
    lo, hi = v & 0xFF, v >> 8
    return digits[lo >> 4] | digits[lo & 15] << 8 | digits[hi >> 4] << 16 | digits[hi & 15] << 24


def _seconds_table(with_ms: bool) -> np.ndarray:
    """60,000 entries by millisecond of the minute: "SS.mmm", or "SS" plus NUL padding (V6)."""
    v = np.arange(60_000)
    if with_ms:
        digits = np.stack([v // 10_000, v // 1000 % 10, np.full_like(v, -2), v // 100 % 10, v // 10 % 10, v % 10], 1)
        table = digits + ord("0")
    else:
        table = np.zeros((60_000, 6), dtype=np.int64)
        table[:, 0], table[:, 1] = v // 10_000 + ord("0"), v // 1000 % 10 + ord("0")
    return np.ascontiguousarray(table.astype(np.uint8)).view("V6").ravel()


def _minutes_table(day0: int, day1: int, date_sep: str, time_sep: str) -> np.ndarray:
    """Local minute (from day0 00:00) -> "YYYY-MM-DDTHH:MM:" (V17), with the given separators."""
    days = lookup_table([day_text(d).replace("-", date_sep).replace("T", time_sep) for d in range(day0, day1 + 1)], "date")[0]
    mins = lookup_table([f"{h:02d}:{m:02d}:" for h in range(24) for m in range(60)], "clock")[0]
    dm = np.concatenate(
        [
            np.repeat(days.view(np.uint8).reshape(-1, 11), 1440, axis=0),
            np.tile(mins.view(np.uint8).reshape(-1, 6), (day1 - day0 + 1, 1)),
        ],
        axis=1,
    )
    return np.ascontiguousarray(dm).view("V17").ravel()


@dataclass
class LineEdits:
    """Slot-level dirt for the renderer, by line index (all optional)."""

    formats: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # column -> (lines, codes)
    blank: dict[str, np.ndarray] = field(default_factory=dict)  # column -> lines whose value is emptied
    truncate: dict[int, np.ndarray] = field(default_factory=dict)  # k -> lines losing their last k fields
    decimal_comma: dict[str, np.ndarray] = field(default_factory=dict)  # numeric column -> lines written "0,73"


class RowRenderer:
    """Renders :class:`ChunkColumns` (plus :class:`LineEdits`) into CSV bytes.

    ``categoricals`` maps the categorical column names (user, emotion, intensity, valence, arousal,
    context, channel, tz) to their tables; ``day_range`` covers every local day a timestamp can fall on.
    """

    COLUMNS = (
        "event_id",
        "user_id",
        "emotion",
        "intensity",
        "valence",
        "arousal",
        "context",
        "source_channel",
        "device_tz",
        "occurred_at",
        "recorded_at",
    )
    _CATEGORICAL = {
        "user_id": "user",
        "emotion": "emotion",
        "intensity": "intensity",
        "valence": "valence",
        "arousal": "arousal",
        "context": "context",
        "source_channel": "channel",
        "device_tz": "tz",
    }

    def __init__(
        self,
        categoricals: dict[str, Categorical],
        day_range: tuple[int, int],
        max_rows: int,
        header: tuple[str, ...],
        terminator: str = "\r\n",
    ) -> None:
        if tuple(header) != self.COLUMNS:
            raise RenderError(f"bronze header {header} differs from the renderer's columns {self.COLUMNS}")
        self.cat = categoricals
        self.terminator = terminator.encode()
        widths = {"event_id": 36, "occurred_at": TS_WIDTH, "recorded_at": TS_WIDTH}
        self.slots: dict[str, tuple[int, int]] = {}  # column -> (offset, width)
        pos = 0
        for col in self.COLUMNS:
            width = widths[col] if col in widths else categoricals[self._CATEGORICAL[col]].width
            self.slots[col] = (pos, width)
            pos += width + 1  # comma, or the first byte of the terminator
        self.width = pos + len(self.terminator) - 1
        self._body_end = self.width - len(self.terminator)

        # Row template: commas, terminator and UUID dashes; everything else is rewritten per chunk.
        template = np.zeros(self.width, dtype=np.uint8)
        for col in self.COLUMNS[1:]:
            template[self.slots[col][0] - 1] = ord(",")
        template[self._body_end :] = np.frombuffer(self.terminator, dtype=np.uint8)
        template[[8, 13, 18, 23]] = ord("-")
        self._template = template
        self.max_rows = max_rows
        self._matrix = np.tile(template, (max_rows, 1))

        fields: dict[str, tuple[str, int]] = {}
        for col, name in self._CATEGORICAL.items():
            fields[name] = (f"V{categoricals[name].width}", self.slots[col][0])
        for i, upos in enumerate(_UUID_QUADS):
            fields[f"q{i}"] = ("<u4", upos)
        for col in ("occurred_at", "recorded_at"):
            for part, (off, ln) in {"dm": (0, 17), "s": (17, 6), "z": (23, 6)}.items():
                fields[f"{col}.{part}"] = (f"V{ln}", self.slots[col][0] + off)
        self._row_dtype = np.dtype(
            {
                "names": list(fields),
                "formats": [f for f, _o in fields.values()],
                "offsets": [o for _f, o in fields.values()],
                "itemsize": self.width,
            }
        )
        self._hex = _hex_quads()

        # Timestamp pieces: local minute -> "YYYY-MM-DDTHH:MM:", ms of minute -> "SS.mmm", offset.
        day0, day1 = day_range
        self.minute0 = day0 * 1440
        self._minutes = _minutes_table(day0, day1, "-", "T")
        self._secs = _seconds_table(with_ms=True)
        quarters = range(-16 * 4, 16 * 4 + 1)
        self._zones = lookup_table([_offset_text(q * 15) for q in quarters], "offset")[0]
        # Alternate formats: slash_offset pieces (built lazily), iso_utc's "Z".
        self._slash: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._day_range = day_range
        self._zulu = lookup_table(["Z"], "offset")[0].astype("V6")

    # -- pieces -------------------------------------------------------------------------------------------

    def _local_minutes(self, col: str, local: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        minute = local // MS_PER_MINUTE
        idx = minute - self.minute0
        if len(idx) and (idx.min() < 0 or idx.max() >= len(self._minutes)):
            raise RenderError(f"{col}: a local time falls outside the prepared day range")
        return idx, local - minute * MS_PER_MINUTE

    def _timestamp(self, rows: np.ndarray, col: str, utc_ms: np.ndarray, off_min: np.ndarray) -> None:
        idx, ms = self._local_minutes(col, utc_ms + off_min.astype(np.int64) * MS_PER_MINUTE)
        rows[f"{col}.dm"] = self._minutes[idx]
        rows[f"{col}.s"] = self._secs[ms]
        rows[f"{col}.z"] = self._zones[off_min // 15 + 64]

    def _alternate(
        self,
        m: np.ndarray,
        rows: np.ndarray,
        col: str,
        lines: np.ndarray,
        codes: np.ndarray,
        utc_ms: np.ndarray,
        off_min: np.ndarray,
    ) -> None:
        for code in np.unique(codes).tolist():
            sel = lines[codes == code]
            t, off = utc_ms[sel], off_min[sel]
            dm, secs_, zone = rows[f"{col}.dm"], rows[f"{col}.s"], rows[f"{col}.z"]  # field views of m
            if code == FORMAT_CODES["iso_utc"]:
                idx, ms = self._local_minutes(col, t)
                dm[sel], secs_[sel], zone[sel] = self._minutes[idx], self._secs[ms], self._zulu
            elif code == FORMAT_CODES["slash_offset"]:
                if self._slash is None:
                    quarters = range(-16 * 4, 16 * 4 + 1)
                    self._slash = (
                        _minutes_table(*self._day_range, "/", " "),
                        _seconds_table(with_ms=False),
                        lookup_table([_offset_text(q * 15, colon=False) for q in quarters], "offset")[0].astype("V6"),
                    )
                minutes, secs, zones = self._slash
                idx, ms = self._local_minutes(col, t + off.astype(np.int64) * MS_PER_MINUTE)
                # "SS" is followed by the offset directly: write the seconds, then the zone over the rest
                dm[sel], secs_[sel] = minutes[idx], secs[ms]
                start = self.slots[col][0] + 19
                m[sel, start : start + 6] = zones[off // 15 + 64].view(np.uint8).reshape(-1, 6)
                m[sel, start + 6 : start + 10] = 0
            elif code == FORMAT_CODES["epoch_ms"]:
                start = self.slots[col][0]
                digits = (t[:, None] // 10 ** np.arange(12, -1, -1, dtype=np.int64)) % 10 + ord("0")
                m[sel, start : start + 13] = digits.astype(np.uint8)
                m[sel, start + 13 : start + TS_WIDTH] = 0
            else:
                raise RenderError(f"unknown timestamp format code {code}")

    # -- the chunk ----------------------------------------------------------------------------------------

    def render(self, c: ChunkColumns, edits: LineEdits | None = None) -> np.ndarray:
        """CSV bytes of all lines (uint8 array)."""
        n = len(c.user)
        if n == 0:
            return np.zeros(0, dtype=np.uint8)
        if n > self.max_rows:
            raise RenderError(f"chunk of {n} rows exceeds the renderer's {self.max_rows}")
        m = self._matrix[:n]
        rows = m.view(self._row_dtype).ravel()

        quads = np.ascontiguousarray(c.event_id, dtype=np.uint64).view(np.uint16).reshape(n, 8).copy()
        quads[:, 3] = (quads[:, 3] & 0xFF0F) | 0x0040  # byte 6: version 4
        quads[:, 4] = (quads[:, 4] & 0xFF3F) | 0x0080  # byte 8: RFC 4122 variant
        for i in range(8):
            rows[f"q{i}"] = self._hex[quads[:, i]]
        for name, codes in (
            ("user", c.user),
            ("emotion", c.emotion),
            ("intensity", c.intensity),
            ("valence", c.valence),
            ("arousal", c.arousal),
            ("context", c.context),
            ("channel", c.channel),
            ("tz", c.tz),
        ):
            rows[name] = self.cat[name].table[codes]
        self._timestamp(rows, "occurred_at", c.occurred_ms, c.occurred_off)
        self._timestamp(rows, "recorded_at", c.recorded_ms, c.recorded_off)
        if edits is None:
            return m[m != 0]

        for col, (lines, codes) in edits.formats.items():
            utc, off = (c.occurred_ms, c.occurred_off) if col == "occurred_at" else (c.recorded_ms, c.recorded_off)
            self._alternate(m, rows, col, lines, codes, utc, off)
        for col, lines in edits.decimal_comma.items():
            start, width = self.slots[col]
            block = m[lines, start : start + width]
            dot = np.argmax(block == ord("."), axis=1)
            m[lines, start + dot] = ord(",")
        for col, lines in edits.blank.items():
            start, width = self.slots[col]
            m[lines, start : start + width] = 0
        for k, lines in edits.truncate.items():
            first_dropped = self.COLUMNS[len(self.COLUMNS) - k]
            m[lines, self.slots[first_dropped][0] - 1 : self._body_end] = 0  # its comma onwards
        out = m[m != 0]
        touched = [x for x in (*edits.blank.values(), *edits.truncate.values()) if len(x)]
        if touched:  # restore the template bytes (dashes, commas) the edits removed
            m[np.concatenate(touched)] = self._template
        return out
