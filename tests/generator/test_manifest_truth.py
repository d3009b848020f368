"""The manifest tells the truth: an independent re-parse of the CSV (csv module, contract rules)
finds exactly the defects, quarantined rows and distinct valid events the manifest states."""

import csv
import json

import pytest

from emotion_events.dirt import INVALID_KINDS, KIND_WEIGHTS
from emotion_events.generator import GeneratorParams, write_local

from .reference import read_bronze


def _check(result, reading, contract):
    m = result.manifest
    assert json.loads(result.manifest_path.read_text()) == m
    assert reading.header == list(contract.bronze_header)
    assert m["rows_written"] == len(reading.rows) == m["params"]["rows"]
    assert set(m["defects"]) == set(contract.defect_kinds)
    kinds = {k: reading.kinds.get(k, 0) for k in contract.defect_kinds}
    assert kinds == m["defects"]
    assert reading.kinds.get("several_kinds", 0) == 0  # one defect per dirty line
    assert sum(m["defects"].values()) == m["dirty_rows"] == len(reading.rows) - reading.kinds["clean"]
    assert m["expected_quarantined_rows"] == sum(reading.reasons.values()) == sum(m["defects"][k] for k in INVALID_KINDS)
    assert {r: reading.reasons.get(r, 0) for r in contract.reasons} == m["expected_quarantine_reasons"]
    assert m["expected_valid_distinct_events"] == len(reading.events)
    assert m["expected_valid_rows"] == len(reading.rows) - m["expected_quarantined_rows"]
    assert m["bytes"] == result.csv_path.stat().st_size


def test_dirty_file_manifest_matches_the_file(dirty_file, contract):
    _check(*dirty_file, contract)


@pytest.mark.parametrize("rows, seed, ratio", [(1, 0, 0.5), (2, 3, 0.5), (7, 1, 0.4), (8193, 2, 0.5),
                                               (20_000, 9, 0.0), (30_001, 4, 0.01), (50_000, 8, 0.12)])
def test_manifest_matches_for_many_sizes_seeds_and_ratios(tmp_path, contract, rows, seed, ratio):
    result = write_local(GeneratorParams(rows=rows, seed=seed, dirty_ratio=ratio), tmp_path, run_id="r")
    reading = read_bronze(result.csv_path, contract)
    _check(result, reading, contract)
    if ratio == 0.0:
        assert reading.kinds["clean"] == rows and result.manifest["expected_valid_distinct_events"] == rows


def test_every_defect_kind_appears_at_its_share(dirty_file):
    result, reading = dirty_file
    dirty = result.manifest["dirty_rows"]
    assert dirty == round(100_003 * 0.3)
    for kind, share in KIND_WEIGHTS.items():
        got = result.manifest["defects"][kind] / dirty
        assert abs(got - share) < 0.15 * share + 0.004, (kind, got, share)


def test_resends_are_recorded_strictly_later(dirty_file):
    _result, reading = dirty_file
    assert len(reading.resend_pairs) == reading.kinds["resent_event"] > 100
    assert all(later > first for first, later in reading.resend_pairs)


def test_invalid_rows_never_share_an_event_id(dirty_file, contract):
    _result, reading = dirty_file
    ids = [r.raw[0] for r in reading.rows]
    counts = {}
    for i in ids:
        counts[i] = counts.get(i, 0) + 1
    for row in reading.rows:
        if row.reason and row.raw and row.raw[0]:
            assert counts[row.raw[0]] == 1, row.raw


def test_no_value_ever_needs_quoting(dirty_file):
    result, _reading = dirty_file
    data = result.csv_path.read_bytes()
    assert b'"' not in data
    lines = data.split(b"\r\n")
    assert lines[-1] == b"" and all(b"\n" not in line and b"\r" not in line for line in lines)
    # the csv module reads the same records as a plain split: no field holds a comma
    with open(result.csv_path, newline="", encoding="utf-8") as fh:
        assert [len(r) for r in csv.reader(fh)] == [len(line.split(b",")) for line in lines[:-1]]
