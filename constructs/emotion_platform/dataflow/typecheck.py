"""A type check of a parsed Data Flow Script: the stream graph, the columns each stream carries, and
every function call against its documented signature (:mod:`.functions`).

It follows the rows through the transformations the generator uses (source, derive, filter, split,
window, select, sink) and a few neighbours (aggregate, sort, union), so a column is known with its
type where it is referenced. Problems found:

- a stream read before it is defined, defined twice, or never used; a split whose branches do not
  match its conditions; an input count a transformation does not take;
- an unknown column; an unknown function; a call with the wrong number of arguments; an argument
  of the wrong type (a ``string`` parameter given a ``double``, a condition that is not boolean);
- branches of ``iif``/``case``/``coalesce`` with incompatible types, operators on types they do not
  take (``'a' < 1``, ``!'x'``, ``1 && true``).

``any`` (a drifted column read with ``byPosition``/``byName``, a ``$parameter``) and ``null()`` pass
every check, as in Data Factory, where they are resolved at run time.

All problems are collected and raised together as one :class:`DataFlowTypeError`, each with the
line and column of the offending call or reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .functions import COMMON_RESULT, FUNCTIONS, Signature
from .parser import DataFlowScriptError, parse
from .tree import (
    Array,
    Assign,
    Binary,
    Call,
    Column,
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

INTEGRAL = ("byte", "short", "integer", "long")
FRACTIONAL = ("float", "double", "decimal")
NUMBER = INTEGRAL + FRACTIONAL
DATETIME = ("date", "timestamp")
CATEGORIES = {"integral": INTEGRAL, "fractional": FRACTIONAL, "number": NUMBER, "datetime": DATETIME}
_WIDTH = {t: i for i, t in enumerate(("byte", "short", "integer", "long", "float", "double", "decimal"))}
# Types from `output(x as type)` declarations, by the word they start with.
_DECLARED = {
    "string": "string",
    "integer": "integer",
    "int": "integer",
    "long": "long",
    "short": "short",
    "byte": "byte",
    "double": "double",
    "float": "float",
    "decimal": "decimal",
    "boolean": "boolean",
    "date": "date",
    "timestamp": "timestamp",
    "binary": "binary",
}


@dataclass(frozen=True)
class Problem:
    pos: Pos
    message: str

    def __str__(self) -> str:
        return f"{self.pos}: {self.message}"


class DataFlowTypeError(DataFlowScriptError):
    """One or more problems; ``problems`` lists each with its position."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        first = problems[0]
        super().__init__(first.pos, first.message)
        self.args = ("\n".join(str(p) for p in problems),)

    def __str__(self) -> str:
        return self.args[0]


def base(t: str) -> str:
    return t.split("<", 1)[0]


def accepts(param: str, arg: str) -> bool:
    """Whether an argument of type ``arg`` may be passed where the docs say ``param``."""
    if arg in ("any", "null") or param in ("any", "function"):
        return True
    a = base(arg)
    if param in CATEGORIES:
        return a in CATEGORIES[param]
    if param in NUMBER and a in NUMBER:  # implicit widening only
        return _WIDTH[a] <= _WIDTH[param]
    return a == param


def common(types: list[str]) -> str | None:
    """The type several values share (None if they cannot be combined)."""
    known = [t for t in types if t not in ("any", "null")]
    if not known:
        return "any" if "any" in types else "null"
    if all(t == known[0] for t in known):
        return known[0]
    bases = {base(t) for t in known}
    if bases <= set(NUMBER):
        return max(bases, key=_WIDTH.__getitem__)
    if bases <= set(DATETIME):
        return "timestamp"
    if len(bases) == 1:
        return bases.pop()
    return None


def _comparable(a: str, b: str) -> bool:
    if a in ("any", "null") or b in ("any", "null"):
        return True
    a, b = base(a), base(b)
    return a == b or (a in NUMBER and b in NUMBER) or (a in DATETIME and b in DATETIME)


@dataclass
class Schema:
    """The columns of one stream, in order, with their types. ``drift``: unknown columns may exist
    (reachable through ``byName``/``byPosition`` only)."""

    columns: dict[str, str] = field(default_factory=dict)
    drift: bool = False
    unknown: bool = False  # after an earlier error: every column passes, so one mistake is reported once

    def copy(self) -> "Schema":
        return Schema(dict(self.columns), self.drift, self.unknown)


