"""SilverStorage: secure ADLS Gen2 defaults, containers through the management plane, lifecycle policy,
container-scoped grants; standalone creates the account, existing only references it."""

from __future__ import annotations

from .tf import DEV, PROD, one, ref, resources


def test_standalone_data_lake_is_adls_gen2_with_secure_defaults(synthesized) -> None:
    _, account = one(synthesized[DEV], "azurerm_storage_account", "foundation/storage/account")
    assert account["is_hns_enabled"] is True
    assert account["account_kind"] == "StorageV2"
    assert account["min_tls_version"] == "TLS1_2"
    assert account["https_traffic_only_enabled"] is True
    assert account["allow_nested_items_to_be_public"] is False
    assert account["cross_tenant_replication_enabled"] is False
    assert account["infrastructure_encryption_enabled"] is True
    assert account["default_to_oauth_authentication"] is True
    assert account["local_user_enabled"] is False and account["sftp_enabled"] is False
    assert account["sas_policy"] == {"expiration_period": "01.00:00:00", "expiration_action": "Log"}
    assert account["blob_properties"]["versioning_enabled"] is False
    assert account["blob_properties"]["delete_retention_policy"] == {"days": 7}
    assert account["blob_properties"]["container_delete_retention_policy"] == {"days": 7}
    # dev uses the connection-string design, so shared keys exist there and only there
    assert account["shared_access_key_enabled"] is True


def test_standalone_creates_three_private_containers_by_account_id(synthesized) -> None:
    doc = synthesized[DEV]
    aid, _ = one(doc, "azurerm_storage_account", "foundation/storage/account")
    for layer in ("bronze", "silver", "quarantine"):
        _, container = one(doc, "azurerm_storage_container", f"foundation/storage/{layer}")
        assert container["name"] == layer
        assert container["storage_account_id"] == ref("azurerm_storage_account", aid, "id")
        assert "storage_account_name" not in container
        assert container["container_access_type"] == "private"


def test_existing_mode_references_phase1_and_adds_silver_and_quarantine_only(synthesized) -> None:
    doc = synthesized[PROD]
    aid, account = one(doc, "azurerm_storage_account", "foundation/storage/account", kind="data")
    assert account["name"] == "stemotionprod01"
    created = sorted(c["name"] for c in resources(doc, "azurerm_storage_container").values() if "/foundation/" in c["//"]["metadata"]["path"])
    assert created == ["quarantine", "silver"]
    for container in resources(doc, "azurerm_storage_container").values():
        if "/foundation/" in container["//"]["metadata"]["path"]:
            assert container["storage_account_id"] == ref("azurerm_storage_account", aid, "id", kind="data")
    accounts = [a["//"]["metadata"]["path"] for a in resources(doc, "azurerm_storage_account").values()]
    assert accounts == ["phase2-prod/generator/runtime-storage"], "only the Function's own account is created"
    assert resources(doc, "azurerm_storage_management_policy") == {}, "Phase 1's single management policy is left alone"


def test_lifecycle_policy_cools_bronze_and_expires_quarantine(synthesized) -> None:
    doc = synthesized[DEV]
    aid, _ = one(doc, "azurerm_storage_account", "foundation/storage/account")
    _, policy = one(doc, "azurerm_storage_management_policy", "foundation/storage/lifecycle")
    assert policy["storage_account_id"] == ref("azurerm_storage_account", aid, "id")
    rules = {r["name"]: r for r in policy["rule"]}
    assert rules["bronze-to-cool"]["filters"]["prefix_match"] == ["bronze/"]
    assert rules["bronze-to-cool"]["actions"]["base_blob"] == {"tier_to_cool_after_days_since_modification_greater_than": 30}
    assert rules["quarantine-expiry"]["filters"]["prefix_match"] == ["quarantine/"]
    assert rules["quarantine-expiry"]["actions"]["base_blob"] == {"delete_after_days_since_modification_greater_than": 90}
    assert all(r["enabled"] is True for r in rules.values())


def test_grants_are_scoped_to_one_container_and_wait_for_it(synthesized) -> None:
    doc = synthesized[DEV]
    aid, _ = one(doc, "azurerm_storage_account", "foundation/storage/account")
    cid, _ = one(doc, "azurerm_storage_container", "foundation/storage/silver")
    _, grant = one(doc, "azurerm_role_assignment", "foundation/storage/factory-writes-silver")
    assert grant["role_definition_name"] == "Storage Blob Data Contributor"
    # the scope references the container resource, so the assignment is created after the container
    assert grant["scope"] == ref("azurerm_storage_account", aid, "id") + "/blobServices/default/containers/" + ref("azurerm_storage_container", cid, "name")
    # Phase 1's bronze container is referenced by name (no resource to wait for)
    doc = synthesized[PROD]
    pid, _ = one(doc, "azurerm_storage_account", "foundation/storage/account", kind="data")
    _, grant = one(doc, "azurerm_role_assignment", "foundation/storage/factory-reads-bronze")
    assert grant["scope"] == ref("azurerm_storage_account", pid, "id", kind="data") + "/blobServices/default/containers/bronze"
    assert grant["role_definition_name"] == "Storage Blob Data Reader"


def test_standalone_lake_logs_blob_access_to_log_analytics_keylessly(synthesized) -> None:
    doc = synthesized[DEV]
    aid, _ = one(doc, "azurerm_storage_account", "foundation/storage/account")
    wid, _ = one(doc, "azurerm_log_analytics_workspace", "foundation/workspace")
    _, setting = one(doc, "azurerm_monitor_diagnostic_setting", "foundation/storage/blob-diagnostics")
    assert setting["target_resource_id"] == ref("azurerm_storage_account", aid, "id") + "/blobServices/default"
    assert setting["log_analytics_workspace_id"] == ref("azurerm_log_analytics_workspace", wid, "id")
    assert setting["enabled_log"] == [{"category_group": "allLogs"}]
    assert "storage_account_id" not in setting, "no classic (key-based) analytics storage"
    assert not resources(doc, "azurerm_log_analytics_storage_insights")


def test_existing_lake_keeps_phase1_diagnostics(synthesized) -> None:
    targets = [s["target_resource_id"] for s in resources(synthesized[PROD], "azurerm_monitor_diagnostic_setting").values()]
    assert not any("blobServices" in t for t in targets), "Phase 1 owns its account's diagnostic settings"
