"""One silver run: which bronze files to clean, merging into silver, and publishing atomically.

Incremental by default: silver keeps a state file (``_silver_state.json``) listing the bronze files
already merged and a fingerprint of the contract. A run cleans only bronze files it has not seen and
merges them into the partitions they affect; re-running over the same bronze changes nothing. It
recomputes everything from bronze (``full``) when asked, when there is no state yet, when the
contract changed, or when the content of a bronze file it already merged has changed (told by a
change hint, and by the file's sha256 when the hint moved: :mod:`.bronze_check`).

A run holds the silver lock (:mod:`.lock`) from before it cleans anything until its report is
written, so two runs never interleave. Its scratch files live in a work folder (:mod:`.workdir`)
under ``--work-dir`` that a killed run cannot leak for good. Publishing never exposes a
half-written silver (:class:`LocalPublisher`, :class:`BlobPublisher`):

- local folder: the new snapshot (untouched partitions hard-linked, affected ones linked or copied
  from the work folder, which may be on another filesystem; the state file inside) is built next to
  silver and swapped in with two renames; an interrupted swap is undone by the next run, under the lock;
- blob prefix: every blob is replaced in one commit, the blobs of the new snapshot are uploaded
  first, stale ones deleted after, and the state blob, written last, is the commit record.

The state also records the report of the run that wrote it, so a run killed after publishing but
before its report was written has that report delivered by the next run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from emotion_events.contract import SilverContract

from .bronze_check import Fetched, confirm_merged
from .engine import BatchResult, EngineSettings, scalar
from .engines import DuckDBEngine, Engine
from .faults import checkpoint
from .lock import SilverLock, lock_for
from .plan import CleaningPlan, build_plan
from .storage import BlobLocation, LocalLocation, LocationError, open_location, sibling_uri
from .workdir import WorkFolder, remove_stale, work_root

STATE_FILE = "_silver_state.json"
STATE_VERSION = 1
BRONZE_SUFFIX = ".csv"
Say = Callable[[str], None]


class SilverRunError(RuntimeError):
    """The run cannot proceed; the message says what to change."""


class StateFileError(SilverRunError):
    """``_silver_state.json`` is unreadable or not a state file; ``--full`` rebuilds it from bronze."""


@dataclass
class RunOutcome:
    mode: str  # "incremental", "full" or "up-to-date"
    mode_reason: str
    bronze_files: list[str]
    batch: BatchResult
    silver_rows_before: int
    silver_rows_after: int
    silver_partitions: int
    emotions: dict[str, int]
    channels: dict[str, int]
    silver_uri: str
    quarantine_uri: str
    quarantine_file: str | None
    seconds: float
    started_at: str
    contract_version: int
    engine: str = "duckdb"
    distributions: dict[str, dict[str, int]] = field(default_factory=dict)  # every code column of the contract
    extra: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] | None = None  # the report as written (when the run was given a report location)
    report_uri: str | None = None


def contract_fingerprint(contract: SilverContract) -> str:
    return hashlib.sha256(json.dumps(contract.raw, sort_keys=True, default=str).encode()).hexdigest()


def batch_id(files: list[tuple[str, int, str]]) -> str:
    """The quarantine file's name for a batch of bronze files (name, size, sha256): the same bronze
    always gives the same name, so a retried or repeated batch replaces its own file."""
    h = hashlib.sha256()
    for name, size, fp in sorted(files):
        h.update(f"{name}\0{size}\0{fp}\n".encode())
    return h.hexdigest()[:16]


# -- the state file --------------------------------------------------------------------------------------


def _state_problem(state: Any) -> str | None:
    """What makes ``state`` (parsed JSON of the current version) unusable, or None."""
    if not isinstance(state.get("contract_sha256"), str):
        return "'contract_sha256' is not a string"
    rows = state.get("silver_rows", 0)
    if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
        return f"'silver_rows' is {rows!r}, not a count"
    batches = state.get("quarantine_batches", [])
    if not isinstance(batches, list) or not all(isinstance(b, str) for b in batches):
        return "'quarantine_batches' is not a list of file names"
    bronze = state.get("bronze", {})
    if not isinstance(bronze, dict):
        return f"'bronze' is a {type(bronze).__name__}, not an object"
    for name, entry in bronze.items():
        if not isinstance(entry, dict):
            return f"bronze entry {name!r} is not an object"
        size = entry.get("size")
        if not isinstance(size, int) or isinstance(size, bool):
            return f"bronze entry {name!r} has no integer 'size'"
        if not isinstance(entry.get("fingerprint"), str):
            return f"bronze entry {name!r} has no 'fingerprint' string"
        digest = entry.get("sha256")
        if digest is not None and not (
            isinstance(digest, str) and len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)
        ):
            return f"bronze entry {name!r}: 'sha256' is not a sha256 (64 lowercase hex digits)"
    return None


def parse_state(raw: bytes | None, where: str) -> dict | None:
    """The state, None when there is none (or it is of another version), or :class:`StateFileError`."""
    if raw is None:
        return None
    fix = "run with --full to rebuild silver and its state from bronze"
    try:
        state = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise StateFileError(f"{where} is not valid JSON ({str(exc)[:200]}); {fix}") from None
    if not isinstance(state, dict):
        raise StateFileError(f"{where} is not a silver state file (a JSON {type(state).__name__}, not an object); {fix}")
    if state.get("version") != STATE_VERSION:
        return None
    problem = _state_problem(state)
    if problem:
        raise StateFileError(f"{where} is not a silver state file ({problem}); {fix}")
    return state


def _read_state(loc, *, full: bool, say: Say) -> dict | None:
    try:
        return parse_state(loc.read_bytes(STATE_FILE), f"{loc.uri}/{STATE_FILE}")
    except StateFileError as exc:
        if not full:
            raise
        say(f"ignoring the state file, --full rebuilds it: {exc}")
        return None


# -- deciding what to clean ------------------------------------------------------------------------------


@dataclass
class _Plan:
    mode: str
    reason: str
    todo: list[Any]  # StoredFile entries to clean


def _decide(state: dict | None, listing: list, fingerprint: str, full: bool) -> _Plan:
    if full:
        return _Plan("full", "requested", listing)
    if state is None:
        return _Plan("full", "no silver state yet", listing)
    if state.get("contract_sha256") != fingerprint:
        return _Plan("full", "the contract changed since silver was built", listing)
    seen = state.get("bronze", {})
    changed = [
        f.name
        for f in listing
        if f.name in seen and (seen[f.name]["size"] != f.size or seen[f.name]["fingerprint"] != f.fingerprint)
    ]
    if changed:
        return _Plan("full", f"bronze file {changed[0]} changed after it was merged", listing)
    new = [f for f in listing if f.name not in seen]
    if not new:
        return _Plan("up-to-date", "no new bronze files", [])
    return _Plan("incremental", f"{len(new)} new bronze file(s)", new)


# -- locations -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunLocations:
    bronze: LocalLocation | BlobLocation
    silver: LocalLocation | BlobLocation
    quarantine: LocalLocation | BlobLocation
    report: LocalLocation | BlobLocation | None


def _check_local(role: str, loc, *, must_exist: bool = False) -> None:
    if not isinstance(loc, LocalLocation):
        return
    if loc.root.exists() and not loc.root.is_dir():
        raise LocationError(f"--{role} {loc.root}: is a file, not a folder")
    if must_exist and not loc.root.exists():
        raise LocationError(f"--{role} {loc.root}: no such folder")
    for parent in loc.root.parents:  # a file in the way makes the folder impossible to create
        if parent.exists():
            if not parent.is_dir():
                raise LocationError(f"--{role} {loc.root}: {parent} is a file, not a folder")
            break


def open_locations(
    bronze: str, silver: str, quarantine: str | None, report: str | None, connection_string: str | None
) -> RunLocations:
    """Every location of a run, checked before anything is locked or read (errors exit 2)."""
    quarantine = quarantine or sibling_uri(silver, "quarantine")
    uris = {"bronze": bronze, "silver": silver, "quarantine": quarantine}
    if report is not None:
        uris["report"] = report
    for a in uris:
        for b in uris:
            if a < b and uris[a].rstrip("/") == uris[b].rstrip("/"):
                raise LocationError(f"--{a} and --{b} are the same location ({uris[a]!r}); they must differ")
    locs = {k: open_location(v, connection_string=connection_string) for k, v in uris.items()}
    _check_local("bronze", locs["bronze"], must_exist=True)
    for role in ("silver", "quarantine", "report"):
        if role in locs:
            _check_local(role, locs[role])
    return RunLocations(locs["bronze"], locs["silver"], locs["quarantine"], locs.get("report"))


# -- publishing ------------------------------------------------------------------------------------------


def _link_or_copy(src: Path, dst: Path) -> None:
    """Hard link when ``src`` is on the same filesystem, else a copy (a work folder elsewhere)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def recover_local(silver: Path) -> None:
    """Undo an interrupted swap: restore the old snapshot if silver is missing, drop leftovers.
    Only under the silver lock: the staging folders of a live run look exactly like leftovers."""
    parent = silver.parent
    if not parent.is_dir():
        return
    olds = sorted(parent.glob(f".{silver.name}.old-*"))
    if not silver.exists() and olds:
        os.replace(olds[-1], silver)
        olds = olds[:-1]
    for leftover in [*olds, *parent.glob(f".{silver.name}.new-*"), *parent.glob(f".{silver.name}.affected-*")]:
        shutil.rmtree(leftover, ignore_errors=True)


