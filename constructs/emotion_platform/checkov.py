"""The checkov checks the constructs do not pass by design, shipped with the package
(``checkov-skips.json``) and scoped to the resources they concern.

An entry names a check, why, a construct class and a resource type: it covers only resources of that
type created directly by an instance of that class (the containers a lake adds, a generator's plan),
never an app's own resources, and never a whole stack. ``skips_for(app)`` turns the entries into the
``(check, stack, construct path)`` targets of this repository's gate format
(``security/checkov-skips.yaml``): ``{"skips": [{"id", "reason", "resources": {stack: [path, ...]}}]}``.
Checks an app fails for reasons of its own (network isolation, customer-managed keys) are the app's to
decide and list; they are not here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cdktf import App, TerraformResource, TerraformStack

SKIPS_FILE = Path(__file__).with_name("checkov-skips.json")


def shipped() -> list[dict[str, str]]:
    """The entries of ``checkov-skips.json``."""
    return list(json.loads(SKIPS_FILE.read_text(encoding="utf-8"))["skips"])


def _classes() -> dict[str, type]:
    from .generator_function import GeneratorFunction
    from .secrets_vault import SecretsVaultBase
    from .silver_storage import SilverStorageBase

    return {c.__name__: c for c in (SilverStorageBase, SecretsVaultBase, GeneratorFunction)}


def skips_for(app: App) -> dict[str, Any]:
    """The shipped skips, scoped to the resources the constructs of ``app`` created."""
    classes = _classes()
    merged: dict[str, dict[str, Any]] = {}
    for entry in shipped():
        cls = classes[entry["construct"]]
        for stack in (c for c in app.node.children if isinstance(c, TerraformStack)):
            for construct in stack.node.find_all():
                if not isinstance(construct, cls):
                    continue
                for child in construct.node.children:
                    if isinstance(child, TerraformResource) and child.terraform_resource_type == entry["resource_type"]:
                        path = "/".join(s.node.id for s in child.node.scopes[child.node.scopes.index(stack) + 1:])
                        item = merged.setdefault(entry["id"], {"id": entry["id"], "reason": entry["reason"], "resources": {}})
                        if entry["reason"] not in item["reason"]:  # one entry per check: both reasons
                            item["reason"] += " " + entry["reason"]
                        item["resources"].setdefault(stack.node.id, []).append(path)
    return {"skips": list(merged.values())}
