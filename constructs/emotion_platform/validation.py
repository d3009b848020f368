"""The rules every input is checked against, in one module that the config loader and the constructs
both import, so a value config accepts is a value the construct accepts and the other way round.

A rule is a function returning ``None`` for a good value or the rule it breaks as a short sentence
(names and regions come from :mod:`emotion_platform.naming`, the Function's limits from
:mod:`emotion_events.limits`). ``check`` turns a broken rule into one :class:`ValidationError`:
``<Construct>.<prop> = <value>: <rule>``. Values that are unresolved tokens (an attribute of another
resource, known only at apply time) are skipped: they cannot be checked at synth.

No cdktf import here: config validation runs before the provider bindings load. A token can only
exist once cdktf is imported, so ``is_token`` asks cdktf only then.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from emotion_events import limits

from . import naming

Rule = Callable[[Any], "str | None"]


class ValidationError(ValueError):
    """An invalid construct property: ``<Construct>.<prop> = <value>: <rule>``."""

    def __init__(self, where: str, value: object, rule: str) -> None:
        super().__init__(f"{where} = {value!r}: {rule}")
        self.where, self.value, self.rule = where, value, rule


def is_token(value: object) -> bool:
    """True for an unresolved cdktf token (a string, number or list standing for an apply-time value)."""
    cdktf = sys.modules.get("cdktf")
    if cdktf is None or value is None or isinstance(value, bool):
        return False
    if isinstance(value, str) and "{" not in value:  # every token encoding has "${", "#{" or "&{": no round trip
        return False
    try:
        return bool(cdktf.Token.is_unresolved(value))
    except Exception:  # jsii cannot marshal the value: then it is no token either
        return False


def check(construct: str, prop: str, value: object, rule: Rule) -> None:
    """Raise ``ValidationError`` when ``value`` breaks ``rule``; tokens pass unchecked."""
    if is_token(value):
        return
    problem = rule(value)
    if problem:
        raise ValidationError(f"{construct}.{prop}", value, problem)


def check_all(construct: str, values: Mapping[str, object], rules: Mapping[str, Rule]) -> None:
    """``check`` each ``values[prop]`` against ``rules[prop]``."""
    for prop, value in values.items():
        check(construct, prop, value, rules[prop])


# --- rule builders ---------------------------------------------------------------------------------


def one_of(*allowed: Any) -> Rule:
    def rule(value: Any) -> str | None:
        ok = not isinstance(value, bool) or any(isinstance(a, bool) for a in allowed)
        return None if ok and value in allowed else "must be one of " + ", ".join(repr(a) for a in allowed)

    return rule


def integer_between(low: int, high: int) -> Rule:
    def rule(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"must be an integer between {low} and {high}"
        return None if low <= value <= high else f"must be between {low} and {high}"

    return rule


def number_between(low: float, high: float) -> Rule:
    def rule(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"must be a number between {low} and {high}"
        return None if low <= value <= high else f"must be between {low} and {high}"

    return rule


def each(inner: Rule) -> Rule:
    def rule(values: Any) -> str | None:
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            return "must be a list"
        for item in values:
            if not is_token(item) and (problem := inner(item)):
                return f"item {item!r} {problem}"
        return None

    return rule


def name(kind: str) -> Rule:
    """Azure's naming rule for a resource kind (``naming.NAME_RULES``)."""
    return naming.NAME_RULES[kind]


# --- the rules (config's schema and the constructs' checks both use these) ------------------------

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}")
_SECRET_NAME = re.compile(r"[0-9A-Za-z-]{1,127}")
_ADF_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,59}")
_FUNCTION_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,127}")


def check_principal_id(value: object) -> str | None:
    """Entra ID object ids are UUIDs (an e-mail address or a display name is not an object id)."""
    ok = isinstance(value, str) and _UUID.fullmatch(value)
    return None if ok else "must be an Entra ID object id (a UUID such as 00000000-0000-0000-0000-000000000000) or a token"


def check_uuid(value: object) -> str | None:
    """Tenant and subscription ids."""
    ok = isinstance(value, str) and _UUID.fullmatch(value)
    return None if ok else "must be a UUID such as 00000000-0000-0000-0000-000000000000 (or a token)"


def check_key(value: object) -> str | None:
    ok = isinstance(value, str) and _KEY.fullmatch(value)
    return None if ok else "must be 1-80 letters, digits, '_', '.', '-' (it becomes part of construct ids)"


def check_secret_name(value: object) -> str | None:
    ok = isinstance(value, str) and _SECRET_NAME.fullmatch(value)
    return None if ok else "Key Vault secret names are 1-127 letters, digits and hyphens"


