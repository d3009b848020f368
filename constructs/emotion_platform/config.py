"""Per-environment configuration: ``config/<env>.toml`` validated once into frozen, typed objects.

Everything that differs between environments lives in these files; everything that differs between
subscriptions (tenant, subscription, the deployer's object id) does not: azurerm reads
``ARM_SUBSCRIPTION_ID`` from the environment and the stack looks the deployer up through
``data.azurerm_client_config``. The first invalid value stops the load with one ``ConfigError`` naming the
file, the field, the value and the rule. No cdktf import here: bad input fails fast, before anything is
synthesized.
"""

from __future__ import annotations

import codecs
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Literal, Mapping, Sequence

from . import config_checks, naming, validation
from .pipeline_settings import DataFlowCompute, PipelineSchedule

BACKEND_ENV = "PHASE2_BACKEND"
STACK_PREFIX = "phase2-"
DEFAULT_CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"


class ConfigError(ValueError):
    """An invalid configuration value; the message names the file, field, value and rule."""


# --- typed configuration -------------------------------------------------------------------------


@dataclass(frozen=True)
class FoundationConfig:
    """Where the data lake, vault and workspace come from: created here, or Phase 1's, by name."""

    mode: Literal["standalone", "existing"]
    resource_group_name: str
    storage_account_name: str
    key_vault_name: str
    log_analytics_workspace_name: str
    bronze_container: str = "bronze"
    log_retention_days: int = 30  # standalone only
    # standalone only: False when the resource group is pre-created for the environment (docs/cicd.md),
    # so the deploy identity needs rights on that group only, never on the subscription.
    create_resource_group: bool = True


@dataclass(frozen=True)
class StorageConfig:
    silver_container: str = "silver"
    quarantine_container: str = "quarantine"
    replication: str = "LRS"  # standalone only
    delete_retention_days: int = 7  # standalone only (account-wide setting)
    lifecycle_policy: bool = True  # one policy per account: default off for a Phase 1 account
    bronze_cool_after_days: int = 30
    quarantine_delete_after_days: int = 90
    allowed_ip_ranges: tuple[str, ...] = ()  # empty: public endpoint open (secured by Entra ID/keys)


@dataclass(frozen=True)
class KeyVaultConfig:
    purge_protection: bool = True
    soft_delete_retention_days: int = 90
    rbac_propagation_wait: str = "60s"
    secret_expiry_days: int = 365
    allowed_ip_ranges: tuple[str, ...] = ()
    assign_deployer_role: bool = True  # False when Phase 1 already granted the deployer Secrets Officer


@dataclass(frozen=True)
class FunctionConfig:
    name: str
    storage_account_name: str  # the Function's own runtime storage (host + deployment package)
    storage_mode: Literal["connection_string", "identity"] = "identity"  # keyless unless a file asks for a key
    python_version: str = "3.11"
    instance_memory_mb: int = 2048
    maximum_instance_count: int = 40
    schedule: str = "0 0 * * * *"
    batch_rows: int = 10000
    dirty_ratio: float = 0.05
    max_rows: int = 5_000_000
    deploy_code: bool = True
    # connection-string mode: lifetime of the bronze write SAS; any apply after half of it mints a new one
    sas_valid_days: int = 30


@dataclass(frozen=True)
class DataFactoryConfig:
    name: str
    public_network_enabled: bool = True


@dataclass(frozen=True)
class PipelineConfig:
    call_generator: bool = True
    generator_rows: int = 10000
    compute: DataFlowCompute = DataFlowCompute()
    schedule: PipelineSchedule = PipelineSchedule()


@dataclass(frozen=True)
class StateConfig:
    """Terraform state: local (a laptop's dev) or an azurerm blob with Entra ID auth (CI, prod)."""

    backend: Literal["local", "azurerm"]
    resource_group_name: str | None = None
    storage_account_name: str | None = None
    container_name: str | None = None
    key: str | None = None


@dataclass(frozen=True)
class EnvironmentConfig:
    name: str
    source: Path
    location: str
    foundation: FoundationConfig
    storage: StorageConfig
    key_vault: KeyVaultConfig
    function: FunctionConfig
    data_factory: DataFactoryConfig
    pipeline: PipelineConfig
    state: StateConfig
    tags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def stack_name(self) -> str:
        return STACK_PREFIX + self.name


# --- the schema ----------------------------------------------------------------------------------

_REQUIRED: Any = object()


@dataclass(frozen=True)
class _Rule:
    kind: type | tuple[type, ...]
    default: Any = _REQUIRED
    check: Callable[[Any], str | None] | None = None


