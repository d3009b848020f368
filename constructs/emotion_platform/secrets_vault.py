"""Key Vault in RBAC mode: ``SecretsVault`` (created here) and ``ExistingSecretsVault`` (referenced by
name, creating nothing), with secrets as objects and grants to principals.

Writing a secret right after granting the deployer a data-plane role fails with 403 while the
assignment propagates, so the first ``add_secret`` of a vault creates a ``time_sleep`` that waits
``rbac_propagation_wait`` (after the deployer's Key Vault Secrets Officer assignment, when a
``deployer`` was given) and every secret depends on it. The deployer role is opt-in: against a vault
where the deployer already holds it, a second assignment fails with RoleAssignmentExists.

These constructs use the ``hashicorp/time`` provider (``time_sleep``, ``time_rotating``); a stack that
declares none gets one (construct id ``time``) with the first secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping, Sequence

from cdktf import ITerraformDependable, TerraformStack
from cdktf_cdktf_provider_azurerm.data_azurerm_key_vault import DataAzurermKeyVault
from cdktf_cdktf_provider_azurerm.key_vault import KeyVault, KeyVaultNetworkAcls
from cdktf_cdktf_provider_azurerm.key_vault_secret import KeyVaultSecret
from cdktf_cdktf_provider_time.provider import TimeProvider
from cdktf_cdktf_provider_time.rotating import Rotating
from cdktf_cdktf_provider_time.sleep import Sleep
from constructs import Construct

from . import roles, validation
from .diagnostics import to_log_analytics

if TYPE_CHECKING:
    from cdktf_cdktf_provider_azurerm.monitor_diagnostic_setting import MonitorDiagnosticSetting
    from cdktf_cdktf_provider_azurerm.role_assignment import RoleAssignment


@dataclass(frozen=True, eq=False)
class VaultSecret:
    """One secret of a vault, as grants and Key Vault references take it.

    ``scope`` is its ARM id (the RBAC scope of Key Vault Secrets User on this secret only);
    ``versionless_id`` its URI without version (references pick up rotations); ``resource`` the
    ``KeyVaultSecret`` when this app writes it, None for a referenced one."""

    vault: "SecretsVaultBase"
    name: str
    versionless_id: str
    scope: str
    resource: KeyVaultSecret | None

    @property
    def reference(self) -> str:
        """``@Microsoft.KeyVault(SecretUri=...)``: the app-setting form of the secret."""
        return f"@Microsoft.KeyVault(SecretUri={self.versionless_id})"


class SecretsVaultBase(Construct):
    """What an owned and a referenced vault share: attributes, secrets, grants.

    Escape hatches: ``key_vault`` (resource or data source); ``deployer_role``, ``rbac_wait``,
    ``expiry`` (None until the first secret is added; ``deployer_role`` also without a deployer);
    ``secrets`` (name -> :class:`VaultSecret`).
    """

    _KIND = "SecretsVault"
    key_vault: KeyVault | DataAzurermKeyVault

    def __init__(self, scope: Construct, id: str, *, deployer: object | None, rbac_propagation_wait: str,
                 secret_expiry_days: int) -> None:
        validation.check(self._KIND, "rbac_propagation_wait", rbac_propagation_wait, validation.rule("rbac_propagation_wait"))
        validation.check(self._KIND, "secret_expiry_days", secret_expiry_days, validation.rule("secret_expiry_days"))
        self._deployer = roles.principal_of(deployer, where=f"{self._KIND}.deployer") if deployer is not None else None
        super().__init__(scope, id)
        self._wait, self._expiry_days = rbac_propagation_wait, secret_expiry_days
        self.secrets: dict[str, VaultSecret] = {}
        self.deployer_role: RoleAssignment | None = None
        self.rbac_wait: Sleep | None = None
        self.expiry: Rotating | None = None

    # --- attributes ---------------------------------------------------------------------------

    @property
    def vault_id(self) -> str:
        return self.key_vault.id

    @property
    def vault_name(self) -> str:
        return self.key_vault.name

    @property
    def vault_uri(self) -> str:
        """``https://<name>.vault.azure.net/``."""
        return self.key_vault.vault_uri

    # --- secrets ------------------------------------------------------------------------------

    def secret(self, name: str) -> VaultSecret:
        """A secret that exists already (or was added here), by name, creating nothing."""
        validation.check(self._KIND + ".secret", "name", name, validation.check_secret_name)
        found = self.secrets.get(name)
        if found is None:
            found = VaultSecret(self, name, f"{self.vault_uri}secrets/{name}", f"{self.vault_id}/secrets/{name}", None)
            self.secrets[name] = found
        return found

    def add_secret(self, id: str, *, name: str, value: str, content_type: str,
                   expiration_date: str | None = None) -> VaultSecret:
        """Write a secret, only after the deployer's role has propagated. ``expiration_date`` (RFC 3339)
        defaults to the vault's rotating expiry (``secret_expiry_days``); pass the value's own expiry when
        it has one (a SAS). ``content_type`` says what the value is (required: checkov CKV_AZURE_114)."""
        where = self._KIND + ".add_secret"
        validation.check(where, "name", name, validation.check_secret_name)
        validation.check(where, "content_type", content_type, validation.check_non_empty)
        if expiration_date is not None:
            validation.check(where, "expiration_date", expiration_date, validation.rule("start_time"))
        if name in self.secrets:
            raise validation.ValidationError(f"{where}.name", name, "this vault already has that secret (add it once)")
        wait, expiry = self._ensure_writer()
        resource = KeyVaultSecret(
            self,
            id,
            key_vault_id=self.key_vault.id,
            name=name,
            value=value,
            content_type=content_type,
            expiration_date=expiration_date or expiry.rotation_rfc3339,
            depends_on=[wait],
        )
        added = VaultSecret(self, name, resource.versionless_id, resource.resource_versionless_id, resource)
        self.secrets[name] = added
        return added

    def _ensure_writer(self) -> tuple[Sleep, Rotating]:
        """The deployer's role, the propagation wait and the expiry clock, made once, on first write."""
        if self.rbac_wait is not None and self.expiry is not None:
            return self.rbac_wait, self.expiry
        _ensure_time_provider(self)
        after: list[ITerraformDependable] = [self.key_vault]
        triggers: dict[str, str] = {}
        if self._deployer is not None:
            self.deployer_role = roles.grant(
                self,
                grantee=self._deployer,
                role=roles.KEY_VAULT_SECRETS_OFFICER,
                on=self.key_vault.id,
                target="vault",
                id="deployer-secrets-officer",
                description="The identity running Terraform writes the Phase 2 secrets.",
            )
            after = [self.deployer_role]
            # time_sleep waits only when created: the triggers replace it (so it waits again) whenever the
            # deployer's role assignment is replaced, e.g. when another identity runs Terraform.
            triggers = {"deployer": self._deployer.object_id, "deployer_role": self.deployer_role.id}
        else:
            triggers = {"vault": self.key_vault.id}
        self.rbac_wait = Sleep(self, "rbac-propagation", create_duration=self._wait, triggers=triggers, depends_on=after)
        self.expiry = Rotating(self, "secret-expiry", rotation_days=self._expiry_days)
        return self.rbac_wait, self.expiry

    @staticmethod
    def reference(secret: VaultSecret) -> str:
        """``@Microsoft.KeyVault(SecretUri=...)`` of the versionless secret, so rotations are picked up."""
        return secret.reference

    # --- grants -------------------------------------------------------------------------------

    def _own(self, secret: object, where: str) -> VaultSecret:
        if isinstance(secret, VaultSecret) and secret.vault is self:
            return secret
        if isinstance(secret, KeyVaultSecret):
            for known in self.secrets.values():
                if known.resource is secret:
                    return known
        raise validation.ValidationError(f"{self._KIND}.{where}.secret", secret,
                                         "must be a secret of this vault: vault.secret('<name>') or vault.add_secret(...)")

    def grant(self, grantee: object, role: str, *, secret: VaultSecret | KeyVaultSecret,
              description: str | None = None) -> "RoleAssignment":
        """``role`` (a Key Vault Secrets role, any case) on one secret for ``grantee`` (anything with a
        principal). Returns the role assignment; the same grant twice returns the first one."""
        role = roles.canonical_role(role, allowed=roles.KEY_VAULT_ROLES, where=f"{self._KIND}.grant.role")
        target = self._own(secret, "grant")
        return roles.grant(self, grantee=grantee, role=role, on=target.scope, target=target.name, description=description)

    def grant_read(self, grantee: object, *, secret: VaultSecret | KeyVaultSecret,
                   description: str | None = None) -> "RoleAssignment":
        """Key Vault Secrets User on one secret (not the whole vault)."""
        return self.grant(grantee, roles.KEY_VAULT_SECRETS_USER, secret=secret, description=description)


