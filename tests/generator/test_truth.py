"""The per-line truth itself (emotion_events.truth): it describes the lines as written and refuses
what it cannot judge. Its agreement with silver is tests/silver/test_truth.py."""

from __future__ import annotations

import copy
import json

import pytest

from emotion_events.contract import CONTRACT_PATH, parse_contract
from emotion_events.generator import GeneratorParams
from emotion_events.truth import TruthError, truth_of


@pytest.fixture(scope="module")
def lines():
    return list(truth_of(GeneratorParams(rows=9_000, seed=5, dirty_ratio=0.5)).lines())


def test_each_line_carries_the_event_id_the_truth_names(lines) -> None:
    for lt in lines:
        first = lt.text.split(",", 1)[0]
        assert first == lt.event_id or (first == "" and lt.reason == "missing_required"), lt


def test_copies_repeat_a_clean_earlier_line_of_the_same_event(lines) -> None:
    seen: dict[str, list] = {}
    for lt in lines:
        if lt.kind in ("exact_duplicate", "resent_event"):
            earlier = seen[lt.event_id]
            assert all(e.kind == "" or e.kind in ("exact_duplicate", "resent_event") for e in earlier)
            if lt.kind == "exact_duplicate":
                assert lt.text in {e.text for e in earlier}
            else:
                assert lt.silver["recorded_at_utc"] > earlier[0].silver["recorded_at_utc"]
        seen.setdefault(lt.event_id, []).append(lt)


def test_invalid_lines_have_an_event_id_of_their_own(lines) -> None:
    ids = [lt.event_id for lt in lines]
    for lt in lines:
        if lt.reason is not None:
            assert ids.count(lt.event_id) == 1 and lt.silver is None


def test_a_timestamp_without_fraction_is_stated_to_the_second(lines) -> None:
    slashed = [lt for lt in lines if lt.reason is None and "/" in lt.text.split(",")[9]]
    assert slashed
    assert all(lt.silver["occurred_at_utc"].microsecond == 0 for lt in slashed)


def test_a_rule_the_truth_cannot_judge_is_refused() -> None:
    data = copy.deepcopy(json.loads(CONTRACT_PATH.read_text()))
    data["validation"]["rules"].append({"reason": "too_old", "description": "a rule from the future"})
    with pytest.raises(TruthError, match="too_old"):
        truth_of(GeneratorParams(rows=10, seed=1), parse_contract(data))
