"""Deliberate dirt: which defects exist, how often, and how each gets into a line (vectorized).

Every defect kind in the contract's ``defects.kinds`` has an injector here (checked when the generator
builds its tables: a contract with an unknown kind is refused).
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
from .render import FORMAT_CODES, TIMESTAMP_RENDERERS, LineEdits

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
UNKNOWN_EMOTIONS = (
    "bored",
    "Bored",
    "confused",
    "nostalgic",
    "jealous",
    "proud",
    "lonely",
    "guilty",
    "ashamed",
    "curious",
    "calm",
    "tired",
    "meh",
    "Meh",
    "n/a",
    "???",
    "overwhelmed",
)
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
    forms = [
        word,
        word.upper(),
        word.title(),
        word.capitalize(),
        f" {word}",
        f"{word} ",
        f"  {word.title()} ",
        f" {word.upper()}",
    ]
    if " " in word:
        forms += [word.replace(" ", "  "), word.title().replace(" ", "   ")]
    return [f for f in dict.fromkeys(forms) if f != canonical]


def build_vocabulary(
    contract: SilverContract, column: str, extra_canonical: tuple[str, ...] = (), unknown: tuple[str, ...] = ()
) -> Vocabulary:
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
    table = np.array([[i[j % len(i)] if i else c for j in range(width)] for c, i in enumerate(per_code)], dtype=np.int64)
    unknown_idx = []
    for word in unknown:
        if codes.normalize(_normalize(word)) is not None:
            raise DirtError(f"{column} 'unknown' code {word!r} is canonical or a synonym")
        unknown_idx.append(len(entries))
        entries.append(word)
    return Vocabulary(
        tuple(entries), table, np.array([len(i) for i in per_code], dtype=np.int64), np.array(unknown_idx, dtype=np.int64)
    )


def check_kinds(contract: SilverContract) -> None:
    declared, known = set(contract.defect_kinds), set(KIND_WEIGHTS)
    if declared != known:
        raise DirtError(f"contract defect kinds {sorted(declared)} differ from the generator's {sorted(known)}")
    if abs(sum(KIND_WEIGHTS.values()) - 1.0) > 1e-9:
        raise DirtError("KIND_WEIGHTS must sum to 1")


def alternate_timestamp_formats(contract: SilverContract) -> tuple[str, ...]:
    """Non-canonical contract formats the generator writes: those the renderer vectorizes and that
    contain no comma (a comma would force CSV quoting, which bronze files never need)."""
    names = []
    for fmt in contract.timestamp_formats[1:]:
        render = TIMESTAMP_RENDERERS.get(fmt.name)
        if fmt.name in FORMAT_CODES and render is not None and "," not in render(1_767_225_600_123, 60):
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
        rows[k] = np.sort(order[pos : pos + counts[k]])
        pos += counts[k]
    resend = order[pos : pos + nres]
    dup = order[pos + nres : pos + nres + ndup]
    if len(dup) < ndup:  # tiny chunks: some clean rows are duplicated more than once
        dup = rng.choice(order[pos:], ndup, replace=True)
    return ChunkPlan(counts, base, rows, np.asarray(dup, dtype=np.int64), np.asarray(resend, dtype=np.int64))


# -- numbers: lookup-table entries for valid, percentage and out-of-range values ------------------------

OUT_OF_RANGE_STEPS = 146  # min/max -/+ 0.05 ... 1.50: clearly outside, also after rounding


@dataclass(frozen=True)
class NumberTable:
    """Strings of one numeric column by code: valid values first (code = steps from the range minimum),
    then percentages (intensity), then values above and below the range."""

    entries: tuple[str, ...]
    percent: int  # code of "0%" (-1 when the column has no percentage form)
    above: int
    below: int
    percent_above: int  # (-1 when none)


def build_number_tables(contract: SilverContract) -> dict[str, NumberTable]:
    expected = {"intensity": (0.0, 1.0), "valence": (-1.0, 1.0), "arousal": (0.0, 1.0)}
    got = {k: (r.min, r.max) for k, r in contract.ranges.items()}
    if got != expected:
        raise DirtError(f"the generator's number tables assume ranges {expected}; the contract says {got}")
    pct = contract.percent_suffix
    steps = [0.05 + 0.01 * j for j in range(OUT_OF_RANGE_STEPS)]
    tables = {}
    for name, (lo, hi) in expected.items():
        decimals, scale = (2, INTENSITY_STEPS) if name == "intensity" else (3, VALENCE_STEPS)
        first = round(lo * scale)  # integer steps, so no "-0.000" from float noise
        entries = [f"{(first + k) / scale:.{decimals}f}" for k in range(round((hi - lo) * scale) + 1)]
        percent = -1
        if name == "intensity":
            percent = len(entries)
            entries += [f"{k}{pct}" for k in range(INTENSITY_STEPS + 1)]
        above = len(entries)
        entries += [f"{hi + d:.{decimals}f}" for d in steps]
        below = len(entries)
        entries += [f"{lo - d:.{decimals}f}" for d in steps]
        percent_above = -1
        if name == "intensity":
            percent_above = len(entries)
            entries += [f"{round((hi + d) * 100)}{pct}" for d in steps]
        tables[name] = NumberTable(tuple(entries), percent, above, below, percent_above)
    return tables


# -- where copies go --------------------------------------------------------------------------------------

COPY_DUPLICATE, COPY_RESEND = 1, 2


@dataclass(frozen=True)
class LineOrder:
    source: np.ndarray  # per line: the base row it renders
    copy_kind: np.ndarray  # per line: 0, COPY_DUPLICATE or COPY_RESEND
    base_line: np.ndarray  # per base row: its line


def order_lines(rng: np.random.Generator, plan: ChunkPlan) -> LineOrder:
    """Base rows keep their order; each copy is inserted after a random base row at or after its
    source, so it always follows the line it copies."""
    base = plan.base_rows
    src = np.concatenate([plan.dup_sources, plan.resend_sources])
    kind = np.concatenate([np.full(len(plan.dup_sources), COPY_DUPLICATE), np.full(len(plan.resend_sources), COPY_RESEND)])
    if len(src) == 0:
        ident = np.arange(base)
        return LineOrder(ident, np.zeros(base, dtype=np.int64), ident)
    after = src + np.floor(rng.random(len(src)) * (base - src)).astype(np.int64)  # base row it follows
    by = np.argsort(after, kind="stable")
    after, src, kind = after[by], src[by], kind[by]
    copy_line = after + 1 + np.arange(len(src))
    base_line = np.arange(base) + np.searchsorted(after, np.arange(base), side="left")
    lines = base + len(src)
    source = np.empty(lines, dtype=np.int64)
    copy_kind = np.zeros(lines, dtype=np.int64)
    source[base_line] = np.arange(base)
    source[copy_line] = src
    copy_kind[copy_line] = kind
    return LineOrder(source, copy_kind, base_line)


def resend_delays(u: np.ndarray) -> np.ndarray:
    """How much later a re-send is recorded (ms): at least a minute, typically half an hour, at most 6 h."""
    extra = -np.log1p(-u) * RESEND_MEAN_EXTRA_MS
    return np.minimum(RESEND_MIN_MS + extra.astype(np.int64), RESEND_MAX_MS)


def _pick(rng: np.random.Generator, counts: np.ndarray | int, size: int) -> np.ndarray:
    return np.floor(rng.random(size) * counts).astype(np.int64)


class DirtInjector:
    """Applies a chunk plan to line-ordered columns: lookup-table codes change in place, the rest
    becomes :class:`LineEdits` for the renderer."""

    def __init__(
        self,
        contract: SilverContract,
        emotions: Vocabulary,
        contexts: Vocabulary,
        channels: Vocabulary,
        numbers: dict[str, NumberTable],
    ) -> None:
        self.emotions, self.contexts, self.channels, self.numbers = emotions, contexts, channels, numbers
        self.none_context = contexts.entries.index("")
        self.required = contract.required_columns
        self.header = contract.bronze_header
        self.alt_formats = np.array([FORMAT_CODES[f] for f in alternate_timestamp_formats(contract)])
        self.numeric = tuple(contract.ranges)

    @staticmethod
    def _variants(rng, vocab: Vocabulary, codes: np.ndarray, lines: np.ndarray) -> None:
        c = codes[lines]
        codes[lines] = vocab.variants[c, _pick(rng, vocab.variant_count[c], len(lines))]

    def inject(self, rng: np.random.Generator, plan: ChunkPlan, cols, base_line: np.ndarray) -> LineEdits:
        lines = {k: base_line[v] for k, v in plan.rows.items()}
        edits = LineEdits()
        self._variants(rng, self.emotions, cols.emotion, lines["emotion_variant"])
        r = lines["unknown_code"]
        cols.emotion[r] = self.emotions.unknown[_pick(rng, len(self.emotions.unknown), len(r))]
        r = lines["code_variant"]
        use_context = (cols.context[r] != self.none_context) & (rng.random(len(r)) < 0.5)
        self._variants(rng, self.contexts, cols.context, r[use_context])
        self._variants(rng, self.channels, cols.channel, r[~use_context])
        cols.intensity[lines["intensity_percent"]] += self.numbers["intensity"].percent

        r = lines["out_of_range"]
        which = _pick(rng, len(self.numeric), len(r))
        side, step = rng.random(len(r)), _pick(rng, OUT_OF_RANGE_STEPS, len(r))
        for i, name in enumerate(self.numeric):
            sel = which == i
            table, codes = self.numbers[name], getattr(cols, name)
            up = side[sel] < 0.6
            base = np.where(up, table.above, table.below)
            if table.percent_above >= 0:  # some intensities overflow as percentages ("137%")
                base = np.where(up & (rng.random(int(sel.sum())) < 0.3), table.percent_above, base)
            codes[r[sel]] = base + step[sel]

        r = lines["timestamp_format"]
        pick = rng.random(len(r))  # occurred_at alone, recorded_at alone, or both
        for name, chosen in (("occurred_at", pick < 0.8), ("recorded_at", pick >= 0.45)):
            edits.formats[name] = (r[chosen], self.alt_formats[_pick(rng, len(self.alt_formats), int(chosen.sum()))])

        r = lines["missing_required"]
        which = _pick(rng, len(self.required), len(r))
        edits.blank = {col: r[which == i] for i, col in enumerate(self.required) if (which == i).any()}

        r = lines["malformed_line"]
        shape = rng.random(len(r))
        truncated, comma = r[shape < 0.5], r[shape >= 0.5]
        k = 1 + _pick(rng, 4, len(truncated))  # 1 to 4 trailing fields missing
        edits.truncate = {int(v): truncated[k == v] for v in np.unique(k)}
        which = _pick(rng, len(self.numeric), len(comma))  # "0,73": a decimal comma splits a field in two
        edits.decimal_comma = {name: comma[which == i] for i, name in enumerate(self.numeric) if (which == i).any()}
        return edits
