"""One set of rules: config files and constructs check the same fields with the same rule objects
(``emotion_platform.validation.FIELDS``) and default them the same way; a construct given what config
refuses fails naming the construct, the property, the value and the rule; tokens are not checked."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

import emotion_platform  # noqa: F401  (JSII_NODE before cdktf)
from emotion_platform import config, pipeline_settings, validation
from emotion_platform.validation import ValidationError

# (config section, config key, construct, construct prop, validation field)
SHARED = [
    ("", "location", "SilverStorage", "location", "location"),
    ("", "location", "SecretsVault", "location", "location"),
    ("", "location", "GeneratorFunction", "location", "location"),
    ("foundation", "storage_account_name", "SilverStorage", "name", "storage_account_name"),
    ("foundation", "key_vault_name", "SecretsVault", "name", "key_vault_name"),
    ("foundation", "resource_group_name", "SilverStorage", "resource_group_name", "resource_group_name"),
    ("storage", "replication", "SilverStorage", "replication", "replication"),
    ("storage", "delete_retention_days", "SilverStorage", "delete_retention_days", "delete_retention_days"),
    ("storage", "bronze_cool_after_days", "SilverStorage", "bronze_cool_after_days", "bronze_cool_after_days"),
    ("storage", "quarantine_delete_after_days", "SilverStorage", "quarantine_delete_after_days", "quarantine_delete_after_days"),
    ("storage", "allowed_ip_ranges", "SilverStorage", "allowed_ip_ranges", "allowed_ip_ranges"),
    ("key_vault", "soft_delete_retention_days", "SecretsVault", "soft_delete_retention_days", "soft_delete_retention_days"),
    ("key_vault", "rbac_propagation_wait", "SecretsVault", "rbac_propagation_wait", "rbac_propagation_wait"),
    ("key_vault", "secret_expiry_days", "SecretsVault", "secret_expiry_days", "secret_expiry_days"),
    ("key_vault", "allowed_ip_ranges", "SecretsVault", "allowed_ip_ranges", "allowed_ip_ranges"),
    ("function", "name", "GeneratorFunction", "name", "function_app_name"),
    ("function", "storage_account_name", "GeneratorFunction", "runtime_storage_account_name", "storage_account_name"),
    ("function", "storage_mode", "GeneratorFunction", "storage_mode", "storage_mode"),
    ("function", "python_version", "GeneratorFunction", "python_version", "python_version"),
    ("function", "instance_memory_mb", "GeneratorFunction", "instance_memory_mb", "instance_memory_mb"),
    ("function", "maximum_instance_count", "GeneratorFunction", "maximum_instance_count", "maximum_instance_count"),
    ("function", "schedule", "GeneratorFunction", "schedule", "schedule"),
    ("function", "batch_rows", "GeneratorFunction", "batch_rows", "batch_rows"),
    ("function", "dirty_ratio", "GeneratorFunction", "dirty_ratio", "dirty_ratio"),
    ("function", "max_rows", "GeneratorFunction", "max_rows", "max_rows"),
    ("key_vault", "rbac_propagation_wait", "GeneratorFunction", "rbac_propagation_wait", "rbac_propagation_wait"),
    ("function", "sas_valid_days", "SilverStorage", "max_sas_valid_days", "sas_valid_days"),
]
# settings objects the pipeline takes, field by field
SETTINGS = [
    ("pipeline.compute", pipeline_settings.DataFlowCompute, ("core_count", "compute_type", "time_to_live_min")),
    ("pipeline.schedule", pipeline_settings.PipelineSchedule, ("start_time", "time_zone")),
]


def _construct(name: str):
    import importlib

    modules = {"SilverStorage": "silver_storage", "GeneratorFunction": "generator_function"}
    module = modules.get(name, "secrets_vault")
    return getattr(importlib.import_module(f"emotion_platform.{module}"), name)


@pytest.mark.parametrize("section, key, construct, prop, field", SHARED, ids=[f"{c}.{p}" for _, _, c, p, _ in SHARED])
def test_config_and_construct_share_rule_and_default(section, key, construct, prop, field) -> None:
    rule = config._SCHEMA[section][key]
    shared = validation.FIELDS[field]
    assert rule.check is shared.rule, f"config {section}.{key} checks with a rule of its own"
    cls = _construct(construct)
    assert cls.RULES[prop] is shared.rule, f"{construct}.{prop} checks with a rule of its own"
    param = inspect.signature(cls.__init__).parameters[prop]
    if rule.default is not config._REQUIRED and prop != "max_sas_valid_days":
        assert _norm(rule.default) == _norm(shared.default)
        assert _norm(param.default) == _norm(shared.default), (
            f"{construct}.{prop} defaults to {param.default!r}, config {section}.{key} to {rule.default!r}")


def _norm(value):
    return tuple(value) if isinstance(value, (list, tuple)) else value


@pytest.mark.parametrize("section, cls, fields", SETTINGS)
def test_pipeline_settings_defaults_are_configs(section, cls, fields) -> None:
    defaults = {f.name: f.default for f in dataclasses.fields(cls)}
    for name in fields:
        assert config._SCHEMA[section][name].check is validation.FIELDS[name].rule
        assert defaults[name] == validation.FIELDS[name].default == config._SCHEMA[section][name].default


def test_every_config_field_of_a_construct_is_in_the_table() -> None:
    """A config rule built from validation.FIELDS is one the constructs share: listed above or in SETTINGS."""
    listed = {(s, k) for s, k, *_ in SHARED} | {(s, f) for s, _, fs in SETTINGS for f in fs}
    shared_rules = {id(f.rule) for f in validation.FIELDS.values()}
    used = {(s, k) for s, rules in config._SCHEMA.items() for k, r in rules.items() if id(r.check) in shared_rules}
    unlisted = used - listed - {("pipeline", "generator_rows"), ("data_factory", "name"), ("pipeline.schedule", "frequency"),
                                ("pipeline.schedule", "interval"), ("", "tags"), ("foundation", "bronze_container"),
                                ("storage", "silver_container"), ("storage", "quarantine_container"),
                                ("state", "resource_group_name"), ("state", "storage_account_name"), ("state", "container_name")}
    assert not unlisted, unlisted


def _stack():
    from cdktf import TerraformStack, Testing

    return TerraformStack(Testing.app(), "rules")


GOOD_FUNCTION = dict(name="func-emotion", resource_group_name="rg", location="westeurope",
                     subscription_id="00000000-0000-0000-0000-000000000000", log_analytics_workspace_id="/ws",
                     runtime_storage_account_name="stfunc01", storage_mode="identity")


@pytest.mark.parametrize("prop, value, message", [
    ("name", "Func Emotion!", r"^GeneratorFunction.name = 'Func Emotion!': Function App names are"),
    ("location", "mars", r"^GeneratorFunction.location = 'mars': must be an Azure region"),
    ("python_version", "2.7", r"^GeneratorFunction.python_version = '2.7': must be one of '3.10', '3.11', '3.12'"),
    ("instance_memory_mb", 3000, r"^GeneratorFunction.instance_memory_mb = 3000: must be one of 512, 2048, 4096"),
    ("maximum_instance_count", 1, r"^GeneratorFunction.maximum_instance_count = 1: must be between 40 and 1000"),
    ("dirty_ratio", 0.9, r"^GeneratorFunction.dirty_ratio = 0.9: must be between 0.0 and 0.5"),
    ("schedule", "hourly", r"^GeneratorFunction.schedule = 'hourly': must be an NCRONTAB"),
])
def test_generator_function_validates_its_properties(prop, value, message) -> None:
    from emotion_platform import GeneratorFunction, SilverStorage

    stack = _stack()
    lake = SilverStorage.from_existing(stack, "lake", name="stlake01", resource_group_name="rg",
                                       subscription_id="00000000-0000-0000-0000-000000000000")
    with pytest.raises(ValidationError, match=message):
        GeneratorFunction(stack, "gen", **{**GOOD_FUNCTION, prop: value}, bronze=lake.container("bronze", verify=False))
    assert stack.node.try_find_child("gen") is None, "nothing is created before the check"


@pytest.mark.parametrize("props, message", [
    ({"name": "St-Lake"}, r"^SilverStorage.name = 'St-Lake': storage account names are 3-24 lower-case"),
    ({"location": "mars"}, r"^SilverStorage.location = 'mars'"),
    ({"replication": "XRS"}, r"^SilverStorage.replication = 'XRS': must be one of 'LRS'"),
    ({"delete_retention_days": 0}, r"^SilverStorage.delete_retention_days = 0: must be between 1 and 365"),
    ({"silver_container": "Silver"}, r"^SilverStorage.silver_container = 'Silver': blob container names"),
    ({"allowed_ip_ranges": ["10.0.0.0/8"]}, r"^SilverStorage.allowed_ip_ranges = \['10.0.0.0/8'\]: item '10.0.0.0/8'"),
    ({"bronze_cool_after_days": 0}, r"^SilverStorage.bronze_cool_after_days = 0"),
])
def test_silver_storage_validates_its_properties(props, message) -> None:
    from emotion_platform import SilverStorage

    with pytest.raises(ValidationError, match=message):
        SilverStorage(_stack(), "lake", **{"name": "stlake01", "resource_group_name": "rg", "location": "westeurope", **props})


@pytest.mark.parametrize("props, message", [
    ({"name": "kv--x"}, r"^SecretsVault.name = 'kv--x': Key Vault names may not contain consecutive hyphens"),
    ({"tenant_id": "contoso.onmicrosoft.com"}, r"^SecretsVault.tenant_id = 'contoso.onmicrosoft.com': must be a UUID"),
    ({"soft_delete_retention_days": 5}, r"^SecretsVault.soft_delete_retention_days = 5: must be between 7 and 90"),
    ({"rbac_propagation_wait": "1 minute"}, r"^SecretsVault.rbac_propagation_wait = '1 minute'"),
])
def test_secrets_vault_validates_its_properties(props, message) -> None:
    from emotion_platform import SecretsVault

    good = {"name": "kv-test-01", "resource_group_name": "rg", "location": "westeurope",
            "tenant_id": "00000000-0000-0000-0000-000000000000"}
    with pytest.raises(ValidationError, match=message):
        SecretsVault(_stack(), "vault", **{**good, **props})


def test_unresolved_tokens_are_not_checked() -> None:
    from cdktf_cdktf_provider_azurerm.resource_group import ResourceGroup

    from emotion_platform import SecretsVault, SilverStorage

    stack = _stack()
    rg = ResourceGroup(stack, "rg", name="rg-x", location="westeurope")
    SilverStorage(stack, "lake", name="stlake01", resource_group_name=rg.name, location=rg.location)
    SecretsVault(stack, "vault", name="kv-test-01", resource_group_name=rg.name, location=rg.location, tenant_id=rg.id)


def test_config_refuses_what_the_construct_refuses(tmp_path) -> None:
    """The same value, the same rule text, from the file and from the construct."""
    from emotion_platform import SilverStorage

    with pytest.raises(ValidationError) as construct_error:
        SilverStorage(_stack(), "lake", name="stlake01", resource_group_name="rg", location="westeurope", replication="XRS")
    rule = config._SCHEMA["storage"]["replication"].check("XRS")
    assert rule and construct_error.value.rule == rule
