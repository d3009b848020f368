"""Each construct on a bare stack with only its required props (issue 16, requirement 4).

The Phase 2 stacks pass every value explicitly, so a default flipped in a construct would pass their
tests; a Phase 3 app that relies on the defaults would not. These tests synthesize the constructs
alone, in the manner of aws-cdk's per-construct tests, and assert each secure default.
"""

from __future__ import annotations

import json
import re

import pytest

import emotion_platform  # noqa: F401  (JSII_NODE before cdktf)

TENANT = "11111111-2222-3333-4444-555555555555"
SUBSCRIPTION = "66666666-7777-8888-9999-000000000000"
WORKSPACE = "/subscriptions/" + SUBSCRIPTION + "/resourceGroups/rg-bare/providers/Microsoft.OperationalInsights/workspaces/log-bare"


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


# -- GeneratorFunction ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bare_function() -> dict:
    """A GeneratorFunction with its required props only, writing to a bare SilverStorage's bronze."""
    from cdktf import TerraformStack, Testing
    from cdktf_cdktf_provider_azurerm.provider import AzurermProvider, AzurermProviderFeatures

    from emotion_platform import GeneratorFunction, SilverStorage

    stack = TerraformStack(Testing.app(), "bare-function")
    AzurermProvider(stack, "azurerm", features=[AzurermProviderFeatures()])
    lake = SilverStorage(stack, "lake", name="stbare01", resource_group_name="rg-bare", location="westeurope")
    GeneratorFunction(
        stack,
        "generator",
        name="func-bare-01",
        resource_group_name="rg-bare",
        location="westeurope",
        subscription_id=SUBSCRIPTION,
        log_analytics_workspace_id=WORKSPACE,
        runtime_storage_account_name="stbarefn01",
        bronze=lake.container("bronze"),
    )
    return json.loads(Testing.synth(stack))


def _at(doc: dict, kind: str, path: str) -> tuple[str, dict]:
    """(logical id, block) of the one ``kind`` at construct path ``path`` below the stack (Testing.synth
    writes no metadata: cdktf's logical id is the path joined by "_" plus an 8-digit hash)."""
    pattern = re.compile(re.escape(path.replace("/", "_")) + r"_[0-9A-F]{8}")
    found = [(k, v) for k, v in doc["resource"].get(kind, {}).items() if pattern.fullmatch(k)]
    assert len(found) == 1, f"{kind} at */{path}: {len(found)}"
    return found[0]


def _ref(kind: str, logical_id: str, attribute: str) -> str:
    return "${" + f"{kind}.{logical_id}.{attribute}" + "}"


def _app(doc: dict) -> dict:
    return _only(doc, "azurerm_function_app_flex_consumption")


def test_function_defaults_to_keyless_bronze_through_its_identity(bare_function: dict) -> None:
    """storage_mode defaults to "identity": no vault or secret needed, no connection string anywhere,
    and the workload identity is granted what it writes with (Blob Data Contributor on bronze only)."""
    from emotion_events import app_settings as names

    uid, _ = _at(bare_function, "azurerm_user_assigned_identity", "generator/identity")
    settings = _app(bare_function)["app_settings"]
    assert names.BRONZE_CONNECTION_STRING not in settings
    assert settings[names.BRONZE_ACCOUNT_URL] == _ref("azurerm_storage_account", _at(bare_function, "azurerm_storage_account", "lake/account")[0], "primary_blob_endpoint")
    assert settings[names.MANAGED_IDENTITY_CLIENT_ID] == _ref("azurerm_user_assigned_identity", uid, "client_id")
    assert settings[names.BRONZE_CONTAINER] == "bronze"
    writers = [r for r in bare_function["resource"]["azurerm_role_assignment"].values()
               if r["role_definition_name"] == "Storage Blob Data Contributor"]
    assert len(writers) == 1
    (writer,) = writers
    assert writer["principal_id"] == _ref("azurerm_user_assigned_identity", uid, "principal_id")
    bronze_id, _ = _at(bare_function, "azurerm_storage_container", "lake/bronze")
    assert writer["scope"].endswith("/blobServices/default/containers/" + _ref("azurerm_storage_container", bronze_id, "name"))
    assert "azurerm_key_vault_secret" not in bare_function["resource"]


def test_function_grants_exactly_what_it_needs_and_nothing_on_key_vault(bare_function: dict) -> None:
    uid, _ = _at(bare_function, "azurerm_user_assigned_identity", "generator/identity")
    sid, _ = _at(bare_function, "azurerm_storage_account", "generator/runtime-storage")
    iid, _ = _at(bare_function, "azurerm_application_insights", "generator/insights")
    grants = {(r["principal_id"], r["role_definition_name"], r["scope"].split("/blobServices/")[0])
              for r in bare_function["resource"]["azurerm_role_assignment"].values()}
    principal = _ref("azurerm_user_assigned_identity", uid, "principal_id")
    lake_id, _ = _at(bare_function, "azurerm_storage_account", "lake/account")
    assert grants == {
        (principal, "Storage Blob Data Owner", _ref("azurerm_storage_account", sid, "id")),
        (principal, "Monitoring Metrics Publisher", _ref("azurerm_application_insights", iid, "id")),
        (principal, "Storage Blob Data Contributor", _ref("azurerm_storage_account", lake_id, "id")),
    }
    # the RBAC wait covers every grant, and is 60 s
    _, sleep = _at(bare_function, "time_sleep", "generator/rbac-propagation")
    assert sleep["create_duration"] == "60s"
    assert {f"azurerm_role_assignment.{k}" for k in bare_function["resource"]["azurerm_role_assignment"]} <= set(sleep["depends_on"])


