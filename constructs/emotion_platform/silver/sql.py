"""DuckDB SQL rendered from the cleaning plan.

The classify query turns ``bronze_lines(source_file, line)`` into one row per line with the silver
columns, the quarantine reason (the first failing rule, in contract order), a detail and the key
hash. The rank query keeps one row per key: the contract's winner order, then every other silver
column as a deterministic tie-break. Nothing here is hand-written per column: change the contract
and the SQL follows.

Speed matters (the engine targets a million rows per second on two cores), so the renderer picks
cheap forms with the same meaning: whitespace is only regex-collapsed when a value contains any,
code lookups are one ENUM cast (lower-casing only what misses as written), a full-width timestamp
skips its shape regex (:func:`full_width_layout`), and a timestamp tries the contract formats in
order but stops at the first that parses. tests/silver/test_fast_paths.py compares each shortcut
with the plain rule.
"""

from __future__ import annotations

from .plan import YEAR_RANGE as YEAR_BOUNDS
from .plan import CONTROL_REGEX, LOWER, NUMBER_REGEX, UPPER, WHITESPACE_CLASS, CleaningPlan, Field, TimestampPattern


def lit(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def ascii_lower(value: str) -> str:
    """Lower-case A-Z only (``lower()`` maps every Unicode letter, Java's differently from DuckDB's)."""
    return f"translate({value}, {lit(UPPER)}, {lit(LOWER)})"


def num(value: float) -> str:
    return repr(float(value))


def bound_text(value: float) -> str:
    """How a range bound prints inside a quarantine detail (shared with the Data Flow Script)."""
    return repr(float(value))


# -- per-field expressions -------------------------------------------------------------------------------


def normalized_line(plan: CleaningPlan, line: str = "line") -> str:
    """Whitespace rules applied to the whole line before it is split.

    Equivalent to trimming and collapsing every field because the delimiter is never whitespace: a
    run of whitespace never crosses a delimiter, and a field's ends are exactly the whitespace next
    to a delimiter or to the line's ends. One check per line keeps clean lines on a fast path.
    """
    d = _regex_class(plan.delimiter)
    expr = line
    if plan.collapse:
        expr = f"regexp_replace({expr}, '{WHITESPACE_CLASS}+', ' ', 'g')"
    if plan.trim:
        expr = f"regexp_replace({expr}, '{WHITESPACE_CLASS}*{d}{WHITESPACE_CLASS}*', {lit(plan.delimiter)}, 'g')"
        expr = f"regexp_replace({expr}, '^{WHITESPACE_CLASS}+|{WHITESPACE_CLASS}+\\z', '', 'g')"
    if expr == line:
        return line
    # Only lines the rules would change take the regex path: a tab, a double space, a space next to
    # a delimiter or at either end. Everything else (most lines, and single spaces inside values such
    # as '2026/11/26 08:15:30+0100' or 'social media') is already normalized.
    # A line without any space takes one scan for a space and one for a tab.
    sep = plan.delimiter
    spaced = []
    if plan.collapse:
        spaced.append(f"contains({line}, '  ')")
    if plan.trim:
        spaced += [
            f"contains({line}, {lit(' ' + sep)})",
            f"contains({line}, {lit(sep + ' ')})",
            f"starts_with({line}, ' ')",
            f"suffix({line}, ' ')",
        ]
    return (
        f"CASE WHEN (contains({line}, ' ') AND ({' OR '.join(spaced)})) OR contains({line}, chr(9)) THEN {expr} ELSE {line} END"
    )


def normalized_value(plan: CleaningPlan, value: str) -> str:
    """The whitespace rules on one field value: the same result as :func:`normalized_line` gives
    that field (whitespace runs never cross a delimiter). Values without whitespace skip the regex."""
    expr = value
    if plan.collapse:
        expr = f"regexp_replace({expr}, '{WHITESPACE_CLASS}+', ' ', 'g')"
    if plan.trim:
        expr = f"regexp_replace({expr}, '^{WHITESPACE_CLASS}+|{WHITESPACE_CLASS}+\\z', '', 'g')"
    if expr == value:
        return value
    return f"CASE WHEN contains({value}, ' ') OR contains({value}, chr(9)) THEN {expr} ELSE {value} END"


def _raw_field(plan: CleaningPlan, f: Field, line: str) -> str:
    """Field ``f`` cut from a raw line. The first field is cut at the first delimiter (split_part
    splits the whole line, about three times dearer); a line without one is malformed anyway."""
    if f.position == 1:
        return f"left({line}, strpos({line}, {lit(plan.delimiter)}) - 1)"
    return f"split_part({line}, {lit(plan.delimiter)}, {f.position})"


def _regex_class(ch: str) -> str:
    return "\\" + ch if ch in "]\\^" else f"[{ch}]"


def _field(plan: CleaningPlan, f: Field, raw: str | None = None) -> str:
    """A field after the per-value rules. A code field keeps its case here: :func:`_code` lowers
    only the values that miss as written (the contract's spellings are all lower case)."""
    expr = raw or f"f[{f.position}]"
    if f.lower and f.codes is None:
        expr = ascii_lower(expr)
    if plan.empty_is_null:
        expr = f"nullif({expr}, '')"
    return expr


def code_enum(f: Field) -> str:
    """The DuckDB type of a code column: an ENUM of its canonical codes (in contract order).

    Parquet stores it as an ordinary dictionary-encoded string; the writer skips hashing every value.
    """
    assert f.codes is not None
    return "ENUM(" + ", ".join(lit(c) for c in dict.fromkeys(f.codes.values())) + ")"


def _code(f: Field) -> str:
    """Spelling -> canonical code as one ENUM cast (a hash lookup) and a list index, not a CASE chain."""
    assert f.codes is not None
    spellings = "ENUM(" + ", ".join(lit(k) for k in f.codes) + ")"
    canonical = "[" + ", ".join(lit(v) for v in f.codes.values()) + "]"
    spelling = f"TRY_CAST(n_{f.name} AS {spellings})"
    if f.lower:  # build_plan guarantees every spelling is lower case: lower-casing only on a miss
        spelling = f"coalesce({spelling}, TRY_CAST({ascii_lower('n_' + f.name)} AS {spellings}))"
    return f"CAST({canonical} AS {code_enum(f)}[])[enum_code({spelling}) + 1]"


def _shown(f: Field) -> str:
    """A normalized value as quarantine details show it (code fields lower-cased, like the lookup)."""
    return ascii_lower(f"n_{f.name}") if f.lower and f.codes is not None else f"n_{f.name}"


def _number(plan: CleaningPlan, f: Field) -> str:
    """The number rule; ``+ 0.0`` turns -0.0 into 0.0 (IEEE), so a signed zero ties with 0."""
    n = f"n_{f.name}"
    plain = f"WHEN regexp_full_match({n}, {lit(NUMBER_REGEX)}) THEN CAST({n} AS DOUBLE) + 0.0"
    if not f.percent:
        return f"CASE {plain} END"
    # Plain numbers first (nearly every value): a value ending in the suffix never matches the regex.
    suffix = plan.percent_suffix
    stripped = f"rtrim(left({n}, length({n}) - {len(suffix)}), ' ')"
    pct = (
        f"WHEN suffix({n}, {lit(suffix)}) AND regexp_full_match({stripped}, {lit(NUMBER_REGEX)}) "
        f"THEN CAST({stripped} AS DOUBLE) / {num(plan.percent_divisor)} + 0.0"
    )
    return f"CASE {plain} {pct} END"


# Digits each numeric directive has when written at full width (the shape regexes allow fewer).
_FULL_WIDTH = {"Y": 4, "m": 2, "d": 2, "H": 2, "M": 2, "S": 2, "f": 3}
_SPACE_CLASS = " \t\n\v\f\r"  # what DuckDB's strptime skips or matches as runs


def full_width_layout(fmt: TimestampPattern) -> str | None:
    """A LIKE pattern for ``fmt`` written at full width (``2026-01-05T08:15:30.123+01:00``), or None.

    It lets the common value skip the shape regex, with the same result. Given the LIKE, a first
    character that is not whitespace (the caller checks it where it is a digit) and a successful
    ``strptime``, every ``_`` holds a digit: strptime consumes every character, numbers consume
    only digits, literals only themselves, and a trailing offset only sign, hour, ``:`` and
    minute, so no position is left for another non-digit. Such a value is in the shape's language.
    (Trailing whitespace in the minute slots is the one case this argument leaves open; DuckDB's
    strptime rejects it, and tests/silver/test_fast_paths.py holds both paths equal on it.)
    Formats with letters, whitespace or LIKE wildcards in them, or an offset that is not last, get
    no layout.
    """
    if fmt.python is None or fmt.zone == "epoch":
        return None
    out, text, i = [], fmt.python, 0
    while i < len(text):
        if text[i] != "%":
            if text[i].isdigit() or text[i] in _SPACE_CLASS or text[i] in "_%\\":
                return None
            out.append(text[i])
            i += 1
            continue
        code, i = text[i + 1], i + 2
        if code in _FULL_WIDTH:
            out.append("_" * _FULL_WIDTH[code])
        elif code == "z" and i == len(text):
            out.append("___:__")  # sign, hour, colon, minute
        else:
            return None
    return "".join(out)


def _parse_one(fmt: TimestampPattern, n: str) -> str:
    if fmt.zone == "epoch":
        parsed = f"timezone('UTC', epoch_ms(CAST({n} AS BIGINT)))"
    elif fmt.zone == "utc":  # a literal Z: DuckDB returns a naive timestamp, which is UTC
        parsed = f"timezone('UTC', try_strptime({n}, {lit(fmt.duckdb or '')}))"
    else:
        parsed = f"try_strptime({n}, {lit(fmt.duckdb or '')})"
    guard = f"regexp_full_match({n}, {lit(fmt.shape)})"
    fast = fast_guard(fmt, n)
    if fast:
        guard = f"({fast}) OR {guard}"
    return f"CASE WHEN {guard} THEN {parsed} END"


def fast_guard(fmt: TimestampPattern, n: str) -> str | None:
    """A cheap test that, together with a successful strptime, means the same as the shape regex.

    The LIKE fixes every width (see :func:`full_width_layout`); strptime itself rejects impossible
    dates, hours, minutes and seconds (month 13, 02-30, 1900-02-29, 24:00, :60). What strptime would
    let through is checked on the text: the year range (a string comparison on a value that starts
    with four digits) and the offset range (sign, ``HH:MM`` at most 14:00 or 12:00, minute tens 0-5).
    Only for formats that start with %Y and end with %z or a literal Z; others take the regex.
    """
    layout = full_width_layout(fmt)
    if not layout or not (fmt.python or "").startswith("%Y"):
        return None
    lo, hi = YEAR_BOUNDS
    # Every whitespace character sorts before '0': the year test also rules out leading whitespace.
    parts = [f"{n} LIKE {lit(layout)}", f"{n} >= {lit(str(lo))}", f"{n} < {lit(str(hi + 1))}"]
    if layout.endswith("___:__"):
        off = f"right({n}, 6)"
        parts.append(f"({off} BETWEEN '+00:00' AND '+14:00' OR {off} BETWEEN '-00:00' AND '-12:00')")
        parts.append(f"substr({n}, -2, 1) <= '5'")
    elif not layout.endswith("Z"):
        return None
    return " AND ".join(parts)


def _timestamp(plan: CleaningPlan, f: Field) -> str:
    n = f"n_{f.name}"
    parts = [_parse_one(fmt, n) for fmt in plan.active_timestamp_formats]
    return parts[0] if len(parts) == 1 else f"coalesce({', '.join(parts)})"


# -- rules -----------------------------------------------------------------------------------------------

CONTROL_DETAIL = "the line holds a control character or a line separator"


def control_check(line: str) -> str:
    """True when the raw line holds a character of :data:`CONTROL_REGEX`."""
    return f"regexp_matches({line}, {lit(CONTROL_REGEX)})"


# The rules that reject a control character in a typed field (a code, a number, a timestamp).
_TYPED_RULES = ("unknown_code", "bad_number", "bad_timestamp")


def control_in_line(plan: CleaningPlan) -> str:
    """:func:`control_check` on the line, with the same result at a fraction of the cost.

    Scanning every whole line with a regex costs about a third of classification. On a line with the
    contract's field count every character outside a delimiter belongs to a field (whitespace trimming
    removes only spaces and tabs), and a typed field holding a control character fails its own rule
    (no code spelling, number or timestamp shape contains one). So the line holds one exactly when a
    free-text field does, or when another rule fails too and the line does: only the free-text fields
    of clean lines are scanned. tests/silver/test_fast_paths.py fuzzes it against the plain check.
    """
    free = [f for f in plan.fields if f.type == "string" and f.codes is None and not f.timestamp]
    if not all(r in plan.rules for r in _TYPED_RULES) or any(f.lower for f in free):
        return control_check("line")
    others = [rule_predicate(plan, r) for r in plan.rules if r != "malformed_line"]
    parts = []
    if free:
        parts.append(control_check("concat(" + ", ".join(f"n_{f.name}" for f in free) + ")"))
    parts.append(f"({_any(others)} AND {control_check('line')})")
    return "(" + " OR ".join(parts) + ")"


def _any(parts: list[str]) -> str:
    return "(" + " OR ".join(parts) + ")" if parts else "false"


def rule_predicate(plan: CleaningPlan, reason: str) -> str:
    if reason == "malformed_line":
        return f"(n_fields <> {len(plan.fields)} OR {control_in_line(plan)})"
    if reason == "missing_required":
        return _any([f"n_{f.name} IS NULL" for f in plan.required_fields])
    if reason == "unknown_code":
        return _any([f"(n_{f.name} IS NOT NULL AND c_{f.name} IS NULL)" for f in plan.code_fields])
    if reason == "bad_number":
        return _any([f"(n_{f.name} IS NOT NULL AND v_{f.name} IS NULL)" for f in plan.number_fields])
    if reason == "out_of_range":
        return _any([f"(v_{f.name} < {num(f.range[0])} OR v_{f.name} > {num(f.range[1])})" for f in plan.range_fields if f.range])
    if reason == "bad_timestamp":
        return _any([f"(n_{f.name} IS NOT NULL AND t_{f.name} IS NULL)" for f in plan.timestamp_fields])
    if reason == "recorded_before_occurred":
        # On microseconds since the epoch: the same comparison as ``t_occurred_at - INTERVAL n SECOND``
        # (a whole number of seconds), without the calendar arithmetic ICU does on TIMESTAMPTZ.
        skew_us = int(plan.max_clock_skew_seconds) * 1_000_000
        return f"epoch_us(t_recorded_at) < epoch_us(t_occurred_at) - {skew_us}"
    raise ValueError(f"no SQL for rule {reason!r}")  # build_plan rejects unknown rules first


def rule_detail(plan: CleaningPlan, reason: str) -> str:
    """A human-readable detail; the first offending column in bronze order."""

    def first(cases: list[tuple[str, str]]) -> str:
        return "CASE " + " ".join(f"WHEN {c} THEN {d}" for c, d in cases) + " END"

    if reason == "malformed_line":
        return (
            f"CASE WHEN n_fields <> {len(plan.fields)} THEN 'expected {len(plan.fields)} fields, found ' || "
            f"CAST(n_fields AS VARCHAR) ELSE {lit(CONTROL_DETAIL)} END"
        )
    if reason == "missing_required":
        return first([(f"n_{f.name} IS NULL", lit(f"{f.name} is empty")) for f in plan.required_fields])
    if reason == "unknown_code":
        return first(
            [
                (
                    f"n_{f.name} IS NOT NULL AND c_{f.name} IS NULL",
                    f"{lit(f.name + ' ')} || {_shown(f)} || ' is not canonical and has no synonym'",
                )
                for f in plan.code_fields
            ]
        )
    if reason == "bad_number":
        return first(
            [
                (f"n_{f.name} IS NOT NULL AND v_{f.name} IS NULL", f"{lit(f.name + ' ')} || n_{f.name} || ' is not a number'")
                for f in plan.number_fields
            ]
        )
    if reason == "out_of_range":
        return first(
            [
                (
                    f"v_{f.name} < {num(f.range[0])} OR v_{f.name} > {num(f.range[1])}",
                    f"{lit(f.name + ' ')} || n_{f.name} || "
                    f"{lit(f' is outside [{bound_text(f.range[0])}, {bound_text(f.range[1])}]')}",
                )
                for f in plan.range_fields
                if f.range
            ]
        )
    if reason == "bad_timestamp":
        return first(
            [
                (
                    f"n_{f.name} IS NOT NULL AND t_{f.name} IS NULL",
                    f"{lit(f.name + ' ')} || n_{f.name} || ' matches none of the contract formats'",
                )
                for f in plan.timestamp_fields
            ]
        )
    if reason == "recorded_before_occurred":
        return lit(f"recorded_at is more than {int(plan.max_clock_skew_seconds)} s before occurred_at")
    raise ValueError(f"no SQL for rule {reason!r}")


# -- silver columns --------------------------------------------------------------------------------------

_DAY_US = 86_400_000_000


def utc_date(ts: str) -> str:
    """The UTC calendar date of a TIMESTAMPTZ: whole days since the epoch (floored, so instants before
    1970 land on the right day). Equal to ``CAST(timezone('UTC', ts) AS DATE)`` without ICU's calendar."""
    us = f"epoch_us({ts})"
    return f"DATE '1970-01-01' + CAST(({us} - (({us} % {_DAY_US}) + {_DAY_US}) % {_DAY_US}) // {_DAY_US} AS INTEGER)"


def _silver_select(plan: CleaningPlan) -> list[str]:
    out = []
    for c in plan.silver_columns:
        f = plan.field(c.field)
        if c.source == "timestamp":
            value = f"t_{f.name}"
        elif c.source == "utc_date":
            value = utc_date(f"t_{f.name}")
        elif f.type == "double":
            value = f"v_{f.name}"
        elif f.codes is not None:
            value = f"c_{f.name}"
        else:
            value = f"n_{f.name}"
        out.append(f"{value} AS {c.name}")
    return out


# -- whole queries ---------------------------------------------------------------------------------------


def classify_sql(plan: CleaningPlan, source: str = "bronze_lines") -> str:
    """``source(source_file, line)`` -> classified rows (silver columns, reason, detail, line, file,
    and the :func:`key_hash`)."""
    norm = ",\n    ".join(f"{_field(plan, f)} AS n_{f.name}" for f in plan.fields)
    typed: list[str] = []
    for f in plan.fields:
        if f.codes is not None:
            typed.append(f"{_code(f)} AS c_{f.name}")
        if f.type == "double":
            typed.append(f"{_number(plan, f)} AS v_{f.name}")
        if f.timestamp:
            typed.append(f"{_timestamp(plan, f)} AS t_{f.name}")
    reasons = "\n      ".join(f"WHEN {rule_predicate(plan, r)} THEN {lit(r)}" for r in plan.rules)
    details = "\n      ".join(f"WHEN {lit(r)} THEN {rule_detail(plan, r)}" for r in plan.rules)
    silver = ",\n    ".join(_silver_select(plan))
    delim = lit(plan.delimiter)
    # A whitespace-only line normalizes to '' and splits to ['']: skipped like a blank one.
    return f"""WITH split AS (
  SELECT source_file, line, string_split({normalized_line(plan)}, {delim}) AS f
  FROM {source}
  WHERE line IS NOT NULL AND line <> ''
), nonblank AS (
  SELECT * FROM split WHERE len(f) > 1 OR f[1] <> ''
), norm AS (
  SELECT source_file, line, len(f) AS n_fields,
    {norm}
  FROM nonblank
), typed AS (
  SELECT *,
    {("," + chr(10) + "    ").join(typed)},
    {key_hash(plan, "norm")} AS key_hash
  FROM norm
), judged AS (
  SELECT *, CASE
      {reasons}
    END AS reason
  FROM typed
)
SELECT
    {silver},
    reason,
    CASE reason
      {details}
    END AS detail,
    CASE WHEN reason IS NOT NULL THEN line END AS line,
    source_file,
    key_hash
FROM judged"""


def order_clause(plan: CleaningPlan) -> str:
    """The dedup winner order: contract order_by, then every other silver column ascending."""
    parts = [f"{name} {'DESC' if desc else 'ASC'} NULLS LAST" for name, desc in plan.dedup_order]
    parts += [f"{name} ASC NULLS FIRST" for name in plan.tiebreak]
    return ", ".join(parts)


def key_hash(plan: CleaningPlan, source: str) -> str:
    """A 64-bit hash of the dedup key's plain text columns, for finding keys that may repeat.

    ``source`` says where the values come from: ``line`` (a raw bronze line, normalized and split
    here, for the key scan), ``norm`` (the normalized fields of :func:`classify_sql`) or ``silver``
    (silver columns). The three agree on every valid row. Key columns that cleaning maps or parses
    (codes, numbers, timestamps) are left out, so rows with the same cleaned key always share a
    hash: repeated hashes are a superset of repeated keys, and the exact key decides later.
    """
    parts = []
    for name in plan.dedup_key:
        f = plan.field(next(c.field for c in plan.silver_columns if c.name == name))
        if f.codes is not None or f.type != "string" or f.timestamp:
            continue
        if source == "silver":
            parts.append(name)
        elif source == "norm":
            parts.append(f"n_{f.name}")
        else:
            parts.append(_field(plan, f, normalized_value(plan, _raw_field(plan, f, source))))
    # No plain text key column: every row is a candidate for the exact ranking (slow, still correct).
    return f"hash({', '.join(parts)})" if parts else "CAST(0 AS UBIGINT)"


def rank_sql(plan: CleaningPlan, source: str) -> str:
    """One row per dedup key of ``source`` (which has every silver column): the contract's winner."""
    cols = ", ".join(c.name for c in plan.silver_columns)
    key = ", ".join(plan.dedup_key)
    return f"""SELECT {cols} FROM {source}
QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY {order_clause(plan)}) = 1"""


def silver_order(plan: CleaningPlan) -> str:
    """Row order inside silver files: partition columns, then the key (stable, byte-identical reruns)."""
    return ", ".join((*plan.partition_by, *plan.dedup_key))
