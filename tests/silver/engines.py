"""The silver engines the behavioural tests run, as one parameterized fixture.

Each engine takes a bronze folder and a contract and returns what it wrote (:class:`~.conftest.Silver`:
silver rows and quarantine rows, read back from the files). The truth, spelling, precedence and bound
tests take ``engine`` and so run on every engine listed here, both through the public runner:

- ``duckdb``: the SQL rendered from the contract;
- ``spark``: the Data Flow Script as deployed (the dev stack's ``cdk.tf.json``, session fixture
  ``deployed_flow``) run on the one Spark session of the test session (``spark``,
  tests/fixtures/spark.py). A test that passes its own contract gets the script generated for that
  contract in the same flow (its datasets unchanged), as a deployment of that contract would carry.

The fixture is module-scoped, so each matrix module builds its bronze and runs each engine once per
case; Spark is started only when a spark case runs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from emotion_events.contract import SilverContract

from .conftest import Silver, read_silver

Run = Callable[[Path, Path, "SilverContract | None"], Silver]  # (bronze, work folder, contract) -> Silver


@dataclass(frozen=True)
class Engine:
    name: str
    run: Run


def _duckdb(bronze: Path, work: Path, contract: SilverContract | None) -> Silver:
    """The local engine through its public runner, as ``python -m emotion_platform silver`` runs it."""
    from emotion_platform.silver.runner import run_silver

    run_silver(str(bronze), str(work / "silver"), quarantine=str(work / "quarantine"), full=True,
               contract=contract, memory_limit="256MB", threads=1)
    return read_silver(work / "silver", work / "quarantine")


def spark_run(flow) -> Run:
    """The deployed script ``flow`` on Spark through the same public runner (``--engine spark``)."""

    def run(bronze: Path, work: Path, contract: SilverContract | None) -> Silver:
        from emotion_platform.dataflow.script import generate_script
        from emotion_platform.silver.engines import SparkEngine
        from emotion_platform.silver.runner import run_silver

        used = flow if contract is None else dataclasses.replace(flow, text=generate_script(contract).text)
        run_silver(str(bronze), str(work / "silver"), quarantine=str(work / "quarantine"), full=True,
                   contract=contract, memory_limit="256MB", threads=1, engine=SparkEngine(used))
        return read_silver(work / "silver", work / "quarantine")

    return run


ENGINES = ["duckdb", "spark"]


@pytest.fixture(params=ENGINES, scope="module")
def engine(request) -> Engine:
    if request.param == "duckdb":
        return Engine("duckdb", _duckdb)
    request.getfixturevalue("spark")  # the one session of the test session, started on first use
    return Engine("spark", spark_run(request.getfixturevalue("deployed_flow")))
