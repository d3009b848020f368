"""Both engines against Java's own semantics: every regex, number rule and timestamp format of the plan.

Data Factory evaluates the Data Flow Script on the JVM: ``regexMatch``/``regexExtract``/``regexReplace``
are java.util.regex, ``toDouble`` is ``Double.parseDouble``, ``toTimestamp`` with a format is
java.text.SimpleDateFormat (the data flow expression docs point to it). Here those Java classes
themselves (the project's JVM, tests/silver/java.py) evaluate what the generated script asks of them,
and DuckDB evaluates the SQL the local engine runs, over one corpus: the generator's own output plus
adversarial values (every Unicode line terminator and some Unicode spaces around valid values,
non-ASCII case, impossible and boundary dates, offsets at and past the range, signed zeros, long digit
strings). The assertion is always the same: zero disagreements.
"""

from __future__ import annotations

import re
import struct

import duckdb
import pytest

from emotion_platform.dataflow.script import generate_script
from emotion_platform.silver import sql
from emotion_platform.silver.plan import (CONTROL_REGEX, LOWER, NUMBER_REGEX, UPPER, build_plan)

from .conftest import bronze_line, generate
from .java import SEP

PLAN = build_plan()
SCRIPT = generate_script()
BACKTICKS = re.compile(r"`([^`]*)`")

TERMINATORS = ["\r", "\n", "\r\n", "\u0085", "\u2028", "\u2029"]
SPACES = [" ", "\t", "\u00a0", "\u2003", "\u3000", "\u202f", "\u200b", "\ufeff"]
AROUND = TERMINATORS + SPACES + ["\x00", "\x1f", "\x7f"]


def wrapped(values: list[str]) -> list[str]:
    """Each value, and each value with a line terminator, a space or a control character after it
    (and before it: `^` and leading-space rules must agree too)."""
    out = list(values)
    for v in values:
        out += [v + a for a in AROUND] + [a + v for a in AROUND] + [v + "\r\r", v + "\n\r"]
    return out


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> dict[str, list[str]]:
    """Field values of generator output, by column (dirty ratio high, every defect kind shows up)."""
    out = tmp_path_factory.mktemp("gen")
    generate(out, rows=3000, seed=99, dirty_ratio=0.4)
    values: dict[str, set[str]] = {f.name: set() for f in PLAN.fields}
    lines: list[str] = []
    for csv in out.glob("**/*.csv"):
        for line in csv.read_bytes().decode("utf-8").split("\r\n")[1:]:
            lines.append(line)
            for f, v in zip(PLAN.fields, line.split(",")):
                values[f.name].add(v.strip(" \t"))
    values["_lines"] = set(lines)
    return {k: sorted(v) for k, v in values.items()}


# -- the corpus ----------------------------------------------------------------------------------------

