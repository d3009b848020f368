"""The Data Flow Script grammar: the deployed script, the language's general forms, precedence,
literals and the syntax errors (line, column, what was expected)."""

from __future__ import annotations

import random

import pytest

from emotion_platform.dataflow.parser import DataFlowSyntaxError, parse, parse_expression
from emotion_platform.dataflow.script import s as string_literal
from emotion_platform.dataflow.tree import (Array, Assign, Binary, Call, Column, Index, Literal, Named, Positional,
                                            Struct, Typed, Unary, walk)
from emotion_platform.silver.plan import build_plan


def test_the_deployed_script_of_every_stack_parses_into_the_generated_graph(deployed_flows) -> None:
    plan = build_plan()
    for stack, flow in deployed_flows.items():
        script = parse(flow.text)
        kinds = [st.transform for st in script.statements]
        assert kinds[0] == "source" and kinds.count("sink") == 2, stack
        assert {"derive", "filter", "split", "window", "select"} <= set(kinds), stack
        assert [st.output for st in script.of("source")] == list(flow.sources), stack
        assert [st.output for st in script.of("sink")] == list(flow.sinks), stack
        split = script.of("split")[0]
        assert split.branches == ("Valid", "Rejected") and split.streams == ("Route@Valid", "Route@Rejected")
        silver = script.statement("SilverSink")
        mapped = [a.value.name for a in silver.clause("mapColumn").args]
        assert mapped == [c.name for c in plan.silver_data_columns]
        assert silver.named("rowFolderUrlColumn") == Literal("string", "silver_folder")


def test_the_deployed_text_is_the_generated_text(deployed_flows, generated_text) -> None:
    for flow in deployed_flows.values():
        assert parse(flow.text) == parse(generated_text)


def test_every_regex_of_the_script_reaches_the_tree_verbatim(generated_text) -> None:
    plan = build_plan()
    regexes = {e.value for st in parse(generated_text).statements for a in st.args for e in walk(a)
               if isinstance(e, Literal) and e.kind == "regex"}
    for f in plan.active_timestamp_formats:  # rfc2822 holds the delimiter: never tried
        assert f.shape in regexes
    assert "\\r\\z" in regexes  # the backslash is not an escape inside backticks


@pytest.mark.parametrize("text, expected", [
    ("a || b && c", Binary("||", Column("a"), Binary("&&", Column("b"), Column("c")))),
    ("a && b || c", Binary("||", Binary("&&", Column("a"), Column("b")), Column("c"))),
    ("a == b + c * d", Binary("==", Column("a"), Binary("+", Column("b"), Binary("*", Column("c"), Column("d"))))),
    ("1 - 2 - 3", Binary("-", Binary("-", Literal("integer", 1), Literal("integer", 2)), Literal("integer", 3))),
    ("!a && b", Binary("&&", Unary("!", Column("a")), Column("b"))),
    ("a < b == c > d", Binary("==", Binary("<", Column("a"), Column("b")), Binary(">", Column("c"), Column("d")))),
    ("-x[1]", Unary("-", Index(Column("x"), Literal("integer", 1)))),
    ("(a || b) && c", Binary("&&", Binary("||", Column("a"), Column("b")), Column("c"))),
    ("a ^ b && c", Binary("^", Column("a"), Binary("&&", Column("b"), Column("c")))),
    ("t - seconds(300)", Binary("-", Column("t"), Call("seconds", (Positional(Literal("integer", 300)),)))),
    ("x <=> 'A'", Binary("<=>", Column("x"), Literal("string", "A"))),
])
def test_operator_precedence_and_associativity(text, expected) -> None:
    assert parse_expression(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("'it\\'s'", Literal("string", "it's")),
    ("'a\\\\b'", Literal("string", "a\\b")),
    ('"say \\"hi\\""', Literal("string", 'say "hi"')),
    ("'tab\\there'", Literal("string", "tab\there")),
    ("'\\u00e9'", Literal("string", "é")),
    ("`^[0-9]+\\.\\d$`", Literal("regex", "^[0-9]+\\.\\d$")),
    ("42", Literal("integer", 42)),
    ("3000000000", Literal("long", 3000000000)),
    ("7L", Literal("long", 7)),
    ("100.0", Literal("double", 100.0)),
    (".5", Literal("double", 0.5)),
    ("1e3", Literal("double", 1000.0)),
    ("0xff", Literal("integer", 255)),
    ("true", Literal("boolean", True)),
    ("null", Literal("null", None)),
    ("$$", Column("$$", "current")),
    ("#item_1", Column("item_1", "local")),
    ("$debtCol", Column("debtCol", "param")),
    ("{order id}", Column("order id")),
    ("['a', 'b'][1]", Index(Array((Literal("string", "a"), Literal("string", "b"))), Literal("integer", 1))),
    ("split(x, ',')[2]", Index(Call("split", (Positional(Column("x")), Positional(Literal("string", ",")))),
                               Literal("integer", 2))),
    ("@(a = 1)", Struct((Assign("a", Literal("integer", 1)),))),
    ("true()", Call("true", ())),
])
def test_literals_and_references(text, expected) -> None:
    assert parse_expression(text) == expected


