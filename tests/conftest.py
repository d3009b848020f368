"""Session-wide fixtures, each in its own module: the synthesized stacks, a real Azurite, the deployed
data flow and one Spark session."""

pytest_plugins = ["tests.fixtures.synth", "tests.fixtures.azurite", "tests.fixtures.spark"]