def swap_in(new: Path, target: Path, old: Path) -> None:
    """Replace ``target`` with the complete directory ``new`` (two renames, then cleanup)."""
    if target.exists():
        os.replace(target, old)
        checkpoint("silver-moved-aside")
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)


class LocalPublisher:
    """A silver folder: the snapshot is staged next to it (same filesystem) and renamed into place."""

    def __init__(self, silver: Path) -> None:
        self.silver = silver
        tag = f"{int(time.time() * 1000)}-{os.getpid()}"  # time first: names sort by age
        self.staged = silver.parent / f".{silver.name}.new-{tag}"
        self.old = silver.parent / f".{silver.name}.old-{tag}"

    def recover(self) -> None:
        recover_local(self.silver)

    def staging(self, work: Path) -> Path:
        self.silver.parent.mkdir(parents=True, exist_ok=True)
        return self.staged

    def publish(self, snapshot: Path, affected: list[str], *, full: bool, before_commit: Callable[[], None], say: Say) -> None:
        before_commit()
        swap_in(snapshot, self.silver, self.old)

    def discard(self) -> None:
        shutil.rmtree(self.staged, ignore_errors=True)


class BlobPublisher:
    """A blob prefix: the snapshot is staged in the work folder and uploaded, state blob last."""

    def __init__(self, loc: BlobLocation) -> None:
        self.loc = loc

    def recover(self) -> None:
        """Nothing to undo: an interrupted upload left the old state blob, so the batch is redone
        and stale partition files are deleted by the next publish."""

    def staging(self, work: Path) -> Path:
        return work / "snapshot"

    def publish(self, snapshot: Path, affected: list[str], *, full: bool, before_commit: Callable[[], None], say: Say) -> None:
        loc = self.loc
        loc.ensure_container()
        wanted = {p.relative_to(snapshot).as_posix() for p in snapshot.glob("*=*/*.parquet")}
        existing = {f.name for f in loc.list(".parquet") if "=" in f.name.split("/")[0]}
        touched = set(affected)
        to_upload = sorted(n for n in wanted if full or n.split("/")[0] in touched or n not in existing)
        for i, name in enumerate(to_upload, start=1):
            before_commit()
            say(f"uploading silver {i}/{len(to_upload)}: {name}")
            loc.upload(snapshot / name, name)
            if i == 1:
                checkpoint("silver-uploading")
        for name in sorted(existing - wanted):
            loc.delete(name)
        before_commit()
        loc.upload(snapshot / STATE_FILE, STATE_FILE)  # the commit record, last

    def discard(self) -> None:
        """The staged snapshot lives in the work folder, which goes with it."""


