"""``SilverPipeline`` synthesized once in a minimal stack (provider + a plain Data Factory), with property
assertions on what Azure will receive."""

from __future__ import annotations

import json
import re

import pytest

import emotion_platform  # noqa: F401  (JSII_NODE before cdktf)
from emotion_platform.pipeline_settings import DataFlowCompute, GeneratorCall, PipelineSchedule

SUB = "00000000-0000-0000-0000-000000000000"


def _lake_and_vault(stack):
    from emotion_platform.secrets_vault import SecretsVault
    from emotion_platform.silver_storage import SilverStorage

    lake = SilverStorage.from_existing(stack, "lake", name="lake", resource_group_name="rg", subscription_id=SUB)
    containers = {n: lake.container(n, verify=False) for n in ("bronze", "silver", "quarantine")}
    vault = SecretsVault.from_existing(stack, "vault", name="kv-silver-test", resource_group_name="rg")
    return lake, containers, vault


@pytest.fixture(scope="session")
def synthesized():
    from cdktf import TerraformStack, Testing
    from cdktf_cdktf_provider_azurerm.data_factory import DataFactory, DataFactoryIdentity
    from cdktf_cdktf_provider_azurerm.provider import AzurermProvider, AzurermProviderFeatures

    from emotion_platform.silver_pipeline import SilverPipeline

    app = Testing.app()
    stack = TerraformStack(app, "silver-test")
    AzurermProvider(stack, "azurerm", features=[AzurermProviderFeatures()])
    factory = DataFactory(stack, "factory", name="adf-silver-test", location="westeurope", resource_group_name="rg",
                          identity=DataFactoryIdentity(type="SystemAssigned"))
    _lake, c, vault = _lake_and_vault(stack)
    full = SilverPipeline(stack, "silver", name="silver", factory=factory, bronze=c["bronze"], silver=c["silver"],
                          quarantine=c["quarantine"],
                          compute=DataFlowCompute(core_count=16, compute_type="MemoryOptimized", time_to_live_min=10),
                          schedule=PipelineSchedule(frequency="Hour", interval=6),
                          generator=GeneratorCall(function_app_url="https://gen.azurewebsites.net",
                                                  key_secret=vault.secret("generator-function-key"), rows=5000))
    # a second pipeline in the same factory: its own object names, the same (deduplicated) grants
    plain = SilverPipeline(stack, "plain", name="plain", factory=factory, bronze=c["bronze"], silver=c["silver"],
                           quarantine=c["quarantine"])
    return json.loads(Testing.synth(stack)), full, plain


def blocks(doc: dict, type_: str, owner: str) -> list[dict]:
    """Blocks of one SilverPipeline: their logical ids start with the construct id."""
    return [b for key, b in doc["resource"].get(type_, {}).items() if key.startswith(f"{owner}_")]


def one(doc, type_, owner) -> dict:
    found = blocks(doc, type_, owner)
    assert len(found) == 1, (type_, owner, len(found))
    return found[0]


def test_the_lake_is_reached_with_the_factory_identity_only(synthesized) -> None:
    doc, _full, _plain = synthesized
    for owner in ("silver", "plain"):
        ls = one(doc, "azurerm_data_factory_linked_service_data_lake_storage_gen2", owner)
        assert ls["use_managed_identity"] is True and ls["url"] == "https://lake.dfs.core.windows.net/"
        for secret in ("storage_account_key", "service_principal_key", "service_principal_id", "tenant",
                       "connection_string"):
            assert secret not in ls
    assert not re.search(r"AccountKey=|SharedAccessSignature|sig=", json.dumps(doc))


def test_key_vault_linked_service_only_with_a_vault(synthesized) -> None:
    doc, full, plain = synthesized
    assert one(doc, "azurerm_data_factory_linked_service_key_vault", "silver")["key_vault_id"].startswith("${data.azurerm_key_vault.vault")
    assert blocks(doc, "azurerm_data_factory_linked_service_key_vault", "plain") == []
    assert plain.key_vault_linked_service is None and full.key_vault_linked_service is not None


def test_bronze_is_csv_with_an_explicit_header_read_line_by_line(synthesized) -> None:
    doc, _full, _plain = synthesized
    ds = one(doc, "azurerm_data_factory_dataset_delimited_text", "silver")
    assert ds["first_row_as_header"] is True
    assert ds["column_delimiter"] == "" and ds["row_delimiter"] == "\n"
    # No quote, no escape: the provider sends "" as set (it uses d.Get, not d.GetOk), and the lines reach
    # the flow with their quotes and backslashes as text, as the local engine reads them.
    assert ds["quote_character"] == "" and ds["escape_character"] == ""
    assert ds["azure_blob_fs_location"] == {"file_system": "bronze", "path": "events"}
    assert ds["linked_service_name"].startswith("${azurerm_data_factory_linked_service_data_lake_storage_gen2.")


