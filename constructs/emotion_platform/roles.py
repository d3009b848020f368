"""Built-in Azure role names the constructs grant, and the one helper that grants them.

Every workload role is a data-plane role scoped as narrowly as Azure allows (a container, a secret, the
Function's own storage account). No workload is ever given Owner, Contributor or User Access
Administrator; ``grant`` refuses them.
"""

from __future__ import annotations

from constructs import Construct

KEY_VAULT_SECRETS_USER = "Key Vault Secrets User"
KEY_VAULT_SECRETS_OFFICER = "Key Vault Secrets Officer"
BLOB_DATA_READER = "Storage Blob Data Reader"
BLOB_DATA_CONTRIBUTOR = "Storage Blob Data Contributor"
BLOB_DATA_OWNER = "Storage Blob Data Owner"
MONITORING_METRICS_PUBLISHER = "Monitoring Metrics Publisher"

FORBIDDEN_FOR_WORKLOADS = frozenset({"Owner", "Contributor", "User Access Administrator"})


def container_scope(account_id: str, container: str) -> str:
    """ARM scope of one blob container (works for created and for Phase 1 containers alike)."""
    return f"{account_id}/blobServices/default/containers/{container}"


def grant(
    scope: Construct,
    id: str,
    *,
    principal_id: str,
    role: str,
    on: str,
    managed_identity: bool = True,
    description: str | None = None,
):
    """A role assignment. ``principal_type`` is set for managed identities so ARM does not wait for
    Entra ID replication of a just-created identity (the usual cause of PrincipalNotFound)."""
    from cdktf_cdktf_provider_azurerm.role_assignment import RoleAssignment

    if role in FORBIDDEN_FOR_WORKLOADS:
        raise ValueError(f"role {role!r} is never granted by these constructs (least privilege)")
    return RoleAssignment(
        scope,
        id,
        principal_id=principal_id,
        role_definition_name=role,
        scope=on,
        principal_type="ServicePrincipal" if managed_identity else None,
        description=description,
    )