def publisher_for(loc) -> LocalPublisher | BlobPublisher:
    return LocalPublisher(loc.root) if isinstance(loc, LocalLocation) else BlobPublisher(loc)


def _batch_files(loc) -> set[str]:
    return {f.name for f in loc.list(".parquet") if f.name.startswith("batch-") and "/" not in f.name}


def _publish_quarantine(loc, file: Path, name: str) -> None:
    """Add the batch's quarantine file. Superseded ones go only after silver's commit (:func:`_prune_quarantine`)."""
    if isinstance(loc, BlobLocation):
        loc.ensure_container()
    loc.upload(file, name)


def _prune_quarantine(loc, keep: list[str], say: Say) -> None:
    """Delete the batch files silver's state does not list: those a full recompute superseded, and
    those of runs killed before their silver commit (their batch is redone)."""
    for name in sorted(_batch_files(loc) - set(keep)):
        say(f"removing quarantine file {name} (superseded, or of an interrupted run)")
        loc.delete(name)


# -- silver contents -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SilverStats:
    """What a silver snapshot holds, for the report: rows, partitions, and the distribution of every
    column the contract gives a code set (the emotions in the contract's order, the others by count)."""

    rows: int = 0
    partitions: int = 0
    distributions: dict[str, dict[str, int]] = field(default_factory=dict)

    def distribution(self, column: str) -> dict[str, int]:
        return self.distributions.get(column, {})


