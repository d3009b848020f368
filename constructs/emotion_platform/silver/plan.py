"""The cleaning plan: the silver contract compiled once into engine-neutral steps.

Both engines (DuckDB SQL in :mod:`.sql`, the Data Factory Data Flow Script in
:mod:`emotion_platform.dataflow.script`) render *this* object, never the raw contract, so a rule
exists in both or in neither. Everything an engine needs to decide (which field is where, which
spellings map to which code, which formats a timestamp may take, the order of the validation
rules, the dedup key and winner) is resolved here, and anything an engine could not execute is
rejected here with a :class:`PlanError` naming the contract entry.

Line model (identical in both engines): every bronze line is read as one string, blank lines are
skipped, the header line of each file is skipped, and the line is split on the contract delimiter.
The generator guarantees no value contains the delimiter or a quote, so the split is exact; a line
with the wrong number of fields is ``malformed_line``.
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
NUMBER_REGEX = "^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?$"
EPOCH_MILLIS_REGEX = "^[0-9]{1,15}$"
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


class PlanError(ContractError):
    """The contract asks for something no engine can execute; the message names the entry."""


# -- timestamp patterns ---------------------------------------------------------------------------------

# strptime directive -> (Java SimpleDateFormat letters, shape regex). DuckDB's strptime takes the Python
# directives as they are. The shape regex is a full-match guard both engines run before parsing: it
# rejects what a lenient parser would half-read (Java ignores trailing text) and fixes the fraction at
# three digits, the precision Data Flow timestamps carry.
_DIRECTIVES: dict[str, tuple[str, str]] = {
    "Y": ("yyyy", "[0-9]{4}"),
    "m": ("MM", "[0-9]{1,2}"),
    "d": ("dd", "[0-9]{1,2}"),
    "H": ("HH", "[0-9]{1,2}"),
    "M": ("mm", "[0-9]{2}"),
    "S": ("ss", "[0-9]{2}"),
    "f": ("SSS", "[0-9]{3}"),
    "a": ("EEE", "[A-Za-z]{3}"),
    "b": ("MMM", "[A-Za-z]{3}"),
    "z": ("XXX", "[+-][0-9]{2}:?[0-9]{2}"),
}


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

    @property
    def duckdb(self) -> str | None:
        """DuckDB strptime format: the Python directives are the same for the supported set."""
        return self.python

    @classmethod
    def parse(cls, name: str, kind: str, python: str | None) -> "TimestampPattern":
        where = f"timestamps.formats[{name!r}]"
        if kind == "epoch_millis":
            return cls(name, kind, None, EPOCH_MILLIS_REGEX, (), "epoch")
        if kind != "pattern" or not python:
            raise PlanError(f"{where}: kind {kind!r} is not supported (use 'pattern' with a python format, or 'epoch_millis')")
        java: list[str] = []
        shape: list[str] = []
        literal: list[str] = []
        has_offset = False

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
                raise PlanError(f"{where}: directive %{code} in {python!r} is not supported "
                                f"(supported: {' '.join('%' + c for c in _DIRECTIVES)})")
            flush()
            has_offset |= code == "z"
            java.append(_DIRECTIVES[code][0])
            shape.append(_DIRECTIVES[code][1])
        ends_with_z = bool(literal) and literal[-1] == "Z"
        flush()
        if has_offset:
            zone = "offset"
        elif ends_with_z:
            zone = "utc"
        else:
            raise PlanError(f"{where}: pattern {python!r} has neither %z nor a trailing literal Z; "
                            "silver needs an absolute instant")
        with_colon = "".join(java)
        variants = (with_colon, with_colon.replace("XXX", "XX")) if has_offset else (with_colon,)
        return cls(name, kind, python, "^" + "".join(shape) + "$", variants, zone)


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
    dedup_key: tuple[str, ...]
    dedup_order: tuple[tuple[str, bool], ...]  # (value name, descending); ties broken by tiebreak
    tiebreak: tuple[str, ...]  # silver columns, ascending: makes the winner deterministic
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
    def silver_data_columns(self) -> tuple[SilverColumn, ...]:
        """Silver columns stored inside the Parquet files (partition columns live in folder names)."""
        return tuple(c for c in self.silver_columns if c.name not in self.partition_by)

    def detail_number(self, value: float) -> str:
        """How bounds print in quarantine details (same text in both engines)."""
        return repr(float(value))


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
        raise PlanError(f"bronze.delimiter {delimiter!r}: must be one of {' '.join(DELIMITERS)} "
                        "(never whitespace, a quote or a regex metacharacter)")
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
    for pos, col in enumerate(contract.bronze_columns, start=1):
        if col.type not in ("string", "double", "timestamp"):
            raise PlanError(f"bronze.columns[{col.name!r}].type {col.type!r}: expected string, double or timestamp")
        codes: dict[str, str] | None = None
        if col.name in code_columns:
            codes = _code_map(contract, col.name)
            if col.name in contract.lower_case:
                bad = [k for k in codes if k != k.lower()]
                if bad:
                    raise PlanError(f"codes of {col.name!r}: {bad[0]!r} has upper case but the column is lower-cased, it could never match")
        elif col.name == "device_tz":
            codes = {tz: tz for tz in contract.time_zones}
        is_ts = col.name in contract.timestamp_fields
        if is_ts and col.type != "timestamp":
            raise PlanError(f"timestamps.fields: {col.name!r} has type {col.type!r}, expected timestamp")
        rng = contract.ranges.get(col.name)
        if rng is not None and col.type != "double":
            raise PlanError(f"ranges.{col.name}: column type is {col.type!r}, ranges apply to doubles")
        fields.append(Field(
            name=col.name, position=pos, type=col.type, required=col.required,
            lower=col.name in contract.lower_case, codes=codes,
            percent=col.name in raw.get("units", {}), range=(rng.min, rng.max) if rng else None,
            timestamp=is_ts,
        ))
    for unit_col in raw.get("units", {}):
        if unit_col not in contract.bronze_header or contract.bronze_columns[contract.bronze_header.index(unit_col)].type != "double":
            raise PlanError(f"units.{unit_col}: must name a double bronze column")
    if contract.percent_divisor == 0:
        raise PlanError("units.intensity.percent_divisor: must not be 0")

    formats = tuple(TimestampPattern.parse(f.name, f.kind, f.python) for f in contract.timestamp_formats)

    rules = contract.reasons
    for i, reason in enumerate(rules):
        if reason not in KNOWN_RULES:
            raise PlanError(f"validation.rules[{i}].reason {reason!r}: no engine implements it "
                            f"(known: {', '.join(KNOWN_RULES)})")
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
            raise PlanError(f"silver.columns[{c.name!r}]: no engine knows how to compute it "
                            "(a bronze column, <timestamp field>_utc, or event_date)")
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
