"""Every spelling of every code field against the contract (issue 16, req 2).

For each code column (``emotion``, every ``codes`` entry, and ``device_tz`` with the contract's time
zones) every canonical code and every synonym is written as is, in other cases and with whitespace
around and inside it. What silver must hold is read from the contract alone: its normalization
(trim and collapse whitespace, lower-case the listed columns, empty means null), then its canonical
list and synonym map. Near misses (a synonym run together, a plural, a hyphen) must be quarantined as
unknown codes. A spelling mapped to the wrong code, a synonym missing, a case or whitespace rule
dropped in an engine fails here, column by column. Numbers likewise: decimals of every range with
signs, exponents and whitespace, and intensity percentages (``k%`` is k / the contract's divisor).

The Data Flow Script's side of the same table is in tests/silver/test_dataflow_spellings.py (its
regexes and lower-casing evaluated by real Java).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pytest

from emotion_events.contract import SilverContract, default_contract

from .conftest import bronze_line, write_bronze
from .engines import engine  # noqa: F401  (fixture)

WHITESPACE = " \t"  # what the contract's "whitespace" means (plan.WHITESPACE)


@dataclass(frozen=True)
class Spelling:
    column: str
    written: str
    expected: str | None  # canonical code silver holds; None: quarantined
    reason: str | None  # quarantine reason when expected is None (None: valid with a NULL value)


def code_map(contract: SilverContract, column: str) -> dict[str, str]:
    """Accepted spelling -> canonical code, straight from the contract's lists."""
    if column == "device_tz":
        return {tz: tz for tz in contract.time_zones}
    codes = contract.code_set(column)
    return {**{c: c for c in codes.canonical}, **dict(codes.synonyms)}


def code_columns(contract: SilverContract) -> tuple[str, ...]:
    return ("emotion", *contract.codes, "device_tz")


def contract_normalize(contract: SilverContract, column: str, value: str) -> str | None:
    norm = contract.raw["normalization"]
    if norm.get("collapse_inner_whitespace", True):
        value = re.sub(f"[{WHITESPACE}]+", " ", value)
    if norm.get("trim_whitespace", True):
        value = value.strip(WHITESPACE)
    if column in contract.lower_case:
        value = value.lower()
    if value == "" and norm.get("empty_string_is_null", True):
        return None
    return value


def variants(word: str) -> list[str]:
    forms = [word, word.upper(), word.title(), word.capitalize(), word.swapcase(), f" {word}", f"{word} ",
             f"\t{word}", f"{word}\t", f"  {word.upper()} \t", f"\t {word.title()}  "]
    if " " in word:
        forms += [word.replace(" ", "  "), word.replace(" ", "\t"), word.replace(" ", " \t "),
                  f" {word.replace(' ', '   ').upper()} "]
    if "_" in word:
        forms += [word.replace("_", " ")]
    if "/" in word:
        forms += [word.replace("/", " / ")]
    return list(dict.fromkeys(forms))


def near_misses(word: str) -> list[str]:
    return [w for w in (word.replace(" ", ""), word + "s", word.replace("_", "-"), word + ".", "x" + word)
            if w != word]


def spellings(contract: SilverContract) -> list[Spelling]:
    out: list[Spelling] = []
    required = set(contract.required_columns)
    for column in code_columns(contract):
        mapping = code_map(contract, column)
        written = [v for word in mapping for v in (*variants(word), *near_misses(word))]
        written += ["", " ", "\t \t"]
        for w in dict.fromkeys(written):
            norm = contract_normalize(contract, column, w)
            if norm is None:
                reason = "missing_required" if column in required else None
                out.append(Spelling(column, w, None, reason))
            elif norm in mapping:
                out.append(Spelling(column, w, mapping[norm], None))
            else:
                out.append(Spelling(column, w, None, "unknown_code"))
    return out


