"""Who may be granted what: principals, the allow-list of data-plane roles, and the one helper that
writes a role assignment.

Every role these constructs grant is a data-plane role scoped as narrowly as Azure allows (a
container, a secret, the Function's own storage account). ``ALLOWED_ROLES`` is an allow-list, compared
case-insensitively (ARM matches role names without case, so a deny-list of ``"Owner"`` would let
``"owner"`` through); a management-plane role such as Owner or Key Vault Administrator is refused.

A grantee is anything that *has a principal*: a :class:`Principal` (``Principal.user/group/
service_principal(object_id)``), an object with a ``principal`` attribute (``GeneratorFunction``, a
``SilverPipeline``), a ``UserAssignedIdentity``, or a resource with a system-assigned identity (a
``DataFactory``). The principal carries its type, so ARM neither guesses (an Entra user granted as a
service principal fails at apply time) nor waits for Entra ID replication of a just-created identity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from . import validation

if TYPE_CHECKING:
    from cdktf_cdktf_provider_azurerm.role_assignment import RoleAssignment
    from constructs import Construct

KEY_VAULT_SECRETS_USER = "Key Vault Secrets User"
KEY_VAULT_SECRETS_OFFICER = "Key Vault Secrets Officer"
BLOB_DATA_READER = "Storage Blob Data Reader"
BLOB_DATA_CONTRIBUTOR = "Storage Blob Data Contributor"
BLOB_DATA_OWNER = "Storage Blob Data Owner"
MONITORING_METRICS_PUBLISHER = "Monitoring Metrics Publisher"

STORAGE_ROLES = (BLOB_DATA_READER, BLOB_DATA_CONTRIBUTOR, BLOB_DATA_OWNER)
KEY_VAULT_ROLES = (KEY_VAULT_SECRETS_USER, KEY_VAULT_SECRETS_OFFICER)
# Lower-cased name -> Azure's spelling. Data-plane roles only: none of them can assign roles or change
# the resource itself.
ALLOWED_ROLES: dict[str, str] = {r.lower(): r for r in (*STORAGE_ROLES, *KEY_VAULT_ROLES, MONITORING_METRICS_PUBLISHER)}

PrincipalType = Literal["User", "Group", "ServicePrincipal"]


def canonical_role(role: object, *, allowed: tuple[str, ...] | None = None, where: str = "role") -> str:
    """Azure's spelling of ``role`` if it is on the allow-list (and in ``allowed``, when given)."""
    choices = allowed or tuple(ALLOWED_ROLES.values())
    name = ALLOWED_ROLES.get(role.strip().lower()) if isinstance(role, str) else None
    if name is None or name not in choices:
        raise validation.ValidationError(
            where,
            role,
            "must be one of the data-plane roles "
            + ", ".join(repr(c) for c in choices)
            + " (compared without case; management roles such as Owner are never granted)",
        )
    return name


