"""GeneratorFunction: Flex Consumption, identities, secure site settings, app settings (Key Vault
references only), identity-based host storage, and code deployed in the same apply."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from emotion_events import app_settings as names

from .tf import DEV, PROD, data, depends_on, lake_container_scope, one, ref, resources, workspace_id

STACKS = (DEV, PROD)


def app_of(doc: dict) -> tuple[str, dict]:
    return one(doc, "azurerm_function_app_flex_consumption", "generator/app")


def test_flex_consumption_plan_and_python_runtime(synthesized) -> None:
    for stack in STACKS:
        doc = synthesized[stack]
        assert resources(doc, "azurerm_linux_function_app") == {}
        pid, plan = one(doc, "azurerm_service_plan", "generator/plan")
        assert (plan["sku_name"], plan["os_type"]) == ("FC1", "Linux")
        _, app = app_of(doc)
        assert app["service_plan_id"] == ref("azurerm_service_plan", pid, "id")
        assert (app["runtime_name"], app["runtime_version"]) == ("python", "3.11")
        assert app["instance_memory_in_mb"] in (512, 2048, 4096)


def test_site_is_https_only_tls12_no_remote_debugging_no_basic_auth(synthesized) -> None:
    for stack in STACKS:
        _, app = app_of(synthesized[stack])
        assert app["https_only"] is True
        assert app["webdeploy_publish_basic_authentication_enabled"] is False
        site = app["site_config"]
        assert site["minimum_tls_version"] == "1.2" and site["scm_minimum_tls_version"] == "1.2"
        assert site["remote_debugging_enabled"] is False
        # Flex Consumption has no FTP endpoint; nothing may try to configure one
        assert not [k for k in (*app, *site) if "ftp" in k.lower()]


def test_workspace_based_application_insights_with_entra_auth(synthesized) -> None:
    for stack in STACKS:
        doc = synthesized[stack]
        iid, insights = one(doc, "azurerm_application_insights", "generator/insights")
        assert insights["workspace_id"] == workspace_id(doc)
        assert insights["local_authentication_disabled"] is True
        uid, _ = one(doc, "azurerm_user_assigned_identity", "generator/identity")
        _, app = app_of(doc)
        assert app["site_config"]["application_insights_connection_string"] == ref("azurerm_application_insights", iid, "connection_string")
        assert app["app_settings"]["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == f"ClientId={ref('azurerm_user_assigned_identity', uid, 'client_id')};Authorization=AAD"
        _, publisher = one(doc, "azurerm_role_assignment", "generator/insights-publisher")
        assert (publisher["role_definition_name"], publisher["scope"]) == ("Monitoring Metrics Publisher", ref("azurerm_application_insights", iid, "id"))


def test_identities_user_assigned_authorized_before_the_app(synthesized) -> None:
    for stack in STACKS:
        doc = synthesized[stack]
        uid, _ = one(doc, "azurerm_user_assigned_identity", "generator/identity")
        _, app = app_of(doc)
        assert app["identity"] == {"type": "SystemAssigned, UserAssigned", "identity_ids": [ref("azurerm_user_assigned_identity", uid, "id")]}
        uai_grants = {
            k for k, v in resources(doc, "azurerm_role_assignment").items() if v["principal_id"] == ref("azurerm_user_assigned_identity", uid, "principal_id")
        }
        assert {f"azurerm_role_assignment.{k}" for k in uai_grants} == set(depends_on(app))


def test_host_storage_is_keyless_and_identity_based(synthesized) -> None:
    for stack in STACKS:
        doc = synthesized[stack]
        sid, account = one(doc, "azurerm_storage_account", "generator/runtime-storage")
        assert account["shared_access_key_enabled"] is False and account["is_hns_enabled"] is False
        assert account["min_tls_version"] == "TLS1_2" and account["allow_nested_items_to_be_public"] is False
        cid, _ = one(doc, "azurerm_storage_container", "generator/package-container")
        uid, _ = one(doc, "azurerm_user_assigned_identity", "generator/identity")
        _, app = app_of(doc)
        settings = app["app_settings"]
        assert settings["AzureWebJobsStorage__accountName"] == ref("azurerm_storage_account", sid, "name")
        assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
        assert settings["AzureWebJobsStorage__clientId"] == ref("azurerm_user_assigned_identity", uid, "client_id")
        assert "AzureWebJobsStorage" not in settings
        assert app["storage_authentication_type"] == "UserAssignedIdentity"
        assert app["storage_user_assigned_identity_id"] == ref("azurerm_user_assigned_identity", uid, "id")
        assert app["storage_container_endpoint"] == ref("azurerm_storage_account", sid, "primary_blob_endpoint") + ref("azurerm_storage_container", cid, "name")
        assert "storage_access_key" not in app
        _, owner = one(doc, "azurerm_role_assignment", "generator/host-storage-owner")
        assert (owner["role_definition_name"], owner["scope"]) == ("Storage Blob Data Owner", ref("azurerm_storage_account", sid, "id"))


def test_every_app_setting_the_function_reads_is_set(synthesized) -> None:
    expected = {names.BRONZE_ACCOUNT_URL, names.MANAGED_IDENTITY_CLIENT_ID, *names.DEFAULTS}
    for stack in STACKS:
        _, app = app_of(synthesized[stack])
        settings = app["app_settings"]
        assert expected <= set(settings), expected - set(settings)
        assert settings[names.SCHEDULE] == "0 0 * * * *"
        assert settings[names.BRONZE_CONTAINER] == "bronze"
        assert float(settings[names.DIRTY_RATIO]) == 0.05
    assert names.BRONZE_CONNECTION_STRING in app_of(synthesized[DEV])[1]["app_settings"]
    assert names.BRONZE_CONNECTION_STRING not in app_of(synthesized[PROD])[1]["app_settings"], "identity mode: the URL and identity only"


def test_no_app_setting_carries_a_secret(synthesized) -> None:
    secretish = re.compile(r"primary_connection_string|primary_access_key|secondary_|AccountKey=|SharedAccessSignature|default_function_key|instrumentation_key")
    for stack in STACKS:
        _, app = app_of(synthesized[stack])
        for key, value in app["app_settings"].items():
            assert not secretish.search(value), f"{stack}: {key} = {value}"
            if "CONNECTION_STRING" in key:
                assert value.startswith("@Microsoft.KeyVault(SecretUri="), key


def test_identity_mode_grants_bronze_write_to_the_workload_identity(synthesized) -> None:
    doc = synthesized[PROD]
    uid, _ = one(doc, "azurerm_user_assigned_identity", "generator/identity")
    _, grant = one(doc, "azurerm_role_assignment", "foundation/storage/generator-identity--storage-blob-data-contributor--bronze")
    assert grant["principal_id"] == ref("azurerm_user_assigned_identity", uid, "principal_id")
    assert grant["role_definition_name"] == "Storage Blob Data Contributor"
    assert grant["scope"] == lake_container_scope(doc, "bronze")
    _, app = app_of(doc)
    # Phase 1's endpoint from its name: no data source that lists the account's keys
    assert app["app_settings"][names.BRONZE_ACCOUNT_URL] == "https://stemotionprod01.blob.core.windows.net/"
    assert data(doc, "azurerm_storage_account") == {}
    assert app["app_settings"][names.MANAGED_IDENTITY_CLIENT_ID] == ref("azurerm_user_assigned_identity", uid, "client_id")
    # connection-string mode: no storage role for the Function on the data lake at all
    assert not [r for r in resources(synthesized[DEV], "azurerm_role_assignment").values() if "generator-identity--" in r["//"]["metadata"]["path"]]


def test_key_vault_references_resolve_with_an_authorized_system_identity(synthesized) -> None:
    doc = synthesized[DEV]
    fid, _ = app_of(doc)
    _, grant = one(doc, "azurerm_role_assignment", "foundation/vault/generator-app--key-vault-secrets-user--bronze-storage-connection-string")
    assert grant["principal_id"] == ref("azurerm_function_app_flex_consumption", fid, "identity[0].principal_id")
    assert grant["role_definition_name"] == "Key Vault Secrets User"


def test_code_is_deployed_in_the_same_apply_after_rbac_propagation(synthesized, synth_outdir: Path) -> None:
    for stack in STACKS:
        doc = synthesized[stack]
        fid, _ = app_of(doc)
        sid, sleep = one(doc, "time_sleep", "generator/rbac-propagation")
        grants = {f"azurerm_role_assignment.{k}" for k, v in resources(doc, "azurerm_role_assignment").items() if "/generator/" in v["//"]["metadata"]["path"] or "generator-app--" in k or "generator-identity--" in k}
        assert grants <= set(depends_on(sleep)) and f"azurerm_function_app_flex_consumption.{fid}" in depends_on(sleep)
        did, deploy = one(doc, "terraform_data", "generator/deploy")
        assert depends_on(deploy) == [f"time_sleep.{sid}"]
        exec_ = deploy["provisioner"][0]["local-exec"]
        assert "az functionapp deployment source config-zip" in exec_["command"] and "--build-remote true" in exec_["command"]
        assert "set -eu" in exec_["command"]
        src = exec_["environment"]["SRC"]
        assert re.fullmatch(r"assets/generator_code_\w+/([0-9A-F]{32})/function_app\.zip", src)
        assert deploy["triggers_replace"]["code"] == src.split("/")[2], "redeploys exactly when the archive changes"
        assert deploy["lifecycle"]["replace_triggered_by"] == [f"azurerm_function_app_flex_consumption.{fid}"], (
            "any update of the app re-runs the step that removes the re-injected AzureWebJobsStorage (provider #29149)"
        )
        assert exec_["environment"]["APP"] == ref("azurerm_function_app_flex_consumption", fid, "name")
        assert exec_["environment"]["SUBSCRIPTION"] == "${data.azurerm_client_config.client.subscription_id}"
        assert (synth_outdir / "stacks" / stack / src).is_file()
        if stack == DEV:  # the only stack whose factory uses the function key
            _, keys = one(doc, "azurerm_function_app_host_keys", "generator/host-keys", kind="data")
            assert depends_on(keys) == [f"terraform_data.{did}"], "function keys are read once the code runs"
        else:
            assert data(doc, "azurerm_function_app_host_keys") == {}, "host keys (master key included) are not read into prod's state"
        _, app = app_of(doc)
        assert "zip_deploy_file" not in app


def test_archive_holds_the_function_app_without_what_funcignore_excludes(synthesized, synth_outdir: Path) -> None:
    from emotion_platform.function_package import ALWAYS_EXCLUDED  # noqa: F401  (documents the rule)

    _, deploy = one(synthesized[DEV], "terraform_data", "generator/deploy")
    archive = synth_outdir / "stacks" / DEV / deploy["provisioner"][0]["local-exec"]["environment"]["SRC"]
    with zipfile.ZipFile(archive) as zf:
        files = [n for n in zf.namelist() if not n.endswith("/")]
    assert "host.json" in files and "function_app.py" in files
    assert "emotion_events/contract.json" in files and "emotion_events/app_settings.py" in files
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc") or f == "local.settings.json" or f.startswith(".venv/")]
    assert ".funcignore" not in files


def test_the_app_and_its_runtime_storage_send_diagnostics_to_the_workspace(synthesized) -> None:
    for stack in STACKS:
        doc = synthesized[stack]
        fid, _ = app_of(doc)
        rid, _ = one(doc, "azurerm_storage_account", "generator/runtime-storage")
        _, app = one(doc, "azurerm_monitor_diagnostic_setting", "generator/app-diagnostics")
        assert app["target_resource_id"] == ref("azurerm_function_app_flex_consumption", fid, "id")
        assert app["enabled_log"] == [{"category_group": "allLogs"}] and app["enabled_metric"] == [{"category": "AllMetrics"}]
        _, blob = one(doc, "azurerm_monitor_diagnostic_setting", "generator/runtime-blob-diagnostics")
        assert blob["target_resource_id"] == ref("azurerm_storage_account", rid, "id") + "/blobServices/default"
        assert blob["enabled_metric"] == [{"category": "Transaction"}]
        for setting in (app, blob):
            assert setting["log_analytics_workspace_id"] == workspace_id(doc)
            assert "storage_account_id" not in setting, "keyless: no classic analytics storage"
