"""Helpers for the silver tests: hand-written bronze files, generated bronze, reading silver back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

import emotion_platform  # noqa: F401  (sets JSII_NODE before anything imports cdktf)
from emotion_events.contract import default_contract

HEADER = ",".join(default_contract().bronze_header)


def bronze_line(**overrides: str) -> str:
    """A valid bronze line; keyword arguments replace single fields."""
    fields = {
        "event_id": "11111111-1111-4111-8111-111111111111",
        "user_id": "u_0123456789abcdef",
        "emotion": "joy",
        "intensity": "0.50",
        "valence": "0.250",
        "arousal": "0.600",
        "context": "work",
        "source_channel": "web",
        "device_tz": "Europe/Paris",
        "occurred_at": "2026-01-05T08:15:30.123+01:00",
        "recorded_at": "2026-01-05T08:15:31.123+01:00",
    }
    unknown = set(overrides) - set(fields)
    assert not unknown, unknown
    fields.update(overrides)
    return ",".join(fields[c] for c in default_contract().bronze_header)


def write_bronze(root: Path, lines: list[str], name: str = "events/ingest_date=2026-01-05/a.csv",
                 header: str = HEADER, terminator: str = "\r\n") -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((terminator.join([header, *lines]) + terminator).encode("utf-8"))
    return path


@dataclass
class Silver:
    rows: list[dict]
    quarantine: list[dict]

    def by_id(self) -> dict[str, dict]:
        return {r["event_id"]: r for r in self.rows}

    def reasons(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for q in self.quarantine:
            out[q["reason"]] = out.get(q["reason"], 0) + 1
        return out


def read_silver(silver: Path, quarantine: Path | None = None) -> Silver:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    rows: list[dict] = []
    if list(silver.glob("*=*/*.parquet")):
        rel = con.sql(f"SELECT * FROM read_parquet('{silver}/*=*/*.parquet', hive_partitioning = true, "
                      "hive_types = {'event_date': DATE}) ORDER BY event_id")
        rows = [dict(zip(rel.columns, r)) for r in rel.fetchall()]
    qrows: list[dict] = []
    if quarantine is not None and list(quarantine.glob("*.parquet")):
        rel = con.sql(f"SELECT * FROM read_parquet('{quarantine}/*.parquet') ORDER BY source_file, raw_line_or_record")
        qrows = [dict(zip(rel.columns, r)) for r in rel.fetchall()]
    con.close()
    return Silver(rows, qrows)


@pytest.fixture
def clean(tmp_path):
    """``clean(lines, **run_kwargs)`` writes one bronze file, runs the engine, returns what silver holds."""
    from emotion_platform.silver.runner import run_silver

    def run(lines: list[str], **kwargs) -> Silver:
        bronze = tmp_path / "bronze"
        write_bronze(bronze, lines)
        run_silver(str(bronze), str(tmp_path / "silver"), quarantine=str(tmp_path / "quarantine"),
                   full=True, memory_limit="256MB", threads=1, **kwargs)
        return read_silver(tmp_path / "silver", tmp_path / "quarantine")

    return run


def generate(out_dir: Path, rows: int, seed: int, dirty_ratio: float = 0.05, run_id: str | None = None, **kw):
    """Bronze from the project's generator (its manifest is the ground truth)."""
    from emotion_events.generator import GeneratorParams, write_local

    return write_local(GeneratorParams(rows=rows, seed=seed, dirty_ratio=dirty_ratio, **kw), out_dir,
                       run_id=run_id or f"seed{seed}-r{int(dirty_ratio * 1000)}")


def manifest(result) -> dict:
    return json.loads(Path(result.manifest_path).read_text())


@pytest.fixture(scope="session")
def java():
    """A JVM (the project's Java, see tests/silver/java.py) shared by the whole test session."""
    from .java import start_java

    jvm = start_java()
    yield jvm
    jvm.gateway.shutdown()