def _field(name: str, kind: type | tuple[type, ...], *, required: bool = False) -> _Rule:
    """A setting the constructs take too: rule and default from :mod:`emotion_platform.validation`."""
    f = validation.FIELDS[name]
    return _Rule(kind, _REQUIRED if required else f.default, f.rule)


def _name(kind: str) -> Callable[[Any], str | None]:
    return naming.NAME_RULES[kind]


def _one_of(*allowed: Any) -> Callable[[Any], str | None]:
    return validation.one_of(*allowed)


def _between(low: float, high: float) -> Callable[[Any], str | None]:
    return lambda v: None if low <= v <= high else f"must be between {low} and {high}"


_SCHEMA: dict[str, dict[str, _Rule]] = {
    "": {
        "location": _field("location", str, required=True),
        "tags": _Rule(dict, {}, validation.rule("tags")),
    },
    "foundation": {
        "mode": _Rule(str, check=_one_of("standalone", "existing")),
        "resource_group_name": _field("resource_group_name", str, required=True),
        "storage_account_name": _field("storage_account_name", str, required=True),
        "key_vault_name": _field("key_vault_name", str, required=True),
        "log_analytics_workspace_name": _Rule(str, check=_name("log_analytics_workspace")),
        "bronze_container": _Rule(str, "bronze", validation.rule("container")),
        "log_retention_days": _Rule(int, 30, _between(30, 730)),
        "create_resource_group": _Rule(bool, True),
    },
    "storage": {
        "silver_container": _Rule(str, "silver", validation.rule("container")),
        "quarantine_container": _Rule(str, "quarantine", validation.rule("container")),
        "replication": _field("replication", str),
        "delete_retention_days": _field("delete_retention_days", int),
        "lifecycle_policy": _Rule(bool, None),  # None: on for standalone, off for existing
        "bronze_cool_after_days": _field("bronze_cool_after_days", int),
        "quarantine_delete_after_days": _field("quarantine_delete_after_days", int),
        "allowed_ip_ranges": _Rule(list, [], validation.rule("allowed_ip_ranges")),
    },
    "key_vault": {
        "purge_protection": _Rule(bool),
        "soft_delete_retention_days": _field("soft_delete_retention_days", int),
        "rbac_propagation_wait": _field("rbac_propagation_wait", str),
        "secret_expiry_days": _field("secret_expiry_days", int),
        "allowed_ip_ranges": _Rule(list, [], validation.rule("allowed_ip_ranges")),
        "assign_deployer_role": _Rule(bool, True),
    },
    "function": {
        "name": _field("function_app_name", str, required=True),
        "storage_account_name": _field("storage_account_name", str, required=True),
        "storage_mode": _field("storage_mode", str),
        "python_version": _field("python_version", str),
        "instance_memory_mb": _field("instance_memory_mb", int),
        "maximum_instance_count": _field("maximum_instance_count", int),
        "schedule": _field("schedule", str),
        # The Function's own limits (emotion_events.limits): config cannot promise what the Function refuses.
        "batch_rows": _field("batch_rows", int),
        "dirty_ratio": _field("dirty_ratio", (int, float)),
        "max_rows": _field("max_rows", int),
        "deploy_code": _Rule(bool, True),
        "sas_valid_days": _field("sas_valid_days", int),
    },
    "data_factory": {
        "name": _field("data_factory_name", str, required=True),
        "public_network_enabled": _Rule(bool, True),
    },
    "pipeline": {
        "call_generator": _Rule(bool, True),
        "generator_rows": _field("generator_rows", int),
    },
    "pipeline.compute": {
        "core_count": _field("core_count", int),
        "compute_type": _field("compute_type", str),
        "time_to_live_min": _field("time_to_live_min", int),
    },
    "pipeline.schedule": {
        "frequency": _field("frequency", str, required=True),
        "interval": _field("interval", int, required=True),
        "start_time": _field("start_time", str),
        "time_zone": _field("time_zone", str),
        "activated": _Rule(bool, PipelineSchedule.activated),
    },
    "state": {
        "backend": _Rule(str, check=_one_of("local", "azurerm")),
        "resource_group_name": _Rule(str, None, validation.rule("resource_group_name")),
        "storage_account_name": _Rule(str, None, validation.rule("storage_account_name")),
        "container_name": _Rule(str, None, validation.rule("container")),
        "key": _Rule(str, None, _name("state_key")),
    },
}
# Sections that must be present (the rest take their defaults when absent).
_REQUIRED_SECTIONS = ("foundation", "key_vault", "function", "data_factory", "pipeline.schedule", "state")


