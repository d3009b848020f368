"""The contract's explicit line, file, number, timestamp and tie-break rules, through the DuckDB engine,
on bronze written by hand (byte for byte: line endings, BOMs and bad bytes are the point)."""

from __future__ import annotations

from pathlib import Path

import pytest

from emotion_platform.silver.runner import run_silver
from emotion_platform.silver.sql import CONTROL_DETAIL

from .conftest import HEADER, bronze_line, read_silver

NAME = "events/ingest_date=2026-01-05/a.csv"


def eid(n: int) -> str:
    return f"11111111-1111-4111-8111-11111111{n:04d}"


def run(tmp_path: Path, files: dict[str, bytes], **kw):
    bronze = tmp_path / "b"
    for name, data in files.items():
        p = bronze / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    run_silver(str(bronze), str(tmp_path / "s"), quarantine=str(tmp_path / "q"), threads=1,
               memory_limit="256MB", **kw)
    return read_silver(tmp_path / "s", tmp_path / "q")


def lines(*items: str, header: str = HEADER, end: str = "\r\n") -> bytes:
    return (end.join([header, *items]) + end).encode()


def records(silver) -> list[tuple]:
    return sorted((q["raw_line_or_record"], q["reason"], q["detail"]) for q in silver.quarantine)


# -- line endings, BOM, blank lines, control characters ---------------------------------------------

def test_mixed_line_endings_are_read_line_by_line_and_a_lone_cr_makes_its_line_malformed(tmp_path) -> None:
    a, b, c, d = (bronze_line(event_id=eid(i)) for i in range(4))
    data = (HEADER + "\r\n" + a + "\n" + b + "\r\n" + c[:20] + "\r" + c[20:] + "\r\n" + d + "\r\r\n").encode()
    silver = run(tmp_path, {NAME: data})
    assert sorted(silver.by_id()) == [eid(0), eid(1)]
    assert records(silver) == sorted([(c[:20] + "\r" + c[20:], "malformed_line", CONTROL_DETAIL),
                                      (d + "\r", "malformed_line", CONTROL_DETAIL)])
    assert {q["source_file"] for q in silver.quarantine} == {NAME}


def test_a_file_with_cr_only_line_endings_has_no_valid_header(tmp_path) -> None:
    silver = run(tmp_path, {NAME: lines(bronze_line(), end="\r")})
    assert silver.rows == [] and [q["reason"] for q in silver.quarantine] == ["bad_header"]


def test_a_bom_is_stripped_and_blank_or_whitespace_only_lines_are_skipped(tmp_path) -> None:
    data = b"\xef\xbb\xbf" + lines(bronze_line(event_id=eid(1)), "", "   ", "\t \t", bronze_line(event_id=eid(2)), end="\n")
    silver = run(tmp_path, {NAME: data})
    assert sorted(silver.by_id()) == [eid(1), eid(2)] and silver.quarantine == []


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x7f", "\u0085", "\u2028", "\u2029", "\x0b", "\x0c"])
def test_a_control_character_or_line_separator_makes_the_line_malformed(tmp_path, char) -> None:
    bad = bronze_line(context="work" + char)
    silver = run(tmp_path, {NAME: lines(bad, bronze_line(event_id=eid(2)))})
    assert [r["event_id"] for r in silver.rows] == [eid(2)]
    assert records(silver) == [(bad, "malformed_line", CONTROL_DETAIL)]


def test_unicode_spaces_are_not_whitespace(tmp_path) -> None:
    silver = run(tmp_path, {NAME: lines(bronze_line(emotion="joy\u00a0"), bronze_line(event_id=eid(2), valence="\u20030.5"))})
    assert sorted(q["reason"] for q in silver.quarantine) == ["bad_number", "unknown_code"]


# -- files ---------------------------------------------------------------------------------------------

def test_empty_and_header_only_files_are_one_record_each_and_the_run_goes_on(tmp_path) -> None:
    silver = run(tmp_path, {"events/d/empty.csv": b"", "events/d/header.csv": (HEADER + "\r\n").encode(),
                            "events/d/ok.csv": lines(bronze_line())})
    assert len(silver.rows) == 1
    got = sorted((q["source_file"], q["reason"], q["detail"]) for q in silver.quarantine)
    assert got == [("events/d/empty.csv", "empty_file", "the file has no bytes"),
                   ("events/d/header.csv", "empty_file", "the file has a header and no line")]


def test_only_bad_files_still_complete_the_run(tmp_path) -> None:
    silver = run(tmp_path, {"events/d/empty.csv": b"", "events/d/other.csv": lines(bronze_line(), header="a,b")})
    assert silver.rows == [] and sorted(q["reason"] for q in silver.quarantine) == ["bad_header", "empty_file"]