def test_function_defaults_are_https_only_tls12_no_remote_debugging_no_basic_auth(bare_function: dict) -> None:
    app = _app(bare_function)
    assert app["https_only"] is True
    assert app["webdeploy_publish_basic_authentication_enabled"] is False
    site = app["site_config"]
    assert site["minimum_tls_version"] == "1.2"
    assert site["scm_minimum_tls_version"] == "1.2"
    assert site["remote_debugging_enabled"] is False
    assert site["http2_enabled"] is True
    # Flex Consumption has no FTP(S) endpoint: nothing configures one (so nothing can turn it on)
    assert not [k for k in (*app, *site) if "ftp" in k.lower()]
    # public by design: Data Factory calls it over the internet with a function key (no private endpoint)
    assert app["public_network_access_enabled"] is True
    assert app["client_certificate_mode"] == "Optional"


def test_function_host_storage_is_keyless_and_private(bare_function: dict) -> None:
    uid, _ = _at(bare_function, "azurerm_user_assigned_identity", "generator/identity")
    sid, account = _at(bare_function, "azurerm_storage_account", "generator/runtime-storage")
    assert account["shared_access_key_enabled"] is False
    assert account["min_tls_version"] == "TLS1_2" and account["https_traffic_only_enabled"] is True
    assert account["allow_nested_items_to_be_public"] is False
    assert account["default_to_oauth_authentication"] is True
    _, package = _at(bare_function, "azurerm_storage_container", "generator/package-container")
    assert package["container_access_type"] == "private"
    app = _app(bare_function)
    settings = app["app_settings"]
    assert settings["AzureWebJobsStorage__accountName"] == _ref("azurerm_storage_account", sid, "name")
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert settings["AzureWebJobsStorage__clientId"] == _ref("azurerm_user_assigned_identity", uid, "client_id")
    assert "AzureWebJobsStorage" not in settings
    assert app["storage_authentication_type"] == "UserAssignedIdentity"
    assert app["storage_user_assigned_identity_id"] == _ref("azurerm_user_assigned_identity", uid, "id")
    assert "storage_access_key" not in app
    assert app["identity"]["type"] == "SystemAssigned, UserAssigned"


def test_function_telemetry_uses_entra_id_and_goes_to_the_workspace(bare_function: dict) -> None:
    _, insights = _at(bare_function, "azurerm_application_insights", "generator/insights")
    assert insights["local_authentication_disabled"] is True
    assert insights["workspace_id"] == WORKSPACE
    assert _app(bare_function)["app_settings"]["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"].endswith(";Authorization=AAD")
    settings = bare_function["resource"]["azurerm_monitor_diagnostic_setting"]
    assert sorted(settings) == [_at(bare_function, "azurerm_monitor_diagnostic_setting", p)[0]
                                for p in ("generator/app-diagnostics", "generator/runtime-blob-diagnostics")]
    targets = [d["log_analytics_workspace_id"] for d in settings.values()]
    assert targets == [WORKSPACE, WORKSPACE]


def test_function_defaults_runtime_size_and_deployment(bare_function: dict) -> None:
    app = _app(bare_function)
    assert (app["runtime_name"], app["runtime_version"]) == ("python", "3.11")
    assert (app["instance_memory_in_mb"], app["maximum_instance_count"]) == (2048, 40)
    _, deploy = _at(bare_function, "terraform_data", "generator/deploy")
    assert deploy["provisioner"][0]["local-exec"]["environment"]["DEPLOY_TIMEOUT"] == "1800"
    # host keys (the master key too) are read into state only when default_function_key is used
    assert "azurerm_function_app_host_keys" not in bare_function.get("data", {})


def test_a_connection_secret_without_the_mode_is_refused_not_ignored() -> None:
    """The default used to be "connection_string": an app passing a secret and no mode gets a clear
    error naming the property, not a silent switch to identity mode with its secret unused."""
    from cdktf import TerraformStack, Testing

    from emotion_platform import GeneratorFunction, SecretsVault, SilverStorage
    from emotion_platform.validation import ValidationError

    stack = TerraformStack(Testing.app(), "bare-secret")
    lake = SilverStorage(stack, "lake", name="stbare01", resource_group_name="rg-bare", location="westeurope")
    vault = SecretsVault(stack, "vault", name="kv-bare-01", resource_group_name="rg-bare", location="westeurope", tenant_id=TENANT)
    secret = vault.add_secret("bronze", name="bronze-connection", value="${var.x}", content_type="text/plain")
    props = dict(name="func-bare-01", resource_group_name="rg-bare", location="westeurope", subscription_id=SUBSCRIPTION,
                 log_analytics_workspace_id=WORKSPACE, runtime_storage_account_name="stbarefn01", bronze=lake.container("bronze"),
                 vault=vault, bronze_connection_secret=secret)
    with pytest.raises(ValidationError, match=r"^GeneratorFunction.bronze_connection_secret = .*storage_mode='connection_string'"):
        GeneratorFunction(stack, "generator", **props)
    assert stack.node.try_find_child("generator") is None
    GeneratorFunction(stack, "generator", storage_mode="connection_string", **props)  # the explicit mode works