def test_the_generators_string_literal_round_trips_through_the_parser() -> None:
    rng = random.Random(7)
    alphabet = "ab'\\\"`{}$%\t\n\r ,é\u2028"
    for _ in range(300):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert parse_expression(string_literal(value)) == Literal("string", value), repr(value)


def test_the_general_forms_of_the_language_parse() -> None:
    text = """source(output(
		id as integer,
		name as string,
		amount as decimal(10,2),
		at as timestamp 'yyyy-MM-dd'
	),
	allowSchemaDrift: true,
	format: 'parquet') ~> Orders
source(allowSchemaDrift: true) ~> Customers
Orders, Customers join(Orders@id == Customers@id,
	joinType:'inner',
	broadcast: 'auto') ~> Joined
Joined aggregate(groupBy(name),
	total = sum(amount),
	n = count()) ~> Totals
Totals sort(desc(total, true)) ~> Sorted
Sorted derive(each(match(type == 'string'), $$ = trim($$))) ~> Trimmed
Trimmed sink(allowSchemaDrift: true,
	partitionBy('hash', 1)) ~> Out"""
    script = parse(text)
    assert [st.transform for st in script.statements] == ["source", "source", "join", "aggregate", "sort", "derive",
                                                          "sink"]
    decl = script.statements[0].clause("output")
    assert decl.args[2] == Typed("amount", "decimal 10 2") and decl.args[3] == Typed("at", "timestamp 'yyyy-MM-dd'")
    join = script.statement("Joined")
    assert join.inputs == ("Orders", "Customers") and join.named("joinType") == Literal("string", "inner")
    assert isinstance(script.statement("Totals").args[1], Assign)
    each = script.statement("Trimmed").args[0].value
    assert each.name == "each" and each.args[1] == Assign("$$", Call("trim", (Positional(Column("$$", "current")),)))
    assert isinstance(script.statement("Out").args[0], Named)


@pytest.mark.parametrize("text, line, column, expected", [
    ("A filter(x > ) ~> B", 1, 14, "expected an expression"),
    ("A filter(x)\n~> ", 2, 4, "expected a name"),
    ("A derive(y = f(1,, 2)) ~> B", 1, 18, "expected an expression"),
    ("A derive(y = 1) B", 1, 17, "expected '~>'"),
    ("A split(x,\n\tdisjoint: false) ~> R@(V, ", 2, 28, "expected a name"),
    ("A derive(y = 'abc) ~> B", 1, 14, "unterminated"),
    ("A derive(y = `abc) ~> B", 1, 14, "unterminated"),
    ("A derive(y = 'a\\qb') ~> B", 1, 16, "unknown escape '\\q'"),
    ("A derive(y = 1 ? 2) ~> B", 1, 16, "unexpected character '?'"),
    ("A filter((x) ~> B", 1, 14, "unexpected '~>'"),
])
def test_syntax_errors_name_line_column_and_expectation(text, line, column, expected) -> None:
    with pytest.raises(DataFlowSyntaxError) as err:
        parse(text)
    assert (err.value.pos.line, err.value.pos.column) == (line, column), str(err.value)
    assert expected in str(err.value) and str(err.value).startswith(f"line {line}, column {column}: ")


def test_a_truncated_deployed_script_fails_at_its_end(generated_text) -> None:
    cut = generated_text[: generated_text.index("~> QuarantineSink")]
    with pytest.raises(DataFlowSyntaxError) as err:
        parse(cut)
    assert "expected '~>'" in str(err.value) or "end of the script" in str(err.value)
    assert err.value.pos.line == cut.rstrip("\n").count("\n") + 1
