"""The deployment archive: function_app/ minus what .funcignore (gitignore-style) and local-only rules
exclude, byte-for-byte reproducible so the asset hash only moves when shipped code does."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from emotion_platform.function_package import FUNCTION_APP_DIR, archive_for, build_archive, shipped_files


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
        "sub/build/kept.txt": "",
        ".funcignore": "# comment\n.venv\ntests/\n*.md\n/build\n!keep.md\n",
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_archive_holds_the_project_without_ignored_files(tmp_path: Path) -> None:
    source = make_project(tmp_path / "src")
    archive = build_archive(source, tmp_path / "out" / "app.zip")
    with zipfile.ZipFile(archive) as zf:
        names = zf.namelist()
        assert zf.read("function_app.py") == b"app = None\n"
    assert names == ["emotion_events/contract.json", "function_app.py", "host.json", "requirements.txt", "sub/build/kept.txt"]
    assert not (tmp_path / "out" / "app.partial").exists()


def test_archive_is_reproducible_whatever_the_file_times(tmp_path: Path) -> None:
    source = make_project(tmp_path / "src")
    first = build_archive(source, tmp_path / "a.zip").read_bytes()
    os.utime(source / "host.json", (1_000_000_000, 1_000_000_000))
    assert build_archive(source, tmp_path / "b.zip").read_bytes() == first
    (source / "host.json").write_text('{"version": "2.0"}')
    assert build_archive(source, tmp_path / "c.zip").read_bytes() != first


def test_one_archive_per_source_per_synth(tmp_path: Path) -> None:
    source = make_project(tmp_path / "src")
    first = archive_for(source, tmp_path / "work")
    assert archive_for(source, tmp_path / "work") == first
    assert len(list((tmp_path / "work").rglob("*.zip"))) == 1


def test_refuses_a_directory_that_is_not_a_functions_project(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a Functions project"):
        build_archive(tmp_path, tmp_path / "x.zip")


def test_the_repository_function_app_ships_code_and_no_local_files() -> None:
    files = shipped_files(FUNCTION_APP_DIR)
    assert {"function_app.py", "host.json", "requirements.txt", "emotion_events/contract.json", "emotion_events/app_settings.py"} <= set(files)
    assert not [f for f in files if "__pycache__" in f or f.startswith(("tests/", ".venv/")) or "local.settings" in f]
