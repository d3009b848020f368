"""DataFactoryStack: one stack per environment, state backends, no subscription-specific values, the
factory's identity and diagnostics, least-privilege RBAC, and outputs for Phase 3."""

from __future__ import annotations

import re

from .tf import DEV, PROD, data, lake_container_scope, workspace_id, one, ref, resources, role_assignments, walk_strings

GUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")


def test_one_stack_per_environment(synthesized) -> None:
    assert {DEV, PROD} <= set(synthesized)
    for name, doc in synthesized.items():
        assert doc["//"]["metadata"]["stackName"] == name


def test_state_backends(synthesized) -> None:
    dev = synthesized[DEV]["terraform"]["backend"]
    assert dev == {"local": {"path": "../../../terraform.phase2-dev.tfstate"}}, "outside cdktf.out, which each synth replaces"
    prod = synthesized[PROD]["terraform"]["backend"]
    assert prod == {
        "azurerm": {
            "resource_group_name": "rg-emotion-tfstate",
            "storage_account_name": "stemotiontfstate01",
            "container_name": "tfstate-prod",
            "key": "phase2-prod.tfstate",
            "use_azuread_auth": True,
        }
    }


def test_nothing_subscription_specific_is_hard_coded(synthesized) -> None:
    for stack, doc in synthesized.items():
        provider = doc["provider"]["azurerm"][0]
        assert not {"subscription_id", "tenant_id", "client_id", "client_secret"} & set(provider)
        assert provider["storage_use_azuread"] is True
        assert [s for s in walk_strings(doc) if GUID.search(s)] == [], f"{stack} contains a GUID"
        assert data(doc, "azurerm_client_config")


def test_pinned_providers(synthesized) -> None:
    for doc in synthesized.values():
        required = doc["terraform"]["required_providers"]
        assert required["azurerm"]["version"] == "4.55.0"
        assert required["time"] == {"source": "hashicorp/time", "version": "0.13.1"}


def test_factory_has_a_system_identity_and_sends_diagnostics_to_log_analytics(synthesized) -> None:
    for stack in (DEV, PROD):
        doc = synthesized[stack]
        fid, factory = one(doc, "azurerm_data_factory", "data-factory")
        assert factory["identity"] == {"type": "SystemAssigned"}
        _, diag = one(doc, "azurerm_monitor_diagnostic_setting", "data-factory-diagnostics")
        assert diag["target_resource_id"] == ref("azurerm_data_factory", fid, "id")
        assert diag["log_analytics_workspace_id"] == workspace_id(doc)
        assert diag["enabled_log"] == [{"category_group": "allLogs"}]
        assert diag["log_analytics_destination_type"] == "Dedicated"


def test_factory_reads_bronze_writes_silver_and_quarantine_reads_the_generator_key_and_nothing_more(synthesized) -> None:
    for stack in (DEV, PROD):
        doc = synthesized[stack]
        fid, _ = one(doc, "azurerm_data_factory", "data-factory")
        principal = ref("azurerm_data_factory", fid, "identity[0].principal_id")
        expected = [
            ("Storage Blob Data Reader", lake_container_scope(doc, "bronze")),
            ("Storage Blob Data Contributor", lake_container_scope(doc, "silver")),
            ("Storage Blob Data Contributor", lake_container_scope(doc, "quarantine")),
        ]
        if stack == DEV:  # only dev's factory calls the generator (pipeline.call_generator), so only it reads the key
            kid, _ = one(doc, "azurerm_key_vault_secret", "foundation/vault/generator-function-key")
            expected.append(("Key Vault Secrets User", ref("azurerm_key_vault_secret", kid, "resource_versionless_id")))
        else:
            assert resources(doc, "azurerm_key_vault_secret") == {}
            assert resources(doc, "azurerm_data_factory_linked_service_key_vault") == {}, "no linked service without a secret to read"
            assert data(doc, "azurerm_function_app_host_keys") == {}, "no host keys read where no key is used"
        assert sorted((role, scope) for p, role, scope in role_assignments(doc) if p == principal) == sorted(expected)


