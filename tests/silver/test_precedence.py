"""Precedence matrix: for every pair of contract rules, a line failing both is quarantined with the
earlier rule's reason, order read from the contract (issue 16, req 3).

Each rule has one way to break it, on a field no other rule's breakage touches, so any set of them can
be combined on one line. One pair cannot be built: ``bad_timestamp`` and ``recorded_before_occurred``
share both timestamp fields (a timestamp that does not parse cannot be compared), so no line fails
both; the test asserts it is the only such pair. The same matrix runs again under the contract with
its rules in reverse order, so the reasons follow the contract and not the order an engine happens to
test in. A malformed line's fields have no defined meaning, so the reversed run leaves
``malformed_line`` in first place.
"""

from __future__ import annotations

import copy
import json
import uuid
from itertools import combinations

import pytest

from emotion_events.contract import CONTRACT_PATH, default_contract, parse_contract

from .conftest import bronze_line, write_bronze
from .engines import engine  # noqa: F401  (fixture)

# rule -> (field overrides, extra trailing fields): one way to break each rule, fields disjoint
BREAK = {
    "malformed_line": ({}, ["surplus"]),
    "missing_required": ({"user_id": ""}, []),
    "unknown_code": ({"emotion": "bored"}, []),
    "bad_number": ({"valence": "abc"}, []),
    "out_of_range": ({"intensity": "7"}, []),
    "bad_timestamp": ({"occurred_at": "yesterday at noon"}, []),
    "recorded_before_occurred": ({"recorded_at": "2026-01-05T07:15:30.123+01:00"}, []),  # 1 h before occurred
}
IMPOSSIBLE = {frozenset({"bad_timestamp", "recorded_before_occurred"})}


def _line(rules: tuple[str, ...], tag: str) -> tuple[str, str]:
    event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, tag + "/" + "+".join(rules)))
    fields: dict[str, str] = {"event_id": event_id}
    extra: list[str] = []
    for rule in rules:
        overrides, surplus = BREAK[rule]
        assert not set(overrides) & set(fields), f"{rules}: two rules break the same field"
        fields.update(overrides)
        extra += surplus
    return event_id, ",".join([bronze_line(**fields), *extra])


def _reversed_contract():
    data = copy.deepcopy(json.loads(CONTRACT_PATH.read_text()))
    rules = data["validation"]["rules"]
    first = [r for r in rules if r["reason"] == "malformed_line"]
    data["validation"]["rules"] = first + [r for r in reversed(rules) if r["reason"] != "malformed_line"]
    return parse_contract(data)


CONTRACTS = {"contract-order": default_contract, "reversed-order": _reversed_contract}


@pytest.fixture(scope="module", params=list(CONTRACTS))
def judged(request, engine, tmp_path_factory):  # noqa: F811
    contract = CONTRACTS[request.param]()
    rules = contract.reasons
    assert set(rules) == set(BREAK), "a contract rule without a way to break it here: add it to BREAK"
    cases = [(r,) for r in rules]
    cases += [p for p in combinations(rules, 2) if frozenset(p) not in IMPOSSIBLE]
    cases.append(tuple(r for r in rules if r != "recorded_before_occurred"))  # everything at once
    lines = {rules_: _line(rules_, request.param) for rules_ in cases}
    root = tmp_path_factory.mktemp(f"precedence-{request.param}")
    write_bronze(root / "bronze", [bronze_line(event_id=str(uuid.uuid4()))] + [text for _id, text in lines.values()])
    silver = engine.run(root / "bronze", root / "out", None if request.param == "contract-order" else contract)
    return contract, lines, silver


def test_only_the_timestamp_pair_cannot_be_built() -> None:
    rules = default_contract().reasons
    for a, b in combinations(rules, 2):
        fields_a, fields_b = set(BREAK[a][0]), set(BREAK[b][0])
        if frozenset((a, b)) in IMPOSSIBLE:
            continue
        assert not fields_a & fields_b, (a, b)
    assert all(p <= set(rules) for p in IMPOSSIBLE)


def test_every_rule_pair_is_quarantined_with_the_earlier_rule(judged) -> None:
    contract, lines, silver = judged
    by_id = {}
    for q in silver.quarantine:
        by_id[q["raw_line_or_record"].split(",", 1)[0]] = q["reason"]
    wrong = []
    for rules, (event_id, text) in lines.items():
        expected = min(rules, key=contract.reasons.index)
        if by_id.get(event_id) != expected:
            wrong.append(f"{' + '.join(rules)}: {by_id.get(event_id)!r}, expected {expected!r}  [{text}]")
    assert not wrong, "\n".join(wrong)
    assert len(silver.rows) == 1 and len(silver.quarantine) == len(lines)


def test_quarantined_lines_are_kept_as_written(judged) -> None:
    _contract, lines, silver = judged
    assert sorted(q["raw_line_or_record"] for q in silver.quarantine) == sorted(t for _i, t in lines.values())


@pytest.mark.parametrize("order", list(CONTRACTS))
def test_the_data_flow_script_names_the_earlier_rule_in_java(order, java) -> None:
    """The same matrix through the script's own reason expression: regexes, SimpleDateFormat and
    number parsing in the JVM (tests/silver/dataflow_eval.py)."""
    from emotion_platform.dataflow.script import generate_script

    from .dataflow_eval import Evaluator

    contract = CONTRACTS[order]()
    evaluator = Evaluator(generate_script(contract).text, java)
    rules = contract.reasons
    cases = [(r,) for r in rules] + [p for p in combinations(rules, 2) if frozenset(p) not in IMPOSSIBLE]
    wrong = []
    for rules_ in cases:
        _id, text = _line(rules_, order)
        got = evaluator.evaluate("reason", {"line": text})
        expected = min(rules_, key=rules.index)
        if got != expected:
            wrong.append(f"{' + '.join(rules_)}: {got!r}, expected {expected!r}")
    assert evaluator.evaluate("reason", {"line": bronze_line()}) is None
    assert not wrong, "\n".join(wrong)
