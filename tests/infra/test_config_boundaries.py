"""Boundaries of every numeric range and name rule in the config (issue 16, requirement 5).

Each rule is tried at its exact limits (accepted) and one step past each side (refused, naming the
field). The expected limits are written here from Azure's and the provider's documented limits, not
read from the config module, so a bound moved by one in the code fails a test even when the error
message does not change.
"""

from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from emotion_platform.config import ConfigError, parse_config
from emotion_events import limits

DEV = tomllib.loads((Path(__file__).resolve().parents[2] / "config" / "dev.toml").read_text())


def with_value(path: str, value: object, **also: object) -> dict:
    data = copy.deepcopy(DEV)
    for dotted, v in {path: value, **{k.replace("__", "."): x for k, x in also.items()}}.items():
        *parents, key = dotted.split(".")
        node = data
        for p in parents:
            node = node.setdefault(p, {})
        node[key] = v
    return data


def accepted(data: dict) -> None:
    parse_config(data, name="dev", source=Path("config/dev.toml"))


def refused(data: dict, field: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(data, name="dev", source=Path("config/dev.toml"))
    message = str(info.value)
    assert field in message, message
    return message


@dataclass(frozen=True)
class Range:
    """A closed integer (or real) range and the step that is "one past" it."""

    path: str
    low: float
    high: float
    step: float = 1
    # Other fields set so that only this range decides (e.g. a cross-field rule).
    also: tuple[tuple[str, object], ...] = ()

    @property
    def id(self) -> str:
        return self.path


RANGES = [
    # Log Analytics: 30-730 days on the PerGB2018 SKU.
    Range("foundation.log_retention_days", 30, 730),
    # Blob soft delete: 1-365 days.
    Range("storage.delete_retention_days", 1, 365),
    # Lifecycle management rule ages: 0-99999 in the API; 0 would move or delete on the day of writing.
    Range("storage.bronze_cool_after_days", 1, 99999),
    Range("storage.quarantine_delete_after_days", 1, 99999),
    # Key Vault soft delete: 7-90 days.
    Range("key_vault.soft_delete_retention_days", 7, 90),
    # Our own: a secret expires within ten years.
    Range("key_vault.secret_expiry_days", 1, 3650),
    # Flex Consumption maximum instance count: 40-1000 (older azurerm 4.x releases).
    Range("function.maximum_instance_count", 40, 1000),
    # The Function's own limits (emotion_events.limits), which the config may not exceed.
    Range("function.batch_rows", 1, limits.MAX_ROWS, also=(("function.max_rows", limits.MAX_ROWS),)),
    Range("function.max_rows", 1, limits.MAX_ROWS, also=(("pipeline.generator_rows", 1), ("function.batch_rows", 1))),
    Range("function.dirty_ratio", 0.0, limits.MAX_DIRTY_RATIO, step=0.01),
    # The SAS renews one day before it expires: at least two days of validity.
    Range("function.sas_valid_days", 2, 365),
    Range("pipeline.generator_rows", 1, 10_000_000, also=(("function.max_rows", limits.MAX_ROWS),)),
    # Data flow integration runtime time to live: 0-240 minutes.
    Range("pipeline.compute.time_to_live_min", 0, 240),
    Range("pipeline.schedule.interval", 1, 1000),
]


@pytest.mark.parametrize("rule", RANGES, ids=lambda r: r.id)
def test_numeric_ranges_at_and_past_their_limits(rule: Range) -> None:
    also = {k.replace(".", "__"): v for k, v in rule.also}
    field = rule.path.rsplit(".", 1)[1]
    is_int = isinstance(rule.low, int) and isinstance(rule.step, int)
    for value in (rule.low, rule.high):
        accepted(with_value(rule.path, value, **also))
    for value in (rule.low - rule.step, rule.high + rule.step):
        value = int(value) if is_int else round(value, 6)
        refused(with_value(rule.path, value, **also), field)


ALLOWED_SETS = [
    # Flex Consumption instance sizes.
    ("function.instance_memory_mb", [512, 2048, 4096], [0, 511, 513, 1024, 2047, 2049, 4095, 4097, 8192]),
    # Data flow integration runtime core counts.
    ("pipeline.compute.core_count", [8, 16, 32, 48, 80, 144, 272], [0, 4, 7, 9, 15, 17, 64, 271, 273]),
    # Python versions Flex Consumption runs.
    ("function.python_version", ["3.10", "3.11", "3.12"], ["3.9", "3.13", "2.7", "3", "3.11.0", " 3.11"]),
]


@pytest.mark.parametrize(("path", "good", "bad"), ALLOWED_SETS, ids=[s[0] for s in ALLOWED_SETS])
def test_allowed_sets_take_exactly_their_members(path: str, good: list, bad: list) -> None:
    field = path.rsplit(".", 1)[1]
    for value in good:
        accepted(with_value(path, value))
    for value in bad:
        refused(with_value(path, value), field)


@dataclass(frozen=True)
class NameRule:
    path: str
    good: tuple[str, ...]
    bad: tuple[str, ...]


# Each name at its shortest and longest, and one character past either length; first and last
# character classes; the characters Azure refuses.
NAMES = [
    NameRule(
        "foundation.storage_account_name",
        ("abc", "a" * 24, "0bc", "ab9"),
        ("ab", "a" * 25, "Abc", "ab-c", "ab_c", "abç"),
    ),
    NameRule(
        "function.storage_account_name",
        ("xyz", "x" * 24),
        ("xy", "x" * 25, "xY1"),
    ),
    NameRule(
        "foundation.key_vault_name",
        ("kva", "k" * 24, "k-v", "kv1", "K-V-1"),
        ("kv", "k" * 25, "1kv", "-kv", "kv-", "k--v", "kv_1", "kv.1"),
    ),
    NameRule(
        "foundation.log_analytics_workspace_name",
        ("logs", "l" * 63, "1og2", "l-g1"),
        ("log", "l" * 64, "-log", "log-", "lo_g"),
    ),
    NameRule(
        "function.name",
        ("fn", "f" * 32, "f-1", "1f"),
        ("f", "f" * 33, "-fn", "fn-", "f_n", "f.n"),
    ),
    NameRule(
        "data_factory.name",
        ("adf", "a" * 63, "a-f", "1df"),
        ("ad", "a" * 64, "-adf", "adf-", "a--f", "a_f"),
    ),
    NameRule(
        "foundation.bronze_container",
        ("brz", "b" * 63, "b-z", "0rz"),
        ("br", "b" * 64, "Brz", "-brz", "brz-", "b--z", "b_z"),
    ),
    NameRule(
        "storage.silver_container",
        ("slv", "s" * 63),
        ("sl", "s" * 64, "s--v"),
    ),
    NameRule(
        "foundation.resource_group_name",
        ("r", "r" * 90, "rg.(x)_-y", "rg-"),
        ("r" * 91, "rg.", "", "rg x", "rg/x"),
    ),
]


@pytest.mark.parametrize("rule", NAMES, ids=lambda r: r.path)
def test_name_rules_at_and_past_their_limits(rule: NameRule) -> None:
    field = rule.path.rsplit(".", 1)[1]
    for value in rule.good:
        accepted(with_value(rule.path, value))
    for value in rule.bad:
        refused(with_value(rule.path, value), field)


def test_state_key_length_limit() -> None:
    """Blob names are at most 1024 characters."""
    accepted(with_value("state.key", "k" * 1024))
    refused(with_value("state.key", "k" * 1025), "key")
    refused(with_value("state.key", "/leading-slash"), "key")


def test_generator_rows_may_equal_but_not_exceed_max_rows() -> None:
    accepted(with_value("pipeline.generator_rows", 5000, function__max_rows=5000))
    message = refused(with_value("pipeline.generator_rows", 5001, function__max_rows=5000), "generator_rows")
    assert "max_rows" in message