def check_adf_name(value: object) -> str | None:
    ok = isinstance(value, str) and _ADF_NAME.fullmatch(value)
    return None if ok else "must be 1-60 letters, digits and underscores, starting with a letter (Data Factory object names)"


def check_function_name(value: object) -> str | None:
    ok = isinstance(value, str) and _FUNCTION_NAME.fullmatch(value)
    return None if ok else "must be a function name (a letter, then letters, digits, '_' or '-')"


def check_https_url(value: object) -> str | None:
    ok = isinstance(value, str) and re.fullmatch(r"https://[^\s/]+(/\S*)?", value)
    return None if ok else "must be an https:// URL"


def check_non_empty(value: object) -> str | None:
    return None if isinstance(value, str) and value.strip() else "must be a non-empty string"


def check_region(value: object) -> str | None:
    return naming.check_region(value)


@dataclass(frozen=True)
class Field:
    """One setting both the config file and a construct take: its rule and its default."""

    rule: Rule
    default: Any = None


PYTHON_VERSIONS = ("3.10", "3.11", "3.12")
INSTANCE_MEMORY_MB = (512, 2048, 4096)  # Flex Consumption instance sizes
REPLICATIONS = ("LRS", "ZRS", "GRS", "RAGRS", "GZRS", "RAGZRS")
STORAGE_MODES = ("connection_string", "identity")
CORE_COUNTS = (8, 16, 32, 48, 80, 144, 272)
COMPUTE_TYPES = ("General", "MemoryOptimized")
FREQUENCIES = ("Minute", "Hour", "Day", "Week", "Month")

# The shared fields, by the name config and construct give them. Config's schema builds its rules
# from these; the constructs check their props with the same; tests hold both (and their defaults) equal.
FIELDS: dict[str, Field] = {
    "location": Field(check_region),
    "tags": Field(naming.check_tags, {}),
    # storage
    "container": Field(name("container")),
    "storage_account_name": Field(name("storage_account")),
    "resource_group_name": Field(name("resource_group")),
    "replication": Field(one_of(*REPLICATIONS), "LRS"),
    "delete_retention_days": Field(integer_between(1, 365), 7),
    "bronze_cool_after_days": Field(integer_between(1, 99999), 30),
    "quarantine_delete_after_days": Field(integer_between(1, 99999), 90),
    "allowed_ip_ranges": Field(each(naming.check_ip_range), ()),
    "sas_valid_days": Field(integer_between(2, 365), 30),
    # key vault
    "key_vault_name": Field(name("key_vault")),
    "soft_delete_retention_days": Field(integer_between(7, 90), 90),
    "rbac_propagation_wait": Field(naming.check_duration, "60s"),
    "secret_expiry_days": Field(integer_between(1, 3650), 365),
    # function
    "function_app_name": Field(name("function_app")),
    "storage_mode": Field(one_of(*STORAGE_MODES), "identity"),
    "python_version": Field(one_of(*PYTHON_VERSIONS), "3.11"),
    "instance_memory_mb": Field(one_of(*INSTANCE_MEMORY_MB), 2048),
    # azurerm validates 40-1000 on older 4.x releases (newer accept 1): stay valid on all of them.
    "maximum_instance_count": Field(integer_between(40, 1000), 40),
    "schedule": Field(naming.check_ncrontab, "0 0 * * * *"),
    # The Function's own limits: nothing can promise what the Function refuses.
    "batch_rows": Field(integer_between(1, limits.MAX_ROWS), 10000),
    "dirty_ratio": Field(number_between(0.0, limits.MAX_DIRTY_RATIO), 0.05),
    "max_rows": Field(integer_between(1, limits.MAX_ROWS), 5_000_000),
    # data factory and the silver pipeline
    "data_factory_name": Field(name("data_factory")),
    "generator_rows": Field(integer_between(1, 10_000_000), 10000),
    "core_count": Field(one_of(*CORE_COUNTS), 8),
    "compute_type": Field(one_of(*COMPUTE_TYPES), "General"),
    "time_to_live_min": Field(integer_between(0, 240), 0),
    "frequency": Field(one_of(*FREQUENCIES), "Day"),
    "interval": Field(integer_between(1, 1000), 1),
    "start_time": Field(naming.check_rfc3339, "2026-01-01T02:00:00Z"),
    "time_zone": Field(naming.check_windows_time_zone, "UTC"),
}


def rule(field: str) -> Rule:
    return FIELDS[field].rule


def default(field: str) -> Any:
    return FIELDS[field].default