def _type_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "a list", dict: "a table"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names[k] for k in kinds)


def _is_kind(value: Any, kind: type | tuple[type, ...]) -> bool:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool):  # bool is an int in Python, never in a config file
        return bool in kinds
    return isinstance(value, kinds)


class _Reader:
    def __init__(self, source: Path) -> None:
        self.source = source

    def fail(self, where: str, value: Any, rule: str) -> ConfigError:
        shown = "(missing)" if value is _REQUIRED else repr(value)
        return ConfigError(f"{self.source}: {where} = {shown}: {rule}")

    def section(self, data: Mapping[str, Any], name: str, *, nested: tuple[str, ...] = ()) -> dict[str, Any]:
        spec = _SCHEMA[name]
        prefix = f"{name}." if name else ""
        for key in data:
            if key not in spec and key not in nested:
                allowed = ", ".join(sorted([*spec, *nested]))
                raise self.fail(prefix + key, data[key], f"unknown key (allowed here: {allowed})")
        out: dict[str, Any] = {}
        for key, rule in spec.items():
            where = prefix + key
            if key not in data:
                if rule.default is _REQUIRED:
                    raise self.fail(where, _REQUIRED, f"missing required value ({_type_name(rule.kind)})")
                out[key] = rule.default
                continue
            value = data[key]
            if not _is_kind(value, rule.kind):
                raise self.fail(where, value, f"must be {_type_name(rule.kind)}")
            if rule.check is not None and (problem := rule.check(value)):
                raise self.fail(where, value, problem)
            out[key] = value
        return out

    def table(self, data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
        parts = name.split(".")
        node: Any = data
        for part in parts:
            node = node.get(part, {}) if isinstance(node, Mapping) else None
            if not isinstance(node, Mapping):
                raise self.fail(name, node, "must be a table ([" + name + "])")
        if name in _REQUIRED_SECTIONS and not _has_path(data, parts):
            raise self.fail(f"[{name}]", _REQUIRED, "missing required section")
        return node


def _has_path(data: Mapping[str, Any], parts: list[str]) -> bool:
    node: Any = data
    for part in parts:
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


def parse_config(data: Mapping[str, Any], *, name: str, source: Path, backend_override: str | None = None) -> EnvironmentConfig:
    """Validate one environment's parsed TOML into an ``EnvironmentConfig`` (raises ``ConfigError``)."""
    r = _Reader(source)
    if problem := naming.NAME_RULES["environment"](name):
        raise r.fail("environment (file name)", name, problem)
    sections = {"foundation", "storage", "key_vault", "function", "data_factory", "pipeline", "state"}
    top = r.section(data, "", nested=tuple(sections))
    foundation = FoundationConfig(**r.section(r.table(data, "foundation"), "foundation"))
    storage_raw = r.section(r.table(data, "storage"), "storage")
    if storage_raw["lifecycle_policy"] is None:
        storage_raw["lifecycle_policy"] = foundation.mode == "standalone"
    storage_raw["allowed_ip_ranges"] = tuple(storage_raw["allowed_ip_ranges"])
    kv_raw = r.section(r.table(data, "key_vault"), "key_vault")
    kv_raw["allowed_ip_ranges"] = tuple(kv_raw["allowed_ip_ranges"])
    function_raw = r.section(r.table(data, "function"), "function")
    function = FunctionConfig(**{**function_raw, "dirty_ratio": float(function_raw["dirty_ratio"])})
    data_factory = DataFactoryConfig(**r.section(r.table(data, "data_factory"), "data_factory"))
    pipeline_raw = r.section(r.table(data, "pipeline"), "pipeline", nested=("compute", "schedule"))
    compute = DataFlowCompute(**r.section(r.table(data, "pipeline.compute"), "pipeline.compute"))
    schedule = PipelineSchedule(**r.section(r.table(data, "pipeline.schedule"), "pipeline.schedule"))
    pipeline = PipelineConfig(**pipeline_raw, compute=compute, schedule=schedule)
    state = _state(r, r.section(r.table(data, "state"), "state"), backend_override)

    config_checks.reject_standalone_only(data, mode=foundation.mode, source=source)
    names = [foundation.bronze_container, storage_raw["silver_container"], storage_raw["quarantine_container"]]
    if len(set(names)) != 3:
        raise r.fail(
            "storage.silver_container / storage.quarantine_container",
            names,
            "bronze, silver and quarantine must be different containers",
        )
    if function.storage_account_name == foundation.storage_account_name:
        raise r.fail(
            "function.storage_account_name",
            function.storage_account_name,
            "must differ from foundation.storage_account_name (the Function's runtime storage is its own account)",
        )
    config = EnvironmentConfig(
        name=name,
        source=source,
        location=naming.normalize_region(top["location"]),
        tags=MappingProxyType(dict(top["tags"])),
        foundation=foundation,
        storage=StorageConfig(**storage_raw),
        key_vault=KeyVaultConfig(**kv_raw),
        function=function,
        data_factory=data_factory,
        pipeline=pipeline,
        state=state,
    )
    config_checks.check_function_limits(config)
    return config


def _state(r: _Reader, raw: dict[str, Any], override: str | None) -> StateConfig:
    if override is not None:
        if override not in ("local", "azurerm"):
            raise ConfigError(f"environment variable {BACKEND_ENV} = {override!r}: must be 'local' or 'azurerm' (or unset)")
        raw["backend"] = override
    if raw["backend"] == "azurerm":
        for key in ("resource_group_name", "storage_account_name", "container_name", "key"):
            if raw[key] is None:
                why = f" ({BACKEND_ENV}=azurerm is set)" if override else ""
                raise r.fail(f"state.{key}", _REQUIRED, f"missing required value: the azurerm backend needs it{why}")
    return StateConfig(**raw)


def config_files(config_dir: Path | None = None) -> dict[str, Path]:
    """Environment name -> file, for every ``<env>.toml`` in the config directory (a folder of that name
    is listed too, and refused when loaded)."""
    directory = Path(config_dir or DEFAULT_CONFIG_DIR)
    return {p.stem: p for p in sorted(directory.glob("*.toml"))}


def read_toml(path: Path) -> dict[str, Any]:
    """The parsed file, or one ``ConfigError`` for whatever a hand-edited file can be instead: a folder,
    unreadable, UTF-16 or Latin-1, UTF-8 with a byte-order mark, not TOML."""

    def fail(what: str, value: Any, rule: str) -> ConfigError:
        return ConfigError(f"{path}: {what} = {value}: {rule}")

    if path.is_dir():
        raise fail("(file)", "a directory", "an environment is a <env>.toml file, not a folder: rename or move the folder")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise fail("(file)", "unreadable", f"cannot be read ({exc.strerror or exc})") from None
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise fail("(encoding)", "UTF-16", "TOML files are UTF-8: save the file as UTF-8")
    if b"\x00" in raw[:4096]:  # UTF-16 without a byte-order mark, UTF-32, or not a text file
        raise fail("(encoding)", "NUL bytes (UTF-16 or UTF-32?)", "TOML files are UTF-8 text: save the file as UTF-8")
    if raw.startswith(codecs.BOM_UTF8):
        raise fail(
            "(encoding)",
            "UTF-8 with a byte-order mark (BOM)",
            "TOML files are UTF-8 without a BOM: save it as 'UTF-8', not 'UTF-8 with BOM'",
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise fail(
            f"(encoding) line {line}",
            f"byte 0x{raw[exc.start]:02x}",
            "not UTF-8 (a Latin-1 or Windows-1252 file?): TOML files are UTF-8: save the file as UTF-8",
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def load_config(env: str, config_dir: Path | None = None) -> EnvironmentConfig:
    files = config_files(config_dir)
    if env not in files:
        known = ", ".join(files) or "none"
        raise ConfigError(f"environment {env!r}: no {env}.toml in {config_dir or DEFAULT_CONFIG_DIR} (known: {known})")
    path = files[env]
    data = read_toml(path)
    return parse_config(data, name=env, source=path, backend_override=os.environ.get(BACKEND_ENV) or None)


def load_all(envs: Sequence[str] | None = None, config_dir: Path | None = None) -> list[EnvironmentConfig]:
    """The requested environments (all files by default), validated before anything is built.

    Every file is loaded and checked against the others even when only some are requested: globally
    unique names and state blobs must not collide with any environment, deployed today or not."""
    files = config_files(config_dir)
    if not files:
        raise ConfigError(f"no environment files (*.toml) in {config_dir or DEFAULT_CONFIG_DIR}")
    names = list(envs) if envs else list(files)
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ConfigError(f"command line: --env = {name!r}: given more than once; each environment is synthesized once")
    for name in names:
        if name not in files:
            raise ConfigError(
                f"command line: --env = {name!r}: no {name}.toml in {config_dir or DEFAULT_CONFIG_DIR} "
                f"(known: {', '.join(files)})"
            )
    configs = {name: load_config(name, config_dir) for name in files}
    config_checks.check_across(list(configs.values()))
    return [configs[name] for name in names]
