"""Data Flow Script (the text of an Azure Data Factory mapping data flow) rendered from the cleaning plan.

It runs the same steps as the DuckDB SQL of :mod:`emotion_platform.silver.sql`, in Data Flow
expression language: read each bronze line whole (the dataset has no column delimiter), skip blank
lines, normalize whitespace on the line, split it on the delimiter, map codes, parse numbers and
timestamps (contract formats in order, each behind the same full-match shape regex), name the first
failing rule, split valid from rejected rows, keep one row per key (contract order, then every other
silver column as tie-break), and sink silver partitioned by ``event_date=`` folders and the
quarantine. Regexes are written between backticks so they reach the engine unescaped.

The script cannot run here (no Data Factory); :mod:`.check` validates its structure and the tests
compare both engines rule by rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from emotion_events.contract import SilverContract

from ..silver.plan import (
    CONTROL_REGEX,
    LOWER,
    NUMBER_REGEX,
    UPPER,
    WHITESPACE_CLASS,
    CleaningPlan,
    Field,
    PlanError,
    TimestampPattern,
    build_plan,
)
from ..silver.sql import CONTROL_DETAIL, bound_text

SOURCE = "BronzeLines"
SILVER_SINK = "SilverSink"
QUARANTINE_SINK = "QuarantineSink"
FOLDER_COLUMN = "silver_folder"
URL_COLUMN = "bronze_path"  # the source's rowUrlColumn; source_file is derived from it
# Where the bronze CSV files are, relative to the bronze container (the generator's layout).
BRONZE_WILDCARD = "events/**/*.csv"


@dataclass(frozen=True)
class DataFlowScript:
    text: str
    sources: tuple[str, ...]
    sinks: tuple[str, ...]
    plan: CleaningPlan

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines()


# -- literals --------------------------------------------------------------------------------------------


def s(value: str) -> str:
    """A single-quoted Data Flow string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def rx(pattern: str) -> str:
    """A regex literal in backticks (no escaping inside)."""
    if "`" in pattern:
        raise PlanError(f"regex {pattern!r} contains a backtick, which a Data Flow regex literal cannot hold")
    return f"`{pattern}`"


def arr(values) -> str:
    return "[" + ", ".join(s(v) for v in values) + "]"


NULL_STRING = "toString(null())"
EPOCH = "toTimestamp(toLong(0))"  # 1970-01-01T00:00:00Z, the same call as the epoch_ms format
DAY_MS = 86_400_000
NULL_DOUBLE = "toDouble(null())"


def _false_if_null(pred: str) -> str:
    return f"coalesce({pred}, false())"


# -- per-field expressions -------------------------------------------------------------------------------


def normalized_line(plan: CleaningPlan) -> str:
    """Same whitespace rule as the SQL: collapse runs, then drop whitespace next to delimiters and ends."""
    d = plan.delimiter
    dcls = f"[{d}]"
    expr = "line"
    if plan.collapse:
        expr = f"regexReplace({expr}, {rx(WHITESPACE_CLASS + '+')}, ' ')"
    if plan.trim:
        expr = f"regexReplace({expr}, {rx(WHITESPACE_CLASS + '*' + dcls + WHITESPACE_CLASS + '*')}, {s(d)})"
        expr = f"regexReplace({expr}, {rx('^' + WHITESPACE_CLASS + '+|' + WHITESPACE_CLASS + '+' + chr(92) + 'z')}, '')"
    return expr


def ascii_lower(value: str) -> str:
    """A-Z only, as in the DuckDB SQL (``lower()`` is Java's full Unicode mapping there)."""
    return f"translate({value}, {s(UPPER)}, {s(LOWER)})"


def field_value(plan: CleaningPlan, f: Field) -> str:
    d = f"[{plan.delimiter}]"
    nd = f"[^{plan.delimiter}]"
    pattern = f"^(?:{nd}*{d}){{{f.position - 1}}}({nd}*)" if f.position > 1 else f"^({nd}*)"
    return f"regexExtract(norm_line, {rx(pattern)}, 1)"


