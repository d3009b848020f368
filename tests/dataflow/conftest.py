"""Fixtures for the Data Flow Script parser and checker: the script as deployed (read from the
synthesized ``cdk.tf.json`` of every stack) and as generated for the packaged contract."""

from __future__ import annotations

from pathlib import Path

import pytest

from emotion_platform.dataflow.deployed import DeployedDataFlow, read_data_flow
from emotion_platform.dataflow.script import generate_script


@pytest.fixture(scope="session")
def deployed_flows(synth_outdir: Path) -> dict[str, DeployedDataFlow]:
    """stack name -> its data flow as Terraform hands it to Azure."""
    stacks = sorted((synth_outdir / "stacks").glob("*/cdk.tf.json"))
    flows = {p.parent.name: read_data_flow(p) for p in stacks}
    assert flows, "no stack synthesized"
    return flows


@pytest.fixture(scope="session")
def generated_text() -> str:
    return generate_script().text


@pytest.fixture(scope="session")
def deployed_flow(deployed_flows) -> DeployedDataFlow:
    """The dev stack's data flow (the one `--engine spark` runs by default)."""
    return next(flow for stack, flow in sorted(deployed_flows.items()) if stack.endswith("-dev"))


@pytest.fixture(scope="session")
def spark():
    """One local Spark session for the test session (2 threads, small shuffles, UI off; see
    emotion_platform.dataflow.spark.DEFAULT_CONF). The py4j JVM of tests/silver/java.py is separate."""
    from emotion_platform.dataflow.spark import spark_session

    session = spark_session("local[2]")
    yield session
    session.stop()
