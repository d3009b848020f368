"""SilverStorage: secure ADLS Gen2 defaults, containers through the management plane, lifecycle policy,
container-scoped grants; standalone creates the account, existing only references it."""

from __future__ import annotations

from .tf import DEV, PROD, data, lake_account_id, one, ref, resources


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
    # the key signs only the Function's bronze SAS (function.sas_valid_days = 30): a longer SAS is refused
    assert account["sas_policy"] == {"expiration_period": "30.01:00:00", "expiration_action": "Block"}
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


PHASE1_ACCOUNT_ID = ("/subscriptions/${data.azurerm_client_config.client.subscription_id}/resourceGroups/rg-emotion-prod"
                     "/providers/Microsoft.Storage/storageAccounts/stemotionprod01")


def test_existing_mode_references_phase1_without_reading_its_keys(synthesized) -> None:
    doc = synthesized[PROD]
    # data.azurerm_storage_account calls ListKeys (azurerm v4.55 storage_account_data_source.go) and
    # would put both keys and connection strings in state: the id and endpoints come from the names.
    assert data(doc, "azurerm_storage_account") == {}
    _, lookup = one(doc, "azurerm_storage_container", "foundation/storage/bronze-lookup", kind="data")
    # with storage_account_id the container data source reads through the management plane (no key)
    assert lookup == {"//": lookup["//"], "name": "bronze", "storage_account_id": PHASE1_ACCOUNT_ID}
    assert lake_account_id(doc) == PHASE1_ACCOUNT_ID
    assert doc["output"]["storage_dfs_endpoint"]["value"] == "https://stemotionprod01.dfs.core.windows.net/"
    assert doc["output"]["storage_blob_endpoint"]["value"] == "https://stemotionprod01.blob.core.windows.net/"


def test_existing_mode_adds_silver_and_quarantine_only(synthesized) -> None:
    doc = synthesized[PROD]
    created = sorted(c["name"] for c in resources(doc, "azurerm_storage_container").values() if "/foundation/" in c["//"]["metadata"]["path"])
    assert created == ["quarantine", "silver"]
    for container in resources(doc, "azurerm_storage_container").values():
        if "/foundation/" in container["//"]["metadata"]["path"]:
            assert container["storage_account_id"] == PHASE1_ACCOUNT_ID
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
    _, grant = one(doc, "azurerm_role_assignment", "foundation/storage/data-factory--storage-blob-data-contributor--silver")
    assert grant["role_definition_name"] == "Storage Blob Data Contributor"
    # the scope references the container resource, so the assignment is created after the container
    assert grant["scope"] == ref("azurerm_storage_account", aid, "id") + "/blobServices/default/containers/" + ref("azurerm_storage_container", cid, "name")
    # Phase 1's bronze container: the id of its management-plane lookup, so the plan fails if it is missing
    doc = synthesized[PROD]
    lid, _ = one(doc, "azurerm_storage_container", "foundation/storage/bronze-lookup", kind="data")
    _, grant = one(doc, "azurerm_role_assignment", "foundation/storage/data-factory--storage-blob-data-reader--bronze")
    assert grant["scope"] == ref("azurerm_storage_container", lid, "id", kind="data")
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
    assert not any("stemotionprod01" in t or "/foundation/" in t for t in targets), "Phase 1 owns its account's diagnostic settings"
    assert not [s for s in resources(synthesized[PROD], "azurerm_monitor_diagnostic_setting").values()
                if "/foundation/" in s["//"]["metadata"]["path"]]


def test_the_bronze_sas_is_container_scoped_create_write_https_and_expires(synthesized) -> None:
    doc = synthesized[DEV]
    aid, _ = one(doc, "azurerm_storage_account", "foundation/storage/account")
    cid, _ = one(doc, "azurerm_storage_container", "foundation/storage/bronze")
    _, sas = one(doc, "azurerm_storage_account_blob_container_sas", "foundation/storage/bronze-write-sas", kind="data")
    assert sas["connection_string"] == ref("azurerm_storage_account", aid, "primary_connection_string")
    assert sas["container_name"] == ref("azurerm_storage_container", cid, "name")
    assert sas["permissions"] == {"read": False, "add": False, "create": True, "write": True, "delete": False, "list": False}
    assert sas["https_only"] is True
    rid, rotation = one(doc, "time_rotating", "bronze-sas-rotation")
    assert rotation["rotation_days"] == 15, "renewed by any apply after half of function.sas_valid_days (30)"
    assert sas["start"] == '${timeadd(' + f"time_rotating.{rid}.rfc3339" + ', "-15m")}'
    assert sas["expiry"] == '${timeadd(' + f"time_rotating.{rid}.rfc3339" + ', "720h")}'
    assert not data(synthesized[PROD], "azurerm_storage_account_blob_container_sas"), "identity mode signs nothing"
