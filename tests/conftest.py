"""Session-wide fixtures, each in its own module: the synthesized stacks and a real Azurite."""

pytest_plugins = ["tests.fixtures.synth", "tests.fixtures.azurite"]