def _ensure_time_provider(construct: Construct) -> None:
    stack = TerraformStack.of(construct)
    if not any(isinstance(child, TimeProvider) for child in stack.node.children):
        TimeProvider(stack, "time")


class SecretsVault(SecretsVaultBase):
    """A Key Vault created with ``rbac_authorization_enabled`` (no access policies), standard SKU.

    :param name: 3-24 letters, digits, hyphens, globally unique. Required.
    :param resource_group_name: required. :param location: required, e.g. ``westeurope``.
    :param tenant_id: the Entra ID tenant (``data.azurerm_client_config.tenant_id``). Required.
    :param deployer: who runs Terraform and writes the secrets (anything with a principal, e.g.
        ``Principal.of_unknown_type(client.object_id, name="deployer")``); granted Key Vault Secrets Officer
        with the first secret. Default None: no role (the deployer must hold one already).
    :param purge_protection: default True. :param soft_delete_retention_days: 7-90, default 90.
    :param allowed_ip_ranges: deny-by-default firewall with these public ranges. Default () (open).
    :param rbac_propagation_wait: how long the first secret waits after the role. Default ``"60s"``.
    :param secret_expiry_days: default expiry of secrets, renewed by the first apply after. Default 365.
    :param log_analytics_workspace_id: audit logs go there. Default None.
    :param tags: default none.

    ``SecretsVault.from_existing(...)`` references an existing vault instead and creates nothing.
    Escape hatches: ``diagnostics`` (None without a workspace), and the base's.
    """

    key_vault: KeyVault
    diagnostics: "MonitorDiagnosticSetting | None"
    # prop -> rule, from emotion_platform.validation (the config file checks the same fields with the same)
    RULES: Mapping[str, validation.Rule] = {
        "name": validation.rule("key_vault_name"),
        "resource_group_name": validation.rule("resource_group_name"),
        "location": validation.rule("location"),
        "tenant_id": validation.check_uuid,
        "soft_delete_retention_days": validation.rule("soft_delete_retention_days"),
        "allowed_ip_ranges": validation.rule("allowed_ip_ranges"),
        "rbac_propagation_wait": validation.rule("rbac_propagation_wait"),
        "secret_expiry_days": validation.rule("secret_expiry_days"),
        "tags": validation.rule("tags"),
    }

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        resource_group_name: str,
        location: str,
        tenant_id: str,
        deployer: object | None = None,
        purge_protection: bool = True,
        soft_delete_retention_days: int = 90,
        allowed_ip_ranges: Sequence[str] = (),
        rbac_propagation_wait: str = "60s",
        secret_expiry_days: int = 365,
        log_analytics_workspace_id: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        validation.check_all(
            "SecretsVault",
            {"name": name, "resource_group_name": resource_group_name, "location": location, "tenant_id": tenant_id,
             "soft_delete_retention_days": soft_delete_retention_days, "allowed_ip_ranges": allowed_ip_ranges,
             "tags": dict(tags or {})},
            self.RULES,
        )
        super().__init__(scope, id, deployer=deployer, rbac_propagation_wait=rbac_propagation_wait,
                         secret_expiry_days=secret_expiry_days)
        self.key_vault = KeyVault(
            self,
            "vault",
            name=name,
            resource_group_name=resource_group_name,
            location=location,
            tenant_id=tenant_id,
            sku_name="standard",
            rbac_authorization_enabled=True,
            purge_protection_enabled=purge_protection,
            soft_delete_retention_days=soft_delete_retention_days,
            public_network_access_enabled=True,
            # Deny would also lock out the Terraform runner unless its address is listed (provider #20742).
            network_acls=KeyVaultNetworkAcls(
                default_action="Deny" if allowed_ip_ranges else "Allow",
                bypass="AzureServices",
                ip_rules=list(allowed_ip_ranges) or None,
            ),
            tags=dict(tags or {}),
        )
        self.diagnostics = None
        if log_analytics_workspace_id is not None:
            self.diagnostics = to_log_analytics(
                self,
                "diagnostics",
                target_resource_id=self.key_vault.id,
                workspace_id=log_analytics_workspace_id,
                log_category_group="audit",
            )

    @staticmethod
    def from_existing(
        scope: Construct,
        id: str,
        *,
        name: str,
        resource_group_name: str,
        deployer: object | None = None,
        rbac_propagation_wait: str = "60s",
        secret_expiry_days: int = 365,
    ) -> "ExistingSecretsVault":
        """An existing vault by name, creating nothing (see :class:`ExistingSecretsVault`)."""
        return ExistingSecretsVault(scope, id, name=name, resource_group_name=resource_group_name, deployer=deployer,
                                    rbac_propagation_wait=rbac_propagation_wait, secret_expiry_days=secret_expiry_days)


