"""``SecretsVault``: a Key Vault in RBAC mode that is safe to write secrets into on the first apply."""

from __future__ import annotations

from typing import Mapping, Sequence

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_azurerm.data_azurerm_key_vault import DataAzurermKeyVault
from cdktf_cdktf_provider_azurerm.key_vault import KeyVault, KeyVaultNetworkAcls
from cdktf_cdktf_provider_azurerm.key_vault_secret import KeyVaultSecret
from cdktf_cdktf_provider_time.rotating import Rotating
from cdktf_cdktf_provider_time.sleep import Sleep
from constructs import Construct

from . import roles
from .diagnostics import to_log_analytics


class SecretsVault(Construct):
    """Key Vault with ``rbac_authorization_enabled`` (no access policies).

    Writing a secret right after granting the deployer a data-plane role fails with 403 while the
    assignment propagates, so: with the first ``add_secret`` the deployer (``deployer_object_id``, from
    ``data.azurerm_client_config``) gets Key Vault Secrets Officer, a ``time_sleep`` waits
    ``rbac_propagation_wait`` (again whenever that role assignment or the deployer changes: its
    ``triggers``), and every secret depends on that wait. A vault nothing is written to grants the
    deployer nothing. Secrets carry a content type and an expiry date from a ``time_rotating`` (renewed
    by the first apply after it lapses) unless the caller gives the value's own expiry. ``grant_read``
    gives Key Vault Secrets User on one secret; ``reference`` is the app-setting form of a secret.

    Escape hatches: ``key_vault`` (resource or data source); ``deployer_role``, ``rbac_wait``, ``expiry``
    (None until the first secret is added; ``deployer_role`` also when ``assign_deployer_role=False``).
    """

    key_vault: KeyVault | DataAzurermKeyVault

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        resource_group_name: str,
        location: str,
        tenant_id: str,
        deployer_object_id: str,
        purge_protection: bool = True,
        soft_delete_retention_days: int = 90,
        allowed_ip_ranges: Sequence[str] = (),
        rbac_propagation_wait: str = "60s",
        secret_expiry_days: int = 365,
        assign_deployer_role: bool = True,
        log_analytics_workspace_id: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(scope, id)
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
        self._finish(deployer_object_id, assign_deployer_role, rbac_propagation_wait, secret_expiry_days)

    @classmethod
    def from_existing(
        cls,
        scope: Construct,
        id: str,
        *,
        name: str,
        resource_group_name: str,
        deployer_object_id: str,
        rbac_propagation_wait: str = "60s",
        secret_expiry_days: int = 365,
        assign_deployer_role: bool = True,
    ) -> "SecretsVault":
        """Phase 1's vault, by name. It must be in RBAC mode. Set ``assign_deployer_role=False`` when Phase 1
        already made the deployer Secrets Officer (a duplicate assignment fails with RoleAssignmentExists)."""
        self = cls.__new__(cls)
        Construct.__init__(self, scope, id)
        self.key_vault = DataAzurermKeyVault(self, "vault", name=name, resource_group_name=resource_group_name)
        self.diagnostics = None
        self._finish(deployer_object_id, assign_deployer_role, rbac_propagation_wait, secret_expiry_days)
        return self

    def _finish(self, deployer_object_id: str, assign: bool, wait: str, expiry_days: int) -> None:
        self._writer = (deployer_object_id, assign, wait, expiry_days)
        self.deployer_role = None
        self.rbac_wait = None
        self.expiry = None

    def _ensure_writer(self) -> None:
        """The deployer's role, the propagation wait and the expiry clock, made once, on first write."""
        if self.rbac_wait is not None:
            return
        deployer_object_id, assign, wait, expiry_days = self._writer
        after: list[ITerraformDependable] = [self.key_vault]
        if assign:
            self.deployer_role = roles.grant(
                self,
                "deployer-secrets-officer",
                principal_id=deployer_object_id,
                role=roles.KEY_VAULT_SECRETS_OFFICER,
                on=self.key_vault.id,
                managed_identity=False,  # a user on a laptop, a service principal in CI
                description="The identity running Terraform writes the Phase 2 secrets.",
            )
            after = [self.deployer_role]
        # time_sleep waits only when created: the triggers replace it (so it waits again) whenever the
        # deployer's role assignment is replaced, e.g. when another identity runs Terraform.
        triggers = {"deployer": deployer_object_id}
        triggers["deployer_role" if self.deployer_role is not None else "vault"] = (
            self.deployer_role.id if self.deployer_role is not None else self.key_vault.id
        )
        self.rbac_wait = Sleep(self, "rbac-propagation", create_duration=wait, triggers=triggers, depends_on=after)
        self.expiry = Rotating(self, "secret-expiry", rotation_days=expiry_days)

    # --- attributes ---------------------------------------------------------------------------

    @property
    def vault_id(self) -> str:
        return self.key_vault.id

    @property
    def vault_name(self) -> str:
        return self.key_vault.name

    @property
    def vault_uri(self) -> str:
        return self.key_vault.vault_uri

    # --- secrets ------------------------------------------------------------------------------

    def add_secret(self, id: str, *, name: str, value: str, content_type: str, expiration_date: str | None = None) -> KeyVaultSecret:
        """A secret written only after the deployer's role has propagated. ``expiration_date`` (RFC 3339)
        defaults to the vault's rotating expiry; pass the value's own expiry when it has one (a SAS)."""
        self._ensure_writer()
        return KeyVaultSecret(
            self,
            id,
            key_vault_id=self.key_vault.id,
            name=name,
            value=value,
            content_type=content_type,
            expiration_date=expiration_date or self.expiry.rotation_rfc3339,
            depends_on=[self.rbac_wait],
        )

    @staticmethod
    def reference(secret: KeyVaultSecret) -> str:
        """``@Microsoft.KeyVault(SecretUri=...)`` of the versionless secret, so rotations are picked up."""
        return f"@Microsoft.KeyVault(SecretUri={secret.versionless_id})"

    def grant_read(self, id: str, principal_id: str, *, secret: KeyVaultSecret):
        """Key Vault Secrets User on one secret (not the whole vault)."""
        return roles.grant(self, id, principal_id=principal_id, role=roles.KEY_VAULT_SECRETS_USER, on=secret.resource_versionless_id)
