"""Compiling the contract into the cleaning plan: what both engines rely on, and what is rejected."""

from __future__ import annotations

import copy
import json

import pytest

from emotion_events.contract import CONTRACT_PATH, ContractError, contract_with, parse_contract
from emotion_platform.silver.plan import PlanError, build_plan


def data() -> dict:
    return copy.deepcopy(json.loads(CONTRACT_PATH.read_text()))


def test_the_default_contract_compiles() -> None:
    plan = build_plan()
    assert plan.rules == ("malformed_line", "missing_required", "unknown_code", "bad_number", "out_of_range",
                          "bad_timestamp", "recorded_before_occurred")
    assert [f.name for f in plan.code_fields] == ["emotion", "context", "source_channel", "device_tz"]
    assert plan.field("intensity").percent and plan.field("intensity").range == (0.0, 1.0)
    assert plan.dedup_key == ("event_id",) and plan.dedup_order == (("recorded_at_utc", True),)
    assert [c.name for c in plan.silver_data_columns][-1] == "recorded_at_utc"
    assert plan.field("emotion").codes["grossed out"] == "disgust"


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["validation"]["rules"].append({"reason": "too_happy"}),
     r"validation.rules\[7\].reason 'too_happy': no engine implements it"),
    (lambda d: d["timestamps"]["formats"].append({"name": "naive", "kind": "pattern", "python": "%Y-%m-%d %H:%M:%S"}),
     r"timestamps.formats\['naive'\]: pattern .* has neither %z nor a trailing literal Z"),
    (lambda d: d["timestamps"]["formats"].append({"name": "jul", "kind": "pattern", "python": "%Y-%j%z"}),
     r"directive %j .* is not supported"),
    (lambda d: d["bronze"].__setitem__("delimiter", "\t"), r"bronze.delimiter '\\t': must be one of"),
    (lambda d: d["silver"]["columns"].append({"name": "mood_score", "type": "double"}),
     r"silver.columns\['mood_score'\]: no engine knows how to compute it"),
    (lambda d: d["quarantine"].__setitem__("columns", ["line", "reason"]), r"quarantine.columns"),
    (lambda d: d["emotions"]["synonyms"].__setitem__("Happy", "joy"), r"'Happy' has upper case"),
    (lambda d: d["deduplication"]["winner"]["order_by"][0].__setitem__("direction", "newest"), r"asc or desc"),
])
def test_contracts_no_engine_can_run_are_rejected_naming_the_entry(mutate, message) -> None:
    d = data()
    mutate(d)
    with pytest.raises(ContractError, match=message):
        build_plan(parse_contract(d))


def test_plan_errors_are_contract_errors() -> None:
    assert issubclass(PlanError, ContractError)


def test_contract_with_feeds_the_plan() -> None:
    d = data()
    d["ranges"]["intensity"]["max"] = 0.8
    plan = build_plan(contract_with(ranges=d["ranges"]))
    assert plan.field("intensity").range == (0.0, 0.8)


def test_timestamp_shapes_fix_the_fraction_at_milliseconds() -> None:
    import re

    from emotion_platform.silver.plan import unanchored

    iso = {f.name: f for f in build_plan().timestamp_formats}["iso_offset"]
    assert iso.shape.startswith("^") and iso.shape.endswith("\\z")  # never `$` (see test_java_semantics)
    shape = re.compile(unanchored(iso.shape) + r"\Z")
    assert shape.match("2026-11-26T08:15:30.123+01:00") and shape.match("2026-11-26T08:15:30.123-0530")
    assert not shape.match("2026-11-26T08:15:30.123456+01:00") and not shape.match("2026-11-26T08:15:30.123+01")
