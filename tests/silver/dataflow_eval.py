"""Evaluate the string part of the generated Data Flow Script, its regexes and case mapping in real Java.

Data Factory is not reachable from here, but the part of a data flow that turns a bronze line into a
code is string work whose semantics are Java's: ``regexReplace``/``regexExtract`` are
java.util.regex (``Matcher.replaceAll``, ``Matcher.find`` then ``group(n)``), ``lower`` is
``String.toLowerCase``. This module reads the script's ``derive`` assignments (from the script text,
so it follows whatever the generator writes) and evaluates a requested column for one bronze line:
regexes and lower-casing through the JVM of tests/silver/java.py, the glue (``iif``, ``case``,
``in``, ``==``, null) by the documented expression-language rules, which are plain boolean and
string-equality logic.

``toDouble`` of a string is ``Double.parseDouble`` in the JVM, ``toLong`` ``Long.parseLong``,
``toTimestamp(text, pattern, zone)`` a strict ``SimpleDateFormat`` (the whole text, not lenient) in
that zone, timestamps held as epoch milliseconds; arithmetic and comparisons on doubles
are IEEE 754 in both languages. What it does not evaluate: ``toTimestamp`` and the other functions
not listed in :meth:`Evaluator._call`. Asking for a
column that needs one raises :class:`Unsupported` naming the function, so a rewrite of the script
that moves the code mapping onto such a function shows up as a clear test error, not a silent pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from emotion_platform.dataflow.check import parse

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


_TOKEN = re.compile(r"""\s*(?:
    (?P<str>'(?:\\.|[^'\\])*')
  | (?P<rx>`[^`]*`)
  | (?P<num>\d+(?:\.\d+)?)
  | (?P<id>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|&&|\|\||[-+*/!<>(),\[\]])
)""", re.X)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "r": "\r"}.get(m.group(1), m.group(1)), text)


def tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            if text[pos:].strip() == "":
                break
            raise ValueError(f"cannot read expression at {text[pos:pos + 40]!r}")
        kind = m.lastgroup
        value = m.group(kind)
        if kind == "str":
            value = _unescape(value[1:-1])
        elif kind == "rx":
            value = value[1:-1]
        out.append((kind, value))
        pos = m.end()
    return out


@dataclass
class Node:
    kind: str  # lit | rx | name | call | array | op | not
    value: Any
    args: tuple = ()


class _Parser:
    _LEVELS = (("||",), ("&&",), ("==", "!="), ("<", ">", "<=", ">="), ("+", "-"), ("*", "/"))

    def __init__(self, toks: list[tuple[str, str]]) -> None:
        self.toks, self.i = toks, 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value):
            raise ValueError(f"expected {value!r}, found {tok!r}")
        self.i += 1
        return tok

    def expr(self, level: int = 0) -> Node:
        if level == len(self._LEVELS):
            return self.unary()
        left = self.expr(level + 1)
        while (tok := self.peek()) and tok[0] == "op" and tok[1] in self._LEVELS[level]:
            self.i += 1
            left = Node("op", tok[1], (left, self.expr(level + 1)))
        return left

    def unary(self) -> Node:
        tok = self.peek()
        if tok == ("op", "!"):
            self.i += 1
            return Node("not", None, (self.unary(),))
        if tok == ("op", "-"):
            self.i += 1
            return Node("op", "-", (Node("lit", 0), self.unary()))
        return self.primary()

    def primary(self) -> Node:
        kind, value = self.take()
        if kind == "str":
            return Node("lit", value)
        if kind == "num":
            return Node("lit", float(value) if "." in value else int(value))
        if kind == "rx":
            return Node("rx", value)
        if (kind, value) == ("op", "("):
            node = self.expr()
            self.take(")")
            return node
        if (kind, value) == ("op", "["):
            items = []
            while self.peek() != ("op", "]"):
                items.append(self.expr())
                if self.peek() == ("op", ","):
                    self.i += 1
            self.take("]")
            return Node("array", None, tuple(items))
        if kind == "id":
            if self.peek() == ("op", "("):
                self.i += 1
                args = []
                while self.peek() != ("op", ")"):
                    args.append(self.expr())
                    if self.peek() == ("op", ","):
                        self.i += 1
                self.take(")")
                return Node("call", value, tuple(args))
            return Node("name", value)
        raise ValueError(f"unexpected token {value!r}")


def parse_expression(text: str) -> Node:
    p = _Parser(tokens(text))
    node = p.expr()
    if p.peek() is not None:
        raise ValueError(f"trailing tokens after expression: {p.toks[p.i:][:5]}")
    return node


def _split_top(body: str) -> list[str]:
    """Split 'a = f(x, y),\n b = ...' on top-level commas (strings and regexes opaque)."""
    parts, depth, buf, i = [], 0, [], 0
    while i < len(body):
        ch = body[i]
        if ch in "'`":
            j = i + 1
            while j < len(body) and body[j] != ch:
                j += 2 if ch == "'" and body[j] == "\\" else 1
            buf.append(body[i:j + 1])
            i = j + 1
            continue
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
        i += 1
    if "".join(buf).strip():
        parts.append("".join(buf))
    return parts


def derived_columns(script: str) -> dict[str, str]:
    """Every ``derive(name = expression, ...)`` assignment of the script, by column name (the
    expression text; parsed when a column is asked for, so unrelated syntax never gets in the way)."""
    out: dict[str, str] = {}
    for st in parse(script):
        if st.transform != "derive":
            continue
        start = st.text.index("derive(") + len("derive(")
        end = st.text.rindex(") ~>")
        for part in _split_top(st.text[start:end]):
            name, _eq, expr = part.partition("=")
            out[name.strip()] = expr.strip()
    return out


class Evaluator:
    """Columns of the script for one input row; strings through Java where Java decides."""

    def __init__(self, script: str, java: Java) -> None:
        self.columns = derived_columns(script)
        self.java = java
        self._parsed: dict[str, Node] = {}

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
        if name not in self._parsed:
            self._parsed[name] = parse_expression(self.columns[name])
        env[name] = self._eval(self._parsed[name], env)
        return env[name]

    def _eval(self, node: Node, env: dict[str, Any]) -> Any:
        k = node.kind
        if k in ("lit", "rx"):
            return node.value
        if k == "name":
            return self._name(node.value, env)
        if k == "array":
            return [self._eval(a, env) for a in node.args]
        if k == "not":
            v = self._eval(node.args[0], env)
            return None if v is None else not v
        if k == "op":
            return self._op(node.value, *(self._eval(a, env) for a in node.args))
        return self._call(node, env)

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

    def _call(self, node: Node, env: dict[str, Any]) -> Any:
        f, args = node.value, node.args
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
