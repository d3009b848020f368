"""Each contract rule on hand-written bronze lines, through the real DuckDB engine."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from emotion_platform.silver.engine import BronzeError

from .conftest import HEADER, bronze_line, write_bronze

ID = "11111111-1111-4111-8111-11111111{:04d}"


def eid(n: int) -> str:
    return ID.format(n)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def test_a_clean_line_lands_in_silver_with_typed_utc_values(clean) -> None:
    silver = clean([bronze_line()])
    assert silver.quarantine == []
    (row,) = silver.rows
    assert row["emotion"] == "joy" and row["context"] == "work" and row["source_channel"] == "web"
    assert row["intensity"] == 0.5 and row["valence"] == 0.25 and row["arousal"] == 0.6
    assert row["occurred_at_utc"] == utc(2026, 1, 5, 7, 15, 30, 123000)
    assert row["recorded_at_utc"] == utc(2026, 1, 5, 7, 15, 31, 123000)
    assert str(row["event_date"]) == "2026-01-05"


def test_whitespace_case_and_synonyms_normalize_to_canonical_codes(clean) -> None:
    silver = clean([
        bronze_line(event_id=eid(1), emotion="  Grossed   Out ", context=" Social  Media", source_channel="\tApp "),
        bronze_line(event_id=eid(2), emotion="HAPPY", context="", source_channel="Smartwatch"),
        bronze_line(event_id=f" {eid(3)} ", emotion="anticipation", context="gym", device_tz=" Asia/Tokyo"),
    ])
    assert silver.quarantine == []
    rows = silver.by_id()
    assert (rows[eid(1)]["emotion"], rows[eid(1)]["context"], rows[eid(1)]["source_channel"]) == (
        "disgust", "social_media", "mobile_app")
    assert (rows[eid(2)]["emotion"], rows[eid(2)]["context"], rows[eid(2)]["source_channel"]) == ("joy", None, "wearable")
    assert rows[eid(3)]["context"] == "exercise" and rows[eid(3)]["device_tz"] == "Asia/Tokyo"


def test_every_contract_timestamp_format_is_standardized_to_the_same_utc_instant(clean) -> None:
    same_instant = ["2026-01-05T08:15:30.123+01:00", "2026-01-05T07:15:30.123Z", "2026-01-05T02:15:30.123-0500",
                    "1767597330123"]
    silver = clean([bronze_line(event_id=eid(i), occurred_at=ts, recorded_at="2026-01-05T09:00:00.000+01:00")
                    for i, ts in enumerate(same_instant)] +
                   [bronze_line(event_id=eid(9), occurred_at="2026/01/05 08:15:30+0100",
                                recorded_at="2026-01-05T09:00:00.000+01:00")])
    assert silver.quarantine == []
    got = {r["event_id"]: r["occurred_at_utc"] for r in silver.rows}
    for i in range(len(same_instant)):
        assert got[eid(i)] == utc(2026, 1, 5, 7, 15, 30, 123000), same_instant[i]
    assert got[eid(9)] == utc(2026, 1, 5, 7, 15, 30)


def test_event_date_is_the_utc_date_not_the_local_one(clean) -> None:
    silver = clean([bronze_line(occurred_at="2026-01-06T00:30:00.000+01:00", recorded_at="2026-01-06T00:31:00.000+01:00")])
    assert str(silver.rows[0]["event_date"]) == "2026-01-05"


def test_percent_intensity_becomes_a_fraction(clean) -> None:
    silver = clean([bronze_line(event_id=eid(1), intensity="73%"), bronze_line(event_id=eid(2), intensity="5 %")])
    assert {r["event_id"]: r["intensity"] for r in silver.rows} == {eid(1): 0.73, eid(2): 0.05}


@pytest.mark.parametrize("line, reason, detail", [
    ("a,b,c", "malformed_line", "expected 11 fields, found 3"),
    (bronze_line() + ",extra", "malformed_line", "expected 11 fields, found 12"),
    (bronze_line(user_id=""), "missing_required", "user_id is empty"),
    (bronze_line(recorded_at="  "), "missing_required", "recorded_at is empty"),
    (bronze_line(emotion="Bored"), "unknown_code", "emotion bored is not canonical and has no synonym"),
    (bronze_line(device_tz="Mars/Olympus"), "unknown_code", "device_tz Mars/Olympus is not canonical and has no synonym"),
    (bronze_line(context="gardening"), "unknown_code", "context gardening is not canonical and has no synonym"),
    (bronze_line(valence="1_0"), "bad_number", "valence 1_0 is not a number"),
    (bronze_line(arousal="inf"), "bad_number", "arousal inf is not a number"),
    (bronze_line(intensity="150%"), "out_of_range", "intensity 150% is outside [0.0, 1.0]"),
    (bronze_line(valence="-1.2"), "out_of_range", "valence -1.2 is outside [-1.0, 1.0]"),
    (bronze_line(occurred_at="yesterday"), "bad_timestamp", "occurred_at yesterday matches none of the contract formats"),
    (bronze_line(occurred_at="2026-01-05T08:15:30.1+01:00"), "bad_timestamp",
     "occurred_at 2026-01-05T08:15:30.1+01:00 matches none of the contract formats"),
    (bronze_line(occurred_at="2026-01-05T10:00:00.000+01:00", recorded_at="2026-01-05T09:54:59.000+01:00"),
     "recorded_before_occurred", "recorded_at is more than 300 s before occurred_at"),
])
def test_each_rule_quarantines_with_its_reason_and_detail(clean, line, reason, detail) -> None:
    silver = clean([line])
    assert silver.rows == []
    (q,) = silver.quarantine
    assert (q["reason"], q["detail"]) == (reason, detail)
    assert q["raw_line_or_record"] == line
    assert q["source_file"] == "events/ingest_date=2026-01-05/a.csv"


def test_clock_skew_within_the_contract_allowance_is_accepted(clean) -> None:
    silver = clean([bronze_line(occurred_at="2026-01-05T10:00:00.000+01:00", recorded_at="2026-01-05T09:55:00.000+01:00")])
    assert len(silver.rows) == 1 and silver.quarantine == []


def test_the_first_failing_rule_in_contract_order_is_the_reason(clean) -> None:
    # Empty user_id (missing_required) and an unknown emotion (unknown_code): missing_required comes first.
    silver = clean([bronze_line(user_id="", emotion="bored", valence="9")])
    assert [q["reason"] for q in silver.quarantine] == ["missing_required"]


def test_latest_recorded_at_wins_and_exact_duplicates_collapse(clean) -> None:
    first = bronze_line(event_id=eid(1), intensity="0.30", recorded_at="2026-01-05T08:16:00.000+01:00")
    resent = bronze_line(event_id=eid(1), intensity="0.45", recorded_at="2026-01-05T08:46:00.000+01:00")
    silver = clean([resent, first, first, bronze_line(event_id=eid(2)), bronze_line(event_id=eid(2))])
    rows = silver.by_id()
    assert len(silver.rows) == 2
    assert rows[eid(1)]["intensity"] == 0.45
    assert rows[eid(1)]["recorded_at_utc"] == utc(2026, 1, 5, 7, 46)


def test_a_tie_on_recorded_at_is_broken_the_same_way_whatever_the_line_order(clean, tmp_path) -> None:
    a = bronze_line(event_id=eid(1), emotion="fear")
    b = bronze_line(event_id=eid(1), emotion="anger")
    assert clean([a, b]).rows[0]["emotion"] == clean([b, a]).rows[0]["emotion"] == "anger"  # ascending tie-break


def test_invalid_lines_never_take_part_in_deduplication(clean) -> None:
    valid = bronze_line(event_id=eid(1), recorded_at="2026-01-05T08:16:00.000+01:00")
    later_but_invalid = bronze_line(event_id=eid(1), emotion="bored", recorded_at="2026-01-05T09:00:00.000+01:00")
    silver = clean([valid, later_but_invalid])
    assert len(silver.rows) == 1 and silver.rows[0]["emotion"] == "joy"
    assert silver.reasons() == {"unknown_code": 1}


def test_blank_lines_are_skipped_and_lf_files_read_like_crlf(tmp_path) -> None:
    from emotion_platform.silver.runner import run_silver

    from .conftest import read_silver

    write_bronze(tmp_path / "b", [bronze_line(event_id=eid(1)), "", bronze_line(event_id=eid(2))], terminator="\n")
    run_silver(str(tmp_path / "b"), str(tmp_path / "s"), quarantine=str(tmp_path / "q"), threads=1)
    silver = read_silver(tmp_path / "s", tmp_path / "q")
    assert sorted(silver.by_id()) == [eid(1), eid(2)] and silver.quarantine == []


def test_a_file_whose_header_differs_becomes_one_record_and_the_run_goes_on(tmp_path) -> None:
    from emotion_platform.silver.runner import run_silver

    from .conftest import read_silver

    write_bronze(tmp_path / "b", [bronze_line()], header=HEADER.replace("device_tz", "timezone"))
    write_bronze(tmp_path / "b", [bronze_line(event_id=eid(2))], name="events/ingest_date=2026-01-05/b.csv")
    run_silver(str(tmp_path / "b"), str(tmp_path / "s"), quarantine=str(tmp_path / "q"), threads=1)
    silver = read_silver(tmp_path / "s", tmp_path / "q")
    assert [r["event_id"] for r in silver.rows] == [eid(2)]
    (q,) = silver.quarantine
    assert q["reason"] == "bad_header" and q["source_file"] == "events/ingest_date=2026-01-05/a.csv"
    assert "timezone" in q["raw_line_or_record"] and "differs from the contract" in q["detail"]


def test_silver_files_declare_utc_timestamps_and_contract_types(clean, tmp_path) -> None:
    import pyarrow.parquet as pq

    clean([bronze_line()])
    (f,) = (tmp_path / "silver").glob("event_date=*/*.parquet")
    schema = pq.read_schema(f)
    for name in ("occurred_at_utc", "recorded_at_utc"):
        assert str(schema.field(name).type) == "timestamp[us, tz=UTC]"
    assert str(schema.field("intensity").type) == "double" and str(schema.field("emotion").type) == "string"
    assert "event_date" not in schema.names  # the partition column lives in the folder name


def test_a_line_holding_the_read_delimiter_or_invalid_utf8_is_quarantined_and_the_rest_is_read(tmp_path) -> None:
    from emotion_platform.silver.runner import run_silver

    from .conftest import read_silver

    path = write_bronze(tmp_path / "b", [bronze_line(event_id=eid(1))])
    path.write_bytes(path.read_bytes() + b"a\x1fb\r\n" + b"\xff\xfe broken utf-8\r\n"
                     + bronze_line(event_id=eid(2)).encode() + b"\r\n")
    run_silver(str(tmp_path / "b"), str(tmp_path / "s"), quarantine=str(tmp_path / "q"), threads=1)
    silver = read_silver(tmp_path / "s", tmp_path / "q")
    assert sorted(silver.by_id()) == [eid(1), eid(2)]
    got = sorted((q["raw_line_or_record"], q["reason"], q["detail"]) for q in silver.quarantine)
    assert got == [("\\xff\\xfe broken utf-8", "malformed_line", "the line is not valid UTF-8"),
                   ("a\x1fb", "malformed_line", "expected 11 fields, found 1")]