def timestamp_corpus() -> list[str]:
    base = ["2026-01-05T08:15:30.123+01:00", "2026-01-05T08:15:30.123+0100", "2026-01-05T07:15:30.123Z",
            "2026/01/05 08:15:30+0100", "2026/01/05 08:15:30+01:00", "1767597330123"]
    dates = ["2026-02-28", "2026-02-29", "2026-02-30", "2024-02-29", "2000-02-29", "1900-02-29", "2100-02-29",
             "2026-04-30", "2026-04-31", "2026-12-31", "2026-13-01", "2026-00-10", "2026-01-00", "2026-01-32",
             "2026-1-05", "2026-01-5", "0000-01-01", "1899-12-31", "1900-01-01", "9998-12-31", "9999-12-31",
             "10000-01-01", "0026-01-05"]
    times = ["08:15:30.123", "00:00:00.000", "23:59:59.999", "24:00:00.000", "23:60:00.000", "23:59:60.000",
             "8:15:30.123", "08:5:30.123", "08:15:3.123", "08:15:30.12", "08:15:30.1234", "08:15:30"]
    offsets = ["+01:00", "+0100", "Z", "+14:00", "+1400", "+14:01", "+13:59", "-12:00", "-1200", "-12:01",
               "-11:59", "+15:00", "+05:59", "+05:60", "+0560", "+99:99", "+24:00", "-00:00", "+00:00", "+01",
               "+1:00", "01:00", "+01:00:00", "-14:00"]
    out = list(base)
    out += [f"{d}T08:15:30.123+01:00" for d in dates]
    out += [f"2026-01-05T{t}+01:00" for t in times]
    out += [f"2026-01-05T08:15:30.123{o}" for o in offsets]
    out += [f"{d.replace('-', '/')} 08:15:30{o}" for d in dates[:8] for o in ("+0100", "-1200", "+1401")]
    out += ["9998-12-31T23:59:59.999-12:00", "1900-01-01T00:00:00.000+14:00", "9998-12-31T23:59:59.999Z",
            "Mon, 05 Jan 2026 08:15:30 +0100", "2026-01-05t08:15:30.123+01:00", "2026-01-05T08:15:30.123z",
            "２０２６-01-05T08:15:30.123+01:00", "2026-01-05T08:15:30.١٢٣+01:00", "2026-01-05 08:15:30.123+01:00"]
    # epoch milliseconds: 1 to 13 digits are accepted; signs, 14+ digits, non-ASCII digits are not
    out += ["0", "1", "00", "9999999999999", "0000000000001", "10000000000000", "1234567890123456", "+1767597330123",
            "-1", "1767597330123.0", "1e12", "١٧٦٧", "17675973301230000000000"]
    return wrapped(out)


def number_corpus() -> list[str]:
    out = ["0", "-0", "+0", "0.0", "-0.0", "-.0", "-0.", "-0e5", "-0%", "-0 %", "0%", "1", "0.5", ".5", "5.", "+.5",
           "-1", "-1.0", "1e0", "1E-2", "1e+2", "1e99", "1e100", "1e-99", "1e-100", "73%", "73 %", "73  %", "%",
           " 73%", "73%%", "150%", "0.73%", "1_0", "inf", "Infinity", "NaN", "-NaN", "0x10", "0x1p3", "1d", "1f",
           "1D", "1L", "١", "１", "1٫5", "1,5", "1 5", "--1", "+-1", "", ".", "e5", "1e", "1e5.5",
           "9" * 20, "9" * 21, "0." + "9" * 20, "0." + "9" * 21, "1" * 20 + "." + "1" * 20,
           "0.1000000000000000055511151231257827", "2.2250738585072011e-3", "4.9e-3", "0.30000000000000004",
           "123456789012345678", "1.7976931348623157e99", "0.1e-99"]
    return wrapped(out)


def code_corpus(generated) -> list[str]:
    out = ["HAPPİNESS", "happİness", "HAPPINESS", "Happy", "JOY", "joy", "ǅoy", "ＪＯＹ", "Joy\u0307", "SAD",
           "ſad", "\u212aind", "GROSSED OUT", "Grossed Out", "Social Media", "SOCIAL MEDIA", "İ", "ß", "MAD", "MAĐ",
           "Europe/Paris", "EUROPE/PARIS", "europe/paris", "UTC", "utc", "Mobile App", "ÀPP", "APP"]
    for name in ("emotion", "source_channel", "context", "device_tz"):
        out += generated[name]
    return wrapped(out)


def line_corpus(generated) -> list[str]:
    ok = bronze_line()
    out = [ok, " " + ok + " ", ok.replace(",", " , "), ok.replace(",", "\t,\t"), ok.replace("joy", "  Grossed \t Out "),
           "", " ", "\t", " \t ", ok + ",extra", "a,b,c", ok.replace("work", ""), ok.replace("0.50", "73 %")]
    out += [ok[:10] + c + ok[10:] for c in AROUND + ["\x01", "\x08", "\x0b", "\x0c", "\x9f", "\x80"]]
    return wrapped(out) + generated["_lines"][:200]  # each line costs a dozen JVM calls


