"""Checks that span more than one field: across every environment file, and between a file and the
code it deploys.

Per-field rules (a name pattern, a range) live in :mod:`emotion_platform.naming`; this module holds only
the rules a single field cannot express:

- **across environments**: names Azure makes globally unique (storage accounts, Key Vaults, Function
  Apps, Data Factories) may appear in one environment file only, and no two environments may share a
  Terraform state blob (same account, container and key) -- a copied ``dev.toml`` would otherwise
  deploy over ``dev`` or share its state;
- **with the Function**: the generator settings and the pipeline's request stay within the limits the
  Function enforces, imported from the Function's own :mod:`emotion_events.limits`;
- **standalone-only settings**: fields that only configure what standalone mode creates are refused
  in existing mode, where they would be silently ignored.

Every check raises ``ConfigError`` with one line: file, field, value and rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

if TYPE_CHECKING:
    from .config import EnvironmentConfig


def _error(source: Path | str, where: str, value: Any, rule: str):
    from .config import ConfigError

    return ConfigError(f"{source}: {where} = {value!r}: {rule}")


# --- standalone-only settings ---------------------------------------------------------------------

# field -> what keeps the setting in existing mode. Refused rather than warned: a warning scrolls by in
# CI, and a setting that does nothing is a promise the deployment does not keep.
STANDALONE_ONLY: Mapping[str, str] = {
    "foundation.log_retention_days": "Phase 1's workspace keeps its own retention",
    "foundation.create_resource_group": "Phase 1's resource group exists already",
    "storage.replication": "Phase 1's storage account keeps its own replication",
    "storage.delete_retention_days": "Phase 1's storage account keeps its own delete retention",
    "storage.allowed_ip_ranges": "Phase 1's storage account keeps its own firewall",
    "key_vault.soft_delete_retention_days": "Phase 1's vault keeps its own retention (it cannot change after creation)",
    "key_vault.allowed_ip_ranges": "Phase 1's vault keeps its own firewall",
}


def reject_standalone_only(data: Mapping[str, Any], *, mode: str, source: Path | str) -> None:
    """In existing mode, any explicitly set standalone-only field is an error."""
    if mode == "standalone":
        return
    for path, why in STANDALONE_ONLY.items():
        section, key = path.split(".")
        table = data.get(section)
        if isinstance(table, Mapping) and key in table:
            raise _error(source, path, table[key], f"only applies to foundation.mode = 'standalone'; {why}: remove it")


# --- agreement with the Function --------------------------------------------------------------------


def check_function_limits(config: "EnvironmentConfig") -> None:
    """Settings the Function reads, and the request the pipeline sends it, within the Function's limits.

    The per-field ranges (``function.dirty_ratio`` up to ``limits.MAX_DIRTY_RATIO``, row counts up to
    ``limits.MAX_ROWS``) are in the schema; this adds the rule between fields: Data Factory's call asks for
    ``pipeline.generator_rows``, and the Function answers 400 to more than ``function.max_rows``."""
    fn, pipeline = config.function, config.pipeline
    if pipeline.call_generator and pipeline.generator_rows > fn.max_rows:
        raise _error(
            config.source,
            "pipeline.generator_rows",
            pipeline.generator_rows,
            f"must be at most function.max_rows ({fn.max_rows}): the Function refuses larger requests with 400, "
            "so every pipeline run would fail",
        )


# --- across environment files ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Claim:
    """One environment's use of a name that must be its own."""

    kind: str  # what Azure keeps unique (names of one kind compete with each other)
    key: Any  # the value compared (lower-cased where Azure compares without case)
    field: str
    value: Any
    source: Path


def _global_names(config: "EnvironmentConfig") -> Iterator[_Claim]:
    f, fn = config.foundation, config.function
    yield _Claim(
        "storage account", f.storage_account_name, "foundation.storage_account_name", f.storage_account_name, config.source
    )
    yield _Claim(
        "storage account", fn.storage_account_name, "function.storage_account_name", fn.storage_account_name, config.source
    )
    yield _Claim("Key Vault", f.key_vault_name.lower(), "foundation.key_vault_name", f.key_vault_name, config.source)
    yield _Claim("Function App", fn.name.lower(), "function.name", fn.name, config.source)
    yield _Claim("Data Factory", config.data_factory.name.lower(), "data_factory.name", config.data_factory.name, config.source)


def _state_blob(config: "EnvironmentConfig") -> Iterator[_Claim]:
    s = config.state
    # Checked whenever the fields are set, whatever the backend: PHASE2_BACKEND=azurerm switches a local one.
    if s.storage_account_name and s.container_name and s.key:
        blob = f"{s.storage_account_name}/{s.container_name}/{s.key}"
        yield _Claim("state blob", blob, "state.key", s.key, config.source)


def check_across(configs: Sequence["EnvironmentConfig"]) -> None:
    """Globally unique names and state blobs belong to one environment each (files in name order; the
    later file is the one reported)."""
    seen: dict[tuple[str, Any], _Claim] = {}
    for config in configs:
        for claim in (*_global_names(config), *_state_blob(config)):
            other = seen.get((claim.kind, claim.key))
            if other is not None and other.source != claim.source:
                if claim.kind == "state blob":
                    rule = (
                        f"two environments would share one Terraform state ({claim.key}, also {other.source}'s "
                        f"{other.field}): give each environment its own state.key"
                    )
                else:
                    rule = (
                        f"{claim.kind} names are globally unique in Azure and {other.source} already uses it "
                        f"({other.field}): each environment needs its own"
                    )
                raise _error(claim.source, claim.field, claim.value, rule)
            seen.setdefault((claim.kind, claim.key), claim)
