r"""The cleaning plan: the silver contract compiled once into engine-neutral steps.

Both engines (DuckDB SQL in :mod:`.sql`, the Data Factory Data Flow Script in
:mod:`emotion_platform.dataflow.script`) render *this* object, never the raw contract, so a rule
exists in both or in neither. Everything an engine needs to decide (which field is where, which
spellings map to which code, which formats a timestamp may take, the order of the validation
rules, the dedup key and winner) is resolved here, and anything an engine could not execute is
rejected here with a :class:`PlanError` naming the contract entry.

Line model (identical in both engines): every bronze line is read as one string (a line ends at LF;
one CR right before it belongs to the terminator), blank and whitespace-only lines are skipped, the
header line of each file is skipped, and the line is split on the contract delimiter. The generator
guarantees no value contains the delimiter or a quote, so the split is exact; a line with the wrong
number of fields, or holding a control character (a lone CR among them), is ``malformed_line``.

Every regex here is written for both RE2 (DuckDB) and java.util.regex (Data Factory): ASCII classes
only, ``^`` at the start and ``\z`` (never ``$``, which Java also matches before a final line
terminator) at the end, so ``find`` and a full match mean the same. tests/silver/test_java_semantics.py
runs every one of them through real Java and DuckDB over an adversarial corpus.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from emotion_events.contract import ContractError, SilverContract, default_contract

# Characters the contract's "whitespace" means: trimmed at both ends, runs collapsed to one space.
WHITESPACE = " \t"
WHITESPACE_CLASS = "[ \\t]"  # the same set as a regex class (RE2 and Java agree on it)
# A decimal number as both engines accept it (DuckDB's cast also takes '1_0' and 'inf', Java's takes
# '0x1p3' and 'NaN': the regex is the one definition and the cast runs only on what it accepts).
# Digit counts are bounded so that every accepted number is finite and normal in both engines (no
# overflow to infinity, no underflow): at most 20 digits on each side of the point, a 1-2 digit exponent.
NUMBER_REGEX = "^[+-]?([0-9]{1,20}([.][0-9]{0,20})?|[.][0-9]{1,20})([eE][+-]?[0-9]{1,2})?\\z"
EPOCH_MILLIS_DIGITS = (1, 13)  # 13 digits reach 2286-11-20; no sign, no leading '+'
EPOCH_MILLIS_REGEX = "^[0-9]{%d,%d}\\z" % EPOCH_MILLIS_DIGITS
# What makes a line malformed whatever its fields: C0 controls but tab (a lone CR among them), DEL, the
# C1 controls (NEL U+0085 among them) and the Unicode line and paragraph separators, which Java treats
# as line terminators. The same class in RE2 and Java syntax.
CONTROL_REGEX = "[\\x00-\\x08\\x0a-\\x1f\\x7f-\\x9f\\x{2028}\\x{2029}]"
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LOWER = "abcdefghijklmnopqrstuvwxyz"  # lower-casing maps exactly these (translate, in both engines)
YEAR_RANGE = (1900, 9998)  # the UTC instant then stays inside four-digit years with any valid offset
OFFSET_RANGE_MINUTES = (-12 * 60, 14 * 60)
FILE_REASONS = ("empty_file", "bad_header")
DELIMITERS = (",", ";", "|")

# Rules an engine knows how to run, by contract reason. A contract rule outside this set is an error.
KNOWN_RULES = (
    "malformed_line",
    "missing_required",
    "unknown_code",
    "bad_number",
    "out_of_range",
    "bad_timestamp",
    "recorded_before_occurred",
)


QUARANTINE_COLUMNS = ("raw_line_or_record", "reason", "detail", "source_file")


def unanchored(regex: str) -> str:
    """A plan regex without its ``^`` and ``\\z`` anchors, for full-match APIs (Python's ``re`` has no ``\\z``)."""
    if regex.startswith("^"):
        regex = regex[1:]
    if regex.endswith("\\z"):
        regex = regex[:-2]
    return regex


class PlanError(ContractError):
    """The contract asks for something no engine can execute; the message names the entry."""


# -- timestamp patterns ---------------------------------------------------------------------------------

# strptime directive -> (Java SimpleDateFormat letters, shape regex). DuckDB's strptime takes the Python
# directives as they are. The shape regex is a full-match guard both engines run before parsing, and
# it decides every field range itself: fixed widths (four-digit year, two-digit month, day, hour,
# minute, second, three-digit milliseconds: the precision Data Flow timestamps carry), the year and
# offset ranges, and calendar-valid dates (leap years included; see :func:`_date_alternatives`). A value
# it accepts therefore parses to the same instant under DuckDB's strptime and under a lenient or a
# strict SimpleDateFormat; no parser's leniency decides anything.
_DIRECTIVES: dict[str, tuple[str, str]] = {
    "Y": ("yyyy", "(19[0-9]{2}|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])"),
    "m": ("MM", ""),  # month and day: from the date alternatives
    "d": ("dd", ""),
    "b": ("MMM", ""),
    "H": ("HH", "([01][0-9]|2[0-3])"),
    "M": ("mm", "[0-5][0-9]"),
    "S": ("ss", "[0-5][0-9]"),
    "f": ("SSS", "[0-9]{3}"),
    "a": ("EEE", "(Mon|Tue|Wed|Thu|Fri|Sat|Sun)"),
    # -12:00 to +14:00, minutes 00-59, with or without the colon
    "z": ("XXX", "([+]((0[0-9]|1[0-3]):?[0-5][0-9]|14:?00)|[-]((0[0-9]|1[01]):?[0-5][0-9]|12:?00))"),
}
_LEAP_YEAR = "((19|[2-9][0-9])(0[48]|[2468][048]|[13579][26])|([2468][048]|[3579][26])00)"
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _date_alternatives() -> list[dict[str, str]]:
    """Month, day and year regexes, as four alternatives whose union is exactly the valid dates.

    Months of 31 days, months of 30, February up to the 28th (any year), and February 29th of a
    leap year (divisible by 4, centuries only when divisible by 400: 2000 yes, 1900 no).
    """

    def months(nums: list[int]) -> dict[str, str]:
        return {"m": "(" + "|".join(f"{n:02d}" for n in nums) + ")", "b": "(" + "|".join(_MONTH_NAMES[n - 1] for n in nums) + ")"}

    year = _DIRECTIVES["Y"][1]
    return [
        {**months([1, 3, 5, 7, 8, 10, 12]), "d": "(0[1-9]|[12][0-9]|3[01])", "Y": year},
        {**months([4, 6, 9, 11]), "d": "(0[1-9]|[12][0-9]|30)", "Y": year},
        {**months([2]), "d": "(0[1-9]|1[0-9]|2[0-8])", "Y": year},
        {**months([2]), "d": "29", "Y": _LEAP_YEAR},
    ]


def _regex_literal(text: str) -> str:
    """Literal text as a regex both RE2 (DuckDB) and java.util.regex read the same way."""
    out = []
    for ch in text:
        if ch.isalnum():
            out.append(ch)
        elif ch in "]\\^":
            out.append("\\" + ch)
        else:
            out.append(f"[{ch}]")
    return "".join(out)


@dataclass(frozen=True)
class TimestampPattern:
    """One entry of ``timestamps.formats``, ready for both engines."""

    name: str
    kind: str  # "pattern" or "epoch_millis"
    python: str | None
    shape: str  # anchored regex a value must fully match before it is parsed
    java: tuple[str, ...]  # SimpleDateFormat patterns to try in order (offset with, then without colon)
    zone: str  # "offset" (%z in the text), "utc" (a literal trailing Z) or "epoch"
    reachable: bool = True  # False when the format holds the bronze delimiter: no CSV value can match it

    @property
    def duckdb(self) -> str | None:
        """DuckDB strptime format: the Python directives are the same for the supported set."""
        return self.python

    @classmethod
    def parse(cls, name: str, kind: str, python: str | None, delimiter: str = ",") -> "TimestampPattern":
        where = f"timestamps.formats[{name!r}]"
        if kind == "epoch_millis":
            return cls(name, kind, None, EPOCH_MILLIS_REGEX, (), "epoch")
        if kind != "pattern" or not python:
            raise PlanError(f"{where}: kind {kind!r} is not supported (use 'pattern' with a python format, or 'epoch_millis')")
        java: list[str] = []
        shape: list[str] = []  # regex pieces; a date directive is kept as "%m", "%d", "%b", "%Y"
        literal: list[str] = []
        has_offset = False
        seen: list[str] = []

        def flush() -> None:
            if literal:
                text = "".join(literal)
                java.append(_java_literal(text))
                shape.append(_regex_literal(text))
                literal.clear()

        i = 0
        while i < len(python):
            ch = python[i]
            if ch != "%":
                literal.append(ch)
                i += 1
                continue
            if i + 1 >= len(python):
                raise PlanError(f"{where}: pattern {python!r} ends with a lone '%'")
            code = python[i + 1]
            i += 2
            if code == "%":
                literal.append("%")
                continue
            if code not in _DIRECTIVES:
                raise PlanError(
                    f"{where}: directive %{code} in {python!r} is not supported "
                    f"(supported: {' '.join('%' + c for c in _DIRECTIVES)})"
                )
            if code in seen:
                raise PlanError(f"{where}: directive %{code} appears twice in {python!r}")
            seen.append(code)
            flush()
            has_offset |= code == "z"
            java.append(_DIRECTIVES[code][0])
            shape.append("%" + code if code in "mdbY" else _DIRECTIVES[code][1])
        ends_with_z = bool(literal) and literal[-1] == "Z"
        flush()
        reachable = delimiter not in python
        date = [c for c in seen if c in "Ymdb"]
        if sorted(date) not in (["Y", "d", "m"], ["Y", "b", "d"]):
            raise PlanError(f"{where}: pattern {python!r} needs a whole date: %Y, %d and one of %m or %b")
        if "a" in seen and reachable:
            raise PlanError(
                f"{where}: %a in {python!r}: a weekday name cannot be checked against the date the same way in both engines"
            )
        for code in "HMS":
            if code not in seen:
                raise PlanError(f"{where}: pattern {python!r} lacks %{code}; silver needs the time to the second")
        if has_offset:
            zone = "offset"
        elif ends_with_z:
            zone = "utc"
        else:
            raise PlanError(
                f"{where}: pattern {python!r} has neither %z nor a trailing literal Z; silver needs an absolute instant"
            )
        with_colon = "".join(java)
        variants = (with_colon, with_colon.replace("XXX", "XX")) if has_offset else (with_colon,)
        alternatives = [
            "".join(alt.get(piece[1:], piece) if piece in ("%m", "%d", "%b", "%Y") else piece for piece in shape)
            for alt in _date_alternatives()
        ]
        regex = "^(" + "|".join(alternatives) + ")\\z"
        return cls(name, kind, python, regex, variants, zone, reachable)


def _java_literal(text: str) -> str:
    """Quote letters for SimpleDateFormat ('T', 'Z'); punctuation passes through, a quote doubles."""
    return re.sub(r"[A-Za-z]+", lambda m: "'" + m.group(0) + "'", text.replace("'", "''"))


# -- fields ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One bronze column: its position in the split line and what cleaning does with it."""

    name: str
    position: int  # 1-based, as in both engines' array indexing
    type: str  # string | double | timestamp
    required: bool
    lower: bool
    codes: Mapping[str, str] | None  # accepted spelling (normalized) -> canonical code
    percent: bool  # may carry the percent suffix
    range: tuple[float, float] | None
    timestamp: bool


@dataclass(frozen=True)
class SilverColumn:
    name: str
    type: str  # string | double | timestamp_utc | date
    nullable: bool
    source: str  # "field", "timestamp" or "utc_date"
    field: str  # the bronze field it is computed from


@dataclass(frozen=True)
class CleaningPlan:
    contract: SilverContract
    delimiter: str
    header: tuple[str, ...]
    line_terminator: str
    trim: bool
    collapse: bool
    empty_is_null: bool
    fields: tuple[Field, ...]
    percent_suffix: str
    percent_divisor: float
    timestamp_formats: tuple[TimestampPattern, ...]
    max_clock_skew_seconds: int
    rules: tuple[str, ...]  # contract order; the first failing one is the quarantine reason
    file_rules: tuple[str, ...]  # file-level reasons (one record per file), before any line rule
    dedup_key: tuple[str, ...]
    dedup_order: tuple[tuple[str, bool], ...]  # (value name, descending); ties broken by tiebreak
    tiebreak: tuple[str, ...]  # silver columns, ascending, nulls first: makes the winner deterministic
    silver_columns: tuple[SilverColumn, ...]
    partition_by: tuple[str, ...]
    quarantine_columns: tuple[str, ...]

    # convenient views ---------------------------------------------------------------------------------
    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def required_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.required)

    @property
    def code_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.codes is not None)

    @property
    def number_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.type == "double")

    @property
    def range_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.range is not None)

    @property
    def timestamp_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.timestamp)

    @property
    def active_timestamp_formats(self) -> tuple[TimestampPattern, ...]:
        """The formats the engines try: those a CSV value can hold (no bronze delimiter inside)."""
        return tuple(f for f in self.timestamp_formats if f.reachable)

    @property
    def all_reasons(self) -> tuple[str, ...]:
        """File-level reasons, then line rules: every reason a quarantine record can carry."""
        return (*self.file_rules, *self.rules)

    @property
    def silver_data_columns(self) -> tuple[SilverColumn, ...]:
        """Silver columns stored inside the Parquet files (partition columns live in folder names)."""
        return tuple(c for c in self.silver_columns if c.name not in self.partition_by)


