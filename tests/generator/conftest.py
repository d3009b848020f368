"""Shared fixtures of the generator tests: generated files (made once) and the Function app module."""

from __future__ import annotations

import importlib.util
import sys
from datetime import date
from pathlib import Path

import pytest

from emotion_events import default_contract
from emotion_events.generator import GeneratorParams, write_local

from .reference import read_bronze

FUNCTION_DIR = Path(__file__).resolve().parents[2] / "function_app"
INGEST = date(2026, 1, 12)


@pytest.fixture(scope="session")
def contract():
    return default_contract()


@pytest.fixture(scope="session")
def dirty_file(tmp_path_factory):
    """~100k lines at a high dirty ratio (plenty of every defect), with its reference reading."""
    out = tmp_path_factory.mktemp("dirty")
    result = write_local(GeneratorParams(rows=100_003, seed=11, dirty_ratio=0.3), out, run_id="dirty",
                         ingest_date=INGEST)
    return result, read_bronze(result.csv_path, default_contract())


@pytest.fixture(scope="session")
def typical_file(tmp_path_factory):
    """200k lines at the default ratio: the realism checks read this one."""
    out = tmp_path_factory.mktemp("typical")
    result = write_local(GeneratorParams(rows=200_000, seed=5), out, run_id="typical", ingest_date=INGEST)
    return result, read_bronze(result.csv_path, default_contract())


@pytest.fixture(scope="session")
def function_app_module():
    """``function_app/function_app.py`` imported the way the Functions host does (its folder on sys.path)."""
    spec = importlib.util.spec_from_file_location("generator_function_app", FUNCTION_DIR / "function_app.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