def test_a_bad_file_does_not_fail_the_next_run_and_is_not_quarantined_twice(tmp_path) -> None:
    bad = lines(bronze_line(event_id=eid(1)), "x\xe9y").replace("x\xe9y".encode(), b"x\xe9y")
    first = run(tmp_path, {NAME: bad})
    assert [q["detail"] for q in first.quarantine] == ["the line is not valid UTF-8"]
    assert first.quarantine[0]["raw_line_or_record"] == "x\\xe9y"
    second = run(tmp_path, {"events/ingest_date=2026-01-06/b.csv": lines(bronze_line(event_id=eid(2)))})
    assert sorted(second.by_id()) == [eid(1), eid(2)] and len(second.quarantine) == 1
    again = run(tmp_path, {}, full=True)
    assert sorted(again.by_id()) == [eid(1), eid(2)] and len(again.quarantine) == 1


# -- numbers, timestamps, tie-break ----------------------------------------------------------------------

def test_percent_form_and_signed_zero(tmp_path) -> None:
    silver = run(tmp_path, {NAME: lines(bronze_line(event_id=eid(1), intensity="73 %", valence="-0"),
                                        bronze_line(event_id=eid(2), intensity="-0%", valence="-0.0e1"),
                                        bronze_line(event_id=eid(3), intensity="73  %"))})
    rows = silver.by_id()
    assert rows[eid(1)]["intensity"] == 0.73 and rows[eid(3)]["intensity"] == 0.73
    for v in (rows[eid(1)]["valence"], rows[eid(2)]["valence"], rows[eid(2)]["intensity"]):
        assert str(v) == "0.0"  # not -0.0


def test_signed_zero_ties_with_zero_whatever_the_line_order(tmp_path) -> None:
    a = bronze_line(valence="-0", emotion="fear")
    b = bronze_line(valence="0", emotion="anger")
    one = run(tmp_path / "1", {NAME: lines(a, b)}).rows
    two = run(tmp_path / "2", {NAME: lines(b, a)}).rows
    assert one == two and one[0]["emotion"] == "anger"  # the tie goes on to the next column


def test_a_missing_context_wins_a_tie_nulls_first(tmp_path) -> None:
    silver = run(tmp_path, {NAME: lines(bronze_line(context="work"), bronze_line(context=""))})
    assert [r["context"] for r in silver.rows] == [None]


@pytest.mark.parametrize("value, ok", [
    ("2026-1-05T08:15:30.123+01:00", False), ("2026-01-05T8:15:30.123+01:00", False),
    ("2024-02-29T08:15:30.123+01:00", True), ("2026-02-29T08:15:30.123+01:00", False),
    ("2026-02-30T08:15:30.123+01:00", False), ("2026-13-05T08:15:30.123+01:00", False),
    ("2026-01-05T08:15:30.123+14:00", True), ("2026-01-05T08:15:30.123+14:01", False),
    ("2026-01-05T08:15:30.123-12:00", True), ("2026-01-05T08:15:30.123-12:30", False),
    ("2026-01-05T08:15:30.123+05:60", False), ("2026-01-05T08:15:30.123+99:99", False),
    ("1899-12-31T23:59:59.000Z", False), ("1900-01-01T00:00:00.000Z", True), ("0000-03-01T12:00:00.000+01:00", False),
    ("1767597330123", True), ("17675973301230", False), ("1767597330123456", False),
])
def test_timestamp_widths_calendar_and_ranges(tmp_path, value, ok) -> None:
    silver = run(tmp_path, {NAME: lines(bronze_line(occurred_at=value, recorded_at="9998-12-31T23:59:59.999-12:00"))})
    assert (len(silver.rows) == 1) is ok, silver.quarantine
    if not ok:
        assert [q["reason"] for q in silver.quarantine] == ["bad_timestamp"]


def test_the_latest_instant_lands_in_a_four_digit_year(tmp_path) -> None:
    silver = run(tmp_path, {NAME: lines(bronze_line(occurred_at="9998-12-31T23:59:59.999-12:00",
                                                    recorded_at="9998-12-31T23:59:59.999-12:00"))})
    assert str(silver.rows[0]["event_date"]) == "9999-01-01"
    assert (tmp_path / "s" / "event_date=9999-01-01").is_dir()


def test_non_ascii_letters_keep_their_case(tmp_path) -> None:
    silver = run(tmp_path, {NAME: lines(bronze_line(emotion="HAPPİNESS"), bronze_line(event_id=eid(2), emotion="HAPPINESS"))})
    assert [r["emotion"] for r in silver.rows] == ["joy"]
    assert records(silver)[0][1:] == ("unknown_code", "emotion happİness is not canonical and has no synonym")
