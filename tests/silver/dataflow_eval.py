"""Evaluate the string part of the generated Data Flow Script, its regexes and case mapping in real Java.

Data Factory is not reachable from here, but the part of a data flow that turns a bronze line into a
code is string work whose semantics are Java's: ``regexReplace``/``regexExtract`` are
java.util.regex (``Matcher.replaceAll``, ``Matcher.find`` then ``group(n)``), ``lower`` is
``String.toLowerCase``. This module reads the script's ``derive`` assignments through the project's
parser (:func:`emotion_platform.dataflow.parser.parse`, the :mod:`emotion_platform.dataflow.tree` nodes
the Spark engine executes too, so both read the same tree of whatever the generator writes) and
evaluates a requested column for one bronze line:
regexes and lower-casing through the JVM of tests/silver/java.py, the glue (``iif``, ``case``,
``in``, ``==``, null) by the documented expression-language rules, which are plain boolean and
string-equality logic.

``toDouble`` of a string is ``Double.parseDouble`` in the JVM, ``toLong`` ``Long.parseLong``,
``toTimestamp(text, pattern, zone)`` a strict ``SimpleDateFormat`` (the whole text, not lenient) in
that zone, timestamps held as epoch milliseconds; arithmetic and comparisons on doubles
are IEEE 754 in both languages. What it does not evaluate: the functions not listed in
:meth:`Evaluator._call`, named call arguments, qualified or parameter columns, indexing and structures.
Asking for a column that needs one raises :class:`Unsupported` naming the function, so a rewrite of the script
that moves the code mapping onto such a function shows up as a clear test error, not a silent pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emotion_platform.dataflow.parser import parse
from emotion_platform.dataflow.tree import Array, Binary, Call, Column, Expr, Literal, Positional, Unary

from .java import Java


@dataclass(frozen=True)
class _Date:
    """A data flow date: days since 1970-01-01 (``str`` gives the ISO date, as java.time prints it)."""

    days: int

    def __str__(self) -> str:
        import datetime

        return str(datetime.date(1970, 1, 1) + datetime.timedelta(days=self.days))


class Unsupported(NotImplementedError):
    """The expression uses a function this evaluator does not implement."""


def derived_columns(script: str) -> dict[str, Expr]:
    """Every ``derive(name = expression, ...)`` assignment of the script, by column name, as the
    project's parser reads it (:mod:`emotion_platform.dataflow.parser`, the tree Spark runs too)."""
    return {a.name: a.value for st in parse(script).of("derive") for a in st.assignments()}


