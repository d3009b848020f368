"""The README stays true: its figures are the benchmarks' results, and CI runs its two commands."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _figures_module():
    spec = importlib.util.spec_from_file_location("bench_figures", ROOT / "bench" / "figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_figures_block_matches_the_benchmark_results() -> None:
    figures = _figures_module()
    block = README.split(figures.START, 1)[1].split(figures.END, 1)[0]
    assert block.strip() == figures.render().strip(), "stale figures: python bench/figures.py --update README.md"


def test_ci_runs_the_readme_commands() -> None:
    section = README.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^(\./dev\.sh \w+)", section.split("```bash", 1)[1].split("```", 1)[0], re.M)
    assert commands == ["./dev.sh synth", "./dev.sh test"]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for command in commands:
        assert re.search(rf"^{re.escape(command)}\b", ci, re.M), f".ci/run does not run {command!r}"


def test_every_linked_doc_exists() -> None:
    for target in re.findall(r"\]\(([^)#]+)\)", README):
        if "://" not in target:
            assert (ROOT / target).exists(), target
