"""Tooling gates over the whole package (both import roots): ruff lint, ruff format and mypy, so dead
code, drift from the house style and type errors fail the suite rather than a review. The tools are
pinned in requirements-tools.txt (``./dev.sh setup`` installs them into .venv-tools); their settings
live in pyproject.toml. Each gate has a small test that it still bites."""

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


def test_ruff_format_holds_for_the_package() -> None:
    proc = run(RUFF, "format", "--check", "--no-cache", *PACKAGE)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_format_gate_bites(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("x = {  'a':1 }\n")
    proc = run(RUFF, "format", "--check", "--no-cache", "--config", str(ROOT / "pyproject.toml"), str(bad))
    assert proc.returncode == 1, proc.stdout + proc.stderr


def test_mypy_finds_nothing_in_the_package(tmp_path: Path) -> None:
    proc = run(MYPY, "--python-executable", sys.executable, "--cache-dir", str(tmp_path / "mypy"), *PACKAGE)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr
    assert "Success" in proc.stdout


def test_the_mypy_gate_bites(tmp_path: Path) -> None:
    # the mistake the package's own fixes were about: an Optional used without narrowing
    bad = tmp_path / "bad.py"
    bad.write_text("def first(xs: list[int] | None) -> int:\n    return xs[0]\n")
    proc = run(MYPY, "--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(tmp_path / "mypy"), str(bad))
    assert proc.returncode == 1 and "[index]" in proc.stdout, proc.stdout + proc.stderr
