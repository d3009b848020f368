"""The curated mutation list (tests/mutants.toml) stays applicable: ``./dev.sh mutants`` itself is
not part of the test suite, but a list whose lines have moved would silently test nothing."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _runner():
    spec = importlib.util.spec_from_file_location("mutants_runner", ROOT / "scripts" / "mutants.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_every_listed_mutant_applies_to_exactly_one_line_and_names_existing_tests() -> None:
    runner = _runner()
    mutants = runner.load()
    assert len(mutants) >= 10
    assert runner.problems(mutants) == []


def test_every_mutant_has_a_property_test_to_catch_it() -> None:
    for m in _runner().load():
        assert m.property_tests, f"{m.id}: only snapshot tests listed"


def test_the_check_reports_a_moved_line(tmp_path) -> None:
    runner = _runner()
    m = runner.load()[0]
    (tmp_path / m.file).parent.mkdir(parents=True)
    (tmp_path / m.file).write_text("nothing here\n")
    for t in m.tests:
        (tmp_path / t.split("::")[0]).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / t.split("::")[0]).write_text("")
    assert runner.problems([m], tmp_path) == [f"{m.id}: the original line occurs 0 times in {m.file} (update tests/mutants.toml)"]
