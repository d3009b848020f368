"""The one place a storage account is declared, so every account gets the same secure defaults."""

from __future__ import annotations

from typing import Mapping, Sequence

from cdktf_cdktf_provider_azurerm.storage_account import (
    StorageAccount,
    StorageAccountBlobProperties,
    StorageAccountBlobPropertiesContainerDeleteRetentionPolicy,
    StorageAccountBlobPropertiesDeleteRetentionPolicy,
    StorageAccountNetworkRules,
    StorageAccountSasPolicy,
)
from constructs import Construct


def secure_storage_account(
    scope: Construct,
    id: str,
    *,
    name: str,
    resource_group_name: str,
    location: str,
    hierarchical_namespace: bool,
    shared_access_key_enabled: bool,
    replication: str = "LRS",
    delete_retention_days: int = 7,
    allowed_ip_ranges: Sequence[str] = (),
    sas_expiration_period: str = "01.00:00:00",
    sas_expiration_action: str = "Log",
    tags: Mapping[str, str] | None = None,
) -> StorageAccount:
    """StorageV2 with TLS 1.2, HTTPS only, no public blobs, no cross-tenant replication, infrastructure
    encryption, Entra ID by default in the portal, a SAS expiration policy (one day and logged unless the
    caller knows the longest SAS it signs: then that, and longer ones blocked), blob and container soft
    delete.

    Versioning stays off: Azure rejects it together with a hierarchical namespace (ADLS Gen2). With
    ``allowed_ip_ranges`` the firewall denies everything else except trusted Azure services (Data Factory's
    managed identity is one); without, the endpoint is public and guarded by Entra ID/keys only.
    """
    return StorageAccount(
        scope,
        id,
        name=name,
        resource_group_name=resource_group_name,
        location=location,
        account_kind="StorageV2",
        account_tier="Standard",
        account_replication_type=replication,
        access_tier="Hot",
        is_hns_enabled=hierarchical_namespace,
        min_tls_version="TLS1_2",
        https_traffic_only_enabled=True,
        allow_nested_items_to_be_public=False,
        cross_tenant_replication_enabled=False,
        infrastructure_encryption_enabled=True,
        shared_access_key_enabled=shared_access_key_enabled,
        default_to_oauth_authentication=True,
        local_user_enabled=False,
        sftp_enabled=False,
        public_network_access_enabled=True,
        network_rules=StorageAccountNetworkRules(
            default_action="Deny" if allowed_ip_ranges else "Allow",
            bypass=["AzureServices"],
            ip_rules=list(allowed_ip_ranges) or None,
        ),
        # Any SAS signed with an account key should be short-lived; longer ones are logged or blocked.
        sas_policy=StorageAccountSasPolicy(expiration_period=sas_expiration_period, expiration_action=sas_expiration_action),
        blob_properties=StorageAccountBlobProperties(
            versioning_enabled=False,
            delete_retention_policy=StorageAccountBlobPropertiesDeleteRetentionPolicy(days=delete_retention_days),
            container_delete_retention_policy=StorageAccountBlobPropertiesContainerDeleteRetentionPolicy(
                days=delete_retention_days
            ),
        ),
        tags=dict(tags or {}),
    )
