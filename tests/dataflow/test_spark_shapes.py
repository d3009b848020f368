"""The Spark executor's typed accessors on the parsed tree: a script whose shape the executor cannot
run (a format that is a column, a group number that is a string, a declaration where an expression
belongs) fails with a SparkScriptError naming the position, the argument, what it got and the rule,
instead of an AttributeError from deep inside the translation. The nodes come from the real parser."""

from __future__ import annotations

import pytest

from emotion_platform.dataflow.parser import parse, parse_expression
from emotion_platform.dataflow.spark import SparkScriptError, _int, _mapped_name, _text, _value
from emotion_platform.dataflow.tree import Call


def _args(text: str) -> list:
    call = parse_expression(text)
    assert isinstance(call, Call)
    return list(call.args)


def test_literal_arguments_are_read_as_their_values() -> None:
    fmt, group = (_value(a) for a in _args("regexExtract(x, 'a(b)', 1)")[1:])
    assert _text(fmt, "regexExtract()'s pattern") == "a(b)"
    assert _int(group, "regexExtract()'s group") == 1


def test_a_column_where_a_literal_string_belongs_names_position_argument_and_rule() -> None:
    fmt = _value(_args("toDate(x, y)")[1])  # in "X filter(toDate(x, y)) ~> Y": y is column 20
    with pytest.raises(SparkScriptError) as e:
        _text(fmt, "toDate()'s format")
    assert str(e.value) == "line 1, column 20: toDate()'s format = the column y: must be a literal string for the Spark executor"


def test_a_string_where_a_literal_integer_belongs_is_refused() -> None:
    group = _value(_args("regexExtract(x, 'a', '1')")[2])
    with pytest.raises(SparkScriptError, match=r"regexExtract\(\)'s group = the string '1': must be a literal integer"):
        _int(group, "regexExtract()'s group")


def test_a_declaration_is_not_an_expression() -> None:
    (typed,) = parse("source(output(a as string)) ~> S").statements[0].clause("output").args
    with pytest.raises(SparkScriptError, match=r"line 1, column \d+: 'a as string' is not an expression"):
        _value(typed)


def test_mapped_columns_are_named_by_assignment_or_by_the_column() -> None:
    st = parse("S select(mapColumn(a, b = upper(c), d + 1)) ~> T").statements[0]
    a, b, bad = st.clause("mapColumn").args
    assert (_mapped_name(a), _mapped_name(b)) == ("a", "b")
    with pytest.raises(SparkScriptError, match="mapColumn"):
        _mapped_name(bad)
