"""A parser for Data Flow Script (the text of a mapping data flow) into :mod:`.tree`.

The grammar covers the language's general shape, not just what the generator emits today:

- a script is a sequence of statements ``[in1, in2] transformation(arg, ...) ~> name[@(b1, b2)]``;
  inputs may name a split branch (``Route@Valid``);
- an argument is an option (``name: expr``), an assignment (``name = expr``), a declaration
  (``name as type``) or a bare expression; calls take the same argument forms, so clauses such as
  ``mapColumn(a, b = c)``, ``over(key)`` and ``output(x as string)`` parse without special cases;
- expressions: literals (``'...'`` and ``"..."`` strings with backslash escapes, backtick regexes
  taken verbatim, integers, ``L``-suffixed longs, decimals and exponents, hex), column references
  (``name``, ``{name with spaces}``, ``$param``, ``$$``, ``#item``), calls, arrays ``[a, b]``,
  indexing ``x[1]``, structures ``@(a = 1)``, unary ``!`` and ``-`` and the binary operators.

Operator precedence: the data flow docs define the operators (``+ - * / % == != < > <= >= <=> ===
&& || ^ & |``) but publish no precedence table; this grammar uses Scala's rule (Data Flow is a Scala
DSL; precedence by first character), which agrees with Java's for every operator the generator
emits. Lowest to highest: ``|| |``, ``^``, ``&& &``, ``== != === !==``, ``< > <= >= <=>``, ``+ -``,
``* / %``, prefix ``! -``, postfix ``[...]``.

Errors are :class:`DataFlowSyntaxError` with the 1-based line and column and what the parser
expected there.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.tree import Meta

from .tree import (
    Arg,
    Array,
    Assign,
    Binary,
    Call,
    Column,
    Expr,
    Index,
    Literal,
    Named,
    Pos,
    Positional,
    Script,
    Statement,
    Struct,
    Typed,
    Unary,
)

GRAMMAR = r"""
start: statement*

statement: inputs? NAME "(" args? ")" ARROW output
inputs: stream ("," stream)*
stream: NAME ("@" NAME)?
output: NAME ("@" "(" NAME ("," NAME)* ")")?

args: arg ("," arg)*
arg: NAME ":" expr                 -> named
   | (NAME | BRACED | DOLLARS) "=" expr -> assign
   | NAME "as" type_ref            -> typed
   | expr                          -> positional
type_ref: NAME ("(" INT ("," INT)* ")")? ("[" "]")? STRING?

?expr: or_
?or_: xor_ | or_ OR_OP xor_                 -> binary
?xor_: and_ | xor_ XOR_OP and_              -> binary
?and_: eq_ | and_ AND_OP eq_                -> binary
?eq_: rel_ | eq_ EQ_OP rel_                 -> binary
?rel_: add_ | rel_ REL_OP add_              -> binary
?add_: mul_ | add_ (PLUS | MINUS) mul_      -> binary
?mul_: unary_ | mul_ MUL_OP unary_          -> binary
?unary_: postfix_ | (BANG | MINUS) unary_   -> unary
?postfix_: atom | postfix_ "[" expr "]"     -> index
?atom: call | column | literal | array | struct | "(" expr ")"

call: NAME "(" args? ")"
array: "[" (expr ("," expr)*)? "]"
struct: "@" "(" args? ")"
column: NAME | BRACED | PARAM | DOLLARS | LOCAL
      | NAME "@" (NAME | BRACED)   -> qualified
literal: STRING | DQSTRING | REGEX | NUMBER | INT | HEX

ARROW: "~>"
OR_OP: "||" | "|"
XOR_OP: "^"
AND_OP: "&&" | "&"
EQ_OP: "===" | "!==" | "==" | "!="
REL_OP: "<=>" | "<=" | ">=" | "<" | ">"
PLUS: "+"
MINUS: "-"
MUL_OP: "*" | "/" | "%"
BANG: "!"

