"""The parsed form of a Data Flow Script: statements (one transformation each) and expressions.

Nodes are small frozen dataclasses. Positions (1-based line and column in the parsed text) are kept
for error messages and excluded from equality, so two scripts that differ only in layout compare
equal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union


@dataclass(frozen=True)
class Pos:
    line: int
    column: int

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}"


NOWHERE = Pos(0, 0)


def _pos() -> Pos:
    return field(default=NOWHERE, compare=False, repr=False)


# -- expressions -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    """``kind`` is one of string, regex, integer, long, double, boolean, null."""

    kind: str
    value: object
    pos: Pos = _pos()


@dataclass(frozen=True)
class Column:
    """A column reference. ``kind``: name (``x`` or ``{x y}``), qualified (``Stream@x``, named
    ``Stream@x``), param (``$x``), current (``$$``), local (``#item``, ``#index_1``)."""

    name: str
    kind: str = "name"
    pos: Pos = _pos()


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple["Arg", ...]
    pos: Pos = _pos()


@dataclass(frozen=True)
class Binary:
    op: str
    left: "Expr"
    right: "Expr"
    pos: Pos = _pos()


@dataclass(frozen=True)
class Unary:
    op: str
    operand: "Expr"
    pos: Pos = _pos()


@dataclass(frozen=True)
class Index:
    target: "Expr"
    index: "Expr"
    pos: Pos = _pos()


@dataclass(frozen=True)
class Array:
    items: tuple["Expr", ...]
    pos: Pos = _pos()


@dataclass(frozen=True)
class Struct:
    fields: tuple["Arg", ...]
    pos: Pos = _pos()


Expr = Union[Literal, Column, Call, Binary, Unary, Index, Array, Struct]


# -- arguments (of a transformation or of a call) ----------------------------------------------------------


@dataclass(frozen=True)
class Positional:
    value: Expr
    pos: Pos = _pos()


@dataclass(frozen=True)
class Named:
    """``name: value`` (an option such as ``allowSchemaDrift: true``)."""

    name: str
    value: Expr
    pos: Pos = _pos()


@dataclass(frozen=True)
class Assign:
    """``name = value`` (a derived column, a window column, a mapped column)."""

    name: str
    value: Expr
    pos: Pos = _pos()


@dataclass(frozen=True)
class Typed:
    """``name as type`` (a declared column in ``output(...)``)."""

    name: str
    type: str
    pos: Pos = _pos()


Arg = Union[Positional, Named, Assign, Typed]


# -- statements ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    """``in1, in2 transform(args) ~> output@(branch, ...)``."""

    inputs: tuple[str, ...]
    transform: str
    args: tuple[Arg, ...]
    output: str
    branches: tuple[str, ...] = ()
    pos: Pos = _pos()

    @property
    def streams(self) -> tuple[str, ...]:
        """The names other statements read this one by: ``Out``, or ``Out@Branch`` for each branch."""
        return tuple(f"{self.output}@{b}" for b in self.branches) if self.branches else (self.output,)

    def named(self, name: str) -> Expr | None:
        return next((a.value for a in self.args if isinstance(a, Named) and a.name == name), None)

    def positional(self) -> list[Expr]:
        return [a.value for a in self.args if isinstance(a, Positional)]

    def assignments(self) -> list[Assign]:
        return [a for a in self.args if isinstance(a, Assign)]

    def clause(self, name: str) -> Call | None:
        """A positional call used as a clause of the transformation (``over(...)``, ``mapColumn(...)``)."""
        return next((v for v in self.positional() if isinstance(v, Call) and v.name == name), None)


@dataclass(frozen=True)
class Script:
    statements: tuple[Statement, ...]

    def statement(self, output: str) -> Statement:
        """The statement whose output (or a branch of it) is ``output``."""
        base = output.split("@", 1)[0]
        for st in self.statements:
            if st.output == base:
                return st
        raise KeyError(output)

    def of(self, transform: str) -> list[Statement]:
        return [st for st in self.statements if st.transform == transform]


def walk(node) -> "list[Expr]":
    """Every expression node under ``node`` (an expression or an argument), depth first."""
    out: list = []
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, (Positional, Named, Assign)):
            stack.append(n.value)
            continue
        if isinstance(n, Typed):
            continue
        out.append(n)
        if isinstance(n, Call):
            stack.extend(reversed(n.args))
        elif isinstance(n, Binary):
            stack.extend((n.right, n.left))
        elif isinstance(n, Unary):
            stack.append(n.operand)
        elif isinstance(n, Index):
            stack.extend((n.index, n.target))
        elif isinstance(n, Array):
            stack.extend(reversed(n.items))
        elif isinstance(n, Struct):
            stack.extend(reversed(n.fields))
    return out