@dataclass(frozen=True)
class Principal:
    """An Entra ID principal to grant roles to: its object id, its type and a stable key.

    ``key`` becomes part of the construct id of every grant to it (grants to different principals never
    collide, and the Terraform address does not change between synths). It is the object id itself when
    that is a literal UUID; when the id is a token (``data.azurerm_client_config.object_id``, an
    identity's ``principal_id``), give ``name=`` or let the identity-bearing construct supply its path.
    ``principal_type`` None means "let ARM find out" (the deployer, who may be a user or a service
    principal); ARM then needs the principal replicated already, which an existing one is.
    """

    object_id: str
    principal_type: PrincipalType | None
    key: str

    @classmethod
    def user(cls, object_id: str, *, name: str | None = None) -> "Principal":
        """An Entra ID user (``principal_type = "User"``)."""
        return cls._make(object_id, "User", name, "Principal.user")

    @classmethod
    def group(cls, object_id: str, *, name: str | None = None) -> "Principal":
        """An Entra ID security group (``principal_type = "Group"``)."""
        return cls._make(object_id, "Group", name, "Principal.group")

    @classmethod
    def service_principal(cls, object_id: str, *, name: str | None = None) -> "Principal":
        """A service principal or managed identity (``principal_type = "ServicePrincipal"``)."""
        return cls._make(object_id, "ServicePrincipal", name, "Principal.service_principal")

    @classmethod
    def of_unknown_type(cls, object_id: str, *, name: str) -> "Principal":
        """A principal whose type is known only at apply time (the identity running Terraform)."""
        return cls._make(object_id, None, name, "Principal.of_unknown_type")

    @classmethod
    def _make(cls, object_id: str, kind: PrincipalType | None, name: str | None, where: str) -> "Principal":
        validation.check(where, "object_id", object_id, validation.check_principal_id)
        if name is not None:
            validation.check(where, "name", name, validation.check_key)
            return cls(object_id, kind, name)
        if validation.is_token(object_id):
            raise validation.ValidationError(
                f"{where}.name",
                None,
                "is required when object_id is a token: grants derive their construct ids from it, and a token's "
                "text changes between synths",
            )
        return cls(object_id, kind, object_id.lower())

    @property
    def principal(self) -> "Principal":
        """A principal is its own grantee."""
        return self


def construct_key(construct: "Construct") -> str:
    """The construct's path below its stack, as one construct-id fragment (stable across synths)."""
    from cdktf import TerraformStack

    # from the two paths, not from every scope's id: each id is a jsii round trip (issue 14)
    node = construct.node
    path, stack_path = node.path, TerraformStack.of(construct).node.path
    below = path[len(stack_path) + 1 :] if stack_path and path.startswith(stack_path + "/") else path
    return "-".join(p for p in below.split("/") if p) or node.id


def principal_of(grantee: object, *, where: str = "grantee") -> Principal:
    """The principal a grantee stands for (see the module docstring for what counts as one)."""
    if isinstance(grantee, Principal):
        return grantee
    principal = getattr(grantee, "principal", None)
    if isinstance(principal, Principal):
        return principal
    from cdktf import TerraformResource
    from cdktf_cdktf_provider_azurerm.user_assigned_identity import UserAssignedIdentity

    if isinstance(grantee, UserAssignedIdentity):
        return Principal(grantee.principal_id, "ServicePrincipal", construct_key(grantee))
    identity = getattr(grantee, "identity", None) if isinstance(grantee, TerraformResource) else None
    if identity is not None and hasattr(identity, "principal_id"):  # a system-assigned identity (DataFactory, ...)
        return Principal(identity.principal_id, "ServicePrincipal", construct_key(grantee))
    raise validation.ValidationError(
        where,
        grantee,
        "must have a principal: Principal.user/group/service_principal(object_id), a UserAssignedIdentity, a "
        "GeneratorFunction, a SilverPipeline or a resource with a system-assigned identity such as DataFactory "
        "(a bare id string carries no principal type)",
    )


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


def grant(
    scope: "Construct",
    *,
    grantee: object,
    role: str,
    on: str,
    target: str,
    id: str | None = None,
    description: str | None = None,
) -> "RoleAssignment":
    """The role assignment ``role`` on ``on`` for ``grantee``, created in ``scope``.

    Its construct id is ``<grantee key>--<role>--<target>`` (``id`` overrides it for the constructs' own
    fixed grants): two grants differing in role, scope or grantee never collide, and asking for the same
    grant twice returns the first assignment instead of failing."""
    from cdktf_cdktf_provider_azurerm.role_assignment import RoleAssignment

    name = canonical_role(role)
    principal = principal_of(grantee)
    cid = id or f"{principal.key}--{_slug(name)}--{target}"
    existing = scope.node.try_find_child(cid)
    if isinstance(existing, RoleAssignment):
        return existing
    return RoleAssignment(
        scope,
        cid,
        principal_id=principal.object_id,
        role_definition_name=name,
        scope=on,
        principal_type=principal.principal_type,
        description=description,
    )
