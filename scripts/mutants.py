"""The project's curated mutation check: ``./dev.sh mutants [ID ...]``.

tests/mutants.toml lists realistic one-line bugs (a file, the line as it is, the line as a plausible
mistake would leave it, and the tests that should catch it). For each, this script copies the tree
(tracked and untracked files, never ignored ones; the environment folders are linked) into a
temporary folder once, applies the mutation there (the working tree is never touched), runs the listed
property tests, then, only if they all pass, the listed snapshot tests, and restores the line. Each
mutant ends in one of:

- ``caught``: a property assertion failed (the goal for every mutant);
- ``snapshot-only``: only a snapshot test noticed (a ``UPDATE_SNAPSHOTS=1`` away from passing);
- ``survived``: every listed test passed;
- ``stale``: the original line is not in the file exactly once (the code moved: update the list);
- ``error``: the tests could not run (collection error, timeout).

Exit status 0 when every mutant run is ``caught``, 1 otherwise, 2 for a bad list or arguments.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIST = ROOT / "tests" / "mutants.toml"
LINKED = (".venv", ".venv-tools", "node_modules")  # environments, shared read-only with the copy
SNAPSHOT_MARK = "snapshot"  # a test file whose path contains this is a snapshot test


@dataclass(frozen=True)
class Mutant:
    id: str
    file: str
    original: str
    mutated: str
    tests: tuple[str, ...]
    why: str = ""

    @property
    def property_tests(self) -> tuple[str, ...]:
        return tuple(t for t in self.tests if SNAPSHOT_MARK not in t)

    @property
    def snapshot_tests(self) -> tuple[str, ...]:
        return tuple(t for t in self.tests if SNAPSHOT_MARK in t)


def load(path: Path = LIST) -> list[Mutant]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    out, seen = [], set()
    for i, m in enumerate(data.get("mutant", [])):
        missing = [k for k in ("id", "file", "original", "mutated", "tests") if k not in m]
        if missing:
            raise SystemExit(f"{path.name}: mutant #{i + 1} lacks {', '.join(missing)}")
        if m["id"] in seen:
            raise SystemExit(f"{path.name}: mutant id {m['id']!r} appears twice")
        if m["original"] == m["mutated"]:
            raise SystemExit(f"{path.name}: mutant {m['id']!r} changes nothing")
        if "\n" in m["original"] or "\n" in m["mutated"]:
            raise SystemExit(f"{path.name}: mutant {m['id']!r} must be one line")
        seen.add(m["id"])
        out.append(Mutant(m["id"], m["file"], m["original"], m["mutated"], tuple(m["tests"]), m.get("why", "")))
    return out


def problems(mutants: list[Mutant], root: Path = ROOT) -> list[str]:
    """Why mutants would not apply to the tree at ``root`` (empty: every one applies)."""
    out = []
    for m in mutants:
        path = root / m.file
        if not path.is_file():
            out.append(f"{m.id}: {m.file} does not exist")
            continue
        hits = path.read_text(encoding="utf-8").split("\n").count(m.original)
        if hits != 1:
            out.append(f"{m.id}: the original line occurs {hits} times in {m.file} (update tests/mutants.toml)")
        for t in m.tests:
            if not (root / t.split("::", 1)[0]).is_file():
                out.append(f"{m.id}: test {t} does not exist")
    return out


def copy_tree(dest: Path) -> None:
    listed = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                            capture_output=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        src = ROOT / rel
        if not src.is_file():  # deleted but still tracked
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    for name in LINKED:
        if (ROOT / name).exists():
            (dest / name).symlink_to(ROOT / name)


def _env(tree: Path) -> dict[str, str]:
    env = dict(os.environ)
    # The packages are installed editable from the working tree: the copy must come first on the path.
    env["PYTHONPATH"] = os.pathsep.join([str(tree / "constructs"), str(tree / "function_app"), str(tree)])
    env.pop("UPDATE_SNAPSHOTS", None)
    return env


def check_imports(tree: Path) -> None:
    code = "import emotion_platform, emotion_events; print(emotion_platform.__file__); print(emotion_events.__file__)"
    out = subprocess.run([sys.executable, "-c", code], cwd=tree, env=_env(tree), check=True,
                         capture_output=True, text=True).stdout.split()
    for f in out:
        if not Path(f).resolve().is_relative_to(tree.resolve()):
            raise SystemExit(f"the copy imports {f}, not its own code: refusing to run")


def run_tests(tree: Path, tests: tuple[str, ...], timeout: float) -> tuple[str, str]:
    """('pass' | 'fail' | 'error', first failing test or the error)."""
    xml = tree / ".mutant-junit.xml"
    xml.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", f"--junitxml={xml}", *tests]
    try:
        proc = subprocess.run(cmd, cwd=tree, env=_env(tree), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "error", f"timed out after {timeout:.0f} s"
    if proc.returncode == 0:
        return "pass", ""
    if proc.returncode == 1 and xml.exists():
        for case in ET.parse(xml).iter("testcase"):
            if case.find("failure") is not None or case.find("error") is not None:
                return "fail", f"{case.get('classname')}::{case.get('name')}"
        return "fail", "(a test failed)"
    tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
    return "error", f"pytest exit {proc.returncode}: " + " | ".join(tail)


def run_mutant(tree: Path, m: Mutant, timeout: float) -> tuple[str, str]:
    path = tree / m.file
    if not path.is_file():
        return "stale", f"{m.file} does not exist"
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    hits = [i for i, line in enumerate(lines) if line == m.original]
    if len(hits) != 1:
        return "stale", f"the original line occurs {len(hits)} times in {m.file}"
    lines[hits[0]] = m.mutated
    path.write_text("\n".join(lines), encoding="utf-8")
    try:
        outcome, where = run_tests(tree, m.property_tests, timeout) if m.property_tests else ("pass", "")
        if outcome == "fail":
            return "caught", where
        if outcome == "error":
            return "error", where
        if m.snapshot_tests:
            outcome, where = run_tests(tree, m.snapshot_tests, timeout)
            if outcome == "fail":
                return "snapshot-only", where
            if outcome == "error":
                return "error", where
        return "survived", "every listed test passed"
    finally:
        path.write_text(text, encoding="utf-8")
        assert path.read_text(encoding="utf-8") == text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="./dev.sh mutants", description=__doc__.split("\n\n")[0])
    ap.add_argument("ids", nargs="*", help="mutant ids to run (default: all)")
    ap.add_argument("--list", action="store_true", help="print the mutants and exit")
    ap.add_argument("--check", action="store_true", help="only check that every mutant still applies")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per test run (default 900)")
    ap.add_argument("--no-baseline", action="store_true",
                    help="skip running the listed tests on the unmutated copy first")
    args = ap.parse_args(argv)
    mutants = load()
    if args.list:
        for m in mutants:
            print(f"{m.id:36} {m.file}  ({', '.join(m.tests)})")
        return 0
    if args.check:
        found = problems(mutants)
        print("\n".join(found) or f"all {len(mutants)} mutants apply")
        return 1 if found else 0
    unknown = set(args.ids) - {m.id for m in mutants}
    if unknown:
        print(f"unknown mutant id(s): {', '.join(sorted(unknown))} (see --list)", file=sys.stderr)
        return 2
    chosen = [m for m in mutants if not args.ids or m.id in args.ids]
    with tempfile.TemporaryDirectory(prefix="mutants-") as tmp:
        tree = Path(tmp) / "tree"
        copy_tree(tree)
        check_imports(tree)
        if not args.no_baseline:  # a test failing without any mutation would "catch" everything
            tests = tuple(dict.fromkeys(t for m in chosen for t in m.tests))
            outcome, where = run_tests(tree, tests, args.timeout * 2)
            if outcome != "pass":
                print(f"baseline: the listed tests do not pass unmutated ({where}); fix that first", file=sys.stderr)
                return 1
        results = []
        for m in chosen:
            started = time.perf_counter()
            status, where = run_mutant(tree, m, args.timeout)
            results.append((m, status, where))
            print(f"{status:13} {m.id:36} {time.perf_counter() - started:6.1f}s  {where}", flush=True)
    counts: dict[str, int] = {}
    for _m, status, _w in results:
        counts[status] = counts.get(status, 0) + 1
    print("summary: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return 0 if all(status == "caught" for _m, status, _w in results) else 1


if __name__ == "__main__":
    sys.exit(main())