NULL_KEY = "(null)"


def code_columns(plan: CleaningPlan) -> list[str]:
    """Silver columns whose values come from a contract code set (emotion, context, source_channel, ...)."""
    coded = {f.name for f in plan.code_fields}
    return [c.name for c in plan.silver_data_columns if c.field in coded]


def silver_stats(snapshot: Path | None, plan: CleaningPlan, memory_limit: str) -> SilverStats:
    import duckdb

    if snapshot is None:
        return SilverStats()
    files = sorted(snapshot.glob("*=*/*.parquet"))
    if not files:
        return SilverStats()
    columns = code_columns(plan)
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    try:
        con.execute(f"SET memory_limit = '{memory_limit}'")
        glob = str(snapshot / "*=*" / "*.parquet")
        rel = f"read_parquet('{glob}', hive_partitioning = false)"
        total = scalar(con, f"SELECT count(*) FROM {rel}")  # Parquet metadata only
        rows = []
        if columns:  # every distribution from one scan (one grouping set per code column)
            which = ", ".join(f"GROUPING({c})" for c in columns)
            sets = ", ".join(f"({c})" for c in columns)
            rows = con.execute(
                f"SELECT {which}, {', '.join(columns)}, count(*) AS n FROM {rel} GROUP BY GROUPING SETS ({sets})"
            ).fetchall()
    finally:
        con.close()
    k = len(columns)
    distributions: dict[str, dict[str, int]] = {}
    for i, column in enumerate(columns):
        # JSON keys are strings: an empty optional value (a NULL context) is counted as "(null)".
        pairs = [(r[k + i] if r[k + i] is not None else NULL_KEY, r[-1]) for r in rows if r[i] == 0]
        distributions[column] = dict(sorted(pairs, key=lambda kv: (-kv[1], kv[0] is None, kv[0] or "")))
    emotion = next((c.name for c in plan.silver_data_columns if c.field == "emotion"), None)
    if emotion in distributions:  # the report's main chart: the contract's order, not the count order
        counted = distributions[emotion]
        order = plan.contract.emotions.canonical
        distributions[emotion] = {e: counted.get(e, 0) for e in order} | {v: n for v, n in counted.items() if v not in order}
    return SilverStats(total, len({f.parent.name for f in files}), distributions)


def _local_snapshot(loc, dest: Path, say: Say) -> Path:
    """The current silver as a local folder: the folder itself, or a download of the blobs."""
    if isinstance(loc, LocalLocation):
        return loc.root
    files = [f for f in loc.list(".parquet") if "=" in f.name.split("/")[0]]
    for i, f in enumerate(files, start=1):
        say(f"downloading silver {i}/{len(files)}: {f.name}")
        loc.download(f.name, dest / f.name)
    dest.mkdir(parents=True, exist_ok=True)
    return dest


def _assemble(snapshot: Path, keep: Path | None, affected: Path, affected_partitions: list[str]) -> None:
    """snapshot = untouched partitions of ``keep`` (hard links) + the rewritten ones from ``affected``."""
    snapshot.mkdir(parents=True, exist_ok=True)
    touched = set(affected_partitions)
    if keep is not None and keep.is_dir():
        for part in sorted(keep.iterdir()):
            if part.is_dir() and "=" in part.name and part.name not in touched:
                for f in sorted(part.glob("*.parquet")):
                    _link_or_copy(f, snapshot / part.name / f.name)
    if affected.is_dir():
        for part in sorted(affected.iterdir()):
            if part.is_dir():
                for f in sorted(part.glob("*.parquet")):
                    _link_or_copy(f, snapshot / part.name / f.name)


# -- the run ---------------------------------------------------------------------------------------------


