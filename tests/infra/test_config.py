"""Config validation: valid files load into typed objects; each kind of bad input fails with one message
naming the file, the field, the value and the rule (issue 2, requirement 3)."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

import pytest

from emotion_platform.config import (
    BACKEND_ENV,
    ConfigError,
    DataFlowCompute,
    EnvironmentConfig,
    PipelineSchedule,
    load_all,
    load_config,
    parse_config,
)

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
DEV = tomllib.loads((CONFIG_DIR / "dev.toml").read_text())


def parse(data: dict, name: str = "dev") -> EnvironmentConfig:
    return parse_config(data, name=name, source=Path(f"config/{name}.toml"))


def broken(path: str, value) -> dict:
    """dev.toml with one value replaced (or removed when value is ...)."""
    data = copy.deepcopy(DEV)
    *parents, key = path.split(".")
    node = data
    for p in parents:
        node = node.setdefault(p, {})
    if value is ...:
        node.pop(key, None)
    else:
        node[key] = value
    return data


def error_of(data: dict, name: str = "dev") -> str:
    with pytest.raises(ConfigError) as info:
        parse(data, name)
    message = str(info.value)
    assert "\n" not in message, "one message, one line"
    assert message.startswith(f"config/{name}.toml: "), message
    return message


def test_repository_configs_load_into_frozen_typed_objects(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BACKEND_ENV, raising=False)
    configs = {c.name: c for c in load_all(config_dir=CONFIG_DIR)}
    assert {"dev", "prod"} <= set(configs)
    dev, prod = configs["dev"], configs["prod"]
    assert dev.foundation.mode == "standalone" and prod.foundation.mode == "existing"
    assert dev.state.backend == "local" and prod.state.backend == "azurerm"
    assert dev.stack_name == "phase2-dev" and prod.stack_name == "phase2-prod"
    assert isinstance(dev.pipeline.compute, DataFlowCompute) and isinstance(dev.pipeline.schedule, PipelineSchedule)
    assert dev.key_vault.purge_protection is False and prod.key_vault.purge_protection is True
    with pytest.raises(AttributeError):
        dev.location = "eastus"  # type: ignore[misc]
    with pytest.raises(TypeError):
        dev.tags["x"] = "y"  # type: ignore[index]


def test_every_environment_names_its_remote_state_so_ci_can_plan_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BACKEND_ENV, "azurerm")
    for config in load_all(config_dir=CONFIG_DIR):
        assert config.state.backend == "azurerm"
        assert config.state.key == f"{config.stack_name}.tfstate"


@pytest.mark.parametrize(
    ("path", "value", "fragments"),
    [
        # names breaking Azure's rules for that resource type
        ("foundation.storage_account_name", "StEmotionDev", ["foundation.storage_account_name", "'StEmotionDev'", "3-24 lower-case letters and digits"]),
        ("foundation.storage_account_name", "st-emotion-dev", ["'st-emotion-dev'", "no hyphens"]),
        ("foundation.storage_account_name", "s" * 25, ["3-24"]),
        ("function.storage_account_name", "fn", ["function.storage_account_name", "'fn'", "3-24"]),
        ("foundation.key_vault_name", "1kv-emotion", ["foundation.key_vault_name", "'1kv-emotion'", "start with a letter"]),
        ("foundation.key_vault_name", "kv--emotion", ["'kv--emotion'", "consecutive hyphens"]),
        ("foundation.key_vault_name", "kv-emotion-development-01", ["3-24"]),
        ("foundation.resource_group_name", "rg-emotion.", ["foundation.resource_group_name", "may not end with '.'"]),
        ("foundation.log_analytics_workspace_name", "-log", ["foundation.log_analytics_workspace_name", "4-63"]),
        ("foundation.bronze_container", "Bronze", ["foundation.bronze_container", "'Bronze'", "lower-case"]),
        ("storage.silver_container", "si", ["storage.silver_container", "3-63"]),
        ("function.name", "func-" + "x" * 40, ["function.name", "2-32"]),
        ("function.name", "-func", ["function.name", "not starting or ending with a hyphen"]),
        ("data_factory.name", "adf_emotion", ["data_factory.name", "'adf_emotion'", "letters, digits and hyphens"]),
        ("state.storage_account_name", "TF-State", ["state.storage_account_name", "3-24"]),
        # unknown region
        ("location", "westeurop", ["location", "'westeurop'", "Azure region", "did you mean 'westeurope'"]),
        ("location", "moon-base-1", ["location", "'moon-base-1'", "Azure region"]),
        # malformed schedules
        ("function.schedule", "0 * * * *", ["function.schedule", "'0 * * * *'", "six fields", "got 5"]),
        ("function.schedule", "0 0 25 * * *", ["function.schedule", "hour field must be within 0-23", "'25'"]),
        ("function.schedule", "0 0 * * * funday", ["day-of-week"]),
        ("function.schedule", "0 */0 * * * *", ["step of 0"]),
        ("pipeline.schedule.frequency", "Daily", ["pipeline.schedule.frequency", "'Daily'", "'Minute', 'Hour', 'Day', 'Week', 'Month'"]),
        ("pipeline.schedule.interval", 0, ["pipeline.schedule.interval", "= 0", "between 1 and 1000"]),
        ("pipeline.schedule.start_time", "tomorrow 2am", ["pipeline.schedule.start_time", "RFC 3339"]),
        ("pipeline.schedule.start_time", "2026-01-01T02:00:00", ["RFC 3339", "time zone"]),
        ("pipeline.schedule.time_zone", "Europe/Paris", ["pipeline.schedule.time_zone", "Windows time zone id"]),
        # other values with rules
        ("pipeline.compute.core_count", 12, ["pipeline.compute.core_count", "= 12", "one of 8, 16, 32"]),
        ("function.instance_memory_mb", 1024, ["function.instance_memory_mb", "one of 512, 2048, 4096"]),
        ("function.maximum_instance_count", 10, ["function.maximum_instance_count", "between 40 and 1000"]),
        ("function.storage_mode", "sas", ["function.storage_mode", "'connection_string', 'identity'"]),
        ("function.dirty_ratio", 1.5, ["function.dirty_ratio", "between 0.0 and 0.5"]),
        ("key_vault.soft_delete_retention_days", 3, ["key_vault.soft_delete_retention_days", "between 7 and 90"]),
        ("key_vault.rbac_propagation_wait", "one minute", ["key_vault.rbac_propagation_wait", "duration"]),
        ("storage.allowed_ip_ranges", ["10.0.0.0/33"], ["storage.allowed_ip_ranges", "'10.0.0.0/33'", "CIDR"]),
        ("foundation.mode", "hybrid", ["foundation.mode", "'standalone', 'existing'"]),
        ("state.backend", "s3", ["state.backend", "'local', 'azurerm'"]),
        # wrong types
        ("key_vault.purge_protection", "yes", ["key_vault.purge_protection", "'yes'", "true or false"]),
        ("function.batch_rows", True, ["function.batch_rows", "an integer"]),
        ("function.batch_rows", "10000", ["function.batch_rows", "an integer"]),
        ("tags", {"env": 1}, ["tags", "string values"]),
    ],
)
def test_invalid_values_name_field_value_and_rule(path: str, value, fragments: list[str]) -> None:
    message = error_of(broken(path, value))
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("location", "location"),
        ("function.name", "function.name"),
        ("foundation.storage_account_name", "foundation.storage_account_name"),
        ("key_vault.purge_protection", "key_vault.purge_protection"),
        ("data_factory.name", "data_factory.name"),
        ("pipeline.schedule.frequency", "pipeline.schedule.frequency"),
        ("pipeline.schedule.interval", "pipeline.schedule.interval"),
        ("state.backend", "state.backend"),
    ],
)
def test_missing_required_values(path: str, field: str) -> None:
    message = error_of(broken(path, ...))
    assert f"{field} = (missing)" in message and "missing required value" in message


def test_missing_required_section() -> None:
    data = copy.deepcopy(DEV)
    del data["data_factory"]
    assert "[data_factory] = (missing): missing required section" in error_of(data)


@pytest.mark.parametrize(
    ("path", "value", "where"),
    [
        ("function.nmae", "x", "function.nmae"),
        ("regoin", "westeurope", "regoin"),
        ("pipeline.schedule.every", "Day", "pipeline.schedule.every"),
        ("state.access_key", "abc", "state.access_key"),
    ],
)
def test_unknown_keys_are_rejected(path: str, value, where: str) -> None:
    message = error_of(broken(path, value))
    assert f"{where} = {value!r}: unknown key (allowed here:" in message


def test_azurerm_backend_needs_its_fields_and_the_override_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    data = broken("state.key", ...)
    data["state"]["backend"] = "azurerm"
    assert "state.key = (missing): missing required value: the azurerm backend needs it" in error_of(data)
    local = broken("state", {"backend": "local"})
    assert parse(local).state.backend == "local"
    with pytest.raises(ConfigError, match=r"state.resource_group_name = \(missing\).*PHASE2_BACKEND=azurerm is set"):
        parse_config(local, name="dev", source=Path("config/dev.toml"), backend_override="azurerm")


@pytest.mark.parametrize(("override", "expected"), [("azurerm", "azurerm"), ("local", "local"), (None, "local")])
def test_phase2_backend_overrides_the_configured_backend(monkeypatch: pytest.MonkeyPatch, override, expected) -> None:
    if override is None:
        monkeypatch.delenv(BACKEND_ENV, raising=False)
    else:
        monkeypatch.setenv(BACKEND_ENV, override)
    assert load_config("dev", CONFIG_DIR).state.backend == expected
    assert load_config("prod", CONFIG_DIR).state.backend == (override or "azurerm")


def test_invalid_backend_override_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BACKEND_ENV, "remote")
    with pytest.raises(ConfigError, match=r"PHASE2_BACKEND = 'remote': must be 'local' or 'azurerm'"):
        load_config("dev", CONFIG_DIR)


def test_cross_field_rules() -> None:
    same = broken("storage.silver_container", "bronze")
    assert "bronze, silver and quarantine must be different containers" in error_of(same)
    shared = broken("function.storage_account_name", DEV["foundation"]["storage_account_name"])
    assert "function.storage_account_name" in error_of(shared) and "its own account" in error_of(shared)


def test_region_display_names_are_normalized() -> None:
    assert parse(broken("location", "West Europe")).location == "westeurope"


def test_lifecycle_policy_defaults_follow_the_foundation_mode() -> None:
    assert parse(broken("storage.lifecycle_policy", ...)).storage.lifecycle_policy is True
    existing = broken("foundation.mode", "existing")
    del existing["foundation"]["log_retention_days"]
    for section, key in (("storage", "replication"), ("storage", "delete_retention_days"), ("key_vault", "soft_delete_retention_days")):
        del existing[section][key]  # standalone-only: refused in existing mode
    assert parse(existing).storage.lifecycle_policy is False


def test_environment_file_names_follow_a_rule(tmp_path: Path) -> None:
    (tmp_path / "Dev_1.toml").write_text((CONFIG_DIR / "dev.toml").read_text())
    with pytest.raises(ConfigError, match=r"environment \(file name\) = 'Dev_1': environment names are"):
        load_config("Dev_1", tmp_path)
    with pytest.raises(ConfigError, match=r"environment 'qa': no qa.toml"):
        load_config("qa", tmp_path)


def test_toml_syntax_errors_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "dev.toml").write_text('location = "westeurope"\n[foundation\n')
    with pytest.raises(ConfigError, match=r"dev.toml: not valid TOML"):
        load_config("dev", tmp_path)