@dataclass
class CheckedScript:
    """The parsed script with the schema of every stream (``Out`` or ``Out@Branch``)."""

    script: Script
    schemas: dict[str, Schema]


class _Checker:
    def __init__(self, script: Script):
        self.script = script
        self.problems: list[Problem] = []
        self.schemas: dict[str, Schema] = {}

    def fail(self, pos: Pos, message: str) -> None:
        self.problems.append(Problem(pos, message))

    # -- expressions ---------------------------------------------------------------------------------

    def expr(self, e, schema: Schema) -> str:
        if isinstance(e, Literal):
            return "string" if e.kind == "regex" else e.kind
        if isinstance(e, Column):
            if e.kind != "name":
                return "any"
            if e.name in schema.columns:
                return schema.columns[e.name]
            if schema.unknown:
                return "any"
            self.fail(
                e.pos,
                f"unknown column '{e.name}'" + (f" (known: {', '.join(schema.columns)})" if len(schema.columns) <= 12 else ""),
            )
            return "any"
        if isinstance(e, Call):
            return self.call(e, schema)
        if isinstance(e, Unary):
            t = self.expr(e.operand, schema)
            if e.op == "!":
                if not accepts("boolean", t):
                    self.fail(e.pos, f"operator '!' takes a boolean, got {t}")
                return "boolean"
            if not accepts("number", t):
                self.fail(e.pos, f"unary '-' takes a number, got {t}")
            return t
        if isinstance(e, Binary):
            return self.binary(e, schema)
        if isinstance(e, Index):
            t = self.expr(e.target, schema)
            i = self.expr(e.index, schema)
            b = base(t)
            if b == "array":
                if not accepts("integral", i):
                    self.fail(e.index.pos if hasattr(e.index, "pos") else e.pos, f"an array index must be integral, got {i}")
                return t[6:-1] if t.startswith("array<") else "any"
            if b not in ("any", "map"):
                self.fail(e.pos, f"cannot index a {t} with [...]")
            return "any"
        if isinstance(e, Array):
            items = [self.expr(x, schema) for x in e.items]
            elem = common(items) if items else "string"
            if elem is None:
                self.fail(e.pos, f"array items have incompatible types: {', '.join(items)}")
                elem = "any"
            return f"array<{elem}>"
        if isinstance(e, Struct):
            for f in e.fields:
                if isinstance(f, (Assign, Positional, Named)):
                    self.expr(f.value, schema)
            return "struct"
        raise TypeError(e)  # pragma: no cover

    def binary(self, e: Binary, schema: Schema) -> str:
        lt, rt = self.expr(e.left, schema), self.expr(e.right, schema)
        op = e.op
        lb, rb = base(lt), base(rt)
        unknown = lb in ("any", "null") or rb in ("any", "null")
        if op in ("||", "&&"):
            for side, t in (("left", lt), ("right", rt)):
                if not accepts("boolean", t):
                    self.fail(e.pos, f"operator '{op}' takes booleans, got {t} on the {side}")
            return "boolean"
        if op in ("|", "&", "^"):
            if not unknown and not ((lb == rb == "boolean") or (lb in INTEGRAL and rb in INTEGRAL)):
                self.fail(e.pos, f"operator '{op}' takes two booleans or two integral numbers, got {lt} and {rt}")
            return lt if not unknown else ("boolean" if "boolean" in (lb, rb) else "any")
        if op in ("==", "!=", "===", "!==", "<", ">", "<=", ">="):
            if not _comparable(lt, rt):
                self.fail(e.pos, f"operator '{op}' cannot compare {lt} with {rt}")
            return "boolean"
        if op == "<=>":
            for t in (lt, rt):
                if not accepts("string", t):
                    self.fail(e.pos, f"operator '<=>' compares strings, got {t}")
            return "boolean"
        if op == "+":
            if "string" in (lb, rb):
                return "string"
            if unknown:
                return rt if lb in ("any", "null") else lt
            if lb in NUMBER and rb in NUMBER:
                return common([lt, rt]) or "double"
            if lb in DATETIME and rb in INTEGRAL:
                return lt
            if lb in INTEGRAL and rb in DATETIME:
                return rt
            if lb == rb == "array":
                return lt
            self.fail(e.pos, f"operator '+' cannot add {lt} and {rt}")
            return "any"
        if op == "-":
            if unknown:
                known, kb = (rt, rb) if lb in ("any", "null") else (lt, lb)
                # timestamp - timestamp is a long (milliseconds): with one side unknown, either may come
                return "any" if kb == "timestamp" else known
            if lb in NUMBER and rb in NUMBER:
                return common([lt, rt]) or "double"
            if lb in DATETIME and rb in INTEGRAL:
                return lt
            if lb == rb == "timestamp":
                return "long"
            self.fail(e.pos, f"operator '-' cannot subtract {rt} from {lt}")
            return "any"
        if op in ("*", "/", "%"):
            for t in (lt, rt):
                if not accepts("number", t):
                    self.fail(e.pos, f"operator '{op}' takes numbers, got {t}")
            if unknown:
                return "any"
            if lb in NUMBER and rb in NUMBER:
                return common([lt, rt]) or "double"
            return "any"
        self.fail(e.pos, f"unknown operator '{op}'")  # pragma: no cover - the grammar has no others
        return "any"

    def call(self, c: Call, schema: Schema) -> str:
        sig: Signature | None = FUNCTIONS.get(c.name)
        values = []
        for a in c.args:
            if not isinstance(a, Positional):
                self.fail(
                    a.pos,
                    f"{c.name}(): unexpected {'option' if isinstance(a, Named) else 'assignment'} "
                    f"'{a.name}' in an expression call",
                )
                continue
            values.append(a.value)
        types = [self.expr(v, schema) for v in values]
        if sig is None:
            self.fail(c.pos, f"unknown function '{c.name}'")
            return "any"
        n = len(types)
        if n < sig.min_args or (sig.max_args is not None and n > sig.max_args):
            self.fail(c.pos, f"{c.name}() takes {sig.arity_text()}, got {n} (documented: {sig})")
            return sig.returns if sig.returns not in ("any",) else "any"
        for i, t in enumerate(types):
            want = sig.param(i).type
            if c.name == "case" and i % 2 == 0 and not (i == n - 1 and n % 2 == 1):
                want = "boolean"
            if not accepts(want, t):
                self.fail(
                    getattr(values[i], "pos", c.pos),
                    f"argument {i + 1} of {c.name}() must be {want}, got {t} (documented: {sig})",
                )
        if c.name in COMMON_RESULT:
            picked = [types[i] for i in COMMON_RESULT[c.name](n) if i < n]
            shared = common(picked)
            if shared is None:
                self.fail(c.pos, f"{c.name}() values have incompatible types: {', '.join(picked)}")
                return "any"
            return shared
        ret = sig.returns
        if ret in CATEGORIES and sig.params and sig.params[0].type == ret and types:
            return types[0]  # abs(integer) is an integer
        if ret == "array" and c.name in ("filter", "slice", "distinct", "except", "intersect") and types:
            return types[0]
        return ret

    # -- statements ----------------------------------------------------------------------------------

    def run(self) -> CheckedScript:
        defined: dict[str, Statement] = {}
        used: set[str] = set()
        for st in self.script.statements:
            for name in (st.output, *st.streams):
                if name in defined and defined[name] is not st:
                    self.fail(st.pos, f"stream '{name}' is defined twice (first at {defined[name].pos})")
                defined.setdefault(name, st)
            ins: list[Schema] = []
            for inp in st.inputs:
                if inp not in self.schemas:
                    if inp in defined and defined[inp].branches and "@" not in inp:
                        self.fail(
                            st.pos,
                            f"{st.output}: input '{inp}' is a split; read one of its branches "
                            f"({', '.join(defined[inp].streams)})",
                        )
                    else:
                        self.fail(st.pos, f"{st.output}: input stream '{inp}' is not defined before it is used")
                    ins.append(Schema(unknown=True))
                else:
                    ins.append(self.schemas[inp])
                used.add(inp)
            out = self.statement(st, ins)
            for name in st.streams:
                self.schemas[name] = out
        for st in self.script.statements:
            if st.transform == "sink":
                continue
            for name in st.streams:
                if name not in used:
                    self.fail(st.pos, f"stream '{name}' is never used")
        return CheckedScript(self.script, self.schemas)

    def _inputs(self, st: Statement, ins: list[Schema], lo: int, hi: int | None) -> bool:
        n = len(ins)
        if n < lo or (hi is not None and n > hi):
            want = f"{lo}" if lo == hi else (f"at least {lo}" if hi is None else f"{lo} to {hi}")
            self.fail(st.pos, f"{st.output}: {st.transform} takes {want} input stream(s), got {n}")
            return False
        return True

    def _boolean(self, e, schema: Schema, what: str) -> None:
        t = self.expr(e, schema)
        if not accepts("boolean", t):
            self.fail(getattr(e, "pos", Pos(0, 0)), f"{what} must be boolean, got {t}")

    def _map_columns(self, st: Statement, clause: Call, schema: Schema) -> Schema:
        out = Schema(unknown=schema.unknown)
        for a in clause.args:
            if isinstance(a, Assign):
                out.columns[a.name] = self.expr(a.value, schema)
            elif isinstance(a, Positional) and isinstance(a.value, Column) and a.value.kind == "name":
                out.columns[a.value.name] = self.expr(a.value, schema)
            else:
                self.fail(a.pos, f"{st.output}: mapColumn() takes column names or 'name = expression'")
        return out

    def statement(self, st: Statement, ins: list[Schema]) -> Schema:
        t = st.transform
        handler = getattr(self, f"t_{t}", None)
        if handler is None:
            self.fail(
                st.pos,
                f"{st.output}: transformation '{t}' is not supported by this checker "
                "(supported: " + ", ".join(sorted(n[2:] for n in dir(self) if n.startswith("t_"))) + ")",
            )
            return Schema(unknown=True)
        return handler(st, ins)

    def t_source(self, st: Statement, ins: list[Schema]) -> Schema:
        self._inputs(st, ins, 0, 0)
        out = Schema(drift=True)
        decl = st.clause("output")
        if decl is not None:
            out.drift = False
            for a in decl.args:
                if isinstance(a, Typed):
                    out.columns[a.name] = _DECLARED.get(a.type.split()[0].split("(")[0], "any")
        drift = st.named("allowSchemaDrift")
        if isinstance(drift, Literal) and drift.value is True:
            out.drift = True
        for option in ("rowUrlColumn", "rowFolderUrlColumn"):
            v = st.named(option)
            if v is not None:
                if isinstance(v, Literal) and v.kind == "string" and isinstance(v.value, str):
                    out.columns[v.value] = "string"
                else:
                    self.fail(st.pos, f"{st.output}: {option} must be a string literal (the new column's name)")
        return out

    def t_derive(self, st: Statement, ins: list[Schema]) -> Schema:
        if not self._inputs(st, ins, 1, 1):
            return Schema(unknown=True)
        out = ins[0].copy()
        if not st.assignments():
            self.fail(st.pos, f"{st.output}: derive() assigns no column")
        for a in st.args:
            if isinstance(a, Assign):
                # A derived column is visible to the ones after it in the same derive.
                out.columns[a.name] = self.expr(a.value, out)
            elif not isinstance(a, Named):
                self.fail(a.pos, f"{st.output}: derive() takes 'name = expression' arguments")
        return out

    def t_filter(self, st: Statement, ins: list[Schema]) -> Schema:
        if not self._inputs(st, ins, 1, 1):
            return Schema(unknown=True)
        conds = st.positional()
        if len(conds) != 1:
            self.fail(st.pos, f"{st.output}: filter() takes one condition, got {len(conds)}")
        for c in conds:
            self._boolean(c, ins[0], f"{st.output}: the filter condition")
        return ins[0].copy()

    def t_split(self, st: Statement, ins: list[Schema]) -> Schema:
        if not self._inputs(st, ins, 1, 1):
            return Schema(unknown=True)
        conds = st.positional()
        for c in conds:
            self._boolean(c, ins[0], f"{st.output}: a split condition")
        if not conds:
            self.fail(st.pos, f"{st.output}: split() has no condition")
        elif len(st.branches) not in (len(conds), len(conds) + 1):
            self.fail(
                st.pos,
                f"{st.output}: split() has {len(conds)} condition(s) but {len(st.branches)} branch(es) "
                f"(expected {len(conds) + 1}: one per condition and one for the rest)",
            )
        return ins[0].copy()

    def _sort_keys(self, st: Statement, calls: list, schema: Schema) -> None:
        for c in calls:
            if not (isinstance(c, Call) and c.name in ("asc", "desc")):
                self.fail(getattr(c, "pos", st.pos), f"{st.output}: expected asc(column, nullsFirst) or desc(...)")
                continue
            self.call(c, schema)

    def t_window(self, st: Statement, ins: list[Schema]) -> Schema:
        if not self._inputs(st, ins, 1, 1):
            return Schema(unknown=True)
        out = ins[0].copy()
        over = st.clause("over")
        if over is not None:
            for a in over.args:
                self.expr(a.value, ins[0]) if isinstance(a, Positional) else self.fail(a.pos, "over() takes columns")
        self._sort_keys(st, [v for v in st.positional() if v is not over], ins[0])
        if not st.assignments():
            self.fail(st.pos, f"{st.output}: window() assigns no column")
        for a in st.assignments():
            out.columns[a.name] = self.expr(a.value, ins[0])
        return out

    def t_sort(self, st: Statement, ins: list[Schema]) -> Schema:
        if not self._inputs(st, ins, 1, 1):
            return Schema(unknown=True)
        self._sort_keys(st, st.positional(), ins[0])
        return ins[0].copy()

    def t_select(self, st: Statement, ins: list[Schema]) -> Schema:
        if not self._inputs(st, ins, 1, 1):
            return Schema(unknown=True)
        clause = st.clause("mapColumn")
        if clause is None:
            self.fail(st.pos, f"{st.output}: select() needs a mapColumn(...) clause")
            return ins[0].copy()
        return self._map_columns(st, clause, ins[0])

    def t_aggregate(self, st: Statement, ins: list[Schema]) -> Schema:
        if not self._inputs(st, ins, 1, 1):
            return Schema(unknown=True)
        out = Schema()
        group = st.clause("groupBy")
        if group is not None:
            for a in group.args:
                if isinstance(a, Positional):
                    t = self.expr(a.value, ins[0])
                    if isinstance(a.value, Column):
                        out.columns[a.value.name] = t
                elif isinstance(a, Assign):
                    out.columns[a.name] = self.expr(a.value, ins[0])
        for a in st.assignments():
            out.columns[a.name] = self.expr(a.value, ins[0])
        return out

    def t_union(self, st: Statement, ins: list[Schema]) -> Schema:
        if not self._inputs(st, ins, 2, None):
            return Schema(unknown=True)
        out = ins[0].copy()
        for s in ins[1:]:
            for k, v in s.columns.items():
                out.columns.setdefault(k, v)
        return out

    def t_sink(self, st: Statement, ins: list[Schema]) -> Schema:
        if not self._inputs(st, ins, 1, 1):
            return Schema(unknown=True)
        schema = ins[0]
        folder = st.named("rowFolderUrlColumn")
        if folder is not None:
            if isinstance(folder, Literal) and folder.kind == "string" and isinstance(folder.value, str):
                t = schema.columns.get(folder.value)
                if t is None:
                    self.fail(
                        folder.pos, f"{st.output}: rowFolderUrlColumn names '{folder.value}', which is not a column of the input"
                    )
                elif not accepts("string", t):
                    self.fail(folder.pos, f"{st.output}: rowFolderUrlColumn '{folder.value}' must be a string, got {t}")
            else:
                self.fail(st.pos, f"{st.output}: rowFolderUrlColumn must be a string literal")
        clause = st.clause("mapColumn")
        return self._map_columns(st, clause, schema) if clause is not None else schema.copy()


def typecheck(script: Script | str) -> CheckedScript:
    """Check ``script`` (parsed, or text to parse); raise :class:`DataFlowTypeError` listing every problem."""
    if isinstance(script, str):
        script = parse(script)
    checker = _Checker(script)
    checked = checker.run()
    if checker.problems:
        raise DataFlowTypeError(checker.problems)
    return checked
