"""One silver run: which bronze files to clean, merging into silver, and publishing atomically.

Incremental by default: silver keeps a state file (``_silver_state.json``) listing the bronze files
already merged and a fingerprint of the contract. A run cleans only bronze files it has not seen and
merges them into the partitions they affect; re-running over the same bronze changes nothing. It
recomputes everything from bronze (``full``) when asked, when there is no state yet, when the
contract changed, or when a bronze file it already merged has changed.

Publishing never exposes a half-written silver:

- local folder: the new snapshot (untouched partitions hard-linked, affected ones new, the state
  file inside) is built next to silver and swapped in with two renames; an interrupted swap is
  undone at the start of the next run;
- blob prefix: every blob is replaced in one commit, the blobs of the new snapshot are uploaded
  first, stale ones deleted after, and the state blob, written last, is the commit record.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from emotion_events.contract import SilverContract

from .engine import BatchResult, BronzeError, EngineSettings, run_batch
from .plan import CleaningPlan, build_plan
from .storage import BlobLocation, LocalLocation, LocationError, open_location, sibling_uri

STATE_FILE = "_silver_state.json"
STATE_VERSION = 1
BRONZE_SUFFIX = ".csv"


class SilverRunError(RuntimeError):
    """The run cannot proceed; the message says what to change."""


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
    extra: dict[str, Any] = field(default_factory=dict)


def contract_fingerprint(contract: SilverContract) -> str:
    return hashlib.sha256(json.dumps(contract.raw, sort_keys=True, default=str).encode()).hexdigest()


def batch_id(files: list[tuple[str, int, str]]) -> str:
    h = hashlib.sha256()
    for name, size, fp in sorted(files):
        h.update(f"{name}\0{size}\0{fp}\n".encode())
    return h.hexdigest()[:16]


# -- local snapshot swap ---------------------------------------------------------------------------------

def _staging_dirs(silver: Path) -> tuple[Path, Path]:
    tag = f"{int(time.time() * 1000)}-{os.getpid()}"  # time first: names sort by age
    return (silver.parent / f".{silver.name}.new-{tag}", silver.parent / f".{silver.name}.old-{tag}")


def recover_local(silver: Path) -> None:
    """Undo an interrupted swap: restore the old snapshot if silver is missing, drop leftovers."""
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
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)


def _link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


# -- the run ---------------------------------------------------------------------------------------------

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
    changed = [f.name for f in listing if f.name in seen and
               (seen[f.name]["size"] != f.size or seen[f.name]["fingerprint"] != f.fingerprint)]
    if changed:
        return _Plan("full", f"bronze file {changed[0]} changed after it was merged", listing)
    new = [f for f in listing if f.name not in seen]
    if not new:
        return _Plan("up-to-date", "no new bronze files", [])
    return _Plan("incremental", f"{len(new)} new bronze file(s)", new)


def _read_state(loc) -> dict | None:
    raw = loc.read_bytes(STATE_FILE)
    if raw is None:
        return None
    try:
        state = json.loads(raw)
    except ValueError as exc:
        raise SilverRunError(f"{loc.uri}/{STATE_FILE} is not valid JSON ({exc}); "
                             "delete it or run with --full") from None
    if state.get("version") != STATE_VERSION:
        return None
    return state


def _silver_stats(snapshot: Path, plan: CleaningPlan, memory_limit: str) -> tuple[int, dict, dict, int]:
    import duckdb

    files = sorted(snapshot.glob("*=*/*.parquet"))
    if not files:
        return 0, {}, {}, 0
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    try:
        con.execute(f"SET memory_limit = '{memory_limit}'")
        glob = str(snapshot / "*=*" / "*.parquet")
        rel = f"read_parquet('{glob}', hive_partitioning = false)"
        total = con.execute(f"SELECT count(*) FROM {rel}").fetchone()[0]  # Parquet metadata only
        # Both distributions from one scan; each ordered by count (descending), then by value.
        rows = con.execute(f"""SELECT GROUPING(emotion) AS by_channel, emotion, source_channel, count(*) AS n
                               FROM {rel} GROUP BY GROUPING SETS ((emotion), (source_channel))""").fetchall()
    finally:
        con.close()
    def ordered(pairs: list[tuple]) -> dict:
        return dict(sorted(pairs, key=lambda kv: (-kv[1], kv[0] is None, kv[0] or "")))
    emotions = ordered([(e, n) for by_channel, e, _c, n in rows if not by_channel])
    channels = ordered([(c, n) for by_channel, _e, c, n in rows if by_channel])
    partitions = len({f.parent.name for f in files})
    # Canonical order for the report: the contract's order, not the count order.
    order = plan.contract.emotions.canonical
    emotions = {e: emotions.get(e, 0) for e in order} | {k: v for k, v in emotions.items() if k not in order}
    return total, emotions, channels, partitions


def run_silver(bronze: str, silver: str, *, quarantine: str | None = None, full: bool = False,
               contract: SilverContract | None = None, memory_limit: str = "1GB", threads: int | None = None,
               connection_string: str | None = None, work_dir: str | None = None, sort_output: bool = False,
               progress: Callable[[str], None] | None = None) -> RunOutcome:
    """Clean new bronze files into silver; see the module docstring for the guarantees."""
    say = progress or (lambda _m: None)
    started = time.perf_counter()
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    plan = build_plan(contract)
    quarantine = quarantine or sibling_uri(silver, "quarantine")
    uris = {"bronze": bronze, "silver": silver, "quarantine": quarantine}
    for a in uris:
        for b in uris:
            if a < b and uris[a].rstrip("/") == uris[b].rstrip("/"):
                raise LocationError(f"--{a} and --{b} are the same location ({uris[a]!r}); they must differ")
    bronze_loc = open_location(bronze, connection_string=connection_string)
    silver_loc = open_location(silver, connection_string=connection_string)
    quarantine_loc = open_location(quarantine, connection_string=connection_string)
    if isinstance(silver_loc, LocalLocation):
        recover_local(silver_loc.root)

    say(f"listing bronze files under {bronze_loc.uri}")
    listing = [f for f in bronze_loc.list(BRONZE_SUFFIX)]
    if not listing:
        raise SilverRunError(f"no bronze files (*{BRONZE_SUFFIX}) under {bronze_loc.uri}")
    fingerprint = contract_fingerprint(plan.contract)
    state = _read_state(silver_loc)
    decision = _decide(state, listing, fingerprint, full)
    say(f"mode: {decision.mode} ({decision.reason})")

    local_silver = silver_loc.root if isinstance(silver_loc, LocalLocation) else None
    if work_dir:  # a work folder that does not exist yet is created, like silver and quarantine
        Path(work_dir).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="silver-", dir=work_dir) as tmp_name:
        tmp = Path(tmp_name)
        # Local silver: build the new snapshot next to it, so files move by hard link and rename.
        if local_silver is not None:
            local_silver.parent.mkdir(parents=True, exist_ok=True)
            snapshot, old = _staging_dirs(local_silver)
            affected = snapshot.with_name(snapshot.name.replace(".new-", ".affected-"))
        else:
            snapshot, old, affected = tmp / "snapshot", tmp / "old", tmp / "affected"
        try:
            settings = EngineSettings(memory_limit=memory_limit, threads=threads, sort_output=sort_output)
            outcome = _run_in(plan, decision, state, fingerprint, bronze_loc, silver_loc, quarantine_loc,
                              tmp, snapshot, old, affected, settings, started_at, say)
        finally:
            for leftover in (snapshot, affected):
                if leftover.exists() and leftover.parent != tmp:
                    shutil.rmtree(leftover, ignore_errors=True)
    total, emotions, channels, partitions, rows_before, batch, qname = outcome
    return RunOutcome(
        mode=decision.mode, mode_reason=decision.reason, bronze_files=[f.name for f in decision.todo],
        batch=batch, silver_rows_before=rows_before, silver_rows_after=total, silver_partitions=partitions,
        emotions=emotions, channels=channels, silver_uri=silver_loc.uri, quarantine_uri=quarantine_loc.uri,
        quarantine_file=qname, seconds=time.perf_counter() - started, started_at=started_at,
        contract_version=plan.contract.version,
    )


def _run_in(plan, decision, state, fingerprint, bronze_loc, silver_loc, quarantine_loc, tmp: Path,
            snapshot: Path, old: Path, affected: Path, settings: EngineSettings, started_at: str, say):
    memory_limit = settings.memory_limit
    # 1. bronze to local paths (local bronze is read in place).
    files: list[tuple[Path, str]] = []
    for i, f in enumerate(decision.todo, start=1):
        if isinstance(bronze_loc, LocalLocation):
            files.append((bronze_loc.path(f.name), f.name))
        else:
            say(f"downloading bronze {i}/{len(decision.todo)}: {f.name}")
            dest = tmp / "bronze" / f.name
            bronze_loc.download(f.name, dest)
            files.append((dest, f.name))

    # 2. existing silver as a local folder (for an incremental merge, or to report an up-to-date one).
    current: Path | None = None
    if decision.mode in ("incremental", "up-to-date"):
        current = _local_snapshot(silver_loc, tmp / "current", say)
    rows_before = _silver_stats(current, plan, memory_limit)[0] if current is not None else int(
        (state or {}).get("silver_rows", 0))

    batch = BatchResult()
    qname: str | None = None
    if not decision.todo:
        total, emotions, channels, partitions = _silver_stats(current, plan, memory_limit)
        return total, emotions, channels, partitions, rows_before, batch, qname

    bid = batch_id([(f.name, f.size, f.fingerprint) for f in decision.todo])
    qname = f"batch-{bid}.parquet"
    batch = run_batch(plan, files, existing_silver=current, silver_out=affected,
                      quarantine_file=tmp / "quarantine" / qname, spill_dir=tmp / "spill",
                      settings=settings, progress=say)
    # 3. the complete new snapshot: untouched partitions as they are, affected ones rewritten.
    _assemble(snapshot, current, affected, batch.affected_partitions)
    total, emotions, channels, partitions = _silver_stats(snapshot, plan, memory_limit)
    new_state = {
        "version": STATE_VERSION,
        "contract_version": plan.contract.version,
        "contract_sha256": fingerprint,
        "updated_at": started_at,
        "silver_rows": total,
        "partitions": sorted({p.parent.name for p in snapshot.glob("*=*/*.parquet")}),
        "bronze": ({} if decision.mode == "full" else dict((state or {}).get("bronze", {}))) | {
            f.name: {"size": f.size, "fingerprint": f.fingerprint} for f in decision.todo},
    }
    (snapshot / STATE_FILE).write_text(json.dumps(new_state, indent=1, sort_keys=True), encoding="utf-8")

    # 4. publish: quarantine first, then silver with its state. A crash in between only means the batch
    # is redone next time, which rewrites the same quarantine file and merges to the same rows.
    say(f"publishing quarantine to {quarantine_loc.uri}")
    _publish_quarantine(quarantine_loc, tmp / "quarantine" / qname, qname, replace_all=decision.mode == "full")
    say(f"publishing silver to {silver_loc.uri}")
    if isinstance(silver_loc, LocalLocation):
        swap_in(snapshot, silver_loc.root, old)
    else:
        _publish_blob_silver(silver_loc, snapshot, batch.affected_partitions, full=decision.mode == "full", say=say)
    return total, emotions, channels, partitions, rows_before, batch, qname


def _local_snapshot(loc, dest: Path, say) -> Path:
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


def _publish_quarantine(loc, file: Path, name: str, *, replace_all: bool) -> None:
    if isinstance(loc, BlobLocation):
        loc.ensure_container()
    loc.upload(file, name)
    if replace_all:  # a full recompute re-derives every quarantined line: older batches are superseded
        for f in loc.list(".parquet"):
            if f.name != name and f.name.startswith("batch-") and "/" not in f.name:
                loc.delete(f.name)


def _publish_blob_silver(loc: BlobLocation, snapshot: Path, affected: list[str], *, full: bool, say) -> None:
    loc.ensure_container()
    wanted = {p.relative_to(snapshot).as_posix() for p in snapshot.glob("*=*/*.parquet")}
    existing = {f.name for f in loc.list(".parquet") if "=" in f.name.split("/")[0]}
    touched = set(affected)
    to_upload = sorted(n for n in wanted if full or n.split("/")[0] in touched or n not in existing)
    for i, name in enumerate(to_upload, start=1):
        say(f"uploading silver {i}/{len(to_upload)}: {name}")
        loc.upload(snapshot / name, name)
    for name in sorted(existing - wanted):
        loc.delete(name)
    loc.upload(snapshot / STATE_FILE, STATE_FILE)  # the commit record, last


