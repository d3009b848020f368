"""``moved`` blocks for the Terraform addresses that changed in 0.3.0, so the next apply of an existing
Phase 2 stack renames state entries instead of destroying and re-creating role assignments (a destroy
would leave the factory and the Function without access until the new assignments propagate).

Until 0.2.0 grants took a caller-chosen construct id (``factory-reads-bronze``), so two callers could
collide; since 0.3.0 the id is derived from grantee, role and target (:func:`emotion_platform.roles.grant`),
and the factory's grants are made by ``SilverPipeline``. ``MOVED`` maps each 0.2.0 logical id (from its
snapshots) to the construct path, below the stack, of the same assignment now. A path absent from a stack
(identity mode has no connection-string grant) adds nothing.

checkov (3.3.30) does not parse ``moved`` blocks in Terraform JSON; they are top-level and carry no
resource, so the security scan sees the same resources with or without them.
"""

from __future__ import annotations

from cdktf import TerraformResource, TerraformStack
from constructs import IConstruct

_RA = "azurerm_role_assignment"

MOVED: dict[str, str] = {
    "foundation_storage_deployer-reads-bronze_EC081158": "foundation/storage/deployer--storage-blob-data-reader--bronze",
    "foundation_storage_factory-reads-bronze_62B2332B": "foundation/storage/data-factory--storage-blob-data-reader--bronze",
    "foundation_storage_factory-writes-silver_FB4BD745": "foundation/storage/data-factory--storage-blob-data-contributor--silver",
    "foundation_storage_factory-writes-quarantine_A33C162E":
        "foundation/storage/data-factory--storage-blob-data-contributor--quarantine",
    "foundation_storage_bronze-writer_88AFB7EC": "foundation/storage/generator-identity--storage-blob-data-contributor--bronze",
    "foundation_vault_app-reads-bronze-connection_782E1289":
        "foundation/vault/generator-app--key-vault-secrets-user--bronze-storage-connection-string",
    "foundation_vault_factory-reads-generator-key_4347BF03":
        "foundation/vault/data-factory--key-vault-secrets-user--generator-function-key",
}


def _find(stack: TerraformStack, path: str, found: dict[str, IConstruct | None]) -> IConstruct | None:
    """The construct at ``path`` below ``stack``; ``found`` remembers the prefixes already looked up (each
    look-up is a jsii round trip, and the paths share their first parts: issue 14)."""
    if path not in found:
        parent, _, part = path.rpartition("/")
        scope = _find(stack, parent, found) if parent else stack
        found[path] = scope.node.try_find_child(part) if scope is not None else None
    return found[path]


def add_moved_blocks(stack: TerraformStack) -> None:
    """``moved { from = <0.2.0 address>, to = <address now> }`` for every moved assignment the stack has."""
    found: dict[str, IConstruct | None] = {}
    for old, path in MOVED.items():
        resource = _find(stack, path, found)
        if isinstance(resource, TerraformResource):
            resource.move_from_id(f"{_RA}.{old}")
