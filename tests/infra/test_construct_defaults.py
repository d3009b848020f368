"""Each construct on a bare stack with only its required props (issue 16, requirement 4).

The Phase 2 stacks pass every value explicitly, so a default flipped in a construct would pass their
tests; a Phase 3 app that relies on the defaults would not. These tests synthesize the constructs
alone, in the manner of aws-cdk's per-construct tests, and assert each secure default.
"""

from __future__ import annotations

import json

import pytest

import emotion_platform  # noqa: F401  (JSII_NODE before cdktf)

TENANT = "11111111-2222-3333-4444-555555555555"


@pytest.fixture(scope="module")
def bare() -> dict:
    from cdktf import TerraformStack, Testing
    from cdktf_cdktf_provider_azurerm.provider import AzurermProvider, AzurermProviderFeatures

    from emotion_platform import SecretsVault, SilverStorage

    stack = TerraformStack(Testing.app(), "bare")
    AzurermProvider(stack, "azurerm", features=[AzurermProviderFeatures()])
    SecretsVault(stack, "vault", name="kv-bare-01", resource_group_name="rg-bare", location="westeurope", tenant_id=TENANT)
    SilverStorage(stack, "lake", name="stbare01", resource_group_name="rg-bare", location="westeurope")
    return json.loads(Testing.synth(stack))


def _only(doc: dict, kind: str) -> dict:
    found = list(doc["resource"].get(kind, {}).values())
    assert len(found) == 1, f"{kind}: {len(found)}"
    return found[0]


def test_vault_defaults_are_rbac_purge_protected_and_keep_deleted_secrets_90_days(bare: dict) -> None:
    vault = _only(bare, "azurerm_key_vault")
    assert vault["purge_protection_enabled"] is True
    assert vault["soft_delete_retention_days"] == 90
    assert vault["rbac_authorization_enabled"] is True
    assert "access_policy" not in vault and "enable_rbac_authorization" not in vault
    assert vault["sku_name"] == "standard"


def test_vault_grants_nothing_and_writes_nothing_by_default(bare: dict) -> None:
    """The deployer's Secrets Officer role is opt-in; no secret exists until one is added."""
    assert "azurerm_role_assignment" not in bare["resource"]
    assert "azurerm_key_vault_secret" not in bare["resource"]
    assert "time_sleep" not in bare["resource"]


def test_lake_defaults_are_private_tls12_https_only_and_keyless_where_possible(bare: dict) -> None:
    account = _only(bare, "azurerm_storage_account")
    assert account["min_tls_version"] == "TLS1_2"
    assert account["https_traffic_only_enabled"] is True
    assert account["allow_nested_items_to_be_public"] is False
    assert account["default_to_oauth_authentication"] is True
    assert account["cross_tenant_replication_enabled"] is False
    assert account["local_user_enabled"] is False and account["sftp_enabled"] is False
    assert account["infrastructure_encryption_enabled"] is True
    assert account["is_hns_enabled"] is True
    assert account["account_replication_type"] == "LRS"
    # Soft delete for blobs and containers, 7 days.
    blob = account["blob_properties"]
    assert blob["delete_retention_policy"] == {"days": 7}
    assert blob["container_delete_retention_policy"] == {"days": 7}
    # Without a design that signs SAS: the shortest expiration period, logged.
    assert account["sas_policy"] == {"expiration_action": "Log", "expiration_period": "01.00:00:00"}


def test_lake_containers_are_private_and_named_by_layer(bare: dict) -> None:
    containers = bare["resource"]["azurerm_storage_container"].values()
    assert sorted(c["name"] for c in containers) == ["bronze", "quarantine", "silver"]
    assert {c["container_access_type"] for c in containers} == {"private"}


def test_lake_lifecycle_defaults_cool_bronze_after_30_days_and_expire_quarantine_after_90(bare: dict) -> None:
    rules = {r["name"]: r for r in _only(bare, "azurerm_storage_management_policy")["rule"]}
    assert rules["bronze-to-cool"]["actions"]["base_blob"] == {"tier_to_cool_after_days_since_modification_greater_than": 30}
    assert rules["bronze-to-cool"]["filters"]["prefix_match"] == ["bronze/"]
    assert rules["quarantine-expiry"]["actions"]["base_blob"] == {"delete_after_days_since_modification_greater_than": 90}
    assert rules["quarantine-expiry"]["filters"]["prefix_match"] == ["quarantine/"]
    # silver is never expired by a default
    assert not any("silver/" in r["filters"]["prefix_match"] for r in rules.values())