def test_silver_and_quarantine_are_parquet_in_their_containers(synthesized) -> None:
    doc, _full, _plain = synthesized
    fs = sorted(d["azure_blob_fs_location"]["file_system"] for d in blocks(doc, "azurerm_data_factory_dataset_parquet", "silver"))
    assert fs == ["quarantine", "silver"]


def test_data_flow_script_is_the_generated_one_escaped_with_matching_streams(synthesized) -> None:
    from emotion_platform.dataflow.script import generate_script

    doc, full, _plain = synthesized
    flow = one(doc, "azurerm_data_factory_data_flow", "silver")
    script = flow["script"]
    assert not re.search(r"(?<!\$)\$\{", script) and not re.search(r"(?<!%)%\{", script)
    assert script.replace("$${", "${").replace("%%{", "%{") == generate_script().text == full.script.text
    assert [s["name"] for s in flow["source"]] == ["BronzeLines"]
    assert [s["name"] for s in flow["sink"]] == ["SilverSink", "QuarantineSink"]
    for name in ("BronzeLines",):
        assert f"~> {name}" in script
    for name in ("SilverSink", "QuarantineSink"):
        assert re.search(rf"\bsink\([^~]*~> {name}\b", script, re.S)
    datasets = {s["name"]: s["dataset"]["name"] for s in flow["source"] + flow["sink"]}
    assert "dataset_delimited_text" in datasets["BronzeLines"]
    parquet = {f"${{azurerm_data_factory_dataset_parquet.{k}.name}}": b["azure_blob_fs_location"]["file_system"]
               for k, b in doc["resource"]["azurerm_data_factory_dataset_parquet"].items()}
    assert parquet[datasets["SilverSink"]] == "silver" and parquet[datasets["QuarantineSink"]] == "quarantine"


def test_compute_comes_from_config_on_the_runtime_and_the_activity(synthesized) -> None:
    doc, _full, _plain = synthesized
    ir = one(doc, "azurerm_data_factory_integration_runtime_azure", "silver")
    assert (ir["core_count"], ir["compute_type"], ir["time_to_live_min"], ir["location"]) == (16, "MemoryOptimized", 10, "AutoResolve")
    acts = json.loads(one(doc, "azurerm_data_factory_pipeline", "silver")["activities_json"])
    run = next(a for a in acts if a["type"] == "ExecuteDataFlow")
    assert run["typeProperties"]["compute"] == {"coreCount": 16, "computeType": "MemoryOptimized"}
    assert run["typeProperties"]["integrationRuntime"]["referenceName"] == ir["name"]
    assert run["typeProperties"]["dataFlow"]["referenceName"] == one(doc, "azurerm_data_factory_data_flow", "silver")["name"]


def test_the_generator_is_called_first_with_its_key_from_key_vault(synthesized) -> None:
    doc, _full, _plain = synthesized
    fn = one(doc, "azurerm_data_factory_linked_service_azure_function", "silver")
    assert "key" not in fn and fn["key_vault_key"]["secret_name"] == "generator-function-key"
    assert fn["key_vault_key"]["linked_service_name"].startswith("${azurerm_data_factory_linked_service_key_vault.")
    pipe = one(doc, "azurerm_data_factory_pipeline", "silver")
    acts = json.loads(pipe["activities_json"])
    assert [a["type"] for a in acts] == ["AzureFunctionActivity", "ExecuteDataFlow"]
    assert acts[0]["typeProperties"] == {"functionName": "generate", "method": "POST", "body": {"rows": 5000}}
    assert acts[0]["linkedServiceName"]["referenceName"] == fn["name"]
    assert acts[1]["dependsOn"] == [{"activity": acts[0]["name"], "dependencyConditions": ["Succeeded"]}]
    assert pipe["concurrency"] == 1
    assert any("azurerm_data_factory_linked_service_azure_function" in d for d in pipe["depends_on"])
    plain = json.loads(one(doc, "azurerm_data_factory_pipeline", "plain")["activities_json"])
    assert [a["type"] for a in plain] == ["ExecuteDataFlow"] and plain[0]["dependsOn"] == []


def test_the_schedule_states_frequency_and_interval(synthesized) -> None:
    doc, _full, _plain = synthesized
    t = one(doc, "azurerm_data_factory_trigger_schedule", "silver")
    assert (t["frequency"], t["interval"], t["activated"]) == ("Hour", 6, True)
    assert t["pipeline_name"].startswith("${azurerm_data_factory_pipeline.")
    p = one(doc, "azurerm_data_factory_trigger_schedule", "plain")
    assert (p["frequency"], p["interval"], p["start_time"], p["time_zone"]) == ("Day", 1, "2026-01-01T02:00:00Z", "UTC")


def test_object_names_are_unique_and_valid_for_data_factory(synthesized) -> None:
    doc, full, plain = synthesized
    names = [b["name"] for t, bs in doc["resource"].items() if t.startswith("azurerm_data_factory_") for b in bs.values()]
    assert len(names) == len(set(names))
    for n in names:
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,259}", n), n
    assert full.pipeline is not None and full.trigger is not None and full.data_flow is not None
    assert plain.function_linked_service is None


