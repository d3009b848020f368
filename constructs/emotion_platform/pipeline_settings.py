"""Typed settings the Data Factory silver pipeline takes; config validation builds them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .secrets_vault import VaultSecret


@dataclass(frozen=True)
class DataFlowCompute:
    """Spark compute for the mapping data flow (Azure IR)."""

    core_count: int = 8  # 8, 16, 32, 48, 80, 144 or 272
    compute_type: str = "General"  # General or MemoryOptimized
    time_to_live_min: int = 0


@dataclass(frozen=True)
class PipelineSchedule:
    """Schedule trigger. Frequency and interval are always written explicitly (azurerm defaults to every minute)."""

    frequency: str = "Day"  # Minute, Hour, Day, Week, Month
    interval: int = 1
    start_time: str = "2026-01-01T02:00:00Z"  # RFC 3339
    time_zone: str = "UTC"
    activated: bool = True


@dataclass(frozen=True)
class GeneratorCall:
    """Optionally call the generator Function before cleaning (an Azure Function activity)."""

    function_app_url: str  # https://<app>.azurewebsites.net
    key_secret: VaultSecret  # the Key Vault secret holding the function key (vault.secret(name) / add_secret)
    function_name: str = "generate"
    rows: int = 10000