def _code(f: Field) -> str:
    assert f.codes is not None
    by_target: dict[str, list[str]] = {}
    for spelling, target in f.codes.items():
        by_target.setdefault(target, []).append(spelling)
    if all(len(v) == 1 and v[0] == k for k, v in by_target.items()):  # a closed list (time zones)
        return f"iif(in({arr(by_target)}, n_{f.name}), n_{f.name}, {NULL_STRING})"
    parts = []
    for target, spellings in by_target.items():
        parts += [f"in({arr(spellings)}, n_{f.name})", s(target)]
    return f"case({', '.join(parts)})"


def _number(plan: CleaningPlan, f: Field) -> str:
    """``+ 0.0`` turns -0.0 into 0.0 (IEEE), as in the SQL."""
    n = f"n_{f.name}"
    plain = f"iif(regexMatch({n}, {rx(NUMBER_REGEX)}), toDouble({n}) + 0.0, {NULL_DOUBLE})"
    if not f.percent:
        return plain
    suffix = plan.percent_suffix
    stripped = f"rtrim(left({n}, length({n}) - {len(suffix)}), ' ')"
    pct = f"iif(regexMatch({stripped}, {rx(NUMBER_REGEX)}), toDouble({stripped}) / {plan.percent_divisor!r} + 0.0, {NULL_DOUBLE})"
    return f"iif(endsWith({n}, {s(suffix)}), {pct}, {plain})"


def _parse_one(fmt: TimestampPattern, n: str) -> str:
    if fmt.zone == "epoch":
        parsed = f"toTimestamp(toLong({n}))"
    else:
        tries = [f"toTimestamp({n}, {s(p)}, 'UTC')" for p in fmt.java]
        parsed = tries[0] if len(tries) == 1 else f"coalesce({', '.join(tries)})"
    return f"case(regexMatch({n}, {rx(fmt.shape)}), {parsed})"


def _timestamp(plan: CleaningPlan, f: Field) -> str:
    parts = [_parse_one(fmt, f"n_{f.name}") for fmt in plan.active_timestamp_formats]
    return parts[0] if len(parts) == 1 else f"coalesce({', '.join(parts)})"


# -- rules -----------------------------------------------------------------------------------------------


def _any(parts: list[str]) -> str:
    return "(" + " || ".join(parts) + ")" if parts else "false()"


def rule_predicate(plan: CleaningPlan, reason: str) -> str:
    if reason == "malformed_line":
        return f"(n_fields != {len(plan.fields)} || regexMatch(line, {rx(CONTROL_REGEX)}))"
    if reason == "missing_required":
        return _any([f"isNull(n_{f.name})" for f in plan.required_fields])
    if reason == "unknown_code":
        return _any([f"(!isNull(n_{f.name}) && isNull(c_{f.name}))" for f in plan.code_fields])
    if reason == "bad_number":
        return _any([f"(!isNull(n_{f.name}) && isNull(v_{f.name}))" for f in plan.number_fields])
    if reason == "out_of_range":
        return _any([f"(v_{f.name} < {f.range[0]!r} || v_{f.name} > {f.range[1]!r})" for f in plan.range_fields if f.range])
    if reason == "bad_timestamp":
        return _any([f"(!isNull(n_{f.name}) && isNull(t_{f.name}))" for f in plan.timestamp_fields])
    if reason == "recorded_before_occurred":
        return f"t_recorded_at < t_occurred_at - seconds({int(plan.max_clock_skew_seconds)})"
    raise PlanError(f"no Data Flow Script for rule {reason!r}")