def number_spellings() -> list[tuple[str, str, float]]:
    """(column, written, the number the contract says it is): decimals of every range, signs, exponents,
    whitespace, and percentages of intensity (``k%`` is k / percent_divisor)."""
    contract = default_contract()
    out = []
    for name, rng in contract.ranges.items():
        for text in ("0", "0.5", "+0.25", ".75", "1.", "5e-1", f"{rng.min}", f"{rng.max}", " 0.125 ", "0.1\t"):
            out.append((name, text, float(text.strip(WHITESPACE))))
        if rng.min < 0:
            out += [(name, "-0.5", -0.5), (name, "-1", -1.0), (name, "-.25", -0.25)]
    suffix, divisor = contract.percent_suffix, contract.percent_divisor
    for k in (0, 1, 7, 25, 33, 50, 73, 99, 100):
        out.append(("intensity", f"{k}{suffix}", k / divisor))
    out += [("intensity", f"12.5{suffix}", 12.5 / divisor), ("intensity", f" 40 {suffix}", 40 / divisor)]
    return out



def _id(s: Spelling) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{s.column}={s.written!r}"))


@pytest.fixture(scope="module")
def cleaned(engine, tmp_path_factory):  # noqa: F811
    contract = default_contract()
    cases = spellings(contract)
    root = tmp_path_factory.mktemp(f"spellings-{engine.name}")
    write_bronze(root / "bronze", [bronze_line(event_id=_id(s), **{s.column: s.written}) for s in cases])
    return cases, engine.run(root / "bronze", root / "out", None)


def test_the_table_covers_every_code_and_synonym_of_every_code_field() -> None:
    contract = default_contract()
    cases = spellings(contract)
    for column in code_columns(contract):
        targets = {s.expected for s in cases if s.column == column and s.expected}
        assert targets == set(code_map(contract, column).values()), column
        accepted = {contract_normalize(contract, column, s.written) for s in cases if s.column == column and s.expected}
        assert accepted == set(code_map(contract, column)), column
    assert any(s.reason == "unknown_code" for s in cases if s.column == "device_tz")  # time zones keep their case


def test_every_spelling_lands_as_the_contract_says(cleaned) -> None:
    cases, silver = cleaned
    rows = silver.by_id()
    quarantined = {q["raw_line_or_record"].split(",", 1)[0]: q for q in silver.quarantine}
    wrong = []
    for s in cases:
        eid = _id(s)
        if s.reason is None:
            got = rows.get(eid, {}).get(s.column, "<not in silver>") if eid in rows else "<not in silver>"
            if got != s.expected:
                wrong.append(f"{s.column} {s.written!r}: silver holds {got!r}, contract says {s.expected!r}")
        else:
            q = quarantined.get(eid)
            if q is None or q["reason"] != s.reason:
                got = q["reason"] if q else rows.get(eid, {}).get(s.column, "<nowhere>")
                wrong.append(f"{s.column} {s.written!r}: {got!r}, contract says quarantine as {s.reason}")
    assert not wrong, f"{len(wrong)} of {len(cases)} spellings wrong:\n" + "\n".join(wrong[:30])
    assert len(silver.rows) + len(silver.quarantine) == len(cases)


def test_every_number_spelling_reads_as_the_contract_says(engine, tmp_path) -> None:  # noqa: F811
    cases = number_spellings()
    ids = [str(uuid.uuid5(uuid.NAMESPACE_URL, f"{c}={t!r}")) for c, t, _v in cases]
    write_bronze(tmp_path / "bronze", [bronze_line(event_id=i, **{c: t}) for i, (c, t, _v) in zip(ids, cases)])
    rows = engine.run(tmp_path / "bronze", tmp_path / "out", None).by_id()
    wrong = [f"{c} {t!r}: silver holds {rows.get(i, {}).get(c, '<not in silver>')!r}, contract says {v!r}"
             for i, (c, t, v) in zip(ids, cases) if rows.get(i, {}).get(c) != v]
    assert not wrong, "\n".join(wrong)
