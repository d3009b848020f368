"""Each stack's synthesized JSON against its committed snapshot (volatile fields normalized).

Update after an intended change, then review the diff like code:

    UPDATE_SNAPSHOTS=1 ./dev.sh test tests/infra/test_snapshots.py
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from .tf import DEV, PROD

SNAPSHOTS = Path(__file__).with_name("__snapshots__")
ASSET_HASH = re.compile(r"\b[0-9A-F]{32}\b")


def normalize(doc: dict) -> dict:
    """Drop what changes without the infrastructure changing: asset hashes (code content), the cdktf
    version in metadata and provider versions (pinned in requirements.txt and tested elsewhere)."""
    doc = json.loads(json.dumps(doc))
    doc["//"]["metadata"]["version"] = "<cdktf-version>"
    for provider in doc["terraform"]["required_providers"].values():
        provider["version"] = "<provider-version>"
    text = ASSET_HASH.sub("<asset-hash>", json.dumps(doc, indent=2, sort_keys=True))
    return json.loads(text)


@pytest.mark.parametrize("stack", [DEV, PROD])
def test_stack_matches_snapshot(synthesized: dict[str, dict], stack: str) -> None:
    actual = normalize(synthesized[stack])
    path = SNAPSHOTS / f"{stack}.json"
    rendered = json.dumps(actual, indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" or not path.exists():
        if not path.exists() and os.environ.get("CI"):
            pytest.fail(f"{path} is missing; create it with UPDATE_SNAPSHOTS=1 and commit it")
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(rendered, encoding="utf-8")
    expected = json.loads(path.read_text(encoding="utf-8"))
    assert actual == expected, f"{stack} differs from {path.name}; if intended: UPDATE_SNAPSHOTS=1 ./dev.sh test tests/infra"


def test_normalization_only_touches_volatile_fields(synthesized: dict[str, dict]) -> None:
    doc = synthesized[DEV]
    normalized = normalize(doc)
    assert normalized["resource"]["azurerm_key_vault"] == doc["resource"]["azurerm_key_vault"]
    assert "<asset-hash>" in json.dumps(normalized["resource"]["terraform_data"])
    assert normalized["terraform"]["backend"] == doc["terraform"]["backend"]


def test_snapshots_hold_no_secret_values() -> None:
    """Snapshots contain references to secrets (${...primary_connection_string}), never a literal key."""
    for path in SNAPSHOTS.glob("*.json"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"AccountKey=[A-Za-z0-9+/]{20,}", text), path
        assert not re.search(r"InstrumentationKey=[0-9a-f-]{36}", text), path
