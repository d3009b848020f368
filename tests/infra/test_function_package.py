"""Staging function_app/ for the archive honours .funcignore (gitignore-style) plus local-only files."""

from __future__ import annotations

from pathlib import Path

import pytest

from emotion_platform.function_package import stage_function_app


def make_project(root: Path) -> Path:
    files = {
        "host.json": "{}",
        "function_app.py": "app = None\n",
        "requirements.txt": "azure-functions\n",
        "emotion_events/contract.json": "{}",
        "emotion_events/__pycache__/x.cpython-311.pyc": "",
        "tests/test_it.py": "",
        "docs/notes.md": "",
        "local.settings.json": "{}",
        ".venv/lib/site.py": "",
        "build/out.txt": "",
        ".funcignore": "# comment\n.venv\ntests/\n*.md\n/build\n!keep.md\n",
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_stage_copies_the_project_without_ignored_files(tmp_path: Path) -> None:
    source = make_project(tmp_path / "src")
    staged = stage_function_app(source, tmp_path / "stage")
    files = sorted(p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file())
    assert files == ["emotion_events/contract.json", "function_app.py", "host.json", "requirements.txt"]


def test_stage_refuses_a_directory_that_is_not_a_functions_project(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a Functions project"):
        stage_function_app(tmp_path, tmp_path / "stage")
