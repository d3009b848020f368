"""Tooling gates over the package: ruff (lint everywhere; format on the construct library rewritten for
Phase 3) and mypy on the construct library that Phase 3 imports. The tools are pinned in
requirements-tools.txt (``./dev.sh setup`` installs them into .venv-tools); their settings live in
pyproject.toml."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / ".venv-tools" / "bin"
RUFF = os.environ.get("RUFF_BIN") or str(TOOLS / "ruff")
MYPY = os.environ.get("MYPY_BIN") or str(TOOLS / "mypy")
PACKAGE = ["constructs/emotion_platform", "function_app/emotion_events"]
# The modules Phase 3 uses (constructs, grants, rules, config, packaging helpers).
LIBRARY = [f"constructs/emotion_platform/{m}.py" for m in (
    "roles", "validation", "silver_storage", "secrets_vault", "generator_function", "silver_pipeline",
    "data_factory_stack", "foundation", "config", "config_checks", "naming", "pipeline_settings",
    "function_package", "checkov", "_moves", "_node", "_secure_storage", "diagnostics", "app")]
FORMATTED = [f"constructs/emotion_platform/{m}.py" for m in (
    "roles", "validation", "silver_storage", "secrets_vault", "checkov", "_moves", "pipeline_settings")]


def run(*cmd: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing_in_the_package() -> None:
    proc = run(RUFF, "check", "--no-cache", *PACKAGE)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_lint_gate_bites(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n\n\ndef f():\n    return undefined_name\n")
    proc = run(RUFF, "check", "--no-cache", "--config", str(ROOT / "pyproject.toml"), str(bad))
    assert proc.returncode == 1 and "F401" in proc.stdout and "F821" in proc.stdout, proc.stdout


def test_ruff_format_holds_for_the_library() -> None:
    proc = run(RUFF, "format", "--check", "--no-cache", *FORMATTED)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_finds_nothing_in_the_construct_library(tmp_path: Path) -> None:
    proc = run(MYPY, "--python-executable", sys.executable, "--cache-dir", str(tmp_path / "mypy"), *LIBRARY)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr
    assert "Success" in proc.stdout
