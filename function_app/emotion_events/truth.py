"""Per-line truth: for every line a stream writes, what silver must hold for it or why it is quarantined.

The manifest states totals; this module states values. It is the generator's own knowledge of what
it wrote, never a re-reading of the text: which canonical code each vocabulary entry was built from
(a synonym's target, taken from the contract when the vocabulary was built), which number each number
table entry spells (a percentage is ``k`` percent, i.e. ``k / percent_divisor``), which instant and
which timestamp format each line carries, which defect each line was given. Nothing here parses CSV
or evaluates a cleaning rule the way an engine does, so a wrong synonym, divisor, rule order or
precision in an engine alone disagrees with it.

Opt-in, off the hot path: pass a :class:`TruthCollector` to :class:`~.generator.EventStream`
(``EventStream(params, truth=collector)``) and it receives each chunk's columns after rendering; or
call :func:`truth_of`, which replays the whole stream (chunk ``k`` is a pure function of
``(seed, k)``, so the replay writes the same bytes as the run that wrote the file). The manifest and
the CSV bytes are the same with or without it.

Silver values are Python objects as a Parquet reader returns them: ``str``, ``float`` (the nearest
double, as a cast of the written text gives), ``None`` for an empty optional column, timezone-aware
UTC ``datetime`` truncated to the precision the written format keeps (milliseconds, or seconds for a
format without ``%f``), ``date`` for ``event_date``.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from .contract import SilverContract, TimestampFormat
from .dirt import COPY_DUPLICATE, COPY_RESEND, ChunkPlan, LineOrder, NumberTable, Vocabulary
from .render import FORMAT_CODES, ChunkColumns, LineEdits

if TYPE_CHECKING:  # pragma: no cover
    from .generator import EventStream, GeneratorParams

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# Rules the truth can judge from what the generator knows it wrote. A contract rule outside this set
# makes the truth refuse (it would otherwise claim silently that no line breaks it).
JUDGED_RULES = (
    "malformed_line",
    "missing_required",
    "unknown_code",
    "bad_number",
    "out_of_range",
    "bad_timestamp",
    "recorded_before_occurred",
)
KIND_OF_COPY = {COPY_DUPLICATE: "exact_duplicate", COPY_RESEND: "resent_event"}


class TruthError(ValueError):
    """The contract asks for a rule or a silver column the truth cannot state."""


def precision_ms(fmt: TimestampFormat) -> int:
    """Milliseconds the written text of ``fmt`` keeps: 1 with a fraction (``%f``, written with three
    digits) or as epoch milliseconds, else 1000 (whole seconds)."""
    if fmt.kind == "epoch_millis":
        return 1
    return 1 if fmt.python and "%f" in fmt.python else 1000


@dataclass(frozen=True)
class LineTruth:
    """One written line: where it is, what it is, and what cleaning must make of it."""

    chunk: int
    line: int  # 0-based data line within the file (header excluded)
    text: str  # the line as written, without its terminator
    event_id: str  # the id the generator drew for it (also when the written field was blanked)
    kind: str  # the defect kind it carries, "" for a clean line
    reason: str | None  # the quarantine reason (first failing contract rule), None when valid
    silver: dict[str, Any] | None  # the silver row this line stands for (None when quarantined)


def _canonical_index(vocab: Vocabulary, canonical: int) -> np.ndarray:
    """Entry index -> index of the canonical code it was built from (-1: an unknown code)."""
    out = np.full(len(vocab.entries), -1, dtype=np.int64)
    out[:canonical] = np.arange(canonical)
    for c in range(vocab.variants.shape[0]):
        out[vocab.variants[c, : vocab.variant_count[c]]] = c
    return out


def _number_values(table: NumberTable, contract: SilverContract) -> np.ndarray:
    """Entry index -> the number it spells: ``k%`` is k percent (the contract's divisor), the rest are
    decimals, taken to the nearest double as any correct cast of the text does."""
    suffix, divisor = contract.percent_suffix, contract.percent_divisor
    values = []
    for text in table.entries:
        values.append(int(text[: -len(suffix)]) / divisor if text.endswith(suffix) else float(text))
    return np.array(values, dtype=np.float64)


@dataclass
class _Tables:
    """What the generator's lookup tables mean, built once per stream."""

    contract: SilverContract
    emotion: tuple[np.ndarray, tuple[str | None, ...]]
    context: tuple[np.ndarray, tuple[str | None, ...]]
    channel: tuple[np.ndarray, tuple[str | None, ...]]
    numbers: dict[str, np.ndarray]
    user_ids: tuple[str, ...]
    formats: dict[int, TimestampFormat]  # renderer format code -> contract format

    @classmethod
    def of(cls, stream: "EventStream") -> "_Tables":
        c, inj = stream.contract, stream.engine.injector
        emotions = c.emotions.canonical
        contexts = c.codes["context"].canonical
        channels = c.codes["source_channel"].canonical
        # the context vocabulary's extra canonical entry "" is "not given": silver holds NULL
        ctx_names = (*contexts, None) if c.raw["normalization"].get("empty_string_is_null", True) else (*contexts, "")
        users = stream.renderer.cat["user"]
        width = users.width
        ids = users.table.view(np.uint8).reshape(-1, width)
        return cls(
            contract=c,
            emotion=(_canonical_index(inj.emotions, len(emotions)), emotions),
            context=(_canonical_index(inj.contexts, len(contexts) + 1), ctx_names),
            channel=(_canonical_index(inj.channels, len(channels)), channels),
            numbers={name: _number_values(t, c) for name, t in inj.numbers.items()},
            user_ids=tuple(bytes(r).decode("ascii") for r in ids),
            formats={FORMAT_CODES[f.name]: f for f in c.timestamp_formats if f.name in FORMAT_CODES},
        )


def _uuid_texts(bits: np.ndarray) -> list[str]:
    """UUID v4 text of each row of 128 random bits, bytes in memory order (as the renderer lays them)."""
    raw = np.ascontiguousarray(bits, dtype="<u8").view(np.uint8).reshape(-1, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    return [str(uuid.UUID(bytes=bytes(r))) for r in raw]


def _mask(n: int, lines: np.ndarray) -> np.ndarray:
    m = np.zeros(n, dtype=bool)
    m[lines] = True
    return m


@dataclass
class ChunkTruth:
    """The truth of one chunk, column-wise (one entry per line, in line order)."""

    index: int
    first_line: int
    texts: list[str]
    event_ids: list[str]
    kinds: np.ndarray  # object: defect kind or ""
    reasons: np.ndarray  # object: reason or None
    silver: dict[str, list]  # silver column -> values (meaningful where reasons is None)


class TruthCollector:
    """Receives each chunk of an :class:`~.generator.EventStream` and keeps its truth."""

    def __init__(self) -> None:
        self.chunks: list[ChunkTruth] = []
        self._tables: _Tables | None = None
        self._lines = 0
        self.contract: SilverContract | None = None

    # called by EventStream._chunk ------------------------------------------------------------------
    def record(
        self,
        stream: "EventStream",
        index: int,
        plan: ChunkPlan,
        order: LineOrder,
        cols: ChunkColumns,
        edits: LineEdits,
        data: bytes,
    ) -> None:
        if self._tables is None:
            self._tables = _Tables.of(stream)
            self.contract = stream.contract
            for rule in stream.contract.reasons:
                if rule not in JUDGED_RULES:
                    raise TruthError(f"validation rule {rule!r}: the truth cannot judge it")
        t = self._tables
        c = t.contract
        n = len(cols.user)
        term = c.line_terminator.encode()
        raw_lines = data.split(term)
        if raw_lines[-1] != b"" or len(raw_lines) != n + 1:
            raise TruthError(f"chunk {index}: {len(raw_lines) - 1} lines rendered, {n} expected")
        texts = [x.decode("utf-8") for x in raw_lines[:-1]]

        kinds = np.full(n, "", dtype=object)
        for kind, rows in plan.rows.items():
            kinds[order.base_line[rows]] = kind
        for code, kind in KIND_OF_COPY.items():
            kinds[order.copy_kind == code] = kind

        # -- what each line holds -------------------------------------------------------------------
        present = {col: np.ones(n, dtype=bool) for col in c.bronze_header}  # a value was written
        for col, lines in edits.blank.items():
            present[col] &= ~_mask(n, lines)
        malformed = np.zeros(n, dtype=bool)
        for k, lines in edits.truncate.items():
            malformed |= _mask(n, lines)
        for _col, lines in edits.decimal_comma.items():
            malformed |= _mask(n, lines)

        emo_i = t.emotion[0][cols.emotion]
        ctx_i = t.context[0][cols.context]
        chan_i = t.channel[0][cols.channel]
        numbers = {name: t.numbers[name][getattr(cols, name)] for name in t.numbers}
        instants = {}
        for col, ms in (("occurred_at", cols.occurred_ms), ("recorded_at", cols.recorded_ms)):
            prec = np.full(n, precision_ms(c.timestamp_formats[0]), dtype=np.int64)
            if col in edits.formats:
                lines, codes = edits.formats[col]
                prec[lines] = [precision_ms(t.formats[int(k)]) for k in codes]
            instants[col] = ms // prec * prec

        # -- which contract rules each line breaks ----------------------------------------------------
        broken = {
            "malformed_line": malformed,
            "missing_required": np.zeros(n, dtype=bool),
            "unknown_code": np.zeros(n, dtype=bool),
            "bad_number": np.zeros(n, dtype=bool),  # every number table entry is a decimal or a percentage
            "out_of_range": np.zeros(n, dtype=bool),
            "bad_timestamp": np.zeros(n, dtype=bool),  # every written format is one of the contract's
            "recorded_before_occurred": np.zeros(n, dtype=bool),
        }
        for col in c.required_columns:
            broken["missing_required"] |= ~present[col]
        for col, idx in (("emotion", emo_i), ("context", ctx_i), ("source_channel", chan_i)):
            broken["unknown_code"] |= present[col] & (idx < 0)
        for name, rng in c.ranges.items():
            v = numbers[name]
            broken["out_of_range"] |= present[name] & ((v < rng.min) | (v > rng.max))
        skew = c.max_clock_skew_seconds * 1000
        broken["recorded_before_occurred"] = (
            present["occurred_at"] & present["recorded_at"] & (instants["recorded_at"] < instants["occurred_at"] - skew)
        )
        wellformed = ~malformed  # the field values of a line with the wrong field count mean nothing
        reasons = np.full(n, None, dtype=object)
        for rule in reversed(c.reasons):  # the earliest failing rule is written last
            hit = broken[rule] if rule == "malformed_line" else broken[rule] & wellformed
            reasons[hit] = rule

        event_ids = _uuid_texts(cols.event_id)
        ts = {col: [_EPOCH + timedelta(milliseconds=int(v)) for v in instants[col]] for col in instants}
        values: dict[str, list] = {
            "event_id": event_ids,
            "user_id": [t.user_ids[u] for u in cols.user],
            "emotion": [t.emotion[1][i] if i >= 0 else None for i in emo_i],
            "context": [t.context[1][i] if i >= 0 else None for i in ctx_i],
            "source_channel": [t.channel[1][i] if i >= 0 else None for i in chan_i],
            "device_tz": [c.time_zones[z] for z in cols.tz],
            "occurred_at_utc": ts["occurred_at"],
            "recorded_at_utc": ts["recorded_at"],
            "event_date": [d.date() for d in ts["occurred_at"]],
            **{name: numbers[name].tolist() for name in numbers},
        }
        silver = {}
        for column in c.silver_columns:
            if column.name not in values:
                raise TruthError(f"silver column {column.name!r}: the truth cannot state it")
            silver[column.name] = values[column.name]
        self.chunks.append(ChunkTruth(index, self._lines, texts, event_ids, kinds, reasons, silver))
        self._lines += n

    # reading the truth --------------------------------------------------------------------------------
    def lines(self) -> Iterator[LineTruth]:
        for ch in self.chunks:
            names = list(ch.silver)
            for i, text in enumerate(ch.texts):
                reason = ch.reasons[i]
                row = None if reason is not None else {k: ch.silver[k][i] for k in names}
                yield LineTruth(ch.index, ch.first_line + i, text, ch.event_ids[i], ch.kinds[i], reason, row)

    def winner_order(self) -> tuple[tuple[str, bool], ...]:
        """(silver column, descending) in the order the dedup winner is chosen: the contract's
        ``deduplication.winner.order_by``, then every other silver column ascending (NULL first),
        the deterministic tie-break the cleaning plan defines. Key and partition columns excluded."""
        c = self._contract()
        names = [col.name for col in c.silver_columns]
        order = []
        for col, direction in c.dedup_order_by:
            order.append((f"{col}_utc" if col in c.timestamp_fields else col, direction == "desc"))
        used = set(c.dedup_key) | {n for n, _ in order} | set(c.partition_by)
        return (*order, *((n, False) for n in names if n not in used))

    def expected_silver(self) -> dict[str, dict[str, Any]]:
        """event_id -> the silver row its dedup winner gives."""
        c = self._contract()
        if tuple(c.dedup_key) != ("event_id",):
            raise TruthError(f"deduplication.key {list(c.dedup_key)}: the truth keys silver by event_id")
        order = self.winner_order()
        best: dict[str, dict[str, Any]] = {}
        for lt in self.lines():
            if lt.silver is None:
                continue
            held = best.get(lt.event_id)
            if held is None or _before(lt.silver, held, order):
                best[lt.event_id] = lt.silver
        return best

    def expected_quarantine(self) -> Counter:
        """(line as written, reason) -> how many times it was written."""
        return Counter((lt.text, lt.reason) for lt in self.lines() if lt.reason is not None)

    def _contract(self) -> SilverContract:
        if self.contract is None:
            raise TruthError("the stream has not been consumed: no chunk was recorded")
        return self.contract


def _before(a: dict, b: dict, order) -> bool:
    """True when row ``a`` beats row ``b`` under ``order``."""
    for name, desc in order:
        x, y = a[name], b[name]
        if x == y:
            continue
        if x is None or y is None:  # NULL first in ascending tie-breaks
            return x is None
        return (x > y) if desc else (x < y)
    return False


def truth_of(params: "GeneratorParams", contract: SilverContract | None = None) -> TruthCollector:
    """Replay the stream of ``params`` (same bytes as any run with them) and return its truth."""
    from .generator import EventStream

    collector = TruthCollector()
    for _chunk in EventStream(params, contract, truth=collector):
        pass
    return collector


__all__ = ["TruthCollector", "TruthError", "LineTruth", "ChunkTruth", "truth_of", "precision_ms", "JUDGED_RULES"]
