"""Proof against the generator's ground truth: several seeds and dirty ratios, generate then clean."""

from __future__ import annotations

import copy
import json

import duckdb
import pyarrow.parquet as pq
import pytest

from emotion_events.contract import CONTRACT_PATH, default_contract, parse_contract
from emotion_platform.dataflow.check import parse
from emotion_platform.dataflow.script import generate_script
from emotion_platform.silver.runner import run_silver

from .conftest import generate, manifest, read_silver

CASES = [(11, 0.0), (12, 0.05), (13, 0.2), (14, 0.5)]
ROWS = 20_000


@pytest.fixture(scope="module", params=CASES, ids=[f"seed{s}-dirty{r}" for s, r in CASES])
def cleaned(request, tmp_path_factory):
    seed, ratio = request.param
    root = tmp_path_factory.mktemp(f"gen-{seed}")
    result = generate(root / "bronze", ROWS, seed, ratio)
    outcome = run_silver(str(root / "bronze"), str(root / "silver"), quarantine=str(root / "quarantine"),
                         memory_limit="256MB", threads=1)
    return manifest(result), outcome, read_silver(root / "silver", root / "quarantine"), root


def test_silver_holds_exactly_the_expected_distinct_valid_events(cleaned) -> None:
    m, outcome, silver, _root = cleaned
    assert len(silver.rows) == m["expected_valid_distinct_events"]
    assert outcome.silver_rows_after == m["expected_valid_distinct_events"]
    assert outcome.batch.rows_in == m["rows_written"]
    assert outcome.batch.valid_rows == m["expected_valid_rows"]


def test_no_key_appears_twice(cleaned) -> None:
    _m, _o, silver, _root = cleaned
    ids = [r["event_id"] for r in silver.rows]
    assert len(ids) == len(set(ids))


def test_only_canonical_values_and_ranges_reach_silver(cleaned) -> None:
    _m, _o, silver, _root = cleaned
    c = default_contract()
    for r in silver.rows:
        assert r["emotion"] in c.emotions.canonical
        assert r["source_channel"] in c.codes["source_channel"].canonical
        assert r["context"] is None or r["context"] in c.codes["context"].canonical
        assert r["device_tz"] in c.time_zones
        for name, rng in c.ranges.items():
            assert rng.min <= r[name] <= rng.max
        assert r["user_id"].startswith("u_") and r["event_id"] == r["event_id"].strip().lower()


def test_every_timestamp_is_utc(cleaned) -> None:
    _m, _o, silver, root = cleaned
    files = sorted((root / "silver").glob("event_date=*/*.parquet"))
    assert files
    for f in files:
        schema = pq.read_schema(f)
        assert str(schema.field("occurred_at_utc").type) == "timestamp[us, tz=UTC]"
        assert str(schema.field("recorded_at_utc").type) == "timestamp[us, tz=UTC]"
        assert f.parent.name.startswith("event_date=")
    for r in silver.rows:
        assert r["occurred_at_utc"].utcoffset().total_seconds() == 0
        assert str(r["event_date"]) == r["occurred_at_utc"].date().isoformat()
        assert r["recorded_at_utc"] >= r["occurred_at_utc"]


def test_quarantine_matches_the_injected_invalid_rows_per_reason(cleaned) -> None:
    m, outcome, silver, _root = cleaned
    assert len(silver.quarantine) == m["expected_quarantined_rows"]
    expected = {k: v for k, v in m["expected_quarantine_reasons"].items() if v}
    assert silver.reasons() == expected
    # File-level reasons first (the generator writes no bad file), then the line rules as the manifest counts them.
    assert outcome.batch.quarantined == {"empty_file": 0, "bad_header": 0, **m["expected_quarantine_reasons"]}


def test_duplicates_removed_are_the_copies_the_generator_injected(cleaned) -> None:
    m, outcome, _silver, _root = cleaned
    assert outcome.batch.duplicates_removed == m["expected_valid_rows"] - m["expected_valid_distinct_events"]


# -- one contract, two engines: a rule change moves both ---------------------------------------------------

@pytest.fixture(scope="module")
def bronze_20k(tmp_path_factory):
    root = tmp_path_factory.mktemp("change")
    generate(root / "bronze", ROWS, 21, 0.1)
    return root


def _data() -> dict:
    return copy.deepcopy(json.loads(CONTRACT_PATH.read_text()))


def _clean_with(root, name, contract):
    run_silver(str(root / "bronze"), str(root / name / "silver"), quarantine=str(root / name / "quarantine"),
               contract=contract, memory_limit="256MB", threads=1)
    return read_silver(root / name / "silver", root / name / "quarantine")


def test_tightening_a_range_changes_the_data_flow_script_and_the_local_result(bronze_20k) -> None:
    base = _clean_with(bronze_20k, "base", None)
    data = _data()
    data["ranges"]["intensity"]["max"] = 0.9
    tight = parse_contract(data)

    script_before, script_after = generate_script().text, generate_script(tight).text
    assert "v_intensity > 1.0" in script_before and "v_intensity > 0.9" in script_after
    assert "v_intensity > 1.0" not in script_after

    after = _clean_with(bronze_20k, "tight", tight)
    assert max(r["intensity"] for r in after.rows) <= 0.9 < max(r["intensity"] for r in base.rows)
    assert after.reasons()["out_of_range"] > base.reasons()["out_of_range"]
    moved = {r["event_id"] for r in base.rows} - {r["event_id"] for r in after.rows}
    assert moved and all(base.by_id()[e]["intensity"] > 0.9 for e in moved)
    assert any(q["detail"].endswith("is outside [0.0, 0.9]") for q in after.quarantine)


def test_dropping_a_synonym_changes_the_data_flow_script_and_the_local_result(bronze_20k) -> None:
    base = _clean_with(bronze_20k, "base2", None)
    data = _data()
    del data["emotions"]["synonyms"]["happy"]
    strict = parse_contract(data)
    assert "'happy'" in generate_script().text and "'happy'" not in generate_script(strict).text

    after = _clean_with(bronze_20k, "strict", strict)
    happy = [q for q in after.quarantine if q["reason"] == "unknown_code" and q["detail"].startswith("emotion happy ")]
    assert happy, "the generator writes 'happy' variants; without the synonym they are unknown codes"
    assert len(after.rows) < len(base.rows)
    assert after.reasons()["unknown_code"] == base.reasons()["unknown_code"] + len(happy)


def test_reordering_rules_changes_which_reason_wins_in_both_engines(tmp_path) -> None:
    from .conftest import bronze_line, write_bronze

    line = bronze_line(user_id="", intensity="7")  # missing_required and out_of_range at once
    write_bronze(tmp_path / "bronze", [line])
    data = _data()
    rules = data["validation"]["rules"]
    rules.insert(1, rules.pop(4))  # out_of_range before missing_required
    reordered = parse_contract(data)
    assert _clean_with(tmp_path, "a", None).reasons() == {"missing_required": 1}
    assert _clean_with(tmp_path, "b", reordered).reasons() == {"out_of_range": 1}
    judged = next(st for st in parse(generate_script(reordered).text) if st.output == "Judged").text
    assert judged.index("'out_of_range'") < judged.index("'missing_required'")


def test_silver_can_be_queried_back_with_plain_duckdb(cleaned) -> None:
    _m, _o, silver, root = cleaned
    con = duckdb.connect()
    n = con.execute(f"SELECT count(DISTINCT event_id) FROM read_parquet('{root}/silver/*/*.parquet')").fetchone()[0]
    assert n == len(silver.rows)
