"""SecretsVault: RBAC mode, deployer role before secrets, propagation wait, content type and expiry,
per-secret Secrets User grants, Key Vault references."""

from __future__ import annotations

import re

from .tf import DEV, PROD, data, depends_on, one, ref, resources


def test_standalone_vault_is_rbac_mode_with_environment_purge_protection(synthesized) -> None:
    _, vault = one(synthesized[DEV], "azurerm_key_vault", "foundation/vault/vault")
    assert vault["rbac_authorization_enabled"] is True
    assert "enable_rbac_authorization" not in vault and "access_policy" not in vault
    assert vault["purge_protection_enabled"] is False  # dev.toml
    assert vault["soft_delete_retention_days"] == 7
    assert vault["sku_name"] == "standard"
    assert vault["tenant_id"] == "${data.azurerm_client_config.client.tenant_id}"
    assert vault["network_acls"] == {"bypass": "AzureServices", "default_action": "Allow"}


def test_provider_purges_on_destroy_only_without_purge_protection(synthesized) -> None:
    for stack, purge in ((DEV, True), (PROD, False)):
        features = synthesized[stack]["provider"]["azurerm"][0]["features"][0]
        assert features["key_vault"][0]["purge_soft_delete_on_destroy"] is purge


def test_existing_vault_is_a_data_source_and_nothing_is_created(synthesized) -> None:
    doc = synthesized[PROD]
    assert resources(doc, "azurerm_key_vault") == {}
    vid, vault = one(doc, "azurerm_key_vault", "foundation/vault/vault", kind="data")
    assert vault["name"] == "kv-emotion-prod-01"
    # prod writes no secret (identity mode, no generator call): the deployer gets no Key Vault role, no wait
    assert resources(doc, "azurerm_key_vault_secret") == {}
    assert not [r for r in resources(doc, "azurerm_role_assignment").values() if r["role_definition_name"].startswith("Key Vault")]
    assert not [s for s in resources(doc, "time_sleep").values() if "/foundation/vault/" in s["//"]["metadata"]["path"]]
    assert not resources(doc, "time_rotating")


def test_deployer_gets_secrets_officer_then_a_wait_then_every_secret(synthesized) -> None:
    for stack in (DEV,):
        doc = synthesized[stack]
        rid, role = one(doc, "azurerm_role_assignment", "foundation/vault/deployer-secrets-officer")
        assert role["role_definition_name"] == "Key Vault Secrets Officer"
        assert role["principal_id"] == "${data.azurerm_client_config.client.object_id}"
        assert "principal_type" not in role  # a user on a laptop or a service principal in CI
        sid, sleep = one(doc, "time_sleep", "foundation/vault/rbac-propagation")
        assert depends_on(sleep) == [f"azurerm_role_assignment.{rid}"]
        assert sleep["create_duration"] == "60s"
        secrets = resources(doc, "azurerm_key_vault_secret")
        assert secrets
        for secret in secrets.values():
            assert f"time_sleep.{sid}" in depends_on(secret), secret["name"]


def test_secrets_have_content_type_and_an_expiry_that_renews(synthesized) -> None:
    doc = synthesized[DEV]
    tid, rotating = one(doc, "time_rotating", "foundation/vault/secret-expiry")
    assert rotating["rotation_days"] == 365
    for secret in resources(doc, "azurerm_key_vault_secret").values():
        assert secret["content_type"].startswith("text/plain")
        if secret["name"] == "bronze-storage-connection-string":  # expires with the SAS it holds
            _, sas = one(doc, "azurerm_storage_account_blob_container_sas", "foundation/storage/bronze-write-sas", kind="data")
            assert secret["expiration_date"] == sas["expiry"]
        else:
            assert secret["expiration_date"] == ref("time_rotating", tid, "rotation_rfc3339")


def test_which_secrets_are_written_per_storage_mode(synthesized) -> None:
    names = {stack: sorted(s["name"] for s in resources(synthesized[stack], "azurerm_key_vault_secret").values()) for stack in (DEV, PROD)}
    # dev: connection-string design and a factory that calls the generator; prod: keyless, no call.
    assert names[DEV] == ["bronze-storage-connection-string", "generator-function-key"]
    assert names[PROD] == []
    doc = synthesized[DEV]
    _, conn = one(doc, "azurerm_key_vault_secret", "foundation/vault/bronze-connection-string")
    aid, _ = one(doc, "azurerm_storage_account", "foundation/storage/account")
    sid, _ = one(doc, "azurerm_storage_account_blob_container_sas", "foundation/storage/bronze-write-sas", kind="data")
    # a container SAS, never the account's key or its connection string
    assert conn["value"] == ("BlobEndpoint=" + ref("azurerm_storage_account", aid, "primary_blob_endpoint")
                             + ";SharedAccessSignature=${trimprefix(data.azurerm_storage_account_blob_container_sas." + sid + '.sas, "?")}')
    assert "primary_access_key" not in str(doc["resource"]["azurerm_key_vault_secret"])
    _, key = one(doc, "azurerm_key_vault_secret", "foundation/vault/generator-function-key")
    hid, _ = one(doc, "azurerm_function_app_host_keys", "generator/host-keys", kind="data")
    assert key["value"] == ref("azurerm_function_app_host_keys", hid, "default_function_key", kind="data")


def test_grant_read_is_secrets_user_on_one_secret(synthesized) -> None:
    doc = synthesized[DEV]
    for role in resources(doc, "azurerm_role_assignment").values():
        if role["role_definition_name"] == "Key Vault Secrets User":
            assert re.fullmatch(r"\$\{azurerm_key_vault_secret\.[\w-]+\.resource_versionless_id\}", role["scope"]), role["scope"]
            assert role["principal_type"] == "ServicePrincipal"


def test_app_settings_reference_secrets_by_versionless_uri(synthesized) -> None:
    doc = synthesized[DEV]
    _, app = one(doc, "azurerm_function_app_flex_consumption", "generator/app")
    sid, _ = one(doc, "azurerm_key_vault_secret", "foundation/vault/bronze-connection-string")
    assert app["app_settings"]["BRONZE_STORAGE_CONNECTION_STRING"] == (
        "@Microsoft.KeyVault(SecretUri=" + ref("azurerm_key_vault_secret", sid, "versionless_id") + ")"
    )


def test_standalone_vault_sends_audit_logs_to_the_workspace(synthesized) -> None:
    doc = synthesized[DEV]
    vid, _ = one(doc, "azurerm_key_vault", "foundation/vault/vault")
    wid, _ = one(doc, "azurerm_log_analytics_workspace", "foundation/workspace")
    _, diag = one(doc, "azurerm_monitor_diagnostic_setting", "foundation/vault/diagnostics")
    assert diag["target_resource_id"] == ref("azurerm_key_vault", vid, "id")
    assert diag["log_analytics_workspace_id"] == ref("azurerm_log_analytics_workspace", wid, "id")
    assert diag["enabled_log"] == [{"category_group": "audit"}]
    assert data(synthesized[PROD], "azurerm_key_vault")  # Phase 1 owns its vault's diagnostics
