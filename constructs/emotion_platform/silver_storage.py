"""``SilverStorage``: the data lake's bronze, silver and quarantine containers and who may touch them."""

from __future__ import annotations

from typing import Mapping, Sequence

from cdktf_cdktf_provider_azurerm.data_azurerm_storage_account import DataAzurermStorageAccount
from cdktf_cdktf_provider_azurerm.storage_account import StorageAccount
from cdktf_cdktf_provider_azurerm.storage_container import StorageContainer
from cdktf_cdktf_provider_azurerm.storage_management_policy import (
    StorageManagementPolicy,
    StorageManagementPolicyRule,
    StorageManagementPolicyRuleActions,
    StorageManagementPolicyRuleActionsBaseBlob,
    StorageManagementPolicyRuleFilters,
)
from constructs import Construct

from . import roles
from .diagnostics import to_log_analytics
from ._secure_storage import secure_storage_account


class SilverStorage(Construct):
    """An ADLS Gen2 account with the bronze (landing), silver and quarantine containers.

    ``SilverStorage(...)`` creates the account with secure defaults plus all three containers;
    ``SilverStorage.from_existing(...)`` references Phase 1's account and its bronze container by name and
    adds only silver and quarantine. Containers are created through the management plane
    (``storage_account_id``), so no data-plane access or shared key is needed to deploy them.

    With ``log_analytics_workspace_id`` the blob service's reads, writes and deletes are logged there
    (keyless: a diagnostic setting, not classic Storage Analytics, which needs the account key).

    Escape hatches: ``account`` (resource or data source), ``bronze`` (None when Phase 1 owns it),
    ``silver``, ``quarantine``, ``lifecycle`` (None when off), ``blob_diagnostics`` (None without a workspace).
    """

    account: StorageAccount | DataAzurermStorageAccount
    bronze: StorageContainer | None
    silver: StorageContainer
    quarantine: StorageContainer
    lifecycle: StorageManagementPolicy | None

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        resource_group_name: str,
        location: str,
        bronze_container: str = "bronze",
        silver_container: str = "silver",
        quarantine_container: str = "quarantine",
        replication: str = "LRS",
        delete_retention_days: int = 7,
        shared_access_key_enabled: bool = True,
        allowed_ip_ranges: Sequence[str] = (),
        lifecycle_policy: bool = True,
        bronze_cool_after_days: int = 30,
        quarantine_delete_after_days: int = 90,
        log_analytics_workspace_id: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.account = secure_storage_account(
            self,
            "account",
            name=name,
            resource_group_name=resource_group_name,
            location=location,
            hierarchical_namespace=True,
            shared_access_key_enabled=shared_access_key_enabled,
            replication=replication,
            delete_retention_days=delete_retention_days,
            allowed_ip_ranges=allowed_ip_ranges,
            tags=tags,
        )
        self.blob_diagnostics = None
        if log_analytics_workspace_id is not None:
            self.blob_diagnostics = to_log_analytics(
                self,
                "blob-diagnostics",
                target_resource_id=f"{self.account.id}/blobServices/default",
                workspace_id=log_analytics_workspace_id,  # allLogs: StorageRead, StorageWrite, StorageDelete
                metric_category="Transaction",
            )
        self._bronze_name = bronze_container
        self.bronze = self._container("bronze", bronze_container)
        self._finish(silver_container, quarantine_container, lifecycle_policy, bronze_cool_after_days, quarantine_delete_after_days)

    @classmethod
    def from_existing(
        cls,
        scope: Construct,
        id: str,
        *,
        name: str,
        resource_group_name: str,
        bronze_container: str = "bronze",
        silver_container: str = "silver",
        quarantine_container: str = "quarantine",
        lifecycle_policy: bool = False,
        bronze_cool_after_days: int = 30,
        quarantine_delete_after_days: int = 90,
    ) -> "SilverStorage":
        """Phase 1's data lake, by name. A lifecycle policy is off by default: an account has exactly one
        management policy, and writing ours would replace Phase 1's."""
        self = cls.__new__(cls)
        Construct.__init__(self, scope, id)
        self.account = DataAzurermStorageAccount(self, "account", name=name, resource_group_name=resource_group_name)
        self.blob_diagnostics = None  # Phase 1 owns the account's diagnostic settings
        self.bronze = None
        self._bronze_name = bronze_container
        self._finish(silver_container, quarantine_container, lifecycle_policy, bronze_cool_after_days, quarantine_delete_after_days)
        return self

    # --- building blocks ----------------------------------------------------------------------

    def _container(self, id: str, name: str) -> StorageContainer:
        if not hasattr(self, "_owned"):
            self._owned: dict[str, StorageContainer] = {}
        self._owned[name] = StorageContainer(
            self,
            id,
            name=name,
            storage_account_id=self.account.id,
            container_access_type="private",
            metadata={"layer": id},
        )
        return self._owned[name]

    def _finish(self, silver: str, quarantine: str, lifecycle_policy: bool, cool_days: int, delete_days: int) -> None:
        if not hasattr(self, "_owned"):
            self._owned = {}
        self._silver_name, self._quarantine_name = silver, quarantine
        self.silver = self._container("silver", silver)
        self.quarantine = self._container("quarantine", quarantine)
        self.lifecycle = None
        if lifecycle_policy:
            self.lifecycle = StorageManagementPolicy(
                self,
                "lifecycle",
                storage_account_id=self.account.id,
                rule=[
                    StorageManagementPolicyRule(
                        name="bronze-to-cool",
                        enabled=True,
                        filters=StorageManagementPolicyRuleFilters(blob_types=["blockBlob"], prefix_match=[f"{self._bronze_name}/"]),
                        actions=StorageManagementPolicyRuleActions(
                            base_blob=StorageManagementPolicyRuleActionsBaseBlob(
                                tier_to_cool_after_days_since_modification_greater_than=cool_days
                            )
                        ),
                    ),
                    StorageManagementPolicyRule(
                        name="quarantine-expiry",
                        enabled=True,
                        filters=StorageManagementPolicyRuleFilters(blob_types=["blockBlob"], prefix_match=[f"{quarantine}/"]),
                        actions=StorageManagementPolicyRuleActions(
                            base_blob=StorageManagementPolicyRuleActionsBaseBlob(
                                delete_after_days_since_modification_greater_than=delete_days
                            )
                        ),
                    ),
                ],
            )

    # --- attributes ---------------------------------------------------------------------------

    @property
    def account_id(self) -> str:
        return self.account.id

    @property
    def account_name(self) -> str:
        return self.account.name

    @property
    def dfs_endpoint(self) -> str:
        return self.account.primary_dfs_endpoint

    @property
    def blob_endpoint(self) -> str:
        return self.account.primary_blob_endpoint

    @property
    def connection_string(self) -> str:
        """Secret: only ever written to Key Vault, never to an app setting or an output."""
        return self.account.primary_connection_string

    @property
    def access_key(self) -> str:
        return self.account.primary_access_key

    @property
    def bronze_container_name(self) -> str:
        return self._bronze_name

    @property
    def silver_container_name(self) -> str:
        return self._silver_name

    @property
    def quarantine_container_name(self) -> str:
        return self._quarantine_name

    def container_scope(self, container: str) -> str:
        """ARM scope of a container; for a container created here the scope references the resource, so
        a role assignment on it is ordered after the container exists."""
        owned = self._owned.get(container)
        return roles.container_scope(self.account.id, owned.name if owned is not None else container)

    # --- grants -------------------------------------------------------------------------------

    def grant_read(self, id: str, principal_id: str, *, container: str):
        """Storage Blob Data Reader on one container."""
        return roles.grant(self, id, principal_id=principal_id, role=roles.BLOB_DATA_READER, on=self.container_scope(container))

    def grant_write(self, id: str, principal_id: str, *, container: str):
        """Storage Blob Data Contributor on one container (read, write, delete blobs; nothing else)."""
        return roles.grant(self, id, principal_id=principal_id, role=roles.BLOB_DATA_CONTRIBUTOR, on=self.container_scope(container))
