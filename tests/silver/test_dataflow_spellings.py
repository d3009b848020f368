"""The Data Flow Script's line-to-code path, evaluated with real Java, against the contract (issue 16, req 2).

The generated script is read back (its ``derive`` assignments) and evaluated for bronze lines by
tests/silver/dataflow_eval.py: regexReplace, regexExtract and lower run in the JVM
(java.util.regex, String.toLowerCase), the code lookup (``case``/``in``) is string equality. The
spelling table is the one tests/silver/test_spellings.py holds the DuckDB engine to, so both engines
answer the same questions from the contract. Out of reach here: the typed functions (toDouble,
toTimestamp) and the window/dedup steps, which only Data Factory runs; the reason expression is not
evaluated, only the values it tests (a null normalized value is missing_required, a non-null value
without a code is unknown_code).
"""

from __future__ import annotations

import re

import pytest

from emotion_events.contract import default_contract
from emotion_platform.dataflow.script import generate_script

from .conftest import bronze_line
from .dataflow_eval import Evaluator
from .test_spellings import WHITESPACE, number_spellings, spellings


@pytest.fixture(scope="module")
def evaluator(java):
    return Evaluator(generate_script().text, java)


def test_every_spelling_maps_as_the_contract_says_in_java(evaluator) -> None:
    wrong = []
    cases = spellings(default_contract())
    for s in cases:
        line = bronze_line(**{s.column: s.written})
        normalized, code = evaluator.evaluate_many((f"n_{s.column}", f"c_{s.column}"), {"line": line})
        if s.reason is None and code != s.expected:
            wrong.append(f"{s.column} {s.written!r}: script gives {code!r}, contract says {s.expected!r}")
        elif s.reason == "missing_required" and normalized is not None:
            wrong.append(f"{s.column} {s.written!r}: normalized to {normalized!r}, contract says empty")
        elif s.reason == "unknown_code" and (normalized is None or code is not None):
            wrong.append(f"{s.column} {s.written!r}: script gives {code!r} from {normalized!r}, "
                         "contract says unknown")
    assert not wrong, f"{len(wrong)} of {len(cases)} spellings wrong:\n" + "\n".join(wrong[:30])


LINES = [
    bronze_line(),
    bronze_line(emotion=" Happy ", context="\tsocial  media ", source_channel="Mobile App", intensity="73%"),
    bronze_line(context="", valence="-0.125", arousal=" 1.000"),
    bronze_line(user_id="u_ffffffffffffffff", device_tz=" UTC", occurred_at="2026/01/05 08:15:30+0100",
                recorded_at="1767597331123"),
]


@pytest.mark.parametrize("line", LINES, ids=[f"line{i}" for i in range(len(LINES))])
def test_every_field_is_cut_from_its_own_position_in_java(evaluator, line) -> None:
    """The field-extraction regexes, run by java.util.regex, return each field, not its neighbour."""
    contract = default_contract()
    written = line.split(",")
    for position, name in enumerate(contract.bronze_header):
        expected = re.sub(f"[{WHITESPACE}]+", " ", written[position]).strip(WHITESPACE)
        assert evaluator.evaluate(f"r_{name}", {"line": line}) == expected, name


def test_every_number_spelling_reads_as_the_contract_says_in_java(evaluator) -> None:
    wrong = []
    for column, text, expected in number_spellings():
        got = evaluator.evaluate(f"v_{column}", {"line": bronze_line(**{column: text})})
        if got != expected:
            wrong.append(f"{column} {text!r}: script gives {got!r}, contract says {expected!r}")
    assert not wrong, "\n".join(wrong)
