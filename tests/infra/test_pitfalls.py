"""One test per item of ../shared/docs/azure-deploy-pitfalls.md that applies to these stacks: each
behaviour that breaks a real first apply is avoided in the synthesized JSON by construction.

Items about the silver pipeline's linked services, datasets, data flow and trigger are checked on
whatever ``SilverPipeline`` synthesizes (skipped while it does not exist yet)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time

import pytest

from .tf import DEV, PROD, depends_on, one, ref, resources, role_assignments

STACKS = (DEV, PROD)


def every(synthesized, type_):
    for stack in STACKS:
        for key, block in resources(synthesized[stack], type_).items():
            yield stack, key, block


# --- Key Vault (RBAC mode) ---------------------------------------------------------------------


def test_kv_uses_rbac_authorization_enabled_not_the_deprecated_name(synthesized) -> None:
    vaults = list(every(synthesized, "azurerm_key_vault"))
    assert vaults
    for _, _, vault in vaults:
        assert vault["rbac_authorization_enabled"] is True and "enable_rbac_authorization" not in vault


def test_kv_secrets_wait_for_rbac_propagation_with_time_sleep(synthesized) -> None:
    for stack in STACKS:
        doc = synthesized[stack]
        if not resources(doc, "azurerm_key_vault_secret"):
            continue  # prod writes no secret, so it has no role to wait for
        rid, _ = one(doc, "azurerm_role_assignment", "foundation/vault/deployer-secrets-officer")
        sid, sleep = one(doc, "time_sleep", "foundation/vault/rbac-propagation")
        assert f"azurerm_role_assignment.{rid}" in depends_on(sleep)
        assert int(re.match(r"(\d+)s", sleep["create_duration"]).group(1)) >= 30  # AVM: default 30 s, examples 60 s
        for secret in resources(doc, "azurerm_key_vault_secret").values():
            assert f"time_sleep.{sid}" in depends_on(secret)


def test_kv_deployer_has_a_data_plane_role_and_workloads_only_secrets_user_on_secrets(synthesized) -> None:
    for stack in STACKS:
        doc = synthesized[stack]
        kv_roles = [(p, r, s) for p, r, s in role_assignments(doc) if r.startswith("Key Vault")]
        officers = [t for t in kv_roles if t[1] == "Key Vault Secrets Officer"]
        writes = bool(resources(doc, "azurerm_key_vault_secret"))
        assert [p for p, _, _ in officers] == (["${data.azurerm_client_config.client.object_id}"] if writes else [])
        for principal, role, scope in kv_roles:
            if principal != "${data.azurerm_client_config.client.object_id}":
                assert role == "Key Vault Secrets User" and scope.endswith(".resource_versionless_id}"), (role, scope)


def test_kv_purge_protection_per_environment_and_no_purge_on_destroy_when_on(synthesized) -> None:
    _, vault = one(synthesized[DEV], "azurerm_key_vault", "foundation/vault/vault")
    assert vault["purge_protection_enabled"] is False
    for stack in STACKS:
        features = synthesized[stack]["provider"]["azurerm"][0]["features"][0]["key_vault"][0]
        purge_protected = stack == PROD
        assert features["purge_soft_delete_on_destroy"] is (not purge_protected)


def test_kv_secrets_have_content_type_and_expiration_date(synthesized) -> None:
    secrets = list(every(synthesized, "azurerm_key_vault_secret"))
    assert secrets
    for _, _, secret in secrets:
        assert secret.get("content_type") and secret.get("expiration_date")


def test_kv_network_acls_never_lock_out_the_terraform_runner(synthesized) -> None:
    for _, _, vault in every(synthesized, "azurerm_key_vault"):
        acls = vault["network_acls"]
        assert acls["default_action"] == "Allow" or acls.get("ip_rules"), "Deny needs the runner's address listed"


# --- Storage account / data lake -----------------------------------------------------------------


def test_containers_use_storage_account_id(synthesized) -> None:
    for _, _, container in every(synthesized, "azurerm_storage_container"):
        assert "storage_account_id" in container and "storage_account_name" not in container


def test_keyless_accounts_come_with_storage_use_azuread_and_no_data_plane_calls(synthesized) -> None:
    for stack in STACKS:
        doc = synthesized[stack]
        keyless = [a for a in resources(doc, "azurerm_storage_account").values() if a["shared_access_key_enabled"] is False]
        assert keyless, "the Function's runtime account is always keyless"
        provider = doc["provider"]["azurerm"][0]
        assert provider["storage_use_azuread"] is True
        assert provider["features"][0]["storage"] == [{"data_plane_available": False}]
        for account in keyless:
            assert not {"queue_properties", "static_website", "share_properties"} & set(account), "data-plane blocks"


def test_hns_accounts_never_enable_versioning(synthesized) -> None:
    for _, _, account in every(synthesized, "azurerm_storage_account"):
        if account["is_hns_enabled"]:
            assert account["blob_properties"]["versioning_enabled"] is False


def test_storage_secure_defaults(synthesized) -> None:
    for _, _, a in every(synthesized, "azurerm_storage_account"):
        assert a["min_tls_version"] == "TLS1_2"
        assert a["allow_nested_items_to_be_public"] is False
        assert a["https_traffic_only_enabled"] is True
        assert a["cross_tenant_replication_enabled"] is False
        assert a["blob_properties"]["delete_retention_policy"]["days"] >= 1
        assert a["blob_properties"]["container_delete_retention_policy"]["days"] >= 1


def test_secret_values_land_in_state_so_remote_state_is_entra_only(synthesized) -> None:
    backend = synthesized[PROD]["terraform"]["backend"]["azurerm"]
    assert backend["use_azuread_auth"] is True and not {"access_key", "sas_token"} & set(backend)


# --- Data Factory ----------------------------------------------------------------------------------


def test_factory_identity_and_roles(synthesized) -> None:
    for stack in STACKS:
        doc = synthesized[stack]
        fid, factory = one(doc, "azurerm_data_factory", "data-factory")
        assert factory["identity"]["type"] == "SystemAssigned"
        principal = ref("azurerm_data_factory", fid, "identity[0].principal_id")
        roles = {r for p, r, _ in role_assignments(doc) if p == principal}
        reads_key = {DEV: {"Key Vault Secrets User"}, PROD: set()}[stack]  # only dev calls the generator
        assert roles == {"Storage Blob Data Reader", "Storage Blob Data Contributor"} | reads_key


def silver_blocks(doc: dict, type_: str) -> list[dict]:
    return [b for b in resources(doc, type_).values() if "/silver/" in b["//"]["metadata"]["path"]]


def require_silver(synthesized) -> None:
    if not any("/silver/" in json.dumps(b.get("//", {})) for t in synthesized[DEV]["resource"].values() for b in t.values()):
        pytest.skip("SilverPipeline (constructs/emotion_platform/silver_pipeline.py) is not in the stack yet")


def test_blob_linked_services_use_managed_identity_with_a_storage_kind(synthesized) -> None:
    require_silver(synthesized)
    for stack in STACKS:
        doc = synthesized[stack]
        for block in silver_blocks(doc, "azurerm_data_factory_linked_service_azure_blob_storage"):
            assert block.get("use_managed_identity") is True and block.get("service_endpoint")
            assert block.get("storage_kind") == "StorageV2"
            assert "connection_string" not in block and "service_principal_id" not in block
        for block in silver_blocks(doc, "azurerm_data_factory_linked_service_data_lake_storage_gen2"):
            assert block.get("use_managed_identity") is True and "storage_account_key" not in block


def test_delimited_text_datasets_state_the_header_explicitly(synthesized) -> None:
    require_silver(synthesized)
    for stack in STACKS:
        for block in silver_blocks(synthesized[stack], "azurerm_data_factory_dataset_delimited_text"):
            assert "first_row_as_header" in block


def test_schedule_trigger_sets_frequency_and_interval_explicitly(synthesized) -> None:
    require_silver(synthesized)
    for stack in STACKS:
        triggers = silver_blocks(synthesized[stack], "azurerm_data_factory_trigger_schedule")
        assert triggers
        for trigger in triggers:
            assert trigger["frequency"] in {"Minute", "Hour", "Day", "Week", "Month"} and trigger["interval"] >= 1


def test_data_flow_script_escapes_terraform_template_syntax(synthesized) -> None:
    require_silver(synthesized)
    for stack in STACKS:
        for flow in silver_blocks(synthesized[stack], "azurerm_data_factory_data_flow"):
            script = flow.get("script", "") + "".join(flow.get("script_lines", []))
            assert not re.search(r"(?<!\$)\$\{", script) and not re.search(r"(?<!%)%\{", script)
            streams = set(re.findall(r"~>\s*(\w+)", script))
            names = [b["name"] for b in flow.get("source", []) + flow.get("sink", [])]
            assert names and set(names) <= streams, (names, sorted(streams))  # blocks named as the script's streams
        for pipeline in silver_blocks(synthesized[stack], "azurerm_data_factory_pipeline"):
            text = pipeline["activities_json"]  # the same template syntax applies to every JSON string
            assert not re.search(r"(?<!\$)\$\{", text) and not re.search(r"(?<!%)%\{", text)


def test_activities_json_keys_are_spelled_as_the_provider_reads_them_back(synthesized) -> None:
    """#25586: keys differing from the SDK's JSON tags give a diff on every plan; the checker and the
    fixture derived from azurerm v4.55.0's vendored models are in test_activities_json.py."""
    from .test_activities_json import activity_problems, pipelines

    checked = [(stack, activity_problems(acts)) for stack, _, acts in pipelines(synthesized)]
    assert checked and all(problems == [] for _, problems in checked), checked


