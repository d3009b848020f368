"""The DuckDB renderer's shortcuts give exactly what the plain rules give, on adversarial values.

The engine skips the shape regex for full-width timestamps, lower-cases a code only when it misses
as written, and cuts the first key field at the first delimiter. Each shortcut is compared here,
value by value in DuckDB itself, with the straightforward expression it replaces.
"""

from __future__ import annotations

import random

import duckdb
import pytest

from emotion_platform.silver import sql
from emotion_platform.silver.plan import build_plan

PLAN = build_plan()
CANONICAL = ["2026-01-05T08:15:30.123+01:00", "2026-01-05T08:15:30.123-05:30", "1999-12-31T23:59:59.999Z",
             "2026-02-30T08:15:30.123+01:00", "2026-13-05T08:15:30.123+01:00", "2026-01-05T24:15:30.123+01:00"]
# Everything strptime treats specially: whitespace it skips, signs, separators, letters, other digits.
ALPHABET = list("0123456789 \t\n\v\f\r+-:.TZz/_%a") + ["é", "٣"]


def adversarial(seed: int, n: int) -> list[str]:
    """Canonical values with one to three characters replaced, removed, inserted or doubled."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        chars = list(rng.choice(CANONICAL))
        for _edit in range(rng.randint(1, 3)):
            i = rng.randrange(len(chars))
            op = rng.random()
            if op < 0.6:
                chars[i] = rng.choice(ALPHABET)
            elif op < 0.75:
                del chars[i]
            elif op < 0.9:
                chars.insert(i, rng.choice(ALPHABET))
            else:
                chars.insert(i, chars[i])
        out.append("".join(chars))
    # Hand-picked: whitespace at either end (strptime skips it, the shape does not), short fields.
    out += ["\v2026-01-05T08:15:30.123+01:00", "2026-01-05T08:15:30.123+01:\v\v", "2026-01-05T08:15:30.123+01:00\f",
            " 026-01-05T08:15:30.123+01:00", "2026-1-05T08:15:30.123+01:00", "2026-01-05T08:15:30.12+01:000",
            "2026-01-05T08:15:30.1234+1:00", "2026-01-05T08:15:30.123+0100", "2026-01-05T08:15:30.123 01:00"]
    out += [f"2026-01-05T08:15:30.123+01:{tail}" for tail in ("0\v", "\v0", "\v\v", "\f\f", "\t\t", "  ", "0 ", "\r\r")]
    return out


def slow_timestamp(name: str) -> str:
    """The timestamp rule without shortcuts: shape regex, then parse, format after format."""
    n = f"n_{name}"
    arms = []
    for fmt in PLAN.timestamp_formats:
        if fmt.zone == "epoch":
            parsed = f"timezone('UTC', epoch_ms(CAST({n} AS BIGINT)))"
        elif fmt.zone == "utc":
            parsed = f"timezone('UTC', try_strptime({n}, {sql.lit(fmt.duckdb)}))"
        else:
            parsed = f"try_strptime({n}, {sql.lit(fmt.duckdb)})"
        arms.append(f"CASE WHEN regexp_full_match({n}, {sql.lit(fmt.shape)}) THEN {parsed} END")
    return f"coalesce({', '.join(arms)})"


def compare(values: list[str], fast: str, slow: str, column: str) -> list[tuple]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE TABLE v ({column} VARCHAR)")
    con.executemany("INSERT INTO v VALUES (?)", [(x,) for x in values])
    return con.execute(f"SELECT {column}, fast, slow FROM (SELECT {column}, {fast} AS fast, {slow} AS slow FROM v) "
                       "WHERE fast IS DISTINCT FROM slow").fetchall()


def test_the_full_width_layouts_are_the_ones_expected() -> None:
    layouts = {f.name: sql.full_width_layout(f) for f in PLAN.timestamp_formats}
    assert layouts == {"iso_offset": "____-__-__T__:__:__.______:__", "iso_utc": "____-__-__T__:__:__.___Z",
                       "slash_offset": None, "rfc2822": None, "epoch_ms": None}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_timestamps_skip_the_regex_only_where_the_regex_would_agree(seed: int) -> None:
    values = adversarial(seed, 20_000) + CANONICAL
    mismatches = compare(values, sql._timestamp(PLAN, PLAN.field("occurred_at")), slow_timestamp("occurred_at"),
                         "n_occurred_at")
    assert mismatches == []
    # The shortcut is taken at all: most canonical values parse, and some edited ones must not.
    con = duckdb.connect()
    parsed = con.execute(f"SELECT count({sql._timestamp(PLAN, PLAN.field('occurred_at'))}) "
                         "FROM (SELECT unnest(?) AS n_occurred_at)", [values]).fetchone()[0]
    assert 0 < parsed < len(values)


def test_codes_match_in_any_case_and_only_known_spellings() -> None:
    f = PLAN.field("emotion")
    values = [s for k in f.codes for s in (k, k.upper(), k.title(), f" {k}", k + "x")] + ["", "JOY", "Grossed Out"]
    slow = "CASE lower(n_emotion) " + " ".join(f"WHEN {sql.lit(k)} THEN {sql.lit(v)}" for k, v in f.codes.items()) + " END"
    assert compare(values, f"CAST({sql._code(f)} AS VARCHAR)", slow, "n_emotion") == []


def test_the_key_scan_hashes_every_valid_line_like_classification_does() -> None:
    """The key cut from a raw line (first delimiter, that value normalized) equals the classified key."""
    lines = ["abc,rest", "  abc ,rest", "\tabc\t\t,rest", "a  b,rest", " a \t b ,rest", ",rest", " ,rest", "abc"]
    con = duckdb.connect()
    key_from_line = sql.key_hash(PLAN, "line")
    got = con.execute(f"SELECT {key_from_line} FROM (SELECT unnest(?) AS line)", [lines]).fetchall()
    want = con.execute(f"""SELECT hash(nullif(string_split({sql.normalized_line(PLAN)}, ',')[1], ''))
                           FROM (SELECT unnest(?) AS line)""", [lines]).fetchall()
    assert got[:-1] == want[:-1]  # the last line has no delimiter: malformed, never a silver row
    assert got[0] == got[1] == got[2] and got[3] == got[4] and got[5] == got[6]


def test_the_control_character_check_scans_free_text_only_where_the_line_check_would_agree() -> None:
    """The malformed_line predicate skips the whole-line scan on clean lines; fuzzed against the plain
    rule (a control character or line separator anywhere in the line) on lines with one inserted."""
    from emotion_platform.silver.plan import CONTROL_REGEX

    from .conftest import bronze_line

    rng = random.Random(9)
    chars = ["\x00", "\x01", "\r", "\x0b", "\x1b", "\x7f", "\x85", "\u2028", "\u2029", "\t", " ", "x", "\u00a0"]
    base = [bronze_line(), bronze_line(context=""), bronze_line(intensity="73 %"), bronze_line(emotion=" Grossed  Out "),
            bronze_line(occurred_at="1767597330123"), bronze_line(recorded_at="2026/01/05 08:15:31+0100")]
    lines = []
    for _ in range(6000):
        line = list(rng.choice(base))
        for _k in range(rng.choice([1, 1, 2])):
            line.insert(rng.randrange(len(line) + 1), rng.choice(chars))
        lines.append("".join(line))
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE bronze_lines (source_file VARCHAR, line VARCHAR)")
    con.executemany("INSERT INTO bronze_lines VALUES (?, ?)", [(str(i), x) for i, x in enumerate(lines)])
    got = dict(con.execute(f"SELECT source_file, coalesce(reason = 'malformed_line', false) "
                           f"FROM ({sql.classify_sql(PLAN)})").fetchall())
    want = dict(con.execute(f"""SELECT source_file, len(string_split({sql.normalized_line(PLAN)}, ',')) <> 11
                                OR regexp_matches(line, {sql.lit(CONTROL_REGEX)}) FROM bronze_lines""").fetchall())
    assert {k: v for k, v in got.items() if v != want[k]} == {}
    assert sum(want.values()) > 2000 and sum(not v for v in want.values()) > 500
