"""Fixtures for the Data Flow Script parser and checker: the script as generated for the packaged
contract. The deployed flows and the one Spark session are session fixtures of tests/fixtures/spark.py."""

from __future__ import annotations

import pytest

from emotion_platform.dataflow.script import generate_script


@pytest.fixture(scope="session")
def generated_text() -> str:
    return generate_script().text