def rule_detail(plan: CleaningPlan, reason: str) -> str:
    def first(cases: list[tuple[str, str]]) -> str:
        return "case(" + ", ".join(f"{_false_if_null(c)}, {d}" for c, d in cases) + ")"

    if reason == "malformed_line":
        return (
            f"iif(n_fields != {len(plan.fields)}, {s(f'expected {len(plan.fields)} fields, found ')} + "
            f"toString(n_fields), {s(CONTROL_DETAIL)})"
        )
    if reason == "missing_required":
        return first([(f"isNull(n_{f.name})", s(f"{f.name} is empty")) for f in plan.required_fields])
    if reason == "unknown_code":
        return first(
            [
                (
                    f"!isNull(n_{f.name}) && isNull(c_{f.name})",
                    f"{s(f.name + ' ')} + n_{f.name} + ' is not canonical and has no synonym'",
                )
                for f in plan.code_fields
            ]
        )
    if reason == "bad_number":
        return first(
            [
                (f"!isNull(n_{f.name}) && isNull(v_{f.name})", f"{s(f.name + ' ')} + n_{f.name} + ' is not a number'")
                for f in plan.number_fields
            ]
        )
    if reason == "out_of_range":
        return first(
            [
                (
                    f"v_{f.name} < {f.range[0]!r} || v_{f.name} > {f.range[1]!r}",
                    f"{s(f.name + ' ')} + n_{f.name} + {s(f' is outside [{bound_text(f.range[0])}, {bound_text(f.range[1])}]')}",
                )
                for f in plan.range_fields
                if f.range
            ]
        )
    if reason == "bad_timestamp":
        return first(
            [
                (
                    f"!isNull(n_{f.name}) && isNull(t_{f.name})",
                    f"{s(f.name + ' ')} + n_{f.name} + ' matches none of the contract formats'",
                )
                for f in plan.timestamp_fields
            ]
        )
    if reason == "recorded_before_occurred":
        return s(f"recorded_at is more than {int(plan.max_clock_skew_seconds)} s before occurred_at")
    raise PlanError(f"no Data Flow Script for rule {reason!r}")


def _silver_value(plan: CleaningPlan, name: str) -> str:
    c = next(c for c in plan.silver_columns if c.name == name)
    f = plan.field(c.field)
    if c.source == "timestamp":
        return f"t_{f.name}"
    if c.source == "utc_date":
        # Whole days since the epoch, floored, from the instant itself (a timestamp minus a timestamp is
        # milliseconds): no formatting, so neither a locale nor the cluster's time zone takes part.
        millis = f"(t_{f.name} - {EPOCH})"
        return f"addDays(toDate('1970-01-01', 'yyyy-MM-dd'), toInteger(floor({millis} / {DAY_MS}.0)))"
    if f.type == "double":
        return f"v_{f.name}"
    return f"c_{f.name}" if f.codes is not None else f"n_{f.name}"


# -- the script ------------------------------------------------------------------------------------------


def _derive(inp: str, out: str, assignments: list[tuple[str, str]]) -> str:
    body = ",\n\t\t".join(f"{k} = {v}" for k, v in assignments)
    return f"{inp} derive({body}) ~> {out}"


