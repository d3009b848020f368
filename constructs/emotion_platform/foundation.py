"""The foundation Phase 2 builds on: resource group, data lake, Key Vault, Log Analytics workspace.

``standalone`` creates all four (a developer's own platform; the resource group may be pre-created instead,
``create_resource_group = false``, so the deploy identity needs no subscription-wide rights);
``existing`` references Phase 1's by name through data sources and creates nothing that Phase 1 owns.
"""

from __future__ import annotations

from cdktf_cdktf_provider_azurerm.data_azurerm_resources import DataAzurermResources
from cdktf_cdktf_provider_azurerm.data_azurerm_resource_group import DataAzurermResourceGroup
from cdktf_cdktf_provider_azurerm.log_analytics_workspace import LogAnalyticsWorkspace
from cdktf_cdktf_provider_azurerm.resource_group import ResourceGroup
from constructs import Construct

from .config import EnvironmentConfig
from .diagnostics import to_log_analytics
from .roles import Principal
from .secrets_vault import SecretsVault, SecretsVaultBase
from .silver_storage import BlobContainer, SilverStorage, SilverStorageBase


class Foundation(Construct):
    """Exposes ``resource_group``, ``workspace_id``, ``storage`` (a lake), ``bronze``/``silver``/``quarantine``
    (its containers), ``vault`` and ``deployer`` (the identity running Terraform) the same way in both
    modes, so the rest of the stack does not care which one it got. ``workspace`` is the created workspace
    (None for Phase 1's, which ``workspace_lookup`` checks without reading keys).

    In existing mode Phase 1's lake has bronze only: bronze is referenced (a keyless lookup), silver and
    quarantine are added, and they are the only containers this stack owns."""

    storage: SilverStorageBase
    vault: SecretsVaultBase
    bronze: BlobContainer
    silver: BlobContainer
    quarantine: BlobContainer

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: EnvironmentConfig,
        tenant_id: str,
        subscription_id: str,
        deployer_object_id: str,
    ) -> None:
        super().__init__(scope, id)
        f, s, kv = config.foundation, config.storage, config.key_vault
        tags = dict(config.tags)
        self.mode = f.mode
        # A developer on a laptop or the pipeline's service principal: ARM resolves the type itself.
        self.deployer = Principal.of_unknown_type(deployer_object_id, name="deployer")
        deployer = self.deployer if kv.assign_deployer_role else None
        if f.mode == "standalone":
            if f.create_resource_group:
                self.resource_group = ResourceGroup(
                    self, "resource-group", name=f.resource_group_name, location=config.location, tags=tags
                )
            else:  # pre-created per environment, so the deployer's rights end at this group
                self.resource_group = DataAzurermResourceGroup(self, "resource-group", name=f.resource_group_name)
            rg = self.resource_group.name
            self.workspace = LogAnalyticsWorkspace(
                self,
                "workspace",
                name=f.log_analytics_workspace_name,
                resource_group_name=rg,
                location=config.location,
                sku="PerGB2018",
                retention_in_days=f.log_retention_days,
                local_authentication_enabled=False,  # no shared workspace keys: Entra ID for every reader and writer
                tags=tags,
            )
            self._workspace_id = self.workspace.id
            self.workspace_lookup = None
            self.workspace_diagnostics = to_log_analytics(
                self,
                "workspace-diagnostics",
                target_resource_id=self.workspace.id,
                workspace_id=self.workspace.id,
                log_category_group="audit",  # who queried what (LAQueryLogs)
            )
            self.storage = SilverStorage(
                self,
                "storage",
                name=f.storage_account_name,
                resource_group_name=rg,
                location=config.location,
                bronze_container=f.bronze_container,
                silver_container=s.silver_container,
                quarantine_container=s.quarantine_container,
                replication=s.replication,
                delete_retention_days=s.delete_retention_days,
                # Keys exist only where a connection string is part of the design; then they sign only the
                # Function's bronze SAS, and the account refuses any SAS living longer than that one.
                shared_access_key_enabled=config.function.storage_mode == "connection_string",
                max_sas_valid_days=config.function.sas_valid_days
                if config.function.storage_mode == "connection_string"
                else None,
                allowed_ip_ranges=s.allowed_ip_ranges,
                lifecycle_policy=s.lifecycle_policy,
                bronze_cool_after_days=s.bronze_cool_after_days,
                quarantine_delete_after_days=s.quarantine_delete_after_days,
                log_analytics_workspace_id=self.workspace.id,
                tags=tags,
            )
            self.bronze, self.silver, self.quarantine = self.storage.bronze, self.storage.silver, self.storage.quarantine
            self.vault = SecretsVault(
                self,
                "vault",
                name=f.key_vault_name,
                resource_group_name=rg,
                location=config.location,
                tenant_id=tenant_id,
                deployer=deployer,
                purge_protection=kv.purge_protection,
                soft_delete_retention_days=kv.soft_delete_retention_days,
                allowed_ip_ranges=kv.allowed_ip_ranges,
                rbac_propagation_wait=kv.rbac_propagation_wait,
                secret_expiry_days=kv.secret_expiry_days,
                log_analytics_workspace_id=self.workspace.id,
                tags=tags,
            )
        else:
            self.workspace_diagnostics = None  # Phase 1 owns its workspace's settings
            self.resource_group = DataAzurermResourceGroup(self, "resource-group", name=f.resource_group_name)
            rg = self.resource_group.name
            # Not data.azurerm_log_analytics_workspace: it reads the workspace's shared keys into state.
            # The id is built from names; a keyless lookup fails the plan with one message if it is wrong.
            self.workspace = None
            self._workspace_id = (
                f"/subscriptions/{subscription_id}/resourceGroups/{f.resource_group_name}"
                f"/providers/Microsoft.OperationalInsights/workspaces/{f.log_analytics_workspace_name}"
            )
            self.workspace_lookup = DataAzurermResources(
                self,
                "workspace",
                resource_group_name=f.resource_group_name,
                type="Microsoft.OperationalInsights/workspaces",
                name=f.log_analytics_workspace_name,
            )
            self.workspace_lookup.add_override(
                "lifecycle.postcondition",
                [
                    {
                        "condition": "${length(self.resources) == 1}",
                        "error_message": (
                            f"foundation.log_analytics_workspace_name = '{f.log_analytics_workspace_name}': no such Log Analytics "
                            f"workspace in resource group '{f.resource_group_name}' (config/{config.name}.toml)"
                        ),
                    }
                ],
            )
            self.storage = SilverStorage.from_existing(
                self,
                "storage",
                name=f.storage_account_name,
                resource_group_name=f.resource_group_name,
                subscription_id=subscription_id,
            )
            self.bronze = self.storage.container(f.bronze_container)  # Phase 1's: referenced, verified at plan
            self.silver = self.storage.add_container(s.silver_container, id="silver", metadata={"layer": "silver"})
            self.quarantine = self.storage.add_container(
                s.quarantine_container, id="quarantine", metadata={"layer": "quarantine"}
            )
            if s.lifecycle_policy:  # replaces Phase 1's single management policy: off unless asked for
                self.storage.add_lifecycle_policy(
                    cool=self.bronze,
                    cool_after_days=s.bronze_cool_after_days,
                    expire=self.quarantine,
                    expire_after_days=s.quarantine_delete_after_days,
                )
            self.vault = SecretsVault.from_existing(
                self,
                "vault",
                name=f.key_vault_name,
                resource_group_name=rg,
                deployer=deployer,
                rbac_propagation_wait=kv.rbac_propagation_wait,
                secret_expiry_days=kv.secret_expiry_days,
            )

    @property
    def resource_group_name(self) -> str:
        return self.resource_group.name

    @property
    def workspace_id(self) -> str:
        return self._workspace_id
