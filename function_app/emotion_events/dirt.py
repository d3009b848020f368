"""Deliberate dirt: which defects exist, how often, and how each is written into a line.

Every defect kind in the contract's ``defects.kinds`` has an injector here (checked at import time).
Each dirty line carries exactly one kind, so ``sum(defects) == dirty lines`` and the expected silver
output follows from the counts:

- valid variants (emotion/code spellings, timestamp formats, percentages) are normalized by cleaning;
- exact duplicates and re-sends copy *clean* base rows and collapse onto them in deduplication;
- invalid kinds go on base rows whose event id appears nowhere else, one per row, and are quarantined.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .contract import SilverContract
from .render import TIMESTAMP_RENDERERS, csv_field, csv_line

# Share of each kind among dirty lines (sums to 1).
KIND_WEIGHTS: dict[str, float] = {
    "emotion_variant": 0.18,
    "code_variant": 0.14,
    "timestamp_format": 0.15,
    "intensity_percent": 0.10,
    "exact_duplicate": 0.10,
    "resent_event": 0.08,
    "missing_required": 0.08,
    "out_of_range": 0.07,
    "unknown_code": 0.06,
    "malformed_line": 0.04,
}
INVALID_KINDS = ("missing_required", "out_of_range", "unknown_code", "malformed_line")
COPY_KINDS = ("exact_duplicate", "resent_event")
# Quarantine reason each invalid kind produces under the contract's first-failing-rule order.
REASON_OF_KIND = {
    "missing_required": "missing_required",
    "out_of_range": "out_of_range",
    "unknown_code": "unknown_code",
    "malformed_line": "malformed_line",
}
# Emotions people type that are not in Plutchik's eight and not synonyms of them.
UNKNOWN_EMOTIONS = ("bored", "Bored", "confused", "nostalgic", "jealous", "proud", "lonely", "guilty",
                    "ashamed", "curious", "calm", "tired", "meh", "Meh", "n/a", "???", "overwhelmed")
RESEND_MIN_MS = 60_000
RESEND_MEAN_EXTRA_MS = 1_800_000
RESEND_MAX_MS = 6 * 3_600_000
INTENSITY_STEPS = 100  # intensity is written with two decimals
VALENCE_STEPS = 1000  # valence and arousal with three


class DirtError(ValueError):
    """The contract and the dirt injector disagree (a defect kind without an injector, or a variant
    that would not normalize back)."""


def _normalize(value: str) -> str:
    return re.sub(r" +", " ", value.strip(" ")).lower()


@dataclass(frozen=True)
class Vocabulary:
    """Lookup-table strings of one categorical column: canonical codes first (index == position in
    the contract's canonical list), then spellings that normalize onto them, then unknown codes."""

    entries: tuple[str, ...]
    variants: np.ndarray  # [canonical, k] entry index (padded by repeating)
    variant_count: np.ndarray  # [canonical]
    unknown: np.ndarray  # entry indices of unknown codes (may be empty)


def _spellings(word: str, canonical: str) -> list[str]:
    forms = [word, word.upper(), word.title(), word.capitalize(), f" {word}", f"{word} ",
             f"  {word.title()} ", f" {word.upper()}"]
    if " " in word:
        forms += [word.replace(" ", "  "), word.title().replace(" ", "   ")]
    return [f for f in dict.fromkeys(forms) if f != canonical]


def build_vocabulary(contract: SilverContract, column: str, extra_canonical: tuple[str, ...] = (),
                     unknown: tuple[str, ...] = ()) -> Vocabulary:
    codes = contract.code_set(column)
    canonical = (*codes.canonical, *extra_canonical)
    entries: list[str] = list(canonical)
    per_code: list[list[int]] = []
    for code in canonical:
        idx: list[int] = []
        if code in codes.canonical:
            words = [code, *(s for s, target in codes.synonyms.items() if target == code)]
            for word in words:
                for form in _spellings(word, code):
                    if codes.normalize(_normalize(form)) != code:
                        raise DirtError(f"{column} variant {form!r} would not normalize to {code!r}")
                    idx.append(len(entries))
                    entries.append(form)
        per_code.append(idx)
    width = max(1, max(len(i) for i in per_code))
    table = np.array([[i[j % len(i)] if i else c for j in range(width)] for c, i in enumerate(per_code)],
                     dtype=np.int64)
    unknown_idx = []
    for word in unknown:
        if codes.normalize(_normalize(word)) is not None:
            raise DirtError(f"{column} 'unknown' code {word!r} is canonical or a synonym")
        unknown_idx.append(len(entries))
        entries.append(word)
    return Vocabulary(tuple(entries), table, np.array([len(i) for i in per_code], dtype=np.int64),
                      np.array(unknown_idx, dtype=np.int64))


def check_kinds(contract: SilverContract) -> None:
    declared, known = set(contract.defect_kinds), set(KIND_WEIGHTS)
    if declared != known:
        raise DirtError(f"contract defect kinds {sorted(declared)} differ from the generator's {sorted(known)}")
    if abs(sum(KIND_WEIGHTS.values()) - 1.0) > 1e-9:
        raise DirtError("KIND_WEIGHTS must sum to 1")


def alternate_timestamp_formats(contract: SilverContract) -> tuple[str, ...]:
    """Non-canonical contract formats the generator writes: those it can render without a comma
    (a comma would force CSV quoting, which the bronze files never need)."""
    names = []
    for fmt in contract.timestamp_formats[1:]:
        render = TIMESTAMP_RENDERERS.get(fmt.name)
        if render is not None and "," not in render(1_767_225_600_123, 60):
            names.append(fmt.name)
    return tuple(names)


@dataclass(frozen=True)
class ChunkPlan:
    """Which base rows carry which defect, and the copies to insert."""

    counts: dict[str, int]  # lines per kind in this chunk
    base_rows: int
    rows: dict[str, np.ndarray]  # kind -> base row indices (non-copy kinds)
    dup_sources: np.ndarray
    resend_sources: np.ndarray


def plan_chunk(rng: np.random.Generator, lines: int, dirty: int) -> ChunkPlan:
    """Split ``dirty`` of ``lines`` lines over the kinds; copies need clean base rows as sources."""
    kinds = list(KIND_WEIGHTS)
    drawn = rng.multinomial(dirty, np.array([KIND_WEIGHTS[k] for k in kinds]))
    counts = {k: int(v) for k, v in zip(kinds, drawn)}
    clean = lines - dirty
    if clean == 0:  # nothing to copy from: those lines become spelling variants instead
        counts["emotion_variant"] += counts["exact_duplicate"] + counts["resent_event"]
        counts["exact_duplicate"] = counts["resent_event"] = 0
    if counts["resent_event"] > clean:  # each re-send needs its own source
        counts["exact_duplicate"] += counts["resent_event"] - clean
        counts["resent_event"] = clean
    copies = counts["exact_duplicate"] + counts["resent_event"]
    base = lines - copies
    marked = dirty - copies  # base rows that carry a non-copy defect
    ndup, nres = counts["exact_duplicate"], counts["resent_event"]
    if marked + nres + ndup <= base:  # the usual case: every chosen row distinct
        order = rng.choice(base, size=marked + nres + ndup, replace=False)
    else:
        order = rng.permutation(base)
    rows: dict[str, np.ndarray] = {}
    pos = 0
    for k in kinds:
        if k in COPY_KINDS:
            continue
        rows[k] = np.sort(order[pos: pos + counts[k]])
        pos += counts[k]
    resend = order[pos: pos + nres]
    dup = order[pos + nres: pos + nres + ndup]
    if len(dup) < ndup:  # tiny chunks: some clean rows are duplicated more than once
        dup = rng.choice(order[pos:], ndup, replace=True)
    return ChunkPlan(counts, base, rows, np.asarray(dup, dtype=np.int64), np.asarray(resend, dtype=np.int64))


class LineEditor:
    """Rewrites single lines for the kinds that cannot come from a lookup table."""

    def __init__(self, contract: SilverContract, ts_width: int) -> None:
        self.header = contract.bronze_header
        self.col = {name: i for i, name in enumerate(self.header)}
        self.required = contract.required_columns
        self.ranges = dict(contract.ranges)
        self.alt_formats = alternate_timestamp_formats(contract)
        self.canonical_ts = TIMESTAMP_RENDERERS[contract.timestamp_formats[0].name]
        self.terminator = contract.line_terminator
        self.percent = contract.percent_suffix
        self.term_bytes = self.terminator.encode()
        self.ts_width = ts_width
        if self.header[-2:] != ("occurred_at", "recorded_at"):
            raise DirtError("the line editor expects occurred_at and recorded_at as the last two columns")

    @staticmethod
    def fields(line: bytes) -> list[str]:
        return line.decode("utf-8").rstrip("\r\n").split(",")

    def line(self, fields: list[str]) -> bytes:
        return csv_line(fields, self.terminator)

    def _timestamps(self, line: bytes) -> tuple[bytes, bytes, bytes]:
        """(head up to and including the comma before occurred_at, occurred_at, recorded_at) of a line
        rendered in canonical form, where both timestamps are the last two fixed-width fields."""
        rec_start = len(line) - len(self.terminator) - self.ts_width
        occ_start = rec_start - 1 - self.ts_width
        return line[:occ_start], line[occ_start:rec_start - 1], line[rec_start:len(line) - len(self.terminator)]

    # Each edit takes ``u``, a few uniforms drawn for it in bulk (per-call numpy draws cost microseconds).
    UNIFORMS = {"timestamp_format": 3, "missing_required": 1, "out_of_range": 4, "malformed_line": 2,
                "resent_event": 5}

    def timestamp_format(self, line: bytes, occurred: tuple[int, int], recorded: tuple[int, int],
                         u: list[float]) -> bytes:
        head, occ, rec = self._timestamps(line)
        fmts = self.alt_formats
        if u[0] < 0.8:  # occurred_at alone, or both
            occ = csv_field(TIMESTAMP_RENDERERS[_pick(fmts, u[1])](*occurred)).encode()
        if u[0] >= 0.45:  # recorded_at alone, or both
            rec = csv_field(TIMESTAMP_RENDERERS[_pick(fmts, u[2])](*recorded)).encode()
        return b"".join((head, occ, b",", rec, self.term_bytes))

    def missing_required(self, line: bytes, u: list[float]) -> bytes:
        f = self.fields(line)
        f[self.col[_pick(self.required, u[0])]] = ""
        return self.line(f)

    def out_of_range(self, line: bytes, u: list[float]) -> bytes:
        f = self.fields(line)
        name = _pick(tuple(self.ranges), u[0])
        limits = self.ranges[name]
        beyond = 0.05 + u[1] * 1.45  # clearly outside, also after rounding to the written decimals
        value = limits.max + beyond if u[2] < 0.6 else limits.min - beyond
        if name == "intensity" and u[3] < 0.3:
            text = f"{round(value * 100)}{self.percent}"
        else:
            text = f"{value:.2f}" if name == "intensity" else f"{value:.3f}"
        f[self.col[name]] = text
        return self.line(f)

    def malformed_line(self, line: bytes, u: list[float]) -> bytes:
        f = self.fields(line)
        if u[0] < 0.5:
            f = f[: len(f) - 1 - int(u[1] * 4)]  # truncated: 1 to 4 fields missing
        else:
            f = f + [f[self.col["context"]] or "extra"] * (1 + int(u[1] * 2))  # 1 or 2 stray fields
        return self.line(f)

    def resent(self, line: bytes, later_ms: int, later_offset: int, intensity_code: int, u: list[float]) -> bytes:
        """Same event id, a later recorded_at (canonical format), sometimes a corrected intensity."""
        head, occ, _rec = self._timestamps(line)
        rec = self.canonical_ts(later_ms, later_offset).encode()
        line = b"".join((head, occ, b",", rec, self.term_bytes))
        if u[2] < 0.5:  # (u[0] and u[1] chose the delay and the position in the file)
            f = self.fields(line)
            step = (5 + int(u[3] * 26)) * (1 if u[4] < 0.5 else -1)
            corrected = min(max(intensity_code + step, 0), INTENSITY_STEPS)
            f[self.col["intensity"]] = f"{corrected / INTENSITY_STEPS:.2f}"
            line = self.line(f)
        return line


def resend_delays(u: np.ndarray) -> np.ndarray:
    """How much later a re-send is recorded (ms): at least a minute, typically half an hour, at most 6 h."""
    extra = -np.log1p(-u) * RESEND_MEAN_EXTRA_MS
    return np.minimum(RESEND_MIN_MS + extra.astype(np.int64), RESEND_MAX_MS)


def _pick(seq, u: float):
    return seq[min(int(u * len(seq)), len(seq) - 1)]
