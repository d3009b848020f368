"""Azure's naming rules, regions and schedule syntaxes, as plain checks.

Each check returns ``None`` when the value is fine, or the rule it breaks as a short sentence, so the
config loader can name the field, the value and the rule in one message. Nothing here imports cdktf:
bad input is rejected before the (slow) provider bindings load.
"""

from __future__ import annotations

import difflib
import re
from datetime import datetime
from typing import Callable

Check = Callable[[object], "str | None"]

# Public Azure regions (programmatic names). Not every service exists in every region: Flex Consumption
# in particular is in a subset (https://learn.microsoft.com/azure/azure-functions/flex-consumption-how-to).
REGIONS: frozenset[str] = frozenset(
    """
    australiacentral australiacentral2 australiaeast australiasoutheast austriaeast belgiumcentral
    brazilsouth brazilsoutheast canadacentral canadaeast centralindia centralus chilecentral eastasia
    eastus eastus2 francecentral francesouth germanynorth germanywestcentral indonesiacentral
    israelcentral italynorth japaneast japanwest jioindiacentral jioindiawest koreacentral koreasouth
    malaysiawest mexicocentral newzealandnorth northcentralus northeurope norwayeast norwaywest
    polandcentral qatarcentral southafricanorth southafricawest southcentralus southeastasia
    southindia spaincentral swedencentral swedensouth switzerlandnorth switzerlandwest uaecentral
    uaenorth uksouth ukwest westcentralus westeurope westindia westus westus2 westus3
    """.split()
)


def normalize_region(value: str) -> str:
    """'West Europe' and 'westeurope' are the same region; Terraform and ARM take the latter."""
    return value.replace(" ", "").lower()


def check_region(value: object) -> str | None:
    if not isinstance(value, str) or normalize_region(value) not in REGIONS:
        close = difflib.get_close_matches(normalize_region(str(value)), sorted(REGIONS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"must be an Azure region name such as 'westeurope' or 'swedencentral'{hint}"
    return None


def _pattern(regex: str, rule: str) -> Check:
    compiled = re.compile(regex)

    def check(value: object) -> str | None:
        return None if isinstance(value, str) and compiled.fullmatch(value) else rule

    return check


def _no_double_hyphen(inner: Check, rule: str) -> Check:
    def check(value: object) -> str | None:
        return inner(value) or (rule if "--" in str(value) else None)

    return check


# Rules from https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules
NAME_RULES: dict[str, Check] = {
    "resource_group": _pattern(
        r"[\w\-.()]{0,89}[\w\-()]",
        "resource group names are 1-90 letters, digits, '_', '-', '.', '(' or ')' and may not end with '.'",
    ),
    "storage_account": _pattern(
        r"[a-z0-9]{3,24}", "storage account names are 3-24 lower-case letters and digits (no hyphens), globally unique"
    ),
    "key_vault": _no_double_hyphen(
        _pattern(
            r"[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]",
            "Key Vault names are 3-24 letters, digits and hyphens, start with a letter and end with a letter or digit",
        ),
        "Key Vault names may not contain consecutive hyphens",
    ),
    "log_analytics_workspace": _pattern(
        r"[A-Za-z0-9][A-Za-z0-9-]{2,61}[A-Za-z0-9]",
        "Log Analytics workspace names are 4-63 letters, digits and hyphens, starting and ending with a letter or digit",
    ),
    # Microsoft.Web/sites allows 60, but the Functions host id is cut at 32 characters: longer names can
    # collide on a shared storage account (https://github.com/Azure/azure-functions-host/wiki/Host-IDs).
    "function_app": _pattern(
        r"[A-Za-z0-9][A-Za-z0-9-]{0,30}[A-Za-z0-9]",
        "Function App names are 2-32 letters, digits and hyphens, not starting or ending with a hyphen",
    ),
    "data_factory": _no_double_hyphen(
        _pattern(
            r"[A-Za-z0-9][A-Za-z0-9-]{1,61}[A-Za-z0-9]",
            "Data Factory names are 3-63 letters, digits and hyphens, starting and ending with a letter or digit",
        ),
        "Data Factory names may not contain consecutive hyphens",
    ),
    "container": _no_double_hyphen(
        _pattern(
            r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]",
            "blob container names are 3-63 lower-case letters, digits and hyphens, starting and ending with a letter or digit",
        ),
        "blob container names may not contain consecutive hyphens",
    ),
    "state_key": _pattern(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,1023}", "a state key is a blob name: letters, digits, '.', '_', '-', '/'"),
    "environment": _pattern(r"[a-z][a-z0-9]{1,9}", "environment names are 2-10 lower-case letters and digits"),
}

# NCRONTAB (Azure Functions timer trigger): six fields, seconds first.
_CRON_FIELDS = (
    ("second", 0, 59),
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day", 1, 31),
    ("month", 1, 12),
    ("day-of-week", 0, 6),
)
_CRON_NAMES = {
    "month": "jan feb mar apr may jun jul aug sep oct nov dec".split(),
    "day-of-week": "sun mon tue wed thu fri sat".split(),
}
_CRON_TOKEN = re.compile(r"(\*|(?P<a>\w+)(?:-(?P<b>\w+))?)(?:/(?P<step>\d+))?")


def _cron_number(text: str, field: str) -> int | None:
    if text.isdigit():
        return int(text)
    names = _CRON_NAMES.get(field, [])
    low = text.lower()
    return names.index(low) + (1 if field == "month" else 0) if low in names else None


def check_ncrontab(value: object) -> str | None:
    rule = "must be an NCRONTAB expression with six fields 'second minute hour day month day-of-week', e.g. '0 0 * * * *'"
    if not isinstance(value, str):
        return rule
    parts = value.split()
    if len(parts) != 6:
        return f"{rule}; got {len(parts)} field(s)"
    for part, (field, low, high) in zip(parts, _CRON_FIELDS):
        for token in part.split(","):
            m = _CRON_TOKEN.fullmatch(token)
            if not m:
                return f"{rule}; the {field} field {part!r} is not valid"
            for group in ("a", "b"):
                text = m.group(group)
                if text is None:
                    continue
                number = _cron_number(text, field)
                if number is None or not low <= number <= high:
                    return f"{rule}; the {field} field must be within {low}-{high}, got {text!r}"
            if m.group("step") is not None and int(m.group("step")) == 0:
                return f"{rule}; a step of 0 in the {field} field never fires"
    return None


def check_rfc3339(value: object) -> str | None:
    rule = "must be an RFC 3339 date-time with a time zone, e.g. '2026-01-01T02:00:00Z'"
    if not isinstance(value, str):
        return rule
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return rule
    return None if parsed.tzinfo is not None and "T" in value else rule


def check_duration(value: object) -> str | None:
    """time_sleep durations: a number followed by s, m or h (Go's time.ParseDuration, simplified)."""
    ok = isinstance(value, str) and re.fullmatch(r"(\d+h)?(\d+m)?(\d+s)?", value) and value
    return None if ok else "must be a duration such as '30s', '2m' or '1m30s'"


def check_ip_range(value: object) -> str | None:
    rule = "must be a public IPv4 address or CIDR range such as '203.0.113.7' or '203.0.113.0/24'"
    if not isinstance(value, str):
        return rule
    m = re.fullmatch(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:/(\d{1,2}))?", value)
    if not m or any(int(g) > 255 for g in m.groups()[:4]) or (m.group(5) and not 0 <= int(m.group(5)) <= 30):
        # Storage network rules reject /31 and /32: a single address is written without a prefix.
        return rule + " (storage rejects /31 and /32 prefixes: write a single address without one)"
    return None
