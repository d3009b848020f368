"""File-level quarantine records on Spark equal the DuckDB engine's (issue 10; the runner-level
pre-check of emotion_platform/silver/prechecks.py, not part of the deployed script).

Bronze holds, beside a valid file: a file with no bytes, a file with only its header, a file whose
header differs (valid lines after it: none of them may reach silver), a header behind a UTF-8 BOM, a
file with lines that are not UTF-8 among valid ones, and a file whose only line is not UTF-8.
"""

from __future__ import annotations

from pathlib import Path

from emotion_platform.silver.engine import NOT_UTF8_DETAIL
from emotion_platform.silver.engines import SparkEngine

from ..silver.conftest import HEADER, bronze_line
from .test_spark_corpus import _uid, diff
from .test_spark_equality import run_both

FOLDER = "events/ingest_date=2026-01-05"


def _write(bronze: Path, name: str, data: bytes) -> None:
    path = bronze / FOLDER / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _lines(tag: str, n: int, **fields: str) -> list[bytes]:
    return [bronze_line(event_id=_uid("files", tag, str(i)), **fields).encode() for i in range(n)]


def odd_bronze(bronze: Path) -> None:
    head = HEADER.encode()
    _write(bronze, "a-valid.csv", b"\r\n".join([head, *_lines("valid", 5)]) + b"\r\n")
    _write(bronze, "b-empty.csv", b"")
    _write(bronze, "c-header-only.csv", head + b"\r\n")
    _write(bronze, "d-bad-header.csv", b"\r\n".join([head.replace(b"emotion", b"feeling"), *_lines("bad", 3)]) + b"\n")
    _write(bronze, "e-bom.csv", b"\xef\xbb\xbf" + b"\n".join([head, *_lines("bom", 2)]) + b"\n")
    latin1 = bronze_line(event_id=_uid("files", "latin1"), context="caf\u00e9").encode("latin-1")
    broken = bronze_line(event_id=_uid("files", "cut")).encode()[:-2] + b"\xe2\x82"  # a character cut short
    lone = bronze_line(event_id=_uid("files", "lone")).encode() + b"\xff"  # a byte no UTF-8 text holds
    _write(bronze, "f-not-utf8.csv",
           b"\r\n".join([head, *_lines("u8a", 2), latin1, *_lines("u8b", 2), broken, lone, *_lines("u8c", 1)]))
    _write(bronze, "g-only-not-utf8.csv", head + b"\n" + b"\xc3\x28,\xa0\xa1\n")


def test_file_records_and_not_utf8_lines_are_the_same_in_both_engines(tmp_path, spark, deployed_flow) -> None:
    odd_bronze(tmp_path / "bronze")
    outcomes, silvers = run_both(tmp_path, SparkEngine(deployed_flow), full=True)
    problems = diff(silvers)
    assert not problems, "\n".join(problems)
    d, s = outcomes["duckdb"].batch, outcomes["spark"].batch
    assert s.quarantined == d.quarantined and s.rows_in == d.rows_in and s.output_rows == d.output_rows == 12
    by_file = {}
    for q in silvers["spark"].quarantine:
        by_file.setdefault(q["source_file"].rsplit("/", 1)[-1], []).append((q["reason"], q["detail"]))
    assert [r for r, _d in by_file["b-empty.csv"]] == ["empty_file"]
    assert [r for r, _d in by_file["c-header-only.csv"]] == ["empty_file"]
    assert [r for r, _d in by_file["d-bad-header.csv"]] == ["bad_header"]
    assert by_file["f-not-utf8.csv"] == [("malformed_line", NOT_UTF8_DETAIL)] * 3
    assert by_file["g-only-not-utf8.csv"] == [("malformed_line", NOT_UTF8_DETAIL)]
    assert "a-valid.csv" not in by_file and "e-bom.csv" not in by_file
    shown = {q["raw_line_or_record"] for q in silvers["spark"].quarantine if q["source_file"].endswith("g-only-not-utf8.csv")}
    assert shown == {"\\xc3(,\\xa0\\xa1"}  # invalid bytes shown as escapes, nothing guessed


def test_a_batch_of_only_unreadable_files_runs_on_spark(tmp_path, spark, deployed_flow) -> None:
    """Every file set aside before the script runs: the script reads no line, the records stand."""
    _write(tmp_path / "bronze", "b-empty.csv", b"")
    _write(tmp_path / "bronze", "d-bad-header.csv", b"event_id\n" + bronze_line().encode() + b"\n")
    outcomes, silvers = run_both(tmp_path, SparkEngine(deployed_flow), full=True)
    assert not diff(silvers)
    assert sorted(q["reason"] for q in silvers["spark"].quarantine) == ["bad_header", "empty_file"]
    assert silvers["spark"].rows == [] and outcomes["spark"].batch.output_rows == 0