def test_no_blob_event_trigger_so_no_event_grid_registration_is_needed(synthesized) -> None:
    """Blob event triggers need Microsoft.EventGrid registered in the subscription; the pipeline runs on a
    schedule trigger instead, so a first apply in a fresh subscription does not depend on it."""
    for stack in STACKS:
        assert resources(synthesized[stack], "azurerm_data_factory_trigger_blob_event") == {}
        assert resources(synthesized[stack], "azurerm_data_factory_trigger_schedule")


# --- Function App (Python) --------------------------------------------------------------------------


def test_function_is_flex_consumption_not_linux_function_app(synthesized) -> None:
    for stack in STACKS:
        assert resources(synthesized[stack], "azurerm_linux_function_app") == {}
        assert len(resources(synthesized[stack], "azurerm_function_app_flex_consumption")) == 1


def test_flex_code_is_deployed_by_onedeploy_not_zip_deploy_file(synthesized) -> None:
    for _, _, app in every(synthesized, "azurerm_function_app_flex_consumption"):
        assert "zip_deploy_file" not in app
    for stack in STACKS:
        _, deploy = one(synthesized[stack], "terraform_data", "generator/deploy")
        assert "deployment source config-zip" in deploy["provisioner"][0]["local-exec"]["command"]


def test_key_vault_references_are_resolvable_when_the_code_starts(synthesized) -> None:
    """System identity + grant only exist after the app (provider #13388): the code deployment, which
    restarts the host and re-resolves the references, waits for the grant to propagate; everything the
    host needs before that goes through the user-assigned identity, authorized before the app."""
    doc = synthesized[DEV]
    gid, _ = one(doc, "azurerm_role_assignment", "foundation/vault/generator-app--key-vault-secrets-user--bronze-storage-connection-string")
    sid, sleep = one(doc, "time_sleep", "generator/rbac-propagation")
    assert f"azurerm_role_assignment.{gid}" in depends_on(sleep)
    _, deploy = one(doc, "terraform_data", "generator/deploy")
    assert depends_on(deploy) == [f"time_sleep.{sid}"]
    _, app = one(doc, "azurerm_function_app_flex_consumption", "generator/app")
    assert "UserAssigned" in app["identity"]["type"] and depends_on(app)


