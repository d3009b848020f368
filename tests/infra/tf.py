"""Small helpers to query a synthesized ``cdk.tf.json``."""

from __future__ import annotations

import re
from typing import Any

DEV, PROD = "phase2-dev", "phase2-prod"  # dev: standalone foundation; prod: existing (Phase 1)


def resources(doc: dict, type_: str) -> dict[str, dict]:
    return doc.get("resource", {}).get(type_, {})


def data(doc: dict, type_: str) -> dict[str, dict]:
    return doc.get("data", {}).get(type_, {})


def path_of(block: dict) -> str:
    return block["//"]["metadata"]["path"]


def one(doc: dict, type_: str, path_suffix: str, *, kind: str = "resource") -> tuple[str, dict]:
    """The single block of ``type_`` whose construct path ends with ``path_suffix``: (logical id, block)."""
    blocks = (resources if kind == "resource" else data)(doc, type_)
    found = [(k, v) for k, v in blocks.items() if path_of(v).endswith(path_suffix)]
    assert len(found) == 1, f"expected one {type_} at */{path_suffix}, found {[path_of(v) for _, v in found]} among {[path_of(v) for v in blocks.values()]}"
    return found[0]


def ref(type_: str, logical_id: str, attribute: str, *, kind: str = "resource") -> str:
    prefix = "data." if kind == "data" else ""
    return "${" + f"{prefix}{type_}.{logical_id}.{attribute}" + "}"


def depends_on(block: dict) -> list[str]:
    return block.get("depends_on", [])


def role_assignments(doc: dict) -> list[tuple[str, str, str]]:
    """(principal, role, scope) of every role assignment, as written in the JSON."""
    return sorted((b["principal_id"], b["role_definition_name"], b["scope"]) for b in resources(doc, "azurerm_role_assignment").values())


def walk_strings(node: Any):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from walk_strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk_strings(v)


TOKEN = re.compile(r"\$\{([^}]*)\}")


def lake_account_id(doc: dict) -> str:
    """How a stack names the data lake's id: a reference to the account it creates, or, for Phase 1's
    account, the id built from names (no data source, so no key is read into state)."""
    owned = [k for k, v in resources(doc, "azurerm_storage_account").items() if path_of(v).endswith("foundation/storage/account")]
    if owned:
        return ref("azurerm_storage_account", owned[0], "id")
    (lookup,) = data(doc, "azurerm_storage_container").values()
    return lookup["storage_account_id"]


def lake_container_scope(doc: dict, layer: str) -> str:
    """The role-assignment scope of a lake container: a reference to the container created here, or,
    for Phase 1's bronze, the id of the management-plane lookup."""
    owned = [k for k, v in resources(doc, "azurerm_storage_container").items() if path_of(v).endswith(f"foundation/storage/{layer}")]
    if owned:
        return lake_account_id(doc) + "/blobServices/default/containers/" + ref("azurerm_storage_container", owned[0], "name")
    lid, _ = one(doc, "azurerm_storage_container", "foundation/storage/bronze-lookup", kind="data")
    return ref("azurerm_storage_container", lid, "id", kind="data")


PHASE1_WORKSPACE_ID = ("/subscriptions/${data.azurerm_client_config.client.subscription_id}/resourceGroups/rg-emotion-prod"
                       "/providers/Microsoft.OperationalInsights/workspaces/log-emotion-prod")


def workspace_id(doc: dict) -> str:
    """How a stack names its Log Analytics workspace: the created one, or Phase 1's id built from names
    (data.azurerm_log_analytics_workspace would read its shared keys into state)."""
    owned = resources(doc, "azurerm_log_analytics_workspace")
    if owned:
        (wid,) = owned
        return ref("azurerm_log_analytics_workspace", wid, "id")
    return PHASE1_WORKSPACE_ID
