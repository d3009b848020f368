"""``SilverStorage``: the data lake's bronze, silver and quarantine containers and who may touch them."""

from __future__ import annotations

from typing import Mapping, Sequence

from cdktf import Fn
from cdktf_cdktf_provider_azurerm.data_azurerm_client_config import DataAzurermClientConfig
from cdktf_cdktf_provider_azurerm.data_azurerm_storage_account import DataAzurermStorageAccount
from cdktf_cdktf_provider_azurerm.data_azurerm_storage_account_blob_container_sas import (
    DataAzurermStorageAccountBlobContainerSas,
    DataAzurermStorageAccountBlobContainerSasPermissions,
)
from cdktf_cdktf_provider_azurerm.data_azurerm_storage_container import DataAzurermStorageContainer
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

    An existing account is referenced without listing its keys: its id and endpoints are built from its
    name (``data.azurerm_storage_account`` would call ListKeys and put both keys and connection strings
    in state), and the bronze container is looked up through the management plane, which proves the
    account and container exist at plan time. Only ``connection_string`` reads the key, when a design
    asks for it. ``container_write_sas`` mints a container-scoped create/write SAS; see its docstring.

    With ``log_analytics_workspace_id`` the blob service's reads, writes and deletes are logged there
    (keyless: a diagnostic setting, not classic Storage Analytics, which needs the account key).

    Escape hatches: ``account`` (the resource; None when Phase 1 owns it), ``bronze`` (None when Phase 1
    owns it), ``bronze_lookup`` (the existing bronze container's data source), ``silver``, ``quarantine``,
    ``lifecycle`` (None when off), ``blob_diagnostics`` (None without a workspace), ``keys`` (the data
    source that reads an existing account's keys: None until ``connection_string`` is used), ``sas``
    (id -> SAS data source).
    """

    account: StorageAccount | None
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
        max_sas_valid_days: int | None = None,
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
            # A design that signs SAS with the key knows their longest lifetime: anything longer is refused.
            sas_expiration_period=f"{max_sas_valid_days}.01:00:00" if max_sas_valid_days else "01.00:00:00",
            sas_expiration_action="Block" if max_sas_valid_days else "Log",
            tags=tags,
        )
        self._id, self._name = self.account.id, self.account.name
        self._blob_endpoint, self._dfs_endpoint = self.account.primary_blob_endpoint, self.account.primary_dfs_endpoint
        self.bronze_lookup = None
        self.keys = None
        self.sas: dict[str, DataAzurermStorageAccountBlobContainerSas] = {}
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
        subscription_id: str | None = None,
        endpoint_suffix: str = "core.windows.net",
    ) -> "SilverStorage":
        """Phase 1's data lake, by name, without reading its keys. A lifecycle policy is off by default: an
        account has exactly one management policy, and writing ours would replace Phase 1's.

        ``subscription_id`` defaults to the provider's (``data.azurerm_client_config``, no API call);
        ``endpoint_suffix`` is the cloud's storage suffix (``core.usgovcloudapi.net`` in Azure Government)."""
        self = cls.__new__(cls)
        Construct.__init__(self, scope, id)
        self.account = None
        if subscription_id is None:
            subscription_id = DataAzurermClientConfig(self, "client").subscription_id
        self._resource_group_name = resource_group_name
        self._id = f"/subscriptions/{subscription_id}/resourceGroups/{resource_group_name}/providers/Microsoft.Storage/storageAccounts/{name}"
        self._name = name
        self._blob_endpoint = f"https://{name}.blob.{endpoint_suffix}/"
        self._dfs_endpoint = f"https://{name}.dfs.{endpoint_suffix}/"
        # Management plane (storage_account_id): fails the plan if the account or container is missing.
        self.bronze_lookup = DataAzurermStorageContainer(self, "bronze-lookup", name=bronze_container, storage_account_id=self._id)
        self.keys = None
        self.sas = {}
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
            storage_account_id=self._id,
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
                storage_account_id=self._id,
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
        return self._id

    @property
    def account_name(self) -> str:
        return self._name

    @property
    def dfs_endpoint(self) -> str:
        return self._dfs_endpoint

    @property
    def blob_endpoint(self) -> str:
        return self._blob_endpoint

    @property
    def connection_string(self) -> str:
        """Secret, the whole account's key: sign with it, never hand it out. For an existing account the
        first use adds ``keys``, a ``data.azurerm_storage_account`` that lists the keys into state."""
        if self.account is not None:
            return self.account.primary_connection_string
        if self.keys is None:
            self.keys = DataAzurermStorageAccount(self, "account-keys", name=self._name, resource_group_name=self._resource_group_name)
        return self.keys.primary_connection_string

    def container_write_sas(self, id: str, *, container: str, start: str, expiry: str) -> DataAzurermStorageAccountBlobContainerSas:
        """A service SAS on one container that may create and write blobs (Put Blob, Put Block, Put Block
        List) and nothing else: no read, list or delete, nothing outside the container, HTTPS only,
        valid from ``start`` to ``expiry`` (RFC 3339). Write is needed because Put Block requires it, so
        the holder could also overwrite a blob in that container (blob soft delete keeps the old data).

        ``data.azurerm_storage_account_blob_container_sas`` signs locally with the account key (no API
        call, no data-plane access); its inputs, the key among them, are stored in state."""
        owned = self._owned.get(container)
        self.sas[id] = DataAzurermStorageAccountBlobContainerSas(
            self,
            id,
            connection_string=self.connection_string,
            container_name=owned.name if owned is not None else container,
            https_only=True,
            start=start,
            expiry=expiry,
            permissions=DataAzurermStorageAccountBlobContainerSasPermissions(
                read=False, add=False, create=True, write=True, delete=False, list=False
            ),
        )
        return self.sas[id]

    def sas_connection_string(self, sas: DataAzurermStorageAccountBlobContainerSas) -> str:
        """Secret: a connection string carrying only ``sas`` (the SDKs accept BlobEndpoint + SharedAccessSignature)."""
        return f"BlobEndpoint={self.blob_endpoint};SharedAccessSignature={Fn.trimprefix(sas.sas, '?')}"

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
        if owned is None and self.bronze_lookup is not None and container == self._bronze_name:
            return self.bronze_lookup.id  # the ARM id of Phase 1's container: ordered after the lookup
        return roles.container_scope(self._id, owned.name if owned is not None else container)

    # --- grants -------------------------------------------------------------------------------

    def grant_read(self, id: str, principal_id: str, *, container: str):
        """Storage Blob Data Reader on one container."""
        return roles.grant(self, id, principal_id=principal_id, role=roles.BLOB_DATA_READER, on=self.container_scope(container))

    def grant_write(self, id: str, principal_id: str, *, container: str):
        """Storage Blob Data Contributor on one container (read, write, delete blobs; nothing else)."""
        return roles.grant(self, id, principal_id=principal_id, role=roles.BLOB_DATA_CONTRIBUTOR, on=self.container_scope(container))