class ExistingSecretsVault(SecretsVaultBase):
    """A vault another deployment owns, by name (``data.azurerm_key_vault``: no keys, no secrets read).
    It must be in RBAC mode. Nothing is created until a secret is added; then the wait and the expiry
    clock, and the deployer's role only when ``deployer`` is given.

    :param name: the vault's name. Required. :param resource_group_name: required.
    :param deployer: opt-in Secrets Officer for the identity writing secrets. Default None.
    :param rbac_propagation_wait: default ``"60s"``. :param secret_expiry_days: default 365.
    """

    _KIND = "ExistingSecretsVault"
    key_vault: DataAzurermKeyVault

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        resource_group_name: str,
        deployer: object | None = None,
        rbac_propagation_wait: str = "60s",
        secret_expiry_days: int = 365,
    ) -> None:
        validation.check("ExistingSecretsVault", "name", name, validation.rule("key_vault_name"))
        validation.check("ExistingSecretsVault", "resource_group_name", resource_group_name, validation.rule("resource_group_name"))
        super().__init__(scope, id, deployer=deployer, rbac_propagation_wait=rbac_propagation_wait,
                         secret_expiry_days=secret_expiry_days)
        self.key_vault = DataAzurermKeyVault(self, "vault", name=name, resource_group_name=resource_group_name)
        self.diagnostics = None