@dataclass
class _Run:
    """One locked run inside its work folder; :meth:`execute` is the sequence of steps."""

    plan: CleaningPlan
    locs: RunLocations
    lock: SilverLock
    publisher: LocalPublisher | BlobPublisher
    work: Path
    settings: EngineSettings
    engine: Engine
    full: bool
    started_at: str
    started: float
    say: Say

    def execute(self) -> RunOutcome:
        locs, say = self.locs, self.say
        say(f"listing bronze files under {locs.bronze.uri}")
        listing = list(locs.bronze.list(BRONZE_SUFFIX))
        if not listing:
            raise SilverRunError(f"no bronze files (*{BRONZE_SUFFIX}) under {locs.bronze.uri}")
        fingerprint = contract_fingerprint(self.plan.contract)
        state = _read_state(locs.silver, full=self.full, say=say)
        if state is not None and locs.report is not None:
            from .report import deliver_pending

            if deliver_pending(state.get("last_report"), locs.report, self.work / "pending-report"):
                say(f"delivered the report of an interrupted run to {locs.report.uri}")
        if state is not None and "quarantine_batches" in state:
            _prune_quarantine(locs.quarantine, state["quarantine_batches"], say)
        fetched = Fetched(locs.bronze, self.work / "bronze")
        if state is not None and not self.full:
            state = confirm_merged(state, listing, fetched, say)
        decision = _decide(state, listing, fingerprint, self.full)
        say(f"mode: {decision.mode} ({decision.reason})")

        files = self._stage_bronze(decision, fetched)
        current: Path | None = None
        if decision.mode in ("incremental", "up-to-date"):
            current = _local_snapshot(locs.silver, self.work / "current", say)
        checkpoint("staged")
        memory_limit = self.settings.memory_limit
        rows_before = (
            silver_stats(current, self.plan, memory_limit).rows
            if current is not None
            else int((state or {}).get("silver_rows", 0))
        )
        if not decision.todo:
            outcome = self._outcome(decision, BatchResult(), rows_before, silver_stats(current, self.plan, memory_limit), None)
            self._write_report(outcome)
            return outcome

        # Named by content, not by the change hint: a hint is "" for a file listed within RACY_SECONDS
        # of its write, so the same bronze cleaned twice would get two names depending on timing.
        bid = batch_id([(f.name, f.size, fetched.get(f.name)[1]) for f in decision.todo])
        qname = f"batch-{bid}.parquet"
        qfile = self.work / "quarantine" / qname
        affected = self.work / "affected"  # beside the spill folder: the engine moves files by rename
        say(f"cleaning {len(files)} bronze file(s) with the {self.engine.name} engine")
        batch = self.engine.clean(
            self.plan,
            files,
            existing_silver=current,
            silver_out=affected,
            quarantine_file=qfile,
            spill_dir=self.work / "spill",
            progress=say,
        )
        checkpoint("batch-cleaned")
        try:
            snapshot = self.publisher.staging(self.work)
            _assemble(snapshot, current, affected, batch.affected_partitions)
            stats = silver_stats(snapshot, self.plan, memory_limit)
            total = stats.rows
            outcome = self._outcome(decision, batch, rows_before, stats, qname)
            report = self._report_dict(outcome) if locs.report is not None else None
            new_state: dict[str, Any] = {
                "version": STATE_VERSION,
                "contract_version": self.plan.contract.version,
                "contract_sha256": fingerprint,
                "updated_at": self.started_at,
                "silver_rows": total,
                "partitions": sorted({p.parent.name for p in snapshot.glob("*=*/*.parquet")}),
                "bronze": ({} if decision.mode == "full" else dict((state or {}).get("bronze", {})))
                | {
                    f.name: {"size": f.size, "fingerprint": f.fingerprint, "sha256": fetched.get(f.name)[1]}
                    for f in decision.todo
                },
                # The quarantine files that belong to this silver: a full recompute supersedes all others.
                "quarantine_batches": sorted(
                    {qname}
                    | (
                        set()
                        if decision.mode == "full"
                        else set((state or {}).get("quarantine_batches", _batch_files(locs.quarantine)))
                    )
                ),
            }
            if report is not None:  # committed with silver: the next run delivers it if this one dies first
                new_state["last_report"] = report
            (snapshot / STATE_FILE).write_text(json.dumps(new_state, indent=1, sort_keys=True), encoding="utf-8")
            checkpoint("snapshot-built")

            # Quarantine first, then silver with its state (which lists the quarantine files that belong
            # to it), then superseded quarantine files go. A crash in between only means the batch is
            # redone: the next run removes quarantine files its state does not list, then proceeds.
            self.lock.check()
            say(f"publishing quarantine to {locs.quarantine.uri}")
            _publish_quarantine(locs.quarantine, qfile, qname)
            checkpoint("quarantine-published")
            say(f"publishing silver to {locs.silver.uri}")
            self.publisher.publish(
                snapshot, batch.affected_partitions, full=decision.mode == "full", before_commit=self.lock.check, say=say
            )
        finally:
            self.publisher.discard()
        checkpoint("silver-published")
        _prune_quarantine(locs.quarantine, new_state["quarantine_batches"], say)
        self._write_report(outcome, report)
        return outcome

    def _stage_bronze(self, decision: _Plan, fetched: Fetched) -> list[tuple[Path, str]]:
        """(local path, bronze name) of every file to clean; blobs are downloaded to the work folder.
        Each file's sha256 is taken here, after its change hint was listed and before it is cleaned:
        a write in between moves the hint, and the next run compares the content again."""
        files = []
        for i, f in enumerate(decision.todo, start=1):
            if not isinstance(self.locs.bronze, LocalLocation):
                self.say(f"downloading bronze {i}/{len(decision.todo)}: {f.name}")
            files.append((fetched.get(f.name)[0], f.name))
        return files

    def _outcome(
        self, decision: _Plan, batch: BatchResult, rows_before: int, stats: SilverStats, qname: str | None
    ) -> RunOutcome:
        return RunOutcome(
            mode=decision.mode,
            mode_reason=decision.reason,
            bronze_files=[f.name for f in decision.todo],
            batch=batch,
            silver_rows_before=rows_before,
            silver_rows_after=stats.rows,
            silver_partitions=stats.partitions,
            emotions=stats.distribution("emotion"),
            channels=stats.distribution("source_channel"),
            silver_uri=self.locs.silver.uri,
            quarantine_uri=self.locs.quarantine.uri,
            quarantine_file=qname,
            seconds=time.perf_counter() - self.started,
            started_at=self.started_at,
            contract_version=self.plan.contract.version,
            engine=self.engine.name,
            distributions=stats.distributions,
            report_uri=self.locs.report.uri if self.locs.report is not None else None,
        )

    def _report_dict(self, outcome: RunOutcome) -> dict[str, Any]:
        from .report import report_dict

        return report_dict(outcome)

    def _write_report(self, outcome: RunOutcome, report: dict[str, Any] | None = None) -> None:
        if self.locs.report is None:
            return
        from .report import write_report_dict

        outcome.seconds = time.perf_counter() - self.started
        report = dict(report or self._report_dict(outcome), seconds=round(outcome.seconds, 3))
        self.say(f"writing the report to {self.locs.report.uri}")
        outcome.report = write_report_dict(report, self.locs.report, self.work / "report")


