"""Silver and quarantine against the generator's per-line truth, value by value (issue 16, req 1).

The truth (``emotion_events.truth``) is what the generator knows it wrote: the canonical code each
spelling was built from, the number each entry spells, the instant and the precision of each written
timestamp, the defect of each line. The engines' SQL and Data Flow Script take no part in it, so a
wrong synonym target, percent divisor, rule order, field position or timestamp precision in an engine
makes these tests fail while counts and "only canonical values" still pass.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from emotion_events.contract import default_contract
from emotion_events.generator import EventStream, GeneratorParams
from emotion_events.truth import truth_of
from emotion_platform.silver.plan import build_plan

from .conftest import generate, manifest
from .engines import engine  # noqa: F401  (fixture)

# (seed, dirty ratio, rows): several chunks each; the last case is one tiny chunk, where copies
# outnumber clean rows and the planner takes its fallback paths.
CASES = [(41, 0.0, 20_000), (42, 0.05, 20_000), (43, 0.2, 20_000), (44, 0.5, 20_000), (45, 0.5, 9)]


@pytest.fixture(scope="module", params=CASES, ids=[f"seed{s}-dirty{r}-rows{n}" for s, r, n in CASES])
def case(request, tmp_path_factory, engine):  # noqa: F811
    seed, ratio, rows = request.param
    root = tmp_path_factory.mktemp(f"truth-{engine.name}-{seed}")
    result = generate(root / "bronze", rows, seed, ratio)
    truth = truth_of(GeneratorParams(rows=rows, seed=seed, dirty_ratio=ratio))
    silver = engine.run(root / "bronze", root / "out", None)
    return result, truth, silver


def _diff(expected: dict, got: dict, limit: int = 12) -> list[str]:
    out = []
    for key in sorted(set(expected) | set(got)):
        if key not in got:
            out.append(f"{key}: missing from silver (expected {expected[key]})")
        elif key not in expected:
            out.append(f"{key}: in silver but the truth says it is not an event: {got[key]}")
        else:
            cols = [c for c in expected[key] if expected[key][c] != got[key].get(c)]
            out += [f"{key}.{c}: silver {got[key].get(c)!r}, truth {expected[key][c]!r}" for c in cols]
        if len(out) >= limit:
            break
    return out


def test_the_truth_describes_the_file_that_was_written(case) -> None:
    result, truth, _silver = case
    written = Path(result.csv_path).read_bytes().decode("utf-8").split("\r\n")
    assert written[-1] == ""
    assert [lt.text for lt in truth.lines()] == written[1:-1]


def test_the_truth_agrees_with_the_manifest_totals(case) -> None:
    result, truth, _silver = case
    m = manifest(result)
    quarantine = truth.expected_quarantine()
    assert len(truth.expected_silver()) == m["expected_valid_distinct_events"]
    assert sum(quarantine.values()) == m["expected_quarantined_rows"]
    by_reason = Counter()
    for (_text, reason), k in quarantine.items():
        by_reason[reason] += k
    assert by_reason == Counter({r: k for r, k in m["expected_quarantine_reasons"].items() if k})
    kinds = Counter(lt.kind for lt in truth.lines() if lt.kind)
    assert kinds == Counter({k: v for k, v in m["defects"].items() if v})


def test_silver_holds_every_value_the_truth_states(case) -> None:
    _result, truth, silver = case
    expected = truth.expected_silver()
    got = {r["event_id"]: r for r in silver.rows}
    assert len(got) == len(silver.rows), "an event id appears twice in silver"
    problems = _diff(expected, got)
    assert not problems, "\n".join(problems)
    columns = {c.name for c in default_contract().silver_columns}
    assert all(set(row) == columns for row in silver.rows)  # nothing beyond the contract's columns


def test_quarantine_holds_every_invalid_line_with_its_reason(case) -> None:
    _result, truth, silver = case
    got = Counter((q["raw_line_or_record"], q["reason"]) for q in silver.quarantine)
    expected = truth.expected_quarantine()
    missing, extra = expected - got, got - expected
    assert not missing and not extra, (f"missing {list(missing.items())[:5]}\n"
                                       f"unexpected {list(extra.items())[:5]}")
    assert all(q["source_file"] for q in silver.quarantine)


def test_every_copy_collapses_onto_its_event_and_a_resend_wins(case) -> None:
    _result, truth, silver = case
    got = {r["event_id"]: r for r in silver.rows}
    resent = [lt for lt in truth.lines() if lt.kind == "resent_event"]
    for lt in resent:  # a re-send is always recorded later than what it re-sends: it is the winner
        assert got[lt.event_id] == lt.silver, lt.text


def test_the_truth_orders_winners_as_the_cleaning_plan_does() -> None:
    truth = truth_of(GeneratorParams(rows=10, seed=1))
    plan = build_plan()
    assert truth.winner_order() == (*plan.dedup_order, *((n, False) for n in plan.tiebreak))


def test_collecting_the_truth_changes_no_byte() -> None:
    from emotion_events.truth import TruthCollector

    params = GeneratorParams(rows=12_000, seed=7, dirty_ratio=0.3)
    plain = EventStream(params)
    collected = EventStream(params, truth=TruthCollector())
    assert b"".join(plain) == b"".join(collected)
    assert plain.counts == collected.counts