def test_the_pipeline_grants_the_factory_exactly_what_it_needs(synthesized) -> None:
    doc, full, plain = synthesized
    grants = sorted((g["role_definition_name"], g["scope"].rsplit("/", 1)[-1], g["principal_type"])
                    for g in doc["resource"]["azurerm_role_assignment"].values())
    assert grants == [("Key Vault Secrets User", "generator-function-key", "ServicePrincipal"),
                      ("Storage Blob Data Contributor", "quarantine", "ServicePrincipal"),
                      ("Storage Blob Data Contributor", "silver", "ServicePrincipal"),
                      ("Storage Blob Data Reader", "bronze", "ServicePrincipal")]
    for g in doc["resource"]["azurerm_role_assignment"].values():
        assert g["principal_id"] == "${azurerm_data_factory.factory.identity[0].principal_id}"
    assert len(full.grants) == 4 and plain.grants == full.grants[:3], "asking twice returns the same assignment"
    assert full.names["pipeline"] == "pl_silver_clean_events" and plain.names["pipeline"] == "pl_plain_clean_events"


def _props(stack, **overrides):
    from cdktf_cdktf_provider_azurerm.data_factory import DataFactory, DataFactoryIdentity

    factory = DataFactory(stack, "factory", name="adf-bad", location="westeurope", resource_group_name="rg",
                          identity=DataFactoryIdentity(type="SystemAssigned"))
    _lake, c, vault = _lake_and_vault(stack)
    props = dict(name="silver", factory=factory, bronze=c["bronze"], silver=c["silver"], quarantine=c["quarantine"])
    for key, value in overrides.items():
        props[key] = value(c, vault) if callable(value) else value
    return props


@pytest.mark.parametrize("overrides, message", [
    ({"compute": DataFlowCompute(core_count=12)}, r"^SilverPipeline.compute.core_count = 12: must be one of"),
    ({"compute": DataFlowCompute(compute_type="Huge")}, r"SilverPipeline.compute.compute_type = 'Huge'"),
    # the same range config accepts (validation.FIELDS), not a wider one of its own
    ({"compute": DataFlowCompute(time_to_live_min=241)}, r"compute.time_to_live_min = 241: must be between 0 and 240"),
    ({"schedule": PipelineSchedule(frequency="Fortnight")}, r"schedule.frequency = 'Fortnight'"),
    ({"schedule": PipelineSchedule(interval=0)}, r"schedule.interval = 0: must be between 1 and 1000"),
    ({"schedule": PipelineSchedule(start_time="soon")}, r"schedule.start_time = 'soon'"),
    ({"schedule": PipelineSchedule(start_time="2026-01-01T02:00:00+0100")}, r"schedule.start_time"),
    ({"schedule": PipelineSchedule(time_zone="Europe/Berlin")}, r"schedule.time_zone = 'Europe/Berlin'.*W. Europe Standard Time"),
    ({"generator": lambda c, v: GeneratorCall(function_app_url="http://x", key_secret=v.secret("k"))},
     r"generator.function_app_url = 'http://x': must be an https:// URL"),
    ({"generator": GeneratorCall(function_app_url="https://x", key_secret="generator-function-key")},
     r"generator.key_secret = 'generator-function-key': must be a secret object"),
    ({"silver": lambda c, v: c["bronze"]}, r"three different containers"),
    ({"quarantine": "quarantine"}, r"SilverPipeline.quarantine = 'quarantine': must be a container object"),
    ({"name": "silver pipeline"}, r"SilverPipeline.name = 'silver pipeline': must be 1-60 letters"),
    ({"factory": "/subscriptions/x/factories/adf"}, r"SilverPipeline.factory = .*must be the DataFactory resource"),
])
def test_invalid_properties_fail_naming_the_property(overrides, message) -> None:
    from cdktf import TerraformStack, Testing

    from emotion_platform.silver_pipeline import SilverPipeline, SilverPipelineError

    stack = TerraformStack(Testing.app(), "bad")
    with pytest.raises(SilverPipelineError, match=message):
        SilverPipeline(stack, "silver", **_props(stack, **overrides))


def test_a_contract_no_engine_can_run_fails_at_synth(synthesized) -> None:
    from cdktf import TerraformStack, Testing

    from emotion_events.contract import CONTRACT_PATH, ContractError, parse_contract
    from emotion_platform.silver_pipeline import SilverPipeline

    data = json.loads(CONTRACT_PATH.read_text())
    data["validation"]["rules"].append({"reason": "too_sad"})
    stack = TerraformStack(Testing.app(), "c")
    with pytest.raises(ContractError, match="too_sad"):
        SilverPipeline(stack, "silver", **_props(stack), contract=parse_contract(data))