# -- DuckDB side ---------------------------------------------------------------------------------------

def duck(expr: str, column: str, values: list[str]) -> list:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE TABLE v (i INTEGER, {column} VARCHAR)")
    con.executemany("INSERT INTO v VALUES (?, ?)", list(enumerate(values)))
    rows = con.execute(f"SELECT {expr} FROM v ORDER BY i").fetchall()
    con.close()
    return [r[0] for r in rows]


def bits(x: float | None) -> int | None:
    return None if x is None else struct.unpack("<q", struct.pack("<d", x))[0]


def disagreements(values: list[str], java_side: list, duck_side: list) -> list[tuple]:
    assert len(values) == len(java_side) == len(duck_side)
    return [(v, j, d) for v, j, d in zip(values, java_side, duck_side) if j != d]


# -- regexes -------------------------------------------------------------------------------------------

def test_the_script_uses_no_dollar_anchor_and_every_regex_compiles_in_java(java) -> None:
    regexes = sorted(set(BACKTICKS.findall(SCRIPT.text)))
    assert len(regexes) >= 15
    for r in regexes:
        assert "$" not in r, r  # Java's `$` also matches before a final line terminator
        java.pattern(r)  # raises if java.util.regex cannot compile it


def test_every_regex_of_the_script_matches_the_same_values_in_java_and_duckdb(java, generated) -> None:
    corpus = sorted(set(timestamp_corpus() + number_corpus() + code_corpus(generated) + line_corpus(generated)))
    con = duckdb.connect()
    con.execute("CREATE TABLE v AS SELECT unnest(?) AS x", [corpus])
    problems = []
    for regex in sorted(set(BACKTICKS.findall(SCRIPT.text))):
        java_hits = dict(zip(corpus, java.find_all(regex, corpus)))
        duck_hits = dict(con.execute("SELECT x, regexp_matches(x, ?) FROM v", [regex]).fetchall())
        problems += [(regex, v) for v in corpus if java_hits[v] != duck_hits[v]]
    assert problems == [], problems[:20]


def test_anchored_regexes_mean_the_same_as_a_full_match(java) -> None:
    """DuckDB runs shapes with regexp_full_match, the script with regexMatch (find): with ^ and \\z
    they agree, and Java's matches() agrees with both."""
    corpus = timestamp_corpus() + number_corpus()
    con = duckdb.connect()
    regexes = [NUMBER_REGEX, *(f.shape for f in PLAN.active_timestamp_formats)]
    for regex in regexes:
        full = [r[0] for r in con.execute("SELECT regexp_full_match(x, ?) FROM (SELECT unnest(?) AS x)",
                                          [regex, corpus]).fetchall()]
        matches = [bool(java.pattern(regex).matcher(v).matches()) for v in corpus]
        assert disagreements(corpus, matches, full) == []


