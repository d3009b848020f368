"""The silver contract: the one declaration of the event schema and the cleaning rules.

The generator reads it to decide which dirt to inject, the DuckDB engine and the Data Factory
Data Flow Script are generated from it. Change a rule in ``contract.json`` and every engine follows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

CONTRACT_PATH = Path(__file__).with_name("contract.json")


class ContractError(ValueError):
    """The contract file breaks one of its own rules."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool = False
    nullable: bool = False
    description: str = ""


@dataclass(frozen=True)
class CodeSet:
    """A closed set of canonical codes plus the synonyms that normalize onto them."""

    canonical: tuple[str, ...]
    synonyms: Mapping[str, str]

    def normalize(self, value: str) -> str | None:
        """Canonical code for an already trimmed, lower-cased value, or None when unknown."""
        if value in self.canonical:
            return value
        return self.synonyms.get(value)


@dataclass(frozen=True)
class Range:
    min: float
    max: float

    def contains(self, value: float) -> bool:
        return self.min <= value <= self.max


@dataclass(frozen=True)
class TimestampFormat:
    name: str
    kind: str  # "pattern" (strftime/strptime codes) or "epoch_millis"
    python: str | None
    example: str


@dataclass(frozen=True)
class SilverContract:
    version: int
    bronze_columns: tuple[Column, ...]
    line_terminator: str
    emotion_model: str
    emotions: CodeSet
    codes: Mapping[str, CodeSet]
    lower_case: tuple[str, ...]
    percent_suffix: str
    percent_divisor: float
    ranges: Mapping[str, Range]
    time_zones: tuple[str, ...]
    timestamp_fields: tuple[str, ...]
    timestamp_formats: tuple[TimestampFormat, ...]
    max_clock_skew_seconds: int
    reasons: tuple[str, ...]
    dedup_key: tuple[str, ...]
    dedup_order_by: tuple[tuple[str, str], ...]
    silver_columns: tuple[Column, ...]
    partition_by: tuple[str, ...]
    defect_kinds: Mapping[str, str]
    raw: Mapping[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def bronze_header(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.bronze_columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.bronze_columns if c.required)

    def code_set(self, column: str) -> CodeSet:
        """The code set of ``emotion``, ``source_channel`` or ``context``."""
        return self.emotions if column == "emotion" else self.codes[column]

    def timestamp_format(self, name: str) -> TimestampFormat:
        for fmt in self.timestamp_formats:
            if fmt.name == name:
                return fmt
        raise KeyError(name)


def _code_set(data: Mapping[str, Any], where: str) -> CodeSet:
    canonical = tuple(data["canonical"])
    synonyms = {k: v for k, v in data.get("synonyms", {}).items()}
    for synonym, target in synonyms.items():
        if target not in canonical:
            raise ContractError(f"{where}.synonyms[{synonym!r}] = {target!r}: must name a canonical code")
        if synonym in canonical:
            raise ContractError(f"{where}.synonyms[{synonym!r}]: a synonym may not also be canonical")
    return CodeSet(canonical, MappingProxyType(synonyms))


def parse_contract(data: Mapping[str, Any]) -> SilverContract:
    """Build a typed contract from its JSON form, checking the rules engines rely on."""
    bronze = data["bronze"]
    columns = tuple(Column(**c) for c in bronze["columns"])
    ranges = {k: Range(float(v["min"]), float(v["max"])) for k, v in data["ranges"].items()}
    for name, rng in ranges.items():
        if rng.min > rng.max:
            raise ContractError(f"ranges.{name}: min {rng.min} is above max {rng.max}")
    formats = tuple(
        TimestampFormat(f["name"], f["kind"], f.get("python"), f.get("example", "")) for f in data["timestamps"]["formats"]
    )
    if not formats or formats[0].kind != "pattern":
        raise ContractError("timestamps.formats: the first (canonical) format must be a pattern")
    dedup = data["deduplication"]
    contract = SilverContract(
        version=int(data["version"]),
        bronze_columns=columns,
        line_terminator=bronze.get("line_terminator", "\r\n"),
        emotion_model=data["emotions"]["model"],
        emotions=_code_set(data["emotions"], "emotions"),
        codes=MappingProxyType({k: _code_set(v, f"codes.{k}") for k, v in data["codes"].items()}),
        lower_case=tuple(data["normalization"]["lower_case"]),
        percent_suffix=data["units"]["intensity"]["percent_suffix"],
        percent_divisor=float(data["units"]["intensity"]["percent_divisor"]),
        ranges=MappingProxyType(ranges),
        time_zones=tuple(data["time_zones"]),
        timestamp_fields=tuple(data["timestamps"]["fields"]),
        timestamp_formats=formats,
        max_clock_skew_seconds=int(data["timestamps"]["max_clock_skew_seconds"]),
        reasons=tuple(r["reason"] for r in data["validation"]["rules"]),
        dedup_key=tuple(dedup["key"]),
        dedup_order_by=tuple((o["column"], o["direction"]) for o in dedup["winner"]["order_by"]),
        silver_columns=tuple(Column(**c) for c in data["silver"]["columns"]),
        partition_by=tuple(data["silver"]["partition_by"]),
        defect_kinds=MappingProxyType(dict(data["defects"]["kinds"])),
        raw=MappingProxyType(dict(data)),
    )
    names = {c.name for c in columns}
    for col in (*contract.dedup_key, *contract.timestamp_fields, *contract.ranges):
        if col not in names:
            raise ContractError(f"{col!r} is used by a rule but is not a bronze column")
    return contract


def load_contract(path: str | Path | None = None) -> SilverContract:
    """Load a contract file; without a path, the packaged default (cached)."""
    if path is None:
        return default_contract()
    return parse_contract(json.loads(Path(path).read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def default_contract() -> SilverContract:
    return parse_contract(json.loads(CONTRACT_PATH.read_text(encoding="utf-8")))


def contract_with(**overrides: Any) -> SilverContract:
    """A copy of the default contract's JSON with top-level sections replaced (for what-if tests)."""
    data = json.loads(CONTRACT_PATH.read_text(encoding="utf-8"))
    data.update(overrides)
    return parse_contract(data)
