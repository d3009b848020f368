"""Tools of the fault suite: real CLI processes killed or paused at named steps, and fingerprints of
what silver, quarantine, the state file and the disk hold afterwards.

A run is killed with ``EMOTION_SILVER_FAULT=<step>=kill`` (it sends itself SIGKILL at that step) or
paused with ``<step>=pause:<dir>`` (see :mod:`emotion_platform.silver.faults`), so every kill lands at
a known point whatever the machine's load; waits are bounded by ``DEADLINE_S``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from emotion_platform.silver.faults import FAULT_ENV
from emotion_platform.silver.runner import STATE_FILE

DEADLINE_S = 180.0  # generous: the machine is shared; a step is normally reached within seconds
RUN_ARGS = ("--threads", "1", "--memory-limit", "256MB")


def silver_cmd(root: Path, *extra: str, bronze: Path | str | None = None, silver: str | None = None) -> list[str]:
    return [sys.executable, "-m", "emotion_platform", "silver", "--bronze", str(bronze or root / "bronze"),
            "--silver", silver or str(root / "silver"), "--work-dir", str(root / "work"), *RUN_ARGS, *extra]


def env_with(fault: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != FAULT_ENV}
    if fault:
        env[FAULT_ENV] = fault
    return env | extra


def run_cli(cmd: list[str], *, fault: str | None = None, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env_with(fault, **env), capture_output=True, text=True, timeout=DEADLINE_S)


def start_cli(cmd: list[str], *, fault: str | None = None, **env: str) -> subprocess.Popen:
    return subprocess.Popen(cmd, env=env_with(fault, **env), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def wait_for(path: Path, proc: subprocess.Popen | None = None) -> None:
    """Until ``path`` exists (a paused run reached its step); fails if the run ended first."""
    deadline = time.monotonic() + DEADLINE_S
    while not path.exists():
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"the run ended ({proc.returncode}) before {path.name}: {err[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} did not appear within {DEADLINE_S:.0f} s")
        time.sleep(0.05)


def finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=DEADLINE_S)
    return proc.returncode, out, err


# -- fingerprints ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Fingerprint:
    rows: int
    sha256: str


def _rows_fingerprint(sql: str) -> Fingerprint:
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        rows = con.execute(sql).fetchall()
    finally:
        con.close()
    h = hashlib.sha256()
    for r in sorted(repr(r) for r in rows):
        h.update(r.encode() + b"\n")
    return Fingerprint(len(rows), h.hexdigest())


def silver_fingerprint(silver: Path) -> Fingerprint:
    """Row count and a hash of every row (the partition folder included) of a local silver."""
    if not list(silver.glob("*=*/*.parquet")):
        return Fingerprint(0, "")
    return _rows_fingerprint(f"SELECT * FROM read_parquet('{silver}/*=*/*.parquet', hive_partitioning = true, "
                             "hive_types = {'event_date': DATE})")


def quarantine_fingerprint(quarantine: Path) -> Fingerprint:
    if not list(quarantine.glob("*.parquet")):
        return Fingerprint(0, "")
    return _rows_fingerprint(f"SELECT * FROM read_parquet('{quarantine}/*.parquet')")


def parquet_bytes_fingerprint(files: dict[str, bytes], *, hive: bool) -> Fingerprint:
    """The same fingerprints for Parquet blobs (name -> content), via a scratch folder."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="fingerprint-") as tmp:
        for name, data in files.items():
            path = Path(tmp) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        return silver_fingerprint(Path(tmp)) if hive else quarantine_fingerprint(Path(tmp))


def state_summary(raw: bytes | str) -> dict:
    """What a state file must agree on with a clean run's (not its time stamp or report, nor the
    bronze files' change hints, which depend on the copy and its age: their size and sha256 do not)."""
    state = json.loads(raw)
    summary = {k: state[k] for k in ("version", "contract_sha256", "silver_rows", "partitions", "bronze")}
    summary["bronze"] = {name: {"size": e["size"], "sha256": e.get("sha256")} for name, e in summary["bronze"].items()}
    return summary


def read_state(silver: Path) -> dict | None:
    path = silver / STATE_FILE
    return state_summary(path.read_bytes()) if path.exists() else None


@dataclass(frozen=True)
class Outcome:
    """Everything a run leaves that a clean run must match."""

    silver: Fingerprint
    quarantine: Fingerprint
    state: dict | None

    @classmethod
    def of(cls, root: Path) -> "Outcome":
        return cls(silver_fingerprint(root / "silver"), quarantine_fingerprint(root / "quarantine"),
                   read_state(root / "silver"))


def hidden_files(folder: Path) -> list[str]:
    """Temporary (dot-named) files or folders anywhere below ``folder``."""
    if not folder.is_dir():
        return []
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob(".*"))


def copy_bronze(src: Path, dest: Path, names: list[str]) -> None:
    """Copy generated bronze files keeping their mtime: the same fingerprints in every copy."""
    for name in names:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / name, target)