def test_normalizing_and_splitting_a_line_gives_the_same_fields(java, generated) -> None:
    """The script normalizes with regexReplace and cuts fields with regexExtract; the SQL normalizes
    (with a fast path) and splits. Same fields, same field count, same control-character verdict."""
    lines = line_corpus(generated)
    regexes = re.findall(r"regexReplace\(", SCRIPT.text)
    assert regexes
    norm_steps = [("[ \\t]+", " "), ("[ \\t]*[,][ \\t]*", ","), ("^[ \\t]+|[ \\t]+\\z", "")]
    script_norm = next(s for s in SCRIPT.lines if "norm_line = " in s)
    for r, _rep in norm_steps:
        assert f"`{r}`" in script_norm, r
    java_norm = []
    for line in lines:
        v = line
        for r, rep in norm_steps:
            v = java.replace_all(r, v, rep)
        java_norm.append(v)
    duck_norm = duck(sql.normalized_line(PLAN), "line", lines)
    assert disagreements(lines, java_norm, duck_norm) == []

    field_regexes = re.findall(r"r_(\w+) = regexExtract\(norm_line, `([^`]*)`, 1\)", SCRIPT.text)
    assert [n for n, _r in field_regexes] == [f.name for f in PLAN.fields]
    n = len(PLAN.fields)
    duck_fields = duck(f"string_split({sql.normalized_line(PLAN)}, ',')", "line", lines)
    for line, norm, split in zip(lines, java_norm, duck_fields):
        if len(split) != n:  # malformed: the script's n_fields says so too
            assert line.count(",") + 1 != n, line
            continue
        got = [java.groups(r, norm)[0] for _name, r in field_regexes]
        assert got == split, line
    java_ctrl = java.find_all(CONTROL_REGEX, lines)
    duck_ctrl = duck(sql.control_check("line"), "line", lines)
    assert disagreements(lines, java_ctrl, duck_ctrl) == []


def test_the_crlf_strip_removes_exactly_one_final_cr(java) -> None:
    regex = "\\r\\z"
    assert f"`{regex}`" in SCRIPT.text
    for v, want in [("a\r", "a"), ("a\r\r", "a\r"), ("a\rb", "a\rb"), ("a\r\u0085", "a\r\u0085"), ("a", "a")]:
        assert java.replace_all(regex, v, "") == want


# -- numbers -------------------------------------------------------------------------------------------

def java_number(java, value: str, percent: bool) -> float | None:
    """What the script's number expression computes, with Java doing the matching and parsing."""
    def plain(v: str) -> float | None:
        if not java.find(NUMBER_REGEX, v):
            return None
        return java.parse_double(v) + 0.0

    if percent and value.endswith(PLAN.percent_suffix):
        stripped = value[:-len(PLAN.percent_suffix)].rstrip(" ")
        if not java.find(NUMBER_REGEX, stripped):
            return None
        return java.parse_double(stripped) / PLAN.percent_divisor + 0.0
    return plain(value)


@pytest.mark.parametrize("column", ["intensity", "valence"])
def test_numbers_parse_to_the_same_double_bits(java, generated, column) -> None:
    f = PLAN.field(column)
    values = number_corpus() + generated[column]
    java_side = [bits(java_number(java, v, f.percent)) for v in values]
    duck_side = [bits(x) for x in duck(sql._number(PLAN, f), f"n_{column}", values)]
    assert disagreements(values, java_side, duck_side) == []
    assert bits(0.0) in java_side and bits(-0.0) not in java_side  # signed zero arrives as 0.0


def test_java_would_accept_what_the_number_regex_keeps_out() -> None:
    """Why the regex is the one definition: Java's parser takes forms DuckDB's cast does not, and back."""
    assert re.fullmatch(NUMBER_REGEX.replace("\\z", ""), "1d") is None


# -- timestamps ----------------------------------------------------------------------------------------

def java_timestamp(java, value: str, *, lenient: bool) -> int | None:
    """The script's timestamp expression with Java: formats in order, each behind its shape regex
    (java.util.regex), parsed by SimpleDateFormat in UTC (or Long.parseLong for epoch milliseconds)."""
    for fmt in PLAN.active_timestamp_formats:
        if not java.find(fmt.shape, value):
            continue
        if fmt.zone == "epoch":
            return int(java.jvm.java.lang.Long.parseLong(value))
        for pattern in fmt.java:
            millis = java.sdf_millis(pattern, value, lenient=lenient)
            if millis is not None:
                return millis
        return None
    return None


