"""The data lake: ``SilverStorage`` (created here) and ``ExistingSilverStorage`` (Phase 1's or Phase 2's,
referenced by name, creating nothing), with containers as objects and grants to principals.

Both share :class:`SilverStorageBase`: the account's attributes, its containers (``container(name)``
references one, ``add_container(name)`` creates one), keyless grants scoped to one container, and the
container-scoped SAS the connection-string design needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping, Sequence

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

from . import roles, validation
from ._secure_storage import secure_storage_account
from .diagnostics import to_log_analytics

if TYPE_CHECKING:
    from cdktf_cdktf_provider_azurerm.monitor_diagnostic_setting import MonitorDiagnosticSetting
    from cdktf_cdktf_provider_azurerm.role_assignment import RoleAssignment


@dataclass(frozen=True, eq=False)
class BlobContainer:
    """One container of a lake, as grants and SAS take it.

    ``scope`` is its ARM id (the RBAC scope); ``resource`` is the ``StorageContainer`` when this app
    creates it, the management-plane lookup (a data source) when it references a verified one, else None.
    """

    lake: "SilverStorageBase"
    name: str
    scope: str
    resource: StorageContainer | DataAzurermStorageContainer | None

    @property
    def created(self) -> bool:
        """Whether this app owns (creates and destroys) the container."""
        return isinstance(self.resource, StorageContainer)


class SilverStorageBase(Construct):
    """What an owned and a referenced lake have in common: attributes, containers, grants, SAS.

    Escape hatches: ``containers`` (name -> :class:`BlobContainer`), ``lifecycle`` (None until
    ``add_lifecycle_policy``), ``keys`` (None until ``connection_string`` of an existing account is
    used), ``sas`` (id -> SAS data source).
    """

    _KIND = "SilverStorage"

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        self.containers: dict[str, BlobContainer] = {}
        self.lifecycle: StorageManagementPolicy | None = None
        self.keys: DataAzurermStorageAccount | None = None
        self.sas: dict[str, DataAzurermStorageAccountBlobContainerSas] = {}
        self._account_id = ""
        self._account_name = ""
        self._blob_endpoint = ""
        self._dfs_endpoint = ""

    # --- attributes ---------------------------------------------------------------------------

    @property
    def account_id(self) -> str:
        """The storage account's ARM id."""
        return self._account_id

    @property
    def account_name(self) -> str:
        return self._account_name

    @property
    def dfs_endpoint(self) -> str:
        """``https://<account>.dfs.<suffix>/`` (ADLS Gen2: what Data Factory's linked service takes)."""
        return self._dfs_endpoint

    @property
    def blob_endpoint(self) -> str:
        """``https://<account>.blob.<suffix>/``."""
        return self._blob_endpoint

    @property
    def connection_string(self) -> str:
        """Secret, the whole account's key: sign with it, never hand it out."""
        raise NotImplementedError

    # --- containers ---------------------------------------------------------------------------

    def container(self, name: str, *, verify: bool = True) -> BlobContainer:
        """A container that exists already (or was added here), creating nothing.

        With ``verify`` (default) a management-plane lookup (``data.azurerm_storage_container``, id
        ``<name>-lookup``) fails the plan if the container is missing, and grants on it are ordered after
        the lookup; it reads no key."""
        validation.check(self._KIND + ".container", "name", name, validation.rule("container"))
        found = self.containers.get(name)
        if found is not None:
            return found
        lookup = None
        scope = f"{self.account_id}/blobServices/default/containers/{name}"
        if verify:
            lookup = DataAzurermStorageContainer(self, f"{name}-lookup", name=name, storage_account_id=self.account_id)
            scope = lookup.id
        found = BlobContainer(self, name, scope, lookup)
        self.containers[name] = found
        return found

    def add_container(self, name: str, *, id: str | None = None, metadata: Mapping[str, str] | None = None) -> BlobContainer:
        """Create a private container, through the management plane (``storage_account_id``: no data-plane
        access or shared key needed to deploy it). ``id`` is its construct id (default: the name)."""
        validation.check(self._KIND + ".add_container", "name", name, validation.rule("container"))
        if name in self.containers:
            raise validation.ValidationError(f"{self._KIND}.add_container.name", name,
                                             "this lake already has that container (add it once, reference it with container())")
        resource = StorageContainer(
            self,
            id or name,
            name=name,
            storage_account_id=self.account_id,
            container_access_type="private",
            metadata=dict(metadata) if metadata else None,
        )
        # The scope references the resource, so a role assignment on it is ordered after the container.
        added = BlobContainer(self, name, f"{self.account_id}/blobServices/default/containers/{resource.name}", resource)
        self.containers[name] = added
        return added

    def _own(self, container: object, where: str) -> BlobContainer:
        if isinstance(container, BlobContainer) and container.lake is self:
            return container
        if isinstance(container, StorageContainer):
            for known in self.containers.values():
                if known.resource is container:
                    return known
        raise validation.ValidationError(
            f"{self._KIND}.{where}.container", container,
            "must be a container of this lake: lake.container('<name>') or lake.add_container('<name>')",
        )

    def add_lifecycle_policy(self, *, cool: BlobContainer, cool_after_days: int = 30, expire: BlobContainer,
                             expire_after_days: int = 90) -> StorageManagementPolicy:
        """The account's management policy: blobs in ``cool`` tier to Cool after ``cool_after_days``, blobs in
        ``expire`` are deleted after ``expire_after_days``. An account has exactly one policy: on an account
        another deployment owns, this replaces theirs."""
        check = validation.rule("bronze_cool_after_days")
        validation.check(self._KIND, "bronze_cool_after_days", cool_after_days, check)
        validation.check(self._KIND, "quarantine_delete_after_days", expire_after_days, validation.rule("quarantine_delete_after_days"))
        cool, expire = self._own(cool, "add_lifecycle_policy"), self._own(expire, "add_lifecycle_policy")
        self.lifecycle = StorageManagementPolicy(
            self,
            "lifecycle",
            storage_account_id=self.account_id,
            rule=[
                StorageManagementPolicyRule(
                    name="bronze-to-cool",
                    enabled=True,
                    filters=StorageManagementPolicyRuleFilters(blob_types=["blockBlob"], prefix_match=[f"{cool.name}/"]),
                    actions=StorageManagementPolicyRuleActions(
                        base_blob=StorageManagementPolicyRuleActionsBaseBlob(
                            tier_to_cool_after_days_since_modification_greater_than=cool_after_days
                        )
                    ),
                ),
                StorageManagementPolicyRule(
                    name="quarantine-expiry",
                    enabled=True,
                    filters=StorageManagementPolicyRuleFilters(blob_types=["blockBlob"], prefix_match=[f"{expire.name}/"]),
                    actions=StorageManagementPolicyRuleActions(
                        base_blob=StorageManagementPolicyRuleActionsBaseBlob(
                            delete_after_days_since_modification_greater_than=expire_after_days
                        )
                    ),
                ),
            ],
        )
        return self.lifecycle

    # --- grants -------------------------------------------------------------------------------

    def grant(self, grantee: object, role: str, *, container: BlobContainer | StorageContainer,
              description: str | None = None) -> "RoleAssignment":
        """``role`` (a Storage Blob Data role, any case) on one container for ``grantee`` (anything with a
        principal: see :mod:`emotion_platform.roles`). Returns the role assignment; granting the same
        thing twice returns the first one."""
        role = roles.canonical_role(role, allowed=roles.STORAGE_ROLES, where=f"{self._KIND}.grant.role")
        target = self._own(container, "grant")
        return roles.grant(self, grantee=grantee, role=role, on=target.scope, target=target.name, description=description)

    def grant_read(self, grantee: object, *, container: BlobContainer | StorageContainer,
                   description: str | None = None) -> "RoleAssignment":
        """Storage Blob Data Reader on one container."""
        return self.grant(grantee, roles.BLOB_DATA_READER, container=container, description=description)

    def grant_write(self, grantee: object, *, container: BlobContainer | StorageContainer,
                    description: str | None = None) -> "RoleAssignment":
        """Storage Blob Data Contributor on one container (read, write, delete blobs; nothing else)."""
        return self.grant(grantee, roles.BLOB_DATA_CONTRIBUTOR, container=container, description=description)

    # --- SAS (connection-string design only) --------------------------------------------------------

    def container_write_sas(self, id: str, *, container: BlobContainer | StorageContainer, start: str,
                            expiry: str) -> DataAzurermStorageAccountBlobContainerSas:
        """A service SAS on one container that may create and write blobs (Put Blob, Put Block, Put Block
        List) and nothing else: no read, list or delete, nothing outside the container, HTTPS only,
        valid from ``start`` to ``expiry`` (RFC 3339). Write is needed because Put Block requires it, so
        the holder could also overwrite a blob in that container (blob soft delete keeps the old data).

        ``data.azurerm_storage_account_blob_container_sas`` signs locally with the account key (no API
        call, no data-plane access); its inputs, the key among them, are stored in state."""
        target = self._own(container, "container_write_sas")
        name = target.resource.name if isinstance(target.resource, StorageContainer) else target.name
        self.sas[id] = DataAzurermStorageAccountBlobContainerSas(
            self,
            id,
            connection_string=self.connection_string,
            container_name=name,
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


class SilverStorage(SilverStorageBase):
    """An ADLS Gen2 account created with secure defaults (see ``_secure_storage``), with the bronze
    (landing), silver and quarantine containers (construct ids ``bronze``, ``silver``, ``quarantine``).

    ``SilverStorage.from_existing(...)`` references an existing account instead and creates nothing.

    :param name: the account name (3-24 lower-case letters and digits, globally unique). Required.
    :param resource_group_name: its resource group. Required.
    :param location: its region, e.g. ``westeurope``. Required.
    :param bronze_container: landing container name. Default ``"bronze"``.
    :param silver_container: default ``"silver"``.
    :param quarantine_container: default ``"quarantine"``.
    :param replication: ``LRS``, ``ZRS``, ``GRS``, ``RAGRS``, ``GZRS`` or ``RAGZRS``. Default ``"LRS"``.
    :param delete_retention_days: blob and container soft delete, 1-365. Default 7.
    :param shared_access_key_enabled: keep account keys (only a design that signs a SAS needs them).
        Default True.
    :param max_sas_valid_days: the longest SAS the design signs; longer ones are blocked. Default None
        (one day, logged only).
    :param allowed_ip_ranges: public IPv4 ranges for a deny-by-default firewall. Default () (open).
    :param lifecycle_policy: bronze to Cool, quarantine expiry. Default True.
    :param bronze_cool_after_days: default 30. :param quarantine_delete_after_days: default 90.
    :param log_analytics_workspace_id: blob read/write/delete logs go there (keyless). Default None.
    :param tags: default none.

    Escape hatches: ``account``, ``bronze``/``silver``/``quarantine`` (:class:`BlobContainer`, their
    ``resource`` the ``StorageContainer``), ``blob_diagnostics`` (None without a workspace), and the
    base's.
    """

    account: StorageAccount
    blob_diagnostics: "MonitorDiagnosticSetting | None"
    # prop -> rule, from emotion_platform.validation (the config file checks the same fields with the same)
    RULES: Mapping[str, validation.Rule] = {
        "name": validation.rule("storage_account_name"),
        "resource_group_name": validation.rule("resource_group_name"),
        "location": validation.rule("location"),
        "bronze_container": validation.rule("container"),
        "silver_container": validation.rule("container"),
        "quarantine_container": validation.rule("container"),
        "replication": validation.rule("replication"),
        "delete_retention_days": validation.rule("delete_retention_days"),
        "max_sas_valid_days": validation.rule("sas_valid_days"),
        "allowed_ip_ranges": validation.rule("allowed_ip_ranges"),
        "bronze_cool_after_days": validation.rule("bronze_cool_after_days"),
        "quarantine_delete_after_days": validation.rule("quarantine_delete_after_days"),
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
        validation.check_all(
            "SilverStorage",
            {"name": name, "resource_group_name": resource_group_name, "location": location,
             "replication": replication, "delete_retention_days": delete_retention_days,
             "allowed_ip_ranges": allowed_ip_ranges, "bronze_cool_after_days": bronze_cool_after_days,
             "quarantine_delete_after_days": quarantine_delete_after_days, "tags": dict(tags or {})},
            self.RULES,
        )
        if max_sas_valid_days is not None:
            validation.check("SilverStorage", "max_sas_valid_days", max_sas_valid_days, self.RULES["max_sas_valid_days"])
        layers = {"bronze_container": bronze_container, "silver_container": silver_container,
                  "quarantine_container": quarantine_container}
        for prop, value in layers.items():
            validation.check("SilverStorage", prop, value, self.RULES[prop])
        literal = [v for v in layers.values() if not validation.is_token(v)]
        if len(set(literal)) != len(literal):
            raise validation.ValidationError("SilverStorage.silver_container", silver_container,
                                             "bronze, silver and quarantine must be three different containers")
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
        self._account_id, self._account_name = self.account.id, self.account.name
        self._blob_endpoint, self._dfs_endpoint = self.account.primary_blob_endpoint, self.account.primary_dfs_endpoint
        self.blob_diagnostics = None
        if log_analytics_workspace_id is not None:
            self.blob_diagnostics = to_log_analytics(
                self,
                "blob-diagnostics",
                target_resource_id=f"{self.account.id}/blobServices/default",
                workspace_id=log_analytics_workspace_id,  # allLogs: StorageRead, StorageWrite, StorageDelete
                metric_category="Transaction",
            )
        self.bronze = self.add_container(bronze_container, id="bronze", metadata={"layer": "bronze"})
        self.silver = self.add_container(silver_container, id="silver", metadata={"layer": "silver"})
        self.quarantine = self.add_container(quarantine_container, id="quarantine", metadata={"layer": "quarantine"})
        if lifecycle_policy:
            self.add_lifecycle_policy(cool=self.bronze, cool_after_days=bronze_cool_after_days,
                                      expire=self.quarantine, expire_after_days=quarantine_delete_after_days)

    @property
    def connection_string(self) -> str:
        """Secret, the whole account's key: sign with it, never hand it out."""
        return self.account.primary_connection_string

    @staticmethod
    def from_existing(
        scope: Construct,
        id: str,
        *,
        name: str,
        resource_group_name: str,
        subscription_id: str | None = None,
        endpoint_suffix: str = "core.windows.net",
    ) -> "ExistingSilverStorage":
        """An existing account by name, creating nothing (see :class:`ExistingSilverStorage`)."""
        return ExistingSilverStorage(scope, id, name=name, resource_group_name=resource_group_name,
                                     subscription_id=subscription_id, endpoint_suffix=endpoint_suffix)


class ExistingSilverStorage(SilverStorageBase):
    """A lake another deployment owns (Phase 1's bronze-only account, Phase 2's lake for Phase 3),
    referenced by name. It creates no resource: its containers are referenced with ``container(name)``
    (a keyless management-plane lookup) or added with ``add_container(name)``, which this app then owns.

    It never lists the account's keys: the id and endpoints are built from the names
    (``data.azurerm_storage_account`` would call ListKeys and put both keys and connection strings in
    state). Only ``connection_string``, when a design uses it, adds ``keys``, a data source that does.

    :param name: the account's name. Required.
    :param resource_group_name: its resource group. Required.
    :param subscription_id: default the provider's (``data.azurerm_client_config``, no API call).
    :param endpoint_suffix: the cloud's storage suffix. Default ``core.windows.net``
        (``core.usgovcloudapi.net`` in Azure Government).

    Escape hatches: ``client`` (None when ``subscription_id`` is given), and the base's.
    """

    _KIND = "ExistingSilverStorage"

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        resource_group_name: str,
        subscription_id: str | None = None,
        endpoint_suffix: str = "core.windows.net",
    ) -> None:
        validation.check("ExistingSilverStorage", "name", name, validation.rule("storage_account_name"))
        validation.check("ExistingSilverStorage", "resource_group_name", resource_group_name, validation.rule("resource_group_name"))
        if subscription_id is not None:
            validation.check("ExistingSilverStorage", "subscription_id", subscription_id, validation.check_uuid)
        super().__init__(scope, id)
        self.client = None
        if subscription_id is None:
            self.client = DataAzurermClientConfig(self, "client")
            subscription_id = self.client.subscription_id
        self._resource_group_name = resource_group_name
        self._account_id = (f"/subscriptions/{subscription_id}/resourceGroups/{resource_group_name}"
                            f"/providers/Microsoft.Storage/storageAccounts/{name}")
        self._account_name = name
        self._blob_endpoint = f"https://{name}.blob.{endpoint_suffix}/"
        self._dfs_endpoint = f"https://{name}.dfs.{endpoint_suffix}/"

    @property
    def connection_string(self) -> str:
        """Secret, the whole account's key. The first use adds ``keys``, a ``data.azurerm_storage_account``
        that lists the keys into state."""
        if self.keys is None:
            self.keys = DataAzurermStorageAccount(self, "account-keys", name=self._account_name,
                                                  resource_group_name=self._resource_group_name)
        return self.keys.primary_connection_string
