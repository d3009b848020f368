"""Generate a bronze CSV of emotional events, with known dirt and a ground-truth manifest.

``GeneratorParams`` is validated once; :func:`generate` streams CSV bytes chunk by chunk (memory is
flat in the row count) and :class:`EventStream` counts what it injected, from which the manifest
states what cleaning must yield. :func:`write_local` writes a file plus manifest to a directory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import numpy as np

from . import dirt
from .contract import SilverContract, default_contract
from .dirt import INVALID_KINDS, KIND_WEIGHTS, REASON_OF_KIND
from .events import EventSampler, Population, build_population
from .limits import MAX_DIRTY_RATIO, MAX_ROWS  # noqa: F401  (re-exported)
from .model import MAX_RECORD_DELAY_MS, ModelTables, build_tables
from .render import MS_PER_DAY, Categorical, ChunkColumns, RowRenderer, csv_line
from .tzgrid import OffsetGrid

if TYPE_CHECKING:  # pragma: no cover
    from .truth import TruthCollector

GENERATOR_VERSION = "1"
CHUNK_ROWS = 8_192  # part of the output definition: same seed + same chunk size -> same bytes; fits L2
DEFAULT_START = datetime(2026, 1, 5, tzinfo=timezone.utc)  # a Monday; fixed so a seed alone reproduces a file
MAX_SEED = 2**63 - 1
MAX_USERS = 1_000_000
MAX_HOURS = 24 * 366


class GeneratorParamError(ValueError):
    """A generator parameter is invalid; names the parameter, the value and the rule."""

    def __init__(self, param: str, value: Any, rule: str) -> None:
        self.param, self.value, self.rule = param, value, rule
        super().__init__(f"{param}={value!r} is invalid: {rule}")


def _int(name: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise GeneratorParamError(name, value, f"must be an integer from {lo} to {hi}")
    if not lo <= value <= hi:
        raise GeneratorParamError(name, value, f"must be an integer from {lo} to {hi}")
    return int(value)


@dataclass(frozen=True)
class GeneratorParams:
    """What to generate. ``rows`` counts data lines (header excluded), duplicates included."""

    rows: int
    seed: int
    dirty_ratio: float = 0.05
    users: int = 50_000
    population_seed: int = 0
    start: datetime = DEFAULT_START
    hours: int = 168

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "rows", _int("rows", self.rows, 1, MAX_ROWS))
        set_(self, "seed", _int("seed", self.seed, 0, MAX_SEED))
        ratio = self.dirty_ratio
        rule = f"must be a number from 0 to {MAX_DIRTY_RATIO}"
        if isinstance(ratio, bool) or not isinstance(ratio, (int, float, np.floating, np.integer)):
            raise GeneratorParamError("dirty_ratio", ratio, rule)
        if not math.isfinite(float(ratio)) or not 0.0 <= float(ratio) <= MAX_DIRTY_RATIO:
            raise GeneratorParamError("dirty_ratio", ratio, rule)
        set_(self, "dirty_ratio", float(ratio))
        set_(self, "users", _int("users", self.users, 1, MAX_USERS))
        set_(self, "population_seed", _int("population_seed", self.population_seed, 0, MAX_SEED))
        set_(self, "hours", _int("hours", self.hours, 1, MAX_HOURS))
        start = self.start
        if not isinstance(start, datetime) or start.tzinfo is None or start.utcoffset() is None:
            raise GeneratorParamError("start", start, "must be a timezone-aware datetime")
        start = start.astimezone(timezone.utc)
        if not 2002 <= start.year <= 2100:  # epoch milliseconds keep 13 digits, years keep 4
            raise GeneratorParamError("start", start.isoformat(), "must fall in the years 2002 to 2100")
        set_(self, "start", start.replace(microsecond=start.microsecond // 1000 * 1000))

    @property
    def dirty_rows(self) -> int:
        return dirty_target(self.rows, self.dirty_ratio)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "seed": self.seed,
            "dirty_ratio": self.dirty_ratio,
            "users": self.users,
            "population_seed": self.population_seed,
            "start": self.start.isoformat().replace("+00:00", "Z"),
            "hours": self.hours,
        }


def dirty_target(lines: int, ratio: float) -> int:
    """Dirty lines among the first ``lines`` (round half up), so chunks add up to the file total."""
    return int(math.floor(lines * ratio + 0.5))


@dataclass
class Counts:
    """What a stream has written so far."""

    rows: int = 0
    base_rows: int = 0
    bytes: int = 0
    defects: dict[str, int] = field(default_factory=lambda: {k: 0 for k in KIND_WEIGHTS})

    @property
    def quarantined(self) -> int:
        return sum(self.defects[k] for k in INVALID_KINDS)

    @property
    def valid_distinct(self) -> int:
        return self.base_rows - self.quarantined


@dataclass(frozen=True)
class _Engine:
    """Per-contract tables (built once and reused by every stream)."""

    contract: SilverContract
    tables: ModelTables
    injector: dirt.DirtInjector
    fixed: dict[str, Categorical]


def _engine_for(contract: SilverContract) -> _Engine:
    dirt.check_kinds(contract)
    if not dirt.alternate_timestamp_formats(contract):
        raise dirt.DirtError("the contract offers no alternate timestamp format the generator can write")
    tables = build_tables(contract)
    emotions = dirt.build_vocabulary(contract, "emotion", unknown=dirt.UNKNOWN_EMOTIONS)
    contexts = dirt.build_vocabulary(contract, "context", extra_canonical=("",))
    channels = dirt.build_vocabulary(contract, "source_channel")
    numbers = dirt.build_number_tables(contract)
    fixed = {
        "emotion": Categorical.of(emotions.entries, "emotion"),
        "context": Categorical.of(contexts.entries, "context"),
        "channel": Categorical.of(channels.entries, "source_channel"),
        "tz": Categorical.of(contract.time_zones, "device_tz"),
        **{name: Categorical.of(table.entries, name) for name, table in numbers.items()},
    }
    injector = dirt.DirtInjector(contract, emotions, contexts, channels, numbers)
    return _Engine(contract, tables, injector, fixed)


@lru_cache(maxsize=1)
def _default_engine() -> _Engine:
    return _engine_for(default_contract())


@lru_cache(maxsize=4)
def _population(population_seed: int, users: int) -> tuple[Population, Categorical]:
    pop = build_population(_default_engine().tables, population_seed, users)
    return pop, Categorical.fixed_width(pop.ids)


def _ms(d: datetime) -> int:
    return int(d.timestamp() * 1000)


class EventStream:
    """Iterating yields the header line, then one CSV bytes chunk per CHUNK_ROWS lines; ``counts``
    holds what was written. Deterministic: chunk k uses generators seeded with (seed, k)."""

    def __init__(
        self,
        params: GeneratorParams,
        contract: SilverContract | None = None,
        chunk_rows: int = CHUNK_ROWS,
        *,
        truth: "TruthCollector | None" = None,
    ) -> None:
        self.params = params
        self.truth = truth  # opt-in: receives each chunk's columns (emotion_events.truth)
        if contract is None:
            engine = _default_engine()
            population, user_table = _population(params.population_seed, params.users)
        else:
            engine = _engine_for(contract)
            population = build_population(engine.tables, params.population_seed, params.users)
            user_table = Categorical.fixed_width(population.ids)
        self.engine = engine
        self.contract = engine.contract
        self.chunk_rows = chunk_rows
        start_ms = _ms(params.start)
        span_ms = params.hours * 3_600_000
        grid_end = start_ms + span_ms + MAX_RECORD_DELAY_MS + dirt.RESEND_MAX_MS + MS_PER_DAY
        self.grid = OffsetGrid(self.contract.time_zones, start_ms - MS_PER_DAY, grid_end)
        self.sampler = EventSampler(engine.tables, population, self.grid, start_ms, span_ms)
        day_range = ((self.grid.start_ms - MS_PER_DAY) // MS_PER_DAY, (self.grid.end_ms + MS_PER_DAY) // MS_PER_DAY)
        self.renderer = RowRenderer(
            {**engine.fixed, "user": user_table},
            day_range,
            chunk_rows,
            self.contract.bronze_header,
            self.contract.line_terminator,
        )
        self.header = csv_line(list(self.contract.bronze_header), self.contract.line_terminator)
        self.counts = Counts()

    def __iter__(self) -> Iterator[bytes]:
        yield self.header
        self.counts.bytes += len(self.header)
        p = self.params
        for index, first in enumerate(range(0, p.rows, self.chunk_rows)):
            last = min(first + self.chunk_rows, p.rows)
            dirty = dirty_target(last, p.dirty_ratio) - dirty_target(first, p.dirty_ratio)
            data = self._chunk(index, last - first, dirty)
            self.counts.bytes += len(data)
            yield data

    def _chunk(self, index: int, lines: int, dirty: int) -> bytes:
        seed = self.params.seed
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, index, 0])))
        drng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, index, 1])))
        plan = dirt.plan_chunk(drng, lines, dirty)
        base = self.sampler.sample(rng, plan.base_rows)
        order = dirt.order_lines(drng, plan)
        cols = self._copies(drng, base, order)
        edits = self.engine.injector.inject(drng, plan, cols, order.base_line)
        for k, v in plan.counts.items():
            self.counts.defects[k] += v
        self.counts.rows += lines
        self.counts.base_rows += plan.base_rows
        data = self.renderer.render(cols, edits).tobytes()
        if self.truth is not None:
            self.truth.record(self, index, plan, order, cols, edits, data)
        return data

    def _copies(self, drng: np.random.Generator, base: ChunkColumns, order: dirt.LineOrder) -> ChunkColumns:
        """Columns in line order: base rows plus their copies; a re-send is recorded later (in the
        device's offset at that instant) and half the time carries a corrected intensity."""
        if len(order.source) == len(base.user):
            return base
        cols = ChunkColumns(**{f.name: getattr(base, f.name)[order.source] for f in fields(ChunkColumns)})
        resent = np.flatnonzero(order.copy_kind == dirt.COPY_RESEND)
        if len(resent):
            u = drng.random((3, len(resent)))
            cols.recorded_ms[resent] += dirt.resend_delays(u[0])
            cols.recorded_off[resent] = self.grid.lookup(cols.tz[resent], cols.recorded_ms[resent])
            fix = u[1] < 0.5
            step = (5 + np.floor(u[2] * 26).astype(np.int64)) * np.where(drng.random(len(resent)) < 0.5, 1, -1)
            corrected = np.clip(cols.intensity[resent] + step, 0, dirt.INTENSITY_STEPS)
            cols.intensity[resent] = np.where(fix, corrected, cols.intensity[resent])
        return cols


def generate(params: GeneratorParams, contract: SilverContract | None = None) -> EventStream:
    """An iterable of CSV byte chunks (header first); its ``counts`` fill in as it is consumed."""
    return EventStream(params, contract)


def build_manifest(
    params: GeneratorParams,
    counts: Counts,
    *,
    run_id: str,
    path: str,
    contract: SilverContract,
    created_at: datetime,
    extra: dict[str, Any] | None = None,
) -> dict:
    """The ground truth a cleaning run is checked against."""
    reasons = {r: 0 for r in contract.reasons}
    for kind in INVALID_KINDS:
        reasons[REASON_OF_KIND[kind]] += counts.defects[kind]
    manifest = {
        "run_id": run_id,
        "path": path,
        "created_at": created_at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
        "contract_version": contract.version,
        "generator_version": GENERATOR_VERSION,
        "seed": params.seed,
        "dirty_ratio": params.dirty_ratio,
        "params": params.as_dict(),
        "columns": list(contract.bronze_header),
        "rows_written": counts.rows,
        "bytes": counts.bytes,
        "dirty_rows": sum(counts.defects.values()),
        "defects": dict(counts.defects),
        "expected_valid_distinct_events": counts.valid_distinct,
        "expected_quarantined_rows": counts.quarantined,
        "expected_quarantine_reasons": reasons,
        "expected_valid_rows": counts.rows - counts.quarantined,
    }
    if extra:
        manifest.update(extra)
    return manifest


@dataclass(frozen=True)
class GenerationResult:
    csv_path: Path
    manifest_path: Path
    manifest: dict[str, Any]


def write_local(
    params: GeneratorParams,
    out_dir: str | Path,
    *,
    run_id: str | None = None,
    ingest_date: date | None = None,
    progress: Callable[[int], None] | None = None,
    contract: SilverContract | None = None,
) -> GenerationResult:
    """Write ``events/ingest_date=YYYY-MM-DD/<run_id>.csv`` and its manifest under ``out_dir``.

    The CSV is written to a temporary name and linked into place only when complete; an existing
    file is never overwritten.
    """
    from .paths import new_run_id, relative_paths
    from .sinks import LocalTarget
    from .service import generate_to

    run_id = new_run_id() if run_id is None else run_id
    csv_rel, manifest_rel = relative_paths(run_id, ingest_date)
    target = LocalTarget(Path(out_dir))
    manifest = generate_to(
        target, params, run_id=run_id, csv_path=csv_rel, manifest_path=manifest_rel, progress=progress, contract=contract
    )
    return GenerationResult(Path(out_dir) / csv_rel, Path(out_dir) / manifest_rel, manifest)


__all__ = [
    "GeneratorParams",
    "GeneratorParamError",
    "GenerationResult",
    "EventStream",
    "generate",
    "write_local",
    "build_manifest",
    "dirty_target",
    "CHUNK_ROWS",
    "DEFAULT_START",
]