def test_timestamps_parse_to_the_same_instant_and_utc_date(java, generated) -> None:
    adversarial = timestamp_corpus()
    # Generated values: every format and defect the generator writes (a sample: each costs JVM calls).
    values = adversarial + generated["occurred_at"][::10] + generated["recorded_at"][::10]
    f = PLAN.field("occurred_at")
    lenient = [java_timestamp(java, v, lenient=True) for v in values]
    strict = [java_timestamp(java, v, lenient=False) for v in values]
    # The shapes leave no choice to the parser: lenient and strict SimpleDateFormat agree everywhere.
    assert disagreements(values, lenient, strict) == []
    duck_ms = duck(f"epoch_ms({sql._timestamp(PLAN, f)})", "n_occurred_at", values)
    assert disagreements(values, lenient, duck_ms) == []
    accepted = [(v, ms) for v, ms in zip(values, lenient) if ms is not None]
    adversarial_accepted = [v for v, ms in zip(adversarial, lenient) if ms is not None]
    assert 30 < len(adversarial_accepted) < len(adversarial) / 4
    # event_date: whole days since the epoch in both (java.time says which UTC date that is)
    java_dates = [java.utc_date(ms) for _v, ms in accepted]
    duck_dates = [str(d) for d in duck(sql.utc_date(sql._timestamp(PLAN, f)), "n_occurred_at", [v for v, _ in accepted])]
    assert disagreements([v for v, _ in accepted], java_dates, duck_dates) == []


@pytest.mark.parametrize("value", ["2026-02-30T08:15:30.123+01:00", "2026-13-05T08:15:30.123+01:00",
                                   "2026-01-05T08:15:30.123+99:99", "0000-03-01T12:00:00.000+01:00"])
def test_a_lenient_parser_would_have_decided_these_and_now_the_shape_does(java, value) -> None:
    """The values the issue names: a lenient SimpleDateFormat or DuckDB's strptime reads them (as another
    instant); the shape rejects them before any parser runs, in both engines."""
    fmt = PLAN.timestamp_formats[0]
    duck_strptime = duck(f"try_strptime(x, {sql.lit(fmt.duckdb)})", "x", [value])[0]
    assert java.sdf_millis(fmt.java[0], value, lenient=True) is not None or duck_strptime is not None
    assert not java.find(fmt.shape, value)
    assert duck(sql._timestamp(PLAN, PLAN.field("occurred_at")), "n_occurred_at", [value]) == [None]


def test_the_script_parses_with_the_formats_the_harness_checked() -> None:
    typed = next(line for line in SCRIPT.lines if "t_occurred_at = " in line)
    for fmt in PLAN.active_timestamp_formats:
        assert f"`{fmt.shape}`" in typed
        for pattern in fmt.java:
            assert "'" + pattern.replace("'", "\\'") + "'" in typed
    assert "EEE" not in typed  # rfc2822 holds the delimiter: no CSV value can match it, no engine tries it


# -- lower-casing and codes ------------------------------------------------------------------------------

def test_lower_casing_and_code_lookup_agree(java, generated) -> None:
    values = code_corpus(generated)
    # translate is per character: one call over the values joined by a separator no value holds
    java_lower = java.translate(SEP.join(values), UPPER, LOWER).split(SEP)
    duck_lower = duck(sql.ascii_lower("x"), "x", values)
    assert disagreements(values, java_lower, duck_lower) == []
    for name in ("emotion", "source_channel", "context", "device_tz"):
        f = PLAN.field(name)
        # The script: translate, then exact `in([...])` lists; the SQL: ENUM casts, translate on a miss.
        want = [f.codes.get(low if f.lower else v) for v, low in zip(values, java_lower)]
        got = duck(f"CAST({sql._code(f)} AS VARCHAR)", f"n_{name}", values)
        assert disagreements(values, want, got) == [], name
    # What lower() would have done: Java keeps a combining dot after İ, so it never matched 'happiness'.
    assert java.lower("HAPPİNESS") == "happi\u0307ness"
    assert duck(f"CAST({sql._code(PLAN.field('emotion'))} AS VARCHAR)", "n_emotion", ["HAPPİNESS"]) == [None]