def _utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def run_silver(
    bronze: str,
    silver: str,
    *,
    quarantine: str | None = None,
    report: str | None = None,
    full: bool = False,
    contract: SilverContract | None = None,
    memory_limit: str = "1GB",
    threads: int | None = None,
    connection_string: str | None = None,
    work_dir: str | None = None,
    sort_output: bool = False,
    wait: float | None = None,
    progress: Callable[[str], None] | None = None,
    engine: Engine | None = None,
) -> RunOutcome:
    """Clean new bronze files into silver (and write the report when ``report`` is a location).

    ``wait``: None refuses at once when another run holds the silver lock (:class:`.lock.SilverBusyError`),
    a number of seconds waits that long, ``float('inf')`` waits as long as it takes.
    ``engine``: what cleans the batch (:mod:`.engines`); default DuckDB with ``memory_limit``/``threads``.
    See the module docstring for the guarantees."""
    say = progress or (lambda _m: None)
    started = time.perf_counter()
    started_at = _utc_now()
    plan = build_plan(contract)
    locs = open_locations(bronze, silver, quarantine, report, connection_string)
    root = work_root(work_dir)
    lock = lock_for(locs.silver)
    lock.acquire(wait, say)
    try:
        checkpoint("locked")
        publisher = publisher_for(locs.silver)
        publisher.recover()
        for folder in remove_stale(root):
            say(f"removed the work folder of an interrupted run: {folder}")
        for loc in (locs.quarantine, locs.report):
            if isinstance(loc, LocalLocation):
                loc.remove_partial()
        with WorkFolder(root) as work:
            checkpoint("cleaned")
            settings = EngineSettings(memory_limit=memory_limit, threads=threads, sort_output=sort_output)
            cleaner = engine if engine is not None else DuckDBEngine(settings)
            return _Run(plan, locs, lock, publisher, work, settings, cleaner, full, started_at, started, say).execute()
    finally:
        lock.release()