NAME: /[A-Za-z_][A-Za-z0-9_]*/
BRACED: /\{[^{}\n]*\}/
PARAM: /\$[A-Za-z_][A-Za-z0-9_]*/
DOLLARS: "$$"
LOCAL: /#[A-Za-z_][A-Za-z0-9_]*/
STRING: /'(?:[^'\\]|\\.)*'/s
DQSTRING: /"(?:[^"\\]|\\.)*"/s
REGEX: /`[^`]*`/
HEX.2: /0[xX][0-9a-fA-F]+[lL]?/
NUMBER.1: /(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[dDfF]?|[0-9]+(?:[eE][+-]?[0-9]+[dDfF]?|[dDfF]|[lL])/
INT: /[0-9]+/

%ignore /[ \t\r\n\f]+/
"""

# What a terminal is called in an error message.
_TERMINAL_NAMES = {
    "NAME": "a name",
    "BRACED": "a {column name}",
    "PARAM": "a $parameter",
    "DOLLARS": "'$$'",
    "LOCAL": "a #local",
    "STRING": "a string",
    "DQSTRING": "a string",
    "REGEX": "a `regex`",
    "NUMBER": "a number",
    "INT": "an integer",
    "HEX": "a hex number",
    "ARROW": "'~>'",
    "OR_OP": "'||'",
    "XOR_OP": "'^'",
    "AND_OP": "'&&'",
    "EQ_OP": "'=='",
    "REL_OP": "'<'",
    "PLUS": "'+'",
    "MINUS": "'-'",
    "MUL_OP": "'*'",
    "BANG": "'!'",
    "$END": "the end of the script",
}

_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t", "r": "\r", "`": "`"}


class DataFlowScriptError(ValueError):
    """A problem in a Data Flow Script, located by line and column of the parsed text."""

    def __init__(self, pos: Pos, message: str) -> None:
        self.pos = pos
        self.message = message
        super().__init__(f"{pos}: {message}")


class DataFlowSyntaxError(DataFlowScriptError):
    """The text is not Data Flow Script; the message says what was expected where."""


def _p(meta_or_token: Meta | Token) -> Pos:
    return Pos(getattr(meta_or_token, "line", 0) or 0, getattr(meta_or_token, "column", 0) or 0)


def _unescape(body: str, tok: Token) -> str:
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1]
            if (
                nxt == "u"
                and i + 5 < len(body) + 1
                and all(c in "0123456789abcdefABCDEF" for c in body[i + 2 : i + 6])
                and len(body[i + 2 : i + 6]) == 4
            ):
                out.append(chr(int(body[i + 2 : i + 6], 16)))
                i += 6
                continue
            if nxt not in _ESCAPES:
                pos = Pos(tok.line or 0, (tok.column or 0) + 1 + i)
                raise DataFlowSyntaxError(
                    pos, f"unknown escape '\\{nxt}' in a string literal (expected one of \\\\ \\' \\\" \\n \\t \\r \\uXXXX)"
                )
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _number(tok: Token) -> Literal:
    text = str(tok)
    pos = _p(tok)
    if text[:2].lower() == "0x":
        long_ = text[-1] in "lL"
        value = int(text.rstrip("lL"), 16)
        return Literal("long" if long_ or value > 2**31 - 1 else "integer", value, pos)
    if text[-1] in "lL":
        return Literal("long", int(text[:-1]), pos)
    if text[-1] in "dDfF":
        return Literal("double", float(text[:-1]), pos)
    if any(c in text for c in ".eE"):
        return Literal("double", float(text), pos)
    value = int(text)
    return Literal("integer" if value <= 2**31 - 1 else "long", value, pos)


@v_args(meta=True)
class _ToTree(Transformer):
    def start(self, meta: Meta, items: list[Any]) -> Script:
        return Script(tuple(items))

    def statement(self, meta: Meta, items: list[Any]) -> Statement:
        inputs: tuple[str, ...] = ()
        if items and isinstance(items[0], tuple) and items[0] and items[0][0] == "inputs":
            inputs = items[0][1]
            items = items[1:]
        name = items[0]
        args: tuple = ()
        rest = items[1:]
        if rest and isinstance(rest[0], list):
            args = tuple(rest[0])
            rest = rest[1:]
        # rest: ARROW token, output tuple
        output, branches = rest[-1]
        return Statement(inputs, str(name), args, output, branches, _p(meta))

    def inputs(self, meta: Meta, items: list[Any]) -> tuple[str, tuple[str, ...]]:
        return ("inputs", tuple(items))

    def stream(self, meta: Meta, items: list[Any]) -> str:
        return "@".join(str(t) for t in items)

    def output(self, meta: Meta, items: list[Any]) -> tuple[str, tuple[str, ...]]:
        return str(items[0]), tuple(str(t) for t in items[1:])

    def args(self, meta: Meta, items: list[Any]) -> list[Arg]:
        return list(items)

    def named(self, meta: Meta, items: list[Any]) -> Named:
        return Named(str(items[0]), items[1], _p(meta))

    def assign(self, meta: Meta, items: list[Any]) -> Assign:
        name = str(items[0])
        if name.startswith("{"):
            name = name[1:-1]
        return Assign(name, items[1], _p(meta))

    def typed(self, meta: Meta, items: list[Any]) -> Typed:
        return Typed(str(items[0]), items[1], _p(meta))

    def type_ref(self, meta: Meta, items: list[Any]) -> str:
        return " ".join(str(t) for t in items)

    def positional(self, meta: Meta, items: list[Any]) -> Positional:
        return Positional(items[0], _p(meta))

    def binary(self, meta: Meta, items: list[Any]) -> Binary:
        left, op, right = items
        return Binary(str(op), left, right, _p(op))

    def unary(self, meta: Meta, items: list[Any]) -> Unary:
        op, operand = items
        return Unary(str(op), operand, _p(op))

    def index(self, meta: Meta, items: list[Any]) -> Index:
        return Index(items[0], items[1], _p(meta))

    def call(self, meta: Meta, items: list[Any]) -> Call:
        name = items[0]
        args = tuple(items[1]) if len(items) > 1 else ()
        return Call(str(name), args, _p(name))

    def array(self, meta: Meta, items: list[Any]) -> Array:
        return Array(tuple(items), _p(meta))

    def struct(self, meta: Meta, items: list[Any]) -> Struct:
        return Struct(tuple(items[0]) if items else (), _p(meta))

    def column(self, meta: Meta, items: list[Any]) -> Column | Literal:
        tok: Token = items[0]
        text, pos = str(tok), _p(tok)
        if tok.type == "BRACED":
            return Column(text[1:-1], "name", pos)
        if tok.type == "PARAM":
            return Column(text[1:], "param", pos)
        if tok.type == "DOLLARS":
            return Column("$$", "current", pos)
        if tok.type == "LOCAL":
            return Column(text[1:], "local", pos)
        if text in ("true", "false"):
            return Literal("boolean", text == "true", pos)
        if text == "null":
            return Literal("null", None, pos)
        return Column(text, "name", pos)

    def qualified(self, meta: Meta, items: list[Any]) -> Column:
        stream, col = str(items[0]), str(items[1])
        return Column(f"{stream}@{col.strip('{}')}", "qualified", _p(items[0]))

    def literal(self, meta: Meta, items: list[Any]) -> Literal:
        tok: Token = items[0]
        text, pos = str(tok), _p(tok)
        if tok.type in ("STRING", "DQSTRING"):
            return Literal("string", _unescape(text[1:-1], tok), pos)
        if tok.type == "REGEX":
            return Literal("regex", text[1:-1], pos)
        return _number(tok)


@lru_cache(maxsize=1)
def _lark() -> Lark:
    return Lark(GRAMMAR, parser="lalr", lexer="contextual", propagate_positions=True, maybe_placeholders=False)


# Terminals that can start an expression: reported together as "an expression".
_EXPRESSION_START = {
    "NAME",
    "BRACED",
    "PARAM",
    "DOLLARS",
    "LOCAL",
    "STRING",
    "DQSTRING",
    "REGEX",
    "NUMBER",
    "INT",
    "HEX",
    "BANG",
    "MINUS",
    "LPAR",
    "LSQB",
    "AT",
}


def _expected(names: Iterable[str]) -> str:
    names = set(names)
    labels: set[str] = set()
    if {"NAME", "STRING", "INT", "LPAR"} <= names:
        names -= _EXPRESSION_START
        labels.add("an expression")
    labels |= {_TERMINAL_NAMES.get(n, _literal_terminal(n)) for n in names}
    ordered = sorted(labels)
    if not ordered:
        return "nothing more"
    return ordered[0] if len(ordered) == 1 else "one of " + ", ".join(ordered)


def _literal_terminal(name: str) -> str:
    try:
        pattern = _lark().get_terminal(name).pattern
    except KeyError:
        return name
    return f"'{pattern.value}'" if pattern.type == "str" else name


def _describe(tok: Token) -> str:
    if tok.type == "$END":
        return "end of the script"
    return repr(str(tok))


def parse(text: str) -> Script:
    """Parse Data Flow Script ``text``; raise :class:`DataFlowSyntaxError` with line, column, expectation."""
    try:
        tree = _lark().parse(text)
    except UnexpectedCharacters as e:
        at = e.pos_in_stream
        ch = text[at] if at is not None and at < len(text) else ""
        pos = Pos(e.line, e.column)
        if ch in "'\"`":
            raise DataFlowSyntaxError(pos, f"unterminated {ch}...{ch} literal (no closing {ch})") from None
        raise DataFlowSyntaxError(pos, f"unexpected character {ch!r}; expected {_expected(e.allowed or ())}") from None
    except UnexpectedEOF as e:
        lines = text.splitlines() or [""]
        pos = Pos(len(lines), len(lines[-1]) + 1)
        raise DataFlowSyntaxError(pos, f"unexpected end of the script; expected {_expected(e.expected)}") from None
    except UnexpectedToken as e:
        tok = e.token
        if tok.type == "$END":
            lines = text.rstrip("\n").splitlines() or [""]
            pos = Pos(len(lines), len(lines[-1]) + 1)
        else:
            pos = Pos(tok.line, tok.column)
        raise DataFlowSyntaxError(pos, f"unexpected {_describe(tok)}; expected {_expected(e.expected)}") from None
    except UnexpectedInput as e:  # pragma: no cover - the three above are the ones LALR raises
        raise DataFlowSyntaxError(Pos(getattr(e, "line", 0), getattr(e, "column", 0)), str(e)) from None
    try:
        return _ToTree().transform(tree)
    except Exception as e:  # a DataFlowSyntaxError from an escape, wrapped by lark's VisitError
        inner = getattr(e, "orig_exc", None)
        if isinstance(inner, DataFlowSyntaxError):
            raise inner from None
        raise


def parse_expression(text: str) -> Expr:
    """One expression (for tests and tools): parsed as the single argument of a filter."""
    script = parse(f"X filter({text}) ~> Y")
    (arg,) = script.statements[0].args
    if not isinstance(arg, Positional):
        raise DataFlowSyntaxError(Pos(1, 1), "not an expression")
    return arg.value


__all__ = ["Arg", "DataFlowScriptError", "DataFlowSyntaxError", "parse", "parse_expression"]
