"""The generator's numeric app settings, validated when read (a bad value names the setting)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from . import app_settings as S
from .generator import GeneratorParamError, GeneratorParams
from .limits import MAX_DIRTY_RATIO, MAX_ROWS


class SettingError(ValueError):
    def __init__(self, setting: str, value: str, rule: str) -> None:
        self.setting = setting
        super().__init__(f"app setting {setting}={value!r} is invalid: {rule}")


def _get(settings: Mapping[str, str], name: str) -> str:
    value = settings.get(name)
    return (value if value not in (None, "") else S.DEFAULTS[name]).strip()


def _int(settings: Mapping[str, str], name: str, lo: int, hi: int) -> int:
    raw = _get(settings, name)
    try:
        value = int(raw)
    except ValueError:
        raise SettingError(name, raw, f"must be an integer from {lo} to {hi}") from None
    if not lo <= value <= hi:
        raise SettingError(name, raw, f"must be an integer from {lo} to {hi}")
    return value


@dataclass(frozen=True)
class GeneratorSettings:
    batch_rows: int  # rows per timer tick, and per HTTP call that names no row count (capped at max_rows)
    dirty_ratio: float
    max_rows: int  # the most rows one HTTP call may ask for

    @classmethod
    def from_settings(cls, settings: Mapping[str, str]) -> "GeneratorSettings":
        max_rows = _int(settings, S.MAX_ROWS, 1, MAX_ROWS)
        batch = _int(settings, S.BATCH_ROWS, 1, MAX_ROWS)
        raw = _get(settings, S.DIRTY_RATIO)
        try:
            ratio = GeneratorParams(rows=1, seed=0, dirty_ratio=float(raw)).dirty_ratio
        except (ValueError, GeneratorParamError):
            raise SettingError(S.DIRTY_RATIO, raw, f"must be a number from 0 to {MAX_DIRTY_RATIO}") from None
        return cls(batch, ratio, max_rows)
