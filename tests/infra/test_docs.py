"""README.md stays true to the code: the architecture diagram is the one generated from the
synthesized dev stack, every config key is documented, and the role table matches the stack."""

from __future__ import annotations

import re
from pathlib import Path

from emotion_platform.config import _SCHEMA
from emotion_platform.diagram import END, START, mermaid

from .tf import DEV, role_assignments

DOC = Path(__file__).resolve().parents[2] / "README.md"


def test_architecture_diagram_is_generated_from_the_dev_stack(synthesized) -> None:
    text = DOC.read_text(encoding="utf-8")
    block = text.split(START.format(stack=DEV), 1)[1].split(END.format(stack=DEV), 1)[0]
    assert block.strip() == f"```mermaid\n{mermaid(synthesized[DEV])}```", (
        "stale diagram: ./dev.sh py -m emotion_platform.diagram cdktf.out/stacks/phase2-dev/cdk.tf.json --update README.md"
    )


def test_diagram_shows_every_role_assignment(synthesized) -> None:
    diagram = mermaid(synthesized[DEV])
    edges = [line for line in diagram.splitlines() if re.search(r'-->\|"(Blob Data|Secrets|Metrics)', line)]
    assert len(edges) == len(role_assignments(synthesized[DEV]))


def test_every_config_key_is_in_the_reference() -> None:
    reference = DOC.read_text(encoding="utf-8").split("## Configuration reference", 1)[1].split("## Deploying", 1)[0]
    for section, rules in _SCHEMA.items():
        if section:
            assert f"[{section}]" in reference, section
        for key in rules:
            assert f"`{key}`" in reference, f"{section}.{key} is not documented"
