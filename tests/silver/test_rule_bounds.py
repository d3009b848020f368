"""Every numeric rule at its exact bound and one step past it, in DuckDB and in the Data Flow
Script's own expressions (real Java), bounds read from the contract: each range's min and max (and
the smallest written step beyond), and the clock-skew allowance to the millisecond."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from emotion_events.contract import default_contract
from emotion_platform.dataflow.script import generate_script

from .conftest import bronze_line, write_bronze
from .dataflow_eval import Evaluator
from .engines import engine  # noqa: F401  (fixture)

STEP = 0.001  # the finest step the bronze numbers are written with
OCCURRED = datetime(2026, 1, 5, 7, 15, 30, 123_000, tzinfo=timezone.utc)


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def cases() -> list[tuple[str, dict[str, str], str | None]]:
    """(name, field overrides, expected reason) for every bound of the contract."""
    c = default_contract()
    out = []
    for name, rng in c.ranges.items():
        for value, reason in ((rng.min, None), (rng.max, None), (rng.min - STEP, "out_of_range"),
                              (rng.max + STEP, "out_of_range")):
            text = f"{value:.3f}"
            out.append((f"{name}={text}", {name: text}, reason))
    skew = timedelta(seconds=c.max_clock_skew_seconds)
    for delta, reason in ((skew, None), (skew + timedelta(milliseconds=1), "recorded_before_occurred"),
                          (timedelta(0), None), (-timedelta(milliseconds=1), None)):
        out.append((f"recorded=occurred-{delta}", {"occurred_at": _iso(OCCURRED),
                                                   "recorded_at": _iso(OCCURRED - delta)}, reason))
    return out


def _id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "bound/" + name))


def test_every_bound_holds_in_the_engine(engine, tmp_path) -> None:  # noqa: F811
    table = cases()
    write_bronze(tmp_path / "bronze", [bronze_line(event_id=_id(n), **o) for n, o, _r in table])
    silver = engine.run(tmp_path / "bronze", tmp_path / "out", None)
    reasons = {q["raw_line_or_record"].split(",", 1)[0]: q["reason"] for q in silver.quarantine}
    kept = silver.by_id()
    wrong = []
    for name, _o, reason in table:
        got = reasons.get(_id(name), None if _id(name) in kept else "<nowhere>")
        if got != reason:
            wrong.append(f"{name}: {got!r}, contract says {reason!r}")
    assert not wrong, "\n".join(wrong)


def test_every_bound_holds_in_the_data_flow_script_in_java(java) -> None:
    evaluator = Evaluator(generate_script().text, java)
    wrong = []
    for name, overrides, reason in cases():
        got = evaluator.evaluate("reason", {"line": bronze_line(**overrides)})
        if got != reason:
            wrong.append(f"{name}: {got!r}, contract says {reason!r}")
    assert not wrong, "\n".join(wrong)