class Evaluator:
    """Columns of the script for one input row; strings through Java where Java decides."""

    def __init__(self, script: str, java: Java) -> None:
        self.columns = derived_columns(script)
        self.java = java

    def evaluate(self, column: str, inputs: dict[str, Any]) -> Any:
        return self.evaluate_many((column,), inputs)[0]

    def evaluate_many(self, columns: tuple[str, ...], inputs: dict[str, Any]) -> tuple:
        """Several columns of one row (shared intermediate values are computed once)."""
        env: dict[str, Any] = dict(inputs)
        return tuple(self._name(c, env) for c in columns)

    def _name(self, name: str, env: dict[str, Any]) -> Any:
        if name in env:
            return env[name]
        if name not in self.columns:
            raise KeyError(f"column {name!r} is neither an input nor derived in the script")
        env[name] = self._eval(self.columns[name], env)
        return env[name]

    def _eval(self, node: Expr, env: dict[str, Any]) -> Any:
        if isinstance(node, Literal):  # string, regex (the text between backticks), numbers, boolean, null
            return node.value
        if isinstance(node, Column):
            if node.kind != "name":
                raise Unsupported(f"column reference {node.name!r} of kind {node.kind}")
            return self._name(node.name, env)
        if isinstance(node, Array):
            return [self._eval(a, env) for a in node.items]
        if isinstance(node, Unary):
            v = self._eval(node.operand, env)
            if node.op == "!":
                return None if v is None else not v
            return self._op("-", 0, v)
        if isinstance(node, Binary):
            return self._op(node.op, self._eval(node.left, env), self._eval(node.right, env))
        if isinstance(node, Call):
            return self._call(node, env)
        raise Unsupported(f"{type(node).__name__} expressions are not evaluated here")

    @staticmethod
    def _op(op: str, a: Any, b: Any) -> Any:
        if op == "&&":
            if a is False or b is False:
                return False
            return None if a is None or b is None else True
        if op == "||":
            if a is True or b is True:
                return True
            return None if a is None or b is None else False
        if a is None or b is None:
            return None
        if op == "==":
            return a == b
        if op == "!=":
            return a != b
        if op == "+" and (isinstance(a, str) or isinstance(b, str)):
            return f"{a}{b}"
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):  # IEEE 754, as Java
            if op in ("<", ">", "<=", ">="):
                return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
            if op == "/":
                return float(a) / float(b) if b != 0 else (None if a == 0 else float("inf") * (1 if a > 0 else -1))
            return {"+": a + b, "-": a - b, "*": a * b}[op]
        raise Unsupported(f"operator {op!r} on {type(a).__name__}")

    def _call(self, node: Call, env: dict[str, Any]) -> Any:
        f = node.name
        if not all(isinstance(a, Positional) for a in node.args):
            raise Unsupported(f"{f}() with named arguments")
        args = [a.value for a in node.args if isinstance(a, Positional)]
        ev = lambda i: self._eval(args[i], env)  # noqa: E731
        if f in ("iif",):
            cond = ev(0)
            return ev(1) if cond is True else (ev(2) if len(args) > 2 else None)
        if f == "case":
            for i in range(0, len(args) - 1, 2):
                if ev(i) is True:
                    return ev(i + 1)
            return ev(len(args) - 1) if len(args) % 2 else None
        if f == "coalesce":
            for i in range(len(args)):
                v = ev(i)
                if v is not None:
                    return v
            return None
        if f == "null":
            return None
        if f == "toString" and len(args) == 1:
            v = ev(0)
            return None if v is None else v if isinstance(v, str) else str(v)
        if f in ("true", "false"):
            return f == "true"
        if f == "isNull":
            return ev(0) is None
        if f == "in":
            values, v = ev(0), ev(1)
            return None if v is None else v in values  # String.equals
        if f == "regexReplace":
            s, pattern, repl = ev(0), ev(1), ev(2)
            return None if s is None else self.java.replace_all(pattern, s, repl)
        if f == "regexExtract":
            s, pattern = ev(0), ev(1)
            group = ev(2) if len(args) > 2 else 1
            if s is None:
                return None
            groups = self.java.groups(pattern, s)
            return None if groups is None else groups[group - 1]
        if f == "regexMatch":
            s, pattern = ev(0), ev(1)
            return None if s is None else self.java.find(pattern, s)
        if f == "toDouble" and len(args) == 1:
            v = ev(0)
            if v is None or isinstance(v, float):
                return v
            return self.java.parse_double(v) if isinstance(v, str) else float(v)
        if f == "endsWith":
            v, suffix = ev(0), ev(1)
            return None if v is None or suffix is None else v.endswith(suffix)
        if f == "length":
            v = ev(0)
            return None if v is None else len(v)  # UTF-16 units in Java; the tests' values are ASCII
        if f == "left":
            v, k = ev(0), ev(1)
            return None if v is None else v[:max(0, int(k))]
        if f == "rtrim" and len(args) == 2:
            v, chars = ev(0), ev(1)
            return None if v is None else v.rstrip(chars)
        if f == "replace" and len(args) == 3:
            v, old, new = ev(0), ev(1), ev(2)
            return None if v is None else v.replace(old, new)  # String.replace: literal, every occurrence
        if f == "toLong" and len(args) == 1:
            v = ev(0)
            if v is None:
                return None
            if isinstance(v, int):  # a literal number
                return v
            try:
                return int(self.java.jvm.java.lang.Long.parseLong(v))
            except Exception:  # NumberFormatException
                return None
        if f == "toTimestamp":
            v = ev(0)
            if v is None:
                return None
            if len(args) == 1 and isinstance(v, int):  # epoch milliseconds
                return v
            if len(args) == 3:  # (text, SimpleDateFormat pattern, zone): epoch milliseconds or null
                return self.java.sdf_millis(ev(1), v, lenient=False, zone=ev(2))
            raise Unsupported(f"toTimestamp with {len(args)} arguments")
        if f == "seconds" and len(args) == 1:
            return int(ev(0)) * 1000  # a duration in milliseconds, as timestamps are held here
        if f == "lower":
            s = ev(0)
            return None if s is None else self.java.lower(s)
        if f == "translate" and len(args) == 3:  # character for character (String.replace per pair)
            s = ev(0)
            return None if s is None else self.java.translate(s, ev(1), ev(2))
        if f == "floor" and len(args) == 1:
            v = ev(0)
            return None if v is None else int(self.java.jvm.java.lang.Math.floor(float(v)))
        if f == "toInteger" and len(args) == 1:
            v = ev(0)
            return None if v is None else int(v)
        if f == "toDate" and len(args) == 2:  # a date, held as days since 1970-01-01
            ms = self.java.sdf_millis(ev(1), ev(0), lenient=False, zone="UTC")
            return None if ms is None else _Date(ms // 86_400_000)
        if f == "addDays" and len(args) == 2:
            d, n = ev(0), ev(1)
            return None if d is None or n is None else _Date(d.days + int(n))
        raise Unsupported(f"function {f}() is not evaluated here (extend tests/silver/dataflow_eval.py)")