def test_no_identity_is_ever_owner_contributor_or_user_access_administrator(synthesized) -> None:
    for doc in synthesized.values():
        for _, role, _ in role_assignments(doc):
            assert role not in {"Owner", "Contributor", "User Access Administrator"}
        for block in resources(doc, "azurerm_role_assignment").values():
            assert "role_definition_id" not in block, "roles by name only, so reviews can read them"


def test_outputs_for_phase3_and_nothing_secret_in_clear(synthesized) -> None:
    wanted = {
        "resource_group_name", "storage_account_name", "storage_dfs_endpoint", "bronze_container_name", "silver_container_name",
        "quarantine_container_name", "key_vault_name", "key_vault_uri", "data_factory_name", "data_factory_id",
        "data_factory_principal_id", "function_app_name", "function_app_url", "secret_uris", "application_insights_connection_string",
    }
    secret_attr = re.compile(r"connection_string|access_key|default_function_key|primary_key|instrumentation_key")
    for doc in synthesized.values():
        outputs = doc["output"]
        assert wanted <= set(outputs), wanted - set(outputs)
        for name, output in outputs.items():
            values = list(walk_strings(output["value"]))
            if any(secret_attr.search(v) for v in values):
                assert output.get("sensitive") is True, name
        assert outputs["application_insights_connection_string"]["sensitive"] is True


def test_deployer_may_list_bronze_for_the_smoke_test(synthesized) -> None:
    for doc in synthesized.values():
        _, grant = one(doc, "azurerm_role_assignment", "foundation/storage/deployer--storage-blob-data-reader--bronze")
        assert grant["principal_id"] == "${data.azurerm_client_config.client.object_id}"
        assert grant["role_definition_name"] == "Storage Blob Data Reader"
        assert grant["scope"] == lake_container_scope(doc, "bronze")


def test_standalone_creates_the_foundation_and_existing_only_references_it(synthesized) -> None:
    dev, prod = synthesized[DEV], synthesized[PROD]
    assert len(resources(dev, "azurerm_key_vault")) == 1 and resources(prod, "azurerm_key_vault") == {}
    assert data(dev, "azurerm_key_vault") == {} and len(data(prod, "azurerm_key_vault")) == 1
    assert len(resources(dev, "azurerm_log_analytics_workspace")) == 1 and resources(prod, "azurerm_log_analytics_workspace") == {}
    assert data(prod, "azurerm_log_analytics_workspace") == {}, "that data source reads the workspace's shared keys"
    # both resource groups exist before the stack: dev's is pre-created per environment (docs/cicd.md)
    assert resources(dev, "azurerm_resource_group") == {} == resources(prod, "azurerm_resource_group")
    _, dev_rg = one(dev, "azurerm_resource_group", "foundation/resource-group", kind="data")
    assert dev_rg["name"] == "rg-emotion-dev"
    _, rg = one(prod, "azurerm_resource_group", "foundation/resource-group", kind="data")
    _, lookup = one(prod, "azurerm_resources", "foundation/workspace", kind="data")
    assert rg["name"] == "rg-emotion-prod"
    assert (lookup["name"], lookup["type"], lookup["resource_group_name"]) == (
        "log-emotion-prod", "Microsoft.OperationalInsights/workspaces", "rg-emotion-prod")
    (check,) = lookup["lifecycle"]["postcondition"]
    assert check["condition"] == "${length(self.resources) == 1}"
    assert "foundation.log_analytics_workspace_name = 'log-emotion-prod': no such Log Analytics workspace" in check["error_message"]
    _, ws = one(dev, "azurerm_log_analytics_workspace", "foundation/workspace")
    assert (ws["sku"], ws["retention_in_days"]) == ("PerGB2018", 30)
    assert ws["local_authentication_enabled"] is False and "local_authentication_disabled" not in ws
    _, audit = one(dev, "azurerm_monitor_diagnostic_setting", "foundation/workspace-diagnostics")
    assert audit["target_resource_id"] == audit["log_analytics_workspace_id"] == workspace_id(dev)
    assert audit["enabled_log"] == [{"category_group": "audit"}]
