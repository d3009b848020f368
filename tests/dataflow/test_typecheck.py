"""The type check: the deployed script passes; mutations of it (a renamed stream, an unknown function,
a wrong arity, a wrong argument type, ...) fail with the function or stream and its position."""

from __future__ import annotations

import re

import pytest

from emotion_platform.dataflow.functions import FUNCTIONS
from emotion_platform.dataflow.parser import DataFlowScriptError, parse, parse_expression
from emotion_platform.dataflow.tree import Call, walk
from emotion_platform.dataflow.typecheck import DataFlowTypeError, accepts, typecheck
from emotion_platform.silver.plan import build_plan


def pos_of(text: str, needle: str, nth: int = 0) -> tuple[int, int]:
    """1-based (line, column) of the ``nth`` occurrence of ``needle``."""
    at = -1
    for _ in range(nth + 1):
        at = text.index(needle, at + 1)
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1


def problems(text: str) -> list[tuple[int, int, str]]:
    with pytest.raises(DataFlowTypeError) as err:
        typecheck(text)
    return [(p.pos.line, p.pos.column, p.message) for p in err.value.problems]


def test_the_deployed_script_of_every_stack_type_checks(deployed_flows) -> None:
    plan = build_plan()
    for flow in deployed_flows.values():
        checked = typecheck(flow.text)
        silver = checked.schemas["SilverSink"].columns
        assert list(silver) == [c.name for c in plan.silver_data_columns]
        types = {c.name: c.type for c in plan.silver_data_columns}
        for name, t in silver.items():  # the contract's types reach the sink
            assert t == {"double": "double", "timestamp_utc": "timestamp"}.get(types[name], "string"), (name, t)
        assert list(checked.schemas["QuarantineSink"].columns) == list(plan.quarantine_columns)
        assert checked.schemas["Judged"].columns["reason"] == "string"


def test_every_function_the_script_calls_is_in_the_documented_table(generated_text) -> None:
    called = {e.name for st in parse(generated_text).statements for a in st.args for e in walk(a)
              if isinstance(e, Call)}
    clauses = {"over", "mapColumn"}  # clauses of window and select/sink, not expression functions
    assert called - clauses <= set(FUNCTIONS), sorted(called - clauses - set(FUNCTIONS))
    assert len(called - clauses) >= 20


@pytest.mark.parametrize("name, text", [
    ("regexExtract", "regexExtract(string, string, [integral]) => string"),
    ("regexMatch", "regexMatch(string, string) => boolean"),
    ("toTimestamp", "toTimestamp(any, [string], [string]) => timestamp"),
    ("toString", "toString(any, [string], [string]) => string"),
    ("case", "case(boolean, any, ...) => any"),
    ("iif", "iif(boolean, any, [any]) => any"),
    ("seconds", "seconds(integer) => long"),
    ("rowNumber", "rowNumber() => integer"),
])
def test_documented_signatures(name, text) -> None:
    assert str(FUNCTIONS[name]) == text


def test_the_renamed_stream_mutation_fails_naming_the_stream(generated_text) -> None:
    text = generated_text.replace("Ranked filter(", "Rankd filter(", 1)
    found = problems(text)
    line, _ = pos_of(text, "Rankd filter(")
    assert (line, 1, "Deduplicated: input stream 'Rankd' is not defined before it is used") in found
    assert any("stream 'Ranked' is never used" in m for _, _, m in found)


def test_a_renamed_output_leaves_its_readers_dangling(generated_text) -> None:
    found = problems(generated_text.replace("~> Typed\n", "~> Typed2\n", 1))
    assert any("input stream 'Typed' is not defined" in m for _, _, m in found)
    assert len(found) == 2  # no cascade of unknown columns after the first error


def test_the_unknown_function_mutation_fails_at_the_call(generated_text) -> None:
    text = generated_text.replace("regexMatch(n_valence", "regexMatches(n_valence", 1)
    assert problems(text) == [(*pos_of(text, "regexMatches("), "unknown function 'regexMatches'")]


def test_the_wrong_arity_mutation_fails_at_the_call(generated_text) -> None:
    text = generated_text.replace("regexExtract(norm_line, `^([^,]*)`, 1)", "regexExtract(norm_line, `^([^,]*)`, 1, 2)")
    (found,) = problems(text)
    assert found[:2] == pos_of(text, "regexExtract(norm_line, `^([^,]*)`, 1, 2)")
    assert "regexExtract() takes 2 to 3 arguments, got 4" in found[2]


def test_a_missing_argument_fails(generated_text) -> None:
    text = generated_text.replace("endsWith(n_intensity, '%')", "endsWith(n_intensity)")
    (found,) = problems(text)
    assert "endsWith() takes 2 arguments, got 1" in found[2] and found[:2] == pos_of(text, "endsWith(n_intensity)")


def test_the_wrong_argument_type_mutation_fails_at_the_argument(generated_text) -> None:
    text = generated_text.replace("toString(n_fields)", "lower(n_fields)", 1)
    (found,) = problems(text)
    assert found[:2] == pos_of(text, "n_fields)", 0) or "argument 1 of lower() must be string, got integer" in found[2]
    assert "argument 1 of lower() must be string, got integer" in found[2]