def generate_script(contract: SilverContract | None = None, *, bronze_wildcard: str = BRONZE_WILDCARD) -> DataFlowScript:
    """The mapping data flow for ``contract`` (default: the packaged one)."""
    plan = build_plan(contract)
    if len(plan.partition_by) != 1:
        raise PlanError("silver.partition_by: the Data Flow sink writes one folder level (exactly one column)")
    d = plan.delimiter
    out: list[str] = []
    out.append(
        "source(allowSchemaDrift: true,\n\tvalidateSchema: false,\n\tignoreNoFilesFound: false,\n"
        f"\trowUrlColumn: {s(URL_COLUMN)},\n\twildcardPaths:[{s(bronze_wildcard)}]) ~> {SOURCE}"
    )
    # The dataset reads each line as one column (no column delimiter, no quote, no escape, rows end at
    # LF); strip the one CR of a CRLF ending (`\z`: Java's `$` would also match before a last CR).
    # source_file: the path relative to the container, without the leading '/', as locally.
    out.append(
        _derive(
            SOURCE,
            "RawLines",
            [
                ("line", "regexReplace(toString(byPosition(1)), `\\r\\z`, '')"),
                ("source_file", f"regexReplace({URL_COLUMN}, `^/+`, '')"),
            ],
        )
    )
    out.append(
        _derive(
            "RawLines",
            "Normalized",
            [
                ("norm_line", normalized_line(plan)),
                ("n_fields", f"length(line) - length(replace(line, {s(d)}, '')) + 1"),
            ],
        )
    )
    # Blank and whitespace-only lines are skipped (an empty line may also arrive as null).
    out.append("Normalized filter(!isNull(line) && norm_line != '') ~> NonBlankLines")
    out.append(_derive("NonBlankLines", "Columns", [(f"r_{f.name}", field_value(plan, f)) for f in plan.fields]))
    fields = []
    for f in plan.fields:
        value = ascii_lower(f"r_{f.name}") if f.lower else f"r_{f.name}"
        if plan.empty_is_null:
            value = f"iif(r_{f.name} == '', {NULL_STRING}, {value})"
        fields.append((f"n_{f.name}", value))
    out.append(_derive("Columns", "Fields", fields))
    typed: list[tuple[str, str]] = []
    for f in plan.fields:
        if f.codes is not None:
            typed.append((f"c_{f.name}", _code(f)))
        if f.type == "double":
            typed.append((f"v_{f.name}", _number(plan, f)))
        if f.timestamp:
            typed.append((f"t_{f.name}", _timestamp(plan, f)))
    out.append(_derive("Fields", "Typed", typed))
    reason = "case(" + ", ".join(f"{_false_if_null(rule_predicate(plan, r))}, {s(r)}" for r in plan.rules) + ")"
    out.append(_derive("Typed", "Judged", [("reason", reason)]))
    detail = "case(" + ", ".join(f"reason == {s(r)}, {rule_detail(plan, r)}" for r in plan.rules) + ")"
    silver = [(c.name, _silver_value(plan, c.name)) for c in plan.silver_columns]
    out.append(_derive("Judged", "Classified", [("detail", detail), *silver]))
    out.append("Classified split(isNull(reason),\n\tdisjoint: false) ~> Route@(Valid, Rejected)")

    # Valid rows: one per key; the contract's winner order, then every other silver column.
    key = ", ".join(plan.dedup_key)
    order = [f"desc({n}, false)" if desc else f"asc({n}, true)" for n, desc in plan.dedup_order]
    order += [f"asc({n}, true)" for n in plan.tiebreak]
    out.append(f"Route@Valid window(over({key}),\n\t" + ",\n\t".join(order) + ",\n\twinner_rank = rowNumber()) ~> Ranked")
    out.append("Ranked filter(winner_rank == 1) ~> Deduplicated")
    part = plan.partition_by[0]
    out.append(_derive("Deduplicated", "WithFolder", [(FOLDER_COLUMN, f"{s(part + '=')} + toString({part}, 'yyyy-MM-dd')")]))
    data_cols = ",\n\t\t".join(c.name for c in plan.silver_data_columns)
    out.append(
        f"WithFolder sink(allowSchemaDrift: false,\n\tvalidateSchema: false,\n\ttruncate: true,\n"
        f"\trowFolderUrlColumn: {s(FOLDER_COLUMN)},\n\tmapColumn(\n\t\t{data_cols}\n\t),\n"
        f"\tskipDuplicateMapInputs: true,\n\tskipDuplicateMapOutputs: true) ~> {SILVER_SINK}"
    )

    qsrc = {"raw_line_or_record": "line", "reason": "reason", "detail": "detail", "source_file": "source_file"}
    qmap = ",\n\t\t".join(f"{c} = {qsrc[c]}" if qsrc[c] != c else c for c in plan.quarantine_columns)
    out.append(
        f"Route@Rejected select(mapColumn(\n\t\t{qmap}\n\t),\n\tskipDuplicateMapInputs: true,\n"
        "\tskipDuplicateMapOutputs: true) ~> QuarantineRows"
    )
    out.append(
        "QuarantineRows sink(allowSchemaDrift: false,\n\tvalidateSchema: false,\n\ttruncate: true,\n"
        f"\tskipDuplicateMapInputs: true,\n\tskipDuplicateMapOutputs: true) ~> {QUARANTINE_SINK}"
    )
    return DataFlowScript("\n".join(out) + "\n", (SOURCE,), (SILVER_SINK, QUARANTINE_SINK), plan)


def terraform_escape(text: str) -> str:
    """Escape Terraform template sequences so the text reaches Azure unchanged from cdk.tf.json."""
    return text.replace("${", "$${").replace("%{", "%%{")