def test_identity_based_host_storage_has_the_full_setting_set(synthesized) -> None:
    for _, _, app in every(synthesized, "azurerm_function_app_flex_consumption"):
        s = app["app_settings"]
        assert s["AzureWebJobsStorage__credential"] == "managedidentity"
        assert s["AzureWebJobsStorage__accountName"] and s["AzureWebJobsStorage__clientId"]
    # azurerm writes a key-based AzureWebJobsStorage anyway (provider #29693): the deploy step removes it
    for stack in STACKS:
        _, deploy = one(synthesized[stack], "terraform_data", "generator/deploy")
        command = deploy["provisioner"][0]["local-exec"]["command"]
        assert "appsettings delete" in command and "--setting-names AzureWebJobsStorage" in command
        assert command.index("appsettings delete") < command.index("config-zip")


def test_flex_instance_memory_is_a_size_flex_offers(synthesized) -> None:
    for _, _, app in every(synthesized, "azurerm_function_app_flex_consumption"):
        assert app["instance_memory_in_mb"] in (512, 2048, 4096)


def test_function_secure_defaults(synthesized) -> None:
    for _, _, app in every(synthesized, "azurerm_function_app_flex_consumption"):
        assert app["https_only"] is True
        assert app["site_config"]["minimum_tls_version"] == "1.2"
        assert app["site_config"]["remote_debugging_enabled"] is False
        assert app["webdeploy_publish_basic_authentication_enabled"] is False
        assert app["site_config"]["application_insights_connection_string"].startswith("${azurerm_application_insights.")


# --- Second round (azurerm v4.55.0's code, the az CLI, the time provider) ----------------------------


def _deploy_step(doc: dict) -> tuple[str, dict]:
    _, deploy = one(doc, "terraform_data", "generator/deploy")
    local_exec = deploy["provisioner"][0]["local-exec"]
    return local_exec["command"], local_exec["environment"]


FAKE_AZ = """#!/bin/sh
# Stand-in for the az CLI: logs its arguments; `config-zip` behaves like a Flex host that never gets healthy.
echo "$*" >> "$AZ_LOG"
case "$*" in *config-zip*) exec sleep 600 ;; esac
"""