def test_a_condition_that_is_not_boolean_fails(generated_text) -> None:
    text = generated_text.replace("Ranked filter(winner_rank == 1)", "Ranked filter(winner_rank)")
    (found,) = problems(text)
    assert "the filter condition must be boolean, got integer" in found[2]


def test_an_unknown_column_fails_where_it_is_read(generated_text) -> None:
    text = generated_text.replace("toString(event_date, 'yyyy-MM-dd')", "toString(event_day, 'yyyy-MM-dd')")
    (found,) = problems(text)
    assert found[:2] == pos_of(text, "event_day") and found[2].startswith("unknown column 'event_day'")


def test_a_sink_folder_column_must_exist(generated_text) -> None:
    text = generated_text.replace("rowFolderUrlColumn: 'silver_folder'", "rowFolderUrlColumn: 'folder'")
    (found,) = problems(text)
    assert "rowFolderUrlColumn names 'folder', which is not a column of the input" in found[2]


def test_a_split_with_a_branch_too_many_fails(generated_text) -> None:
    found = problems(generated_text.replace("Route@(Valid, Rejected)", "Route@(Valid, Rejected, Other)"))
    assert any("1 condition(s) but 3 branch(es)" in m for _, _, m in found)


def test_reading_a_split_without_a_branch_fails(generated_text) -> None:
    found = problems(generated_text.replace("Route@Valid window", "Route window", 1))
    assert any("input 'Route' is a split; read one of its branches" in m for _, _, m in found)


def test_a_stream_defined_twice_fails(generated_text) -> None:
    found = problems(generated_text.replace("~> Fields\n", "~> Columns\n", 1))
    assert any("stream 'Columns' is defined twice" in m for _, _, m in found)


@pytest.mark.parametrize("expr, message", [
    ("iif(true(), 'a', 1.0)", "iif() values have incompatible types: string, double"),
    ("case(x, 'a', 'b')", "argument 1 of case() must be boolean, got string"),
    ("case(true(), 'a', 'b', 'c')", "argument 3 of case() must be boolean, got string"),
    ("'a' < 1", "operator '<' cannot compare string with integer"),
    ("!'a'", "operator '!' takes a boolean, got string"),
    ("1 && true()", "operator '&&' takes booleans, got integer on the left"),
    ("toTimestamp(x, 1)", "argument 2 of toTimestamp() must be string, got integer"),
    ("left(x, 1.5)", "argument 2 of left() must be integral, got double"),
    ("'a'[1]", "cannot index a string"),
    ("[1, 2]['a']", "an array index must be integral, got string"),
    ("regexMatch(x)", "regexMatch() takes 2 arguments, got 1"),
    ("true(1)", "true() takes 0 arguments, got 1"),
    ("nosuch(x)", "unknown function 'nosuch'"),
])
def test_expression_type_errors(expr, message) -> None:
    text = f"source(rowUrlColumn: 'x') ~> S\nS filter({expr}) ~> F\nF sink() ~> Out"
    found = problems(text)
    assert any(message in m for _, _, m in found), found


@pytest.mark.parametrize("expr", [
    "iif(true(), 'a', toString(null())) == 'a'",
    "case(true(), 1, 2.5) > 0",
    "coalesce(toTimestamp(x), toTimestamp(x, 'yyyy', 'UTC')) < toTimestamp(x) - seconds(5)",
    "toString(byPosition(1)) + 1 == 'a1'",
    "in(['a', 'b'], x)",
    "length(x) - 1 >= 0 && !isNull(x) || false()",
    "split(x, ',')[1] == 'a'",
    "toDouble(x) / 100.0 < 1",
    "x <=> 'A'",
])
def test_well_typed_expressions_pass(expr) -> None:
    typecheck(f"source(rowUrlColumn: 'x') ~> S\nS filter({expr}) ~> F\nF sink() ~> Out")


def test_widening_rules() -> None:
    assert accepts("long", "integer") and accepts("double", "long") and not accepts("integer", "long")
    assert accepts("integral", "short") and not accepts("integral", "double")
    assert accepts("datetime", "date") and accepts("string", "null") and accepts("string", "any")
    assert not accepts("string", "double") and not accepts("boolean", "string")


def test_every_table_entry_is_well_formed() -> None:
    words = {"any", "string", "boolean", "integer", "long", "short", "byte", "double", "float", "decimal", "number",
             "integral", "datetime", "date", "timestamp", "array", "map", "binary", "function", "null"}
    for sig in FUNCTIONS.values():
        assert {p.type for p in sig.params} <= words and sig.returns in words, sig
        assert all(not p.optional for p in sig.params[: sig.min_args]), sig  # optional ones come last
        assert parse_expression(f"{sig.name}()").name == sig.name  # every name is a callable identifier


def test_errors_are_script_errors_with_positions() -> None:
    with pytest.raises(DataFlowScriptError) as err:
        typecheck("source() ~> S\nS filter(nosuch()) ~> F\nF sink() ~> Out")
    assert str(err.value) == "line 2, column 10: unknown function 'nosuch'"
    assert re.match(r"line \d+, column \d+: ", str(err.value))
