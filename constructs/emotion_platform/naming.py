"""Azure's naming rules, regions and schedule syntaxes, as plain checks.

Each check returns ``None`` when the value is fine, or the rule it breaks as a short sentence, so the
config loader can name the field, the value and the rule in one message. Nothing here imports cdktf:
bad input is rejected before the (slow) provider bindings load.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from datetime import datetime
from typing import Callable

from emotion_events import limits

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
    "container": limits.check_container_name,  # the Function checks its setting with the same rule
    "state_key": _pattern(
        r"[A-Za-z0-9][A-Za-z0-9._/-]{0,1023}", "a state key is a blob name: letters, digits, '.', '_', '-', '/'"
    ),
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
_CRON_TOKEN = re.compile(r"(\*|(?P<a>[A-Za-z0-9]+)(?:-(?P<b>[A-Za-z0-9]+))?)(?:/(?P<step>[0-9]+))?")


def _cron_number(text: str, field: str) -> int | None:
    if text.isascii() and text.isdigit():
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


# Terraform's validation.IsRFC3339Time is Go's time.Parse(time.RFC3339): an upper-case T and Z, a
# two-digit offset with a colon, ASCII digits only (`\d` would also take full-width or Arabic-Indic ones).
_RFC3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?(?:Z|[+-][0-9]{2}:[0-9]{2})")


def check_rfc3339(value: object) -> str | None:
    rule = (
        "must be an RFC 3339 date-time with a time zone, such as '2026-01-01T02:00:00Z' (YYYY-MM-DDTHH:MM:SS, then Z or +HH:MM)"
    )
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        return rule
    try:  # the shape is right; the date and time must also exist (no month 13, no 25:00)
        datetime.fromisoformat(re.sub(r"\.[0-9]+", "", value).replace("Z", "+00:00"))
    except ValueError:
        return rule + ", on a date and time that exist"
    return None


def check_duration(value: object) -> str | None:
    """time_sleep durations: ASCII digits followed by h, m or s, in that order (a subset of Go's
    time.ParseDuration, which the time provider uses)."""
    ok = isinstance(value, str) and re.fullmatch(r"([0-9]+h)?([0-9]+m)?([0-9]+s)?", value) and value
    return None if ok else "must be a duration of ASCII digits and units such as '30s', '2m' or '1m30s'"


def check_ip_range(value: object) -> str | None:
    """Storage and Key Vault firewall rules take public IPv4 addresses and ranges only: storage rejects
    private (RFC 1918) ranges and /31 or /32 prefixes; other non-public ranges match no client."""
    rule = "must be a public IPv4 address or CIDR range such as '20.50.0.0/16' or '20.50.1.7'"
    if not isinstance(value, str):
        return rule
    m = re.fullmatch(r"([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})(?:/([0-9]{1,2}))?", value)
    if not m or any(int(g) > 255 for g in m.groups()[:4]) or (m.group(5) and not 0 <= int(m.group(5)) <= 32):
        return rule
    if m.group(5) and int(m.group(5)) > 30:
        return rule + " (storage rejects /31 and /32 prefixes: write a single address without one)"
    network = ipaddress.IPv4Network(value, strict=False)
    if not network.is_global:
        kind = next((name for name, test in _NON_PUBLIC if test(network)), "not publicly routable")
        return f"{rule}; {network} is {kind} (storage rejects private ranges; a firewall rule matches public client addresses)"
    return None


_NON_PUBLIC = (
    (
        "a private (RFC 1918) range",
        lambda n: any(n.subnet_of(p) for p in map(ipaddress.IPv4Network, ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))),
    ),
    ("loopback", lambda n: n.is_loopback),
    ("link-local", lambda n: n.is_link_local),
    ("shared address space (RFC 6598)", lambda n: n.subnet_of(ipaddress.IPv4Network("100.64.0.0/10"))),
    ("multicast", lambda n: n.is_multicast),
    (
        "a documentation range (RFC 5737)",
        lambda n: any(n.subnet_of(ipaddress.IPv4Network(p)) for p in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")),
    ),
)


def windows_time_zones() -> dict[str, str]:
    """Windows time zone id -> IANA name, from CLDR's windowsZones data as the tzlocal package ships it
    (the mapping Windows and ICU use). Data Factory schedule triggers take the Windows ids."""
    from tzlocal.windows_tz import win_tz

    return dict(win_tz)


def check_windows_time_zone(value: object) -> str | None:
    rule = "must be a Windows time zone id such as 'UTC' or 'W. Europe Standard Time' (CLDR windowsZones; Data Factory does not take IANA names)"
    zones = windows_time_zones()
    if isinstance(value, str) and value in zones:
        return None
    if isinstance(value, str):
        from tzlocal.windows_tz import tz_win

        if value in tz_win:
            return f"{rule}; the Windows id for IANA {value!r} is {tz_win[value]!r}"
        close = difflib.get_close_matches(value, sorted(zones), n=1)
        if close:
            return f"{rule} (did you mean {close[0]!r}?)"
    return rule


def check_tags(value: object) -> str | None:
    """Azure tags: non-empty keys up to 512 characters without <>%&\\?/, string values up to 256."""
    if not isinstance(value, dict):
        return "must be a table of tags"
    for k, v in value.items():
        if not k.strip():
            return f"tag key {k!r}: tag names may not be empty or blank"
        if len(k) > 512 or any(c in k for c in "<>%&\\?/"):
            return f"tag key {k!r}: tag names are up to 512 characters without <>%&\\?/"
        if not isinstance(v, str) or len(v) > 256:
            return f"tag {k!r} = {v!r}: tag values are string values of up to 256 characters"
    return None