def _run_deploy_step(doc: dict, tmp_path, *, timeout_s: str) -> tuple[subprocess.CompletedProcess, list[str], float]:
    command, environment = _deploy_step(doc)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "az").write_text(FAKE_AZ)
    (bin_dir / "az").chmod(0o755)
    log = tmp_path / "az.log"
    env = {**os.environ, **{k: f"<{k}>" for k in environment}, "DEPLOY_TIMEOUT": timeout_s,
           "PATH": f"{bin_dir}:{os.environ['PATH']}", "AZ_LOG": str(log)}
    started = time.monotonic()
    proc = subprocess.run(["/bin/sh", "-c", command], env=env, capture_output=True, text=True, timeout=90)
    return proc, log.read_text().splitlines(), time.monotonic() - started


def test_flex_code_deployment_is_bounded_and_says_what_to_look_at(synthesized, tmp_path) -> None:
    """config-zip's Flex host-health poll never gives up and local-exec has no timeout: the step must end
    by itself (coreutils `timeout`) with a message, not hang the apply."""
    for stack in STACKS:
        command, environment = _deploy_step(synthesized[stack])
        assert 60 <= int(environment["DEPLOY_TIMEOUT"]) <= 7200
        assert re.search(r'"\$TIMEOUT_CMD" --kill-after=\d+ "\$DEPLOY_TIMEOUT" \\\n\s+az functionapp deployment source config-zip', command)
    proc, calls, elapsed = _run_deploy_step(synthesized[DEV], tmp_path, timeout_s="2")
    assert proc.returncode == 124 and elapsed < 30, (proc.returncode, elapsed, proc.stderr)
    assert "did not finish within 2 s" in proc.stderr and "Application Insights" in proc.stderr
    assert any("config-zip" in call for call in calls)


def test_deploy_step_removes_both_reinjected_key_based_settings_first(synthesized, tmp_path) -> None:
    """azurerm 4.55 re-injects AzureWebJobsStorage and DEPLOYMENT_STORAGE_CONNECTION_STRING with an empty
    key on every update of a Flex app (#30732, #29149): both are deleted before the code is deployed."""
    _, calls, _ = _run_deploy_step(synthesized[DEV], tmp_path, timeout_s="1")
    delete = next(i for i, c in enumerate(calls) if "appsettings delete" in c)
    deploy = next(i for i, c in enumerate(calls) if "config-zip" in c)
    names = calls[delete].split("--setting-names ")[1].split(" --")[0].split()
    assert {"AzureWebJobsStorage", "DEPLOYMENT_STORAGE_CONNECTION_STRING"} <= set(names) and delete < deploy


def test_host_keys_data_source_rejects_an_empty_default_key(synthesized) -> None:
    """Without a `default` function key the data source returns "" and no error (#29006): a postcondition
    stops the apply before the empty value reaches Key Vault."""
    for stack in (DEV,):  # prod reads no host keys: its factory never calls the generator
        doc = synthesized[stack]
        hid, keys = one(doc, "azurerm_function_app_host_keys", "generator/host-keys", kind="data")
        (post,) = keys["lifecycle"]["postcondition"]
        condition = post["condition"]
        assert re.fullmatch(r'\$\{self\.default_function_key != null && self\.default_function_key != ""\}', condition)
        assert "default function key" in post["error_message"] and "${" not in post["error_message"]
        secret = [s for s in resources(doc, "azurerm_key_vault_secret").values()
                  if s["value"] == ref("azurerm_function_app_host_keys", hid, "default_function_key", kind="data")]
        assert len(secret) == 1  # the key that is checked is the one written to Key Vault


def test_every_rbac_wait_is_replaced_when_a_role_assignment_it_waits_for_is(synthesized) -> None:
    """time_sleep waits only when created: its triggers carry the id of every role assignment it depends
    on, so replacing one (new deployer, replaced identity) makes the next apply wait again."""
    sleeps = list(every(synthesized, "time_sleep"))
    assert {stack for stack, _, _ in sleeps} == set(STACKS)
    for stack, key, sleep in sleeps:
        awaited = [d.split(".", 1)[1] for d in depends_on(sleep) if d.startswith("azurerm_role_assignment.")]
        triggers = set(sleep.get("triggers", {}).values())
        assert awaited, key
        for rid in awaited:
            assert ref("azurerm_role_assignment", rid, "id") in triggers, (stack, key, rid)
        for rid in awaited:
            principal = resources(synthesized[stack], "azurerm_role_assignment")[rid]["principal_id"]
            assert principal in triggers, (stack, key, principal)


def test_pipeline_yaml_passes_the_official_schema_as_the_editor_reads_it() -> None:
    """`fetchDepth: 1` and inputs the schema does not know are flagged by the editor extension's schema;
    the validator and the vendored schema are in tests/pipeline/test_schema.py."""
    from tests.pipeline.test_schema import PIPELINE_FILES, validate

    assert {f: d for f, d in validate(*PIPELINE_FILES).items() if d} == {}