def _code_map(contract: SilverContract, column: str) -> dict[str, str]:
    codes = contract.code_set(column)
    mapping = {c: c for c in codes.canonical}
    mapping.update(codes.synonyms)
    return mapping


def build_plan(contract: SilverContract | None = None) -> CleaningPlan:
    """Compile a contract; raises :class:`PlanError` for anything an engine could not run."""
    contract = contract or default_contract()
    raw = contract.raw
    bronze = raw["bronze"]
    if bronze.get("format", "csv") != "csv":
        raise PlanError(f"bronze.format {bronze.get('format')!r}: only 'csv' is supported")
    delimiter = bronze.get("delimiter", ",")
    if delimiter not in DELIMITERS:
        raise PlanError(
            f"bronze.delimiter {delimiter!r}: must be one of {' '.join(DELIMITERS)} "
            "(never whitespace, a quote or a regex metacharacter)"
        )
    if not bronze.get("header", True):
        raise PlanError("bronze.header false: the engines skip one header line per file")
    norm = raw.get("normalization", {})

    code_columns = {"emotion"} | set(contract.codes)
    for col in code_columns:
        if col not in contract.bronze_header:
            raise PlanError(f"codes.{col}: not a bronze column")
    for col in contract.lower_case:
        if col not in contract.bronze_header:
            raise PlanError(f"normalization.lower_case: {col!r} is not a bronze column")
    if "device_tz" in contract.bronze_header and not contract.time_zones:
        raise PlanError("time_zones: empty, every device_tz would be unknown")
    fields = []
    for pos, column in enumerate(contract.bronze_columns, start=1):
        if column.type not in ("string", "double", "timestamp"):
            raise PlanError(f"bronze.columns[{column.name!r}].type {column.type!r}: expected string, double or timestamp")
        codes: dict[str, str] | None = None
        if column.name in code_columns:
            codes = _code_map(contract, column.name)
            if column.name in contract.lower_case:
                bad = [k for k in codes if k != k.lower()]
                if bad:
                    raise PlanError(
                        f"codes of {column.name!r}: {bad[0]!r} has upper case but the column is lower-cased, it could never match"
                    )
        elif column.name == "device_tz":
            codes = {tz: tz for tz in contract.time_zones}
        is_ts = column.name in contract.timestamp_fields
        if is_ts and column.type != "timestamp":
            raise PlanError(f"timestamps.fields: {column.name!r} has type {column.type!r}, expected timestamp")
        rng = contract.ranges.get(column.name)
        if rng is not None and column.type != "double":
            raise PlanError(f"ranges.{column.name}: column type is {column.type!r}, ranges apply to doubles")
        fields.append(
            Field(
                name=column.name,
                position=pos,
                type=column.type,
                required=column.required,
                lower=column.name in contract.lower_case,
                codes=codes,
                percent=column.name in raw.get("units", {}),
                range=(rng.min, rng.max) if rng else None,
                timestamp=is_ts,
            )
        )
    for unit_col in raw.get("units", {}):
        if (
            unit_col not in contract.bronze_header
            or contract.bronze_columns[contract.bronze_header.index(unit_col)].type != "double"
        ):
            raise PlanError(f"units.{unit_col}: must name a double bronze column")
    if contract.percent_divisor == 0:
        raise PlanError("units.intensity.percent_divisor: must not be 0")

    formats = tuple(TimestampPattern.parse(f.name, f.kind, f.python, delimiter) for f in contract.timestamp_formats)
    if not any(f.reachable for f in formats):
        raise PlanError("timestamps.formats: every format holds the bronze delimiter, no value could match")
    ts = raw.get("timestamps", {})
    for key, want in (
        ("year_range", {"min": YEAR_RANGE[0], "max": YEAR_RANGE[1]}),
        ("offset_range", {"min": "-12:00", "max": "+14:00"}),
        ("epoch_millis_digits", {"min": EPOCH_MILLIS_DIGITS[0], "max": EPOCH_MILLIS_DIGITS[1]}),
    ):
        if key in ts and ts[key] != want:
            raise PlanError(f"timestamps.{key} {ts[key]}: the engines implement exactly {want}")
    file_rules = tuple(r["reason"] for r in raw.get("validation", {}).get("file_rules", []))
    for r in file_rules:
        if r not in FILE_REASONS:
            raise PlanError(f"validation.file_rules: {r!r} is not a file rule the engines know ({', '.join(FILE_REASONS)})")
    if set(file_rules) & set(contract.reasons):
        raise PlanError("validation: a reason is both a file rule and a line rule")

    rules = contract.reasons
    for i, reason in enumerate(rules):
        if reason not in KNOWN_RULES:
            raise PlanError(f"validation.rules[{i}].reason {reason!r}: no engine implements it (known: {', '.join(KNOWN_RULES)})")
    if len(set(rules)) != len(rules):
        raise PlanError("validation.rules: a reason appears twice")
    if "recorded_before_occurred" in rules:
        for need in ("occurred_at", "recorded_at"):
            if need not in contract.timestamp_fields:
                raise PlanError(f"validation rule recorded_before_occurred needs timestamp field {need!r}")

    silver_cols = []
    for c in contract.silver_columns:
        if c.name in contract.bronze_header:
            bf = contract.bronze_columns[contract.bronze_header.index(c.name)]
            if bf.type == "timestamp":
                raise PlanError(f"silver.columns[{c.name!r}]: a raw timestamp cannot land in silver; use {c.name}_utc")
            if bf.type != c.type:
                raise PlanError(f"silver.columns[{c.name!r}].type {c.type!r} differs from bronze type {bf.type!r}")
            silver_cols.append(SilverColumn(c.name, c.type, c.nullable or not bf.required, "field", c.name))
        elif c.name.endswith("_utc") and c.name[:-4] in contract.timestamp_fields:
            if c.type != "timestamp_utc":
                raise PlanError(f"silver.columns[{c.name!r}].type {c.type!r}: expected timestamp_utc")
            silver_cols.append(SilverColumn(c.name, c.type, False, "timestamp", c.name[:-4]))
        elif c.name == "event_date" and c.type == "date" and "occurred_at" in contract.timestamp_fields:
            silver_cols.append(SilverColumn(c.name, c.type, False, "utc_date", "occurred_at"))
        else:
            raise PlanError(
                f"silver.columns[{c.name!r}]: no engine knows how to compute it "
                "(a bronze column, <timestamp field>_utc, or event_date)"
            )
    silver_names = [c.name for c in silver_cols]
    for p in contract.partition_by:
        if p not in silver_names:
            raise PlanError(f"silver.partition_by: {p!r} is not a silver column")
    for k in contract.dedup_key:
        if k not in silver_names:
            raise PlanError(f"deduplication.key: {k!r} is not a silver column")

    order = []
    for col, direction in contract.dedup_order_by:
        if direction not in ("asc", "desc"):
            raise PlanError(f"deduplication.winner.order_by[{col!r}].direction {direction!r}: asc or desc")
        name = f"{col}_utc" if col in contract.timestamp_fields else col
        if name not in silver_names:
            raise PlanError(f"deduplication.winner.order_by: {col!r} is not in silver")
        order.append((name, direction == "desc"))
    ordered = {k for k in contract.dedup_key} | {n for n, _d in order}
    tiebreak = tuple(n for n in silver_names if n not in ordered and n not in contract.partition_by)

    quarantine = tuple(raw.get("quarantine", {}).get("columns", QUARANTINE_COLUMNS))
    if set(quarantine) != set(QUARANTINE_COLUMNS):
        raise PlanError(f"quarantine.columns {list(quarantine)}: the engines write exactly {list(QUARANTINE_COLUMNS)}")

    plan = CleaningPlan(
        contract=contract,
        delimiter=delimiter,
        header=contract.bronze_header,
        line_terminator=contract.line_terminator,
        trim=bool(norm.get("trim_whitespace", True)),
        collapse=bool(norm.get("collapse_inner_whitespace", True)),
        empty_is_null=bool(norm.get("empty_string_is_null", True)),
        fields=tuple(fields),
        percent_suffix=contract.percent_suffix,
        percent_divisor=contract.percent_divisor,
        timestamp_formats=formats,
        max_clock_skew_seconds=contract.max_clock_skew_seconds,
        rules=rules,
        file_rules=file_rules,
        dedup_key=contract.dedup_key,
        dedup_order=tuple(order),
        tiebreak=tiebreak,
        silver_columns=tuple(silver_cols),
        partition_by=contract.partition_by,
        quarantine_columns=quarantine,
    )
    check_identifiers(plan)
    return plan


_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def check_identifiers(plan: CleaningPlan) -> None:
    """Column names are pasted into SQL and Data Flow Script: only plain snake_case is accepted."""
    names = [f.name for f in plan.fields] + [c.name for c in plan.silver_columns] + list(plan.quarantine_columns)
    for n in names:
        if not _IDENT.match(n):
            raise PlanError(f"column name {n!r}: must be snake_case (a-z, 0-9, _)")
