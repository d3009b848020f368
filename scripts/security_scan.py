#!/usr/bin/env python3
"""Security gates: checkov over every synthesized stack, detect-secrets over the repository.

    ./dev.sh scan [checkov|secrets|all] [--report-dir DIR] [--update-baseline] ...

checkov runs offline (``--framework terraform_json --skip-download``) over every
``cdktf.out/stacks/*/cdk.tf.json`` with every check on. A failure passes the gate only where
security/checkov-skips.yaml skips that check on that stack's resource (named by construct path), each
check listed once with its reason; anything else failing, a skip that hides no failure (stale), a stack
checkov cannot parse, or a stack with no passed check at all (nothing was really scanned) fails the gate.

detect-secrets scans every file git would commit (tracked plus untracked-not-ignored, so the committed
snapshots too). A finding passes only if the committed baseline
(.secrets.baseline) holds it audited as a false positive (``is_secret: false``); anything new, unaudited
or audited as a real secret fails the gate. ``--update-baseline`` merges new findings into the baseline
(keeping audit labels) so they can be audited with ``detect-secrets audit .secrets.baseline``. The
synthesized stacks (hashes everywhere, regenerated on every change) are scanned with the credential
pattern detectors only and no allowlist: any key, token or connection string there fails the gate.

With --report-dir, JUnit XML for both gates (checkov's own, and one test case per scanned file for
detect-secrets) plus the raw JSON reports are written there. Exit status: 0 clean, 1 findings, 2 usage
or setup error. Reads $CHECKOV_BIN and $DETECT_SECRETS_BIN (set by ./dev.sh).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
SKIPS_FILE = REPO_ROOT / "security" / "checkov-skips.yaml"
BASELINE_FILE = REPO_ROOT / ".secrets.baseline"
CHECK_ID = re.compile(r"^CKV2?_[A-Z0-9]+_\d+$")
MIN_REASON_CHARS = 20


class ScanSetupError(Exception):
    """The scan could not run as configured (exit 2); the message names the field, value and rule."""


# --- checkov skips ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Skip:
    """One check skipped on named resources only: ``targets`` holds (stack, construct path) pairs, the
    construct path being the resource's path below its stack (``foundation/storage/account``), which is
    stable where the Terraform logical id (with its hash suffix) is not."""

    id: str
    reason: str
    targets: frozenset[tuple[str, str]] = frozenset()


_SKIP_KEYS = {"id", "reason", "resources"}
_CONSTRUCT_PATH = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


def load_skips(path: Path = SKIPS_FILE) -> list[Skip]:
    """The skip list, validated: a mapping with one key ``skips``; each entry {id, reason, resources}
    where ``resources`` maps a stack name to the construct paths the check is skipped on; ids unique."""
    if not path.is_file():
        return []
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ScanSetupError(f"{path}: not valid YAML: {exc}") from exc
    if doc is None:
        return []
    if not isinstance(doc, dict) or set(doc) != {"skips"} or not isinstance(doc["skips"], list):
        raise ScanSetupError(f"{path}: must be a mapping with exactly one key 'skips' holding a list")
    skips: list[Skip] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(doc["skips"]):
        where = f"{path}: skips[{i}]"
        if not isinstance(entry, dict):
            raise ScanSetupError(f"{where}: must be a mapping with 'id', 'reason' and 'resources', got {entry!r}")
        unknown = sorted(set(entry) - _SKIP_KEYS)
        if unknown:
            raise ScanSetupError(f"{where}: unknown key(s) {unknown}; allowed: id, reason, resources")
        check_id = entry.get("id")
        if not isinstance(check_id, str) or not CHECK_ID.match(check_id):
            raise ScanSetupError(f"{where}.id = {check_id!r}: must be a checkov check id like CKV_AZURE_35")
        reason = entry.get("reason")
        if not isinstance(reason, str) or len(reason.strip()) < MIN_REASON_CHARS:
            raise ScanSetupError(
                f"{where}.reason for {check_id} = {reason!r}: must say why, in at least {MIN_REASON_CHARS} characters"
            )
        if check_id in seen:
            raise ScanSetupError(f"{where}.id = {check_id}: already listed at skips[{seen[check_id]}]; list each check once")
        seen[check_id] = i
        resources = entry.get("resources")
        if not isinstance(resources, dict) or not resources:
            raise ScanSetupError(
                f"{where}.resources for {check_id} = {resources!r}: must map each stack to the construct paths "
                "the check is skipped on, e.g. {phase2-dev: [foundation/storage/account]}; a skip never applies everywhere"
            )
        targets: set[tuple[str, str]] = set()
        for stack, paths in resources.items():
            if not isinstance(stack, str) or not _CONSTRUCT_PATH.match(stack) or "/" in stack:
                raise ScanSetupError(f"{where}.resources: stack name {stack!r} must be a stack name such as phase2-dev (no wildcards)")
            if not isinstance(paths, list) or not paths:
                raise ScanSetupError(f"{where}.resources.{stack} = {paths!r}: must be a non-empty list of construct paths")
            for res in paths:
                if not isinstance(res, str) or not _CONSTRUCT_PATH.match(res):
                    raise ScanSetupError(
                        f"{where}.resources.{stack}: {res!r} must be a construct path below the stack such as "
                        "foundation/storage/account (no wildcards)"
                    )
                if (stack, res) in targets:
                    raise ScanSetupError(f"{where}.resources.{stack}: {res!r} is listed twice")
                targets.add((stack, res))
        skips.append(Skip(check_id, " ".join(reason.split()), frozenset(targets)))
    return skips


# --- checkov --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    check_id: str
    check_name: str
    stack: str
    resource: str  # Terraform address, type.name
    path: str = ""  # construct path below the stack ("" when the stack JSON does not name one)


@dataclass
class CheckovResult:
    stacks: list[str]
    passed: dict[str, int]
    failed: list[Finding]
    parsing_errors: list[str]
    skipped: list[tuple[Finding, Skip]] = field(default_factory=list)
    stale: list[tuple[Skip, str, str]] = field(default_factory=list)  # (skip, stack, path) that hid nothing
    report: dict = field(repr=False, default_factory=dict)

    @property
    def skipped_ids(self) -> list[str]:
        return sorted({s.id for _, s in self.skipped})

    @property
    def problems(self) -> list[str]:
        out = [f"{f.stack}: {f.check_id} {f.resource} ({f.path or 'no construct path'}): {f.check_name}" for f in self.failed]
        out += [f"checkov could not parse {p}" for p in self.parsing_errors]
        out += [f"{s}: checkov passed no check at all: the stack was not really scanned" for s in self.stacks if not self.passed.get(s)]
        out += [f"{stack}: stale skip {skip.id} on {path}: the check passes there (or the resource is gone); "
                "remove it from security/checkov-skips.yaml" for skip, stack, path in self.stale]
        return out


def find_stacks(stacks_dir: Path) -> list[Path]:
    stacks = sorted(stacks_dir.glob("*/cdk.tf.json"))
    if not stacks:
        raise ScanSetupError(f"no stacks under {stacks_dir} (*/cdk.tf.json): run ./dev.sh synth first")
    return stacks


def tool(env_var: str, name: str) -> str:
    path = os.environ.get(env_var) or shutil.which(name)
    if not path or not Path(path).exists():
        raise ScanSetupError(f"${env_var} is not set and {name} is not on PATH: run through ./dev.sh scan")
    return path


def _resource_address(stack_json: dict, reported: str) -> str:
    """checkov's terraform_json names some resources ``resource.<name>``; recover ``<type>.<name>``."""
    if not reported.startswith("resource."):
        return reported
    name = reported.split(".", 1)[1]
    types = [t for t, items in stack_json.get("resource", {}).items() if name in items]
    return f"{types[0]}.{name}" if len(types) == 1 else reported


def construct_path(stack_json: dict, address: str) -> str:
    """The construct path below the stack of ``type.name`` (cdktf writes it as metadata), or ""."""
    rtype, _, name = address.partition(".")
    block = stack_json.get("resource", {}).get(rtype, {}).get(name) or stack_json.get("data", {}).get(rtype, {}).get(name) or {}
    full = block.get("//", {}).get("metadata", {}).get("path", "")
    stack = stack_json.get("//", {}).get("metadata", {}).get("stackName", "")
    return full[len(stack) + 1:] if stack and full.startswith(f"{stack}/") else full


def scannable(stacks: list[Path], work: Path) -> list[Path]:
    """The stacks as checkov can parse them: checkov 3.3.30's terraform_json parser rejects a whole file
    that has top-level ``moved`` blocks (a file it cannot parse passes every check, silently). They carry
    no resource, so copies without them (``<work>/<stack>/cdk.tf.json``, same stack names) are scanned."""
    out: list[Path] = []
    for stack in stacks:
        doc = json.loads(stack.read_text(encoding="utf-8"))
        if "moved" not in doc:
            out.append(stack)
            continue
        doc.pop("moved")
        copy = work / stack.parent.name / stack.name
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(json.dumps(doc, indent=2), encoding="utf-8")
        out.append(copy)
    return out


def run_checkov(stacks: list[Path], skips: list[Skip], *, out_dir: Path, checkov: str | None = None) -> CheckovResult:
    """One checkov run over all stacks (offline) with every check on; a failure is skipped only where a
    skip names its (check, stack, construct path), and a skip target that hides no failure is stale.
    checkov's JSON report and the gate's JUnit (skips as skipped test cases) land in ``out_dir``."""
    checkov = checkov or tool("CHECKOV_BIN", "checkov")
    out_dir.mkdir(parents=True, exist_ok=True)
    json_out = out_dir / "checkov.json"
    cmd = [checkov, "--framework", "terraform_json", "--skip-download", "--compact",
           "-o", "json", "--output-file-path", str(out_dir)]
    for stack in scannable(stacks, out_dir / "stacks"):
        cmd += ["-f", str(stack.resolve())]
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE"}  # offline: no Bridgecrew mapping download
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=out_dir)
    written = out_dir / "results_json.json"
    if written.is_file():
        written.replace(json_out)
    if proc.returncode not in (0, 1) or not json_out.is_file():
        raise ScanSetupError(f"checkov failed to run (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    report = json.loads(json_out.read_text(encoding="utf-8"))
    reports = report if isinstance(report, list) else [report]
    docs = {s.parent.name: json.loads(s.read_text(encoding="utf-8")) for s in stacks}

    def stack_of(check: dict) -> str:
        # Stacks are <stack>/cdk.tf.json, so the parent directory names the stack whatever path form
        # checkov reports (absolute, or relative to its working directory).
        name = Path(check.get("file_abs_path") or check.get("file_path") or "").parent.name
        return name if name in docs else "?"

    by_target = {(s.id, stack, path): s for s in skips for stack, path in s.targets}
    passed: dict[str, int] = {}
    passed_checks: list[Finding] = []
    failed: list[Finding] = []
    skipped: list[tuple[Finding, Skip]] = []
    parsing_errors: list[str] = []
    for rep in reports:
        results = rep.get("results", {})
        for check in results.get("passed_checks", []):
            name = stack_of(check)
            passed[name] = passed.get(name, 0) + 1
            address = _resource_address(docs.get(name, {}), check.get("resource", "?"))
            passed_checks.append(Finding(check["check_id"], check.get("check_name", ""), name, address,
                                         construct_path(docs.get(name, {}), address)))
        for check in results.get("failed_checks", []):
            name = stack_of(check)
            address = _resource_address(docs.get(name, {}), check.get("resource", "?"))
            finding = Finding(check["check_id"], check.get("check_name", ""), name, address,
                              construct_path(docs.get(name, {}), address))
            skip = by_target.get((finding.check_id, finding.stack, finding.path))
            if skip is not None:
                skipped.append((finding, skip))
            else:
                failed.append(finding)
        parsing_errors += results.get("parsing_errors", [])
    hit = {(s.id, f.stack, f.path) for f, s in skipped}
    scanned = set(docs)
    stale = sorted(((s, stack, path) for (cid, stack, path), s in by_target.items()
                    if stack in scanned and (cid, stack, path) not in hit), key=lambda x: (x[1], x[0].id, x[2]))
    failed.sort(key=lambda f: (f.stack, f.check_id, f.resource))
    result = CheckovResult([s.parent.name for s in stacks], passed, failed, parsing_errors, skipped, stale, report)
    checkov_junit(result, passed_checks, out_dir / "checkov-junit.xml")
    return result


def checkov_junit(result: CheckovResult, passed: list[Finding], path: Path) -> None:
    """One test suite per stack, one case per (check, resource): failed, skipped (with the reason) or passed."""
    root = ET.Element("testsuites")
    for stack in result.stacks:
        cases = [(f, None, None) for f in passed if f.stack == stack]
        cases += [(f, "skipped", s.reason) for f, s in result.skipped if f.stack == stack]
        cases += [(f, "failure", f.check_name) for f in result.failed if f.stack == stack]
        stale = [(skip, p) for skip, st, p in result.stale if st == stack]
        suite = ET.SubElement(root, "testsuite", name=f"checkov {stack}", tests=str(len(cases) + len(stale)),
                              failures=str(sum(k == "failure" for _, k, _ in cases) + len(stale)),
                              skipped=str(sum(k == "skipped" for _, k, _ in cases)))
        for finding, kind, message in sorted(cases, key=lambda c: (c[0].check_id, c[0].resource)):
            case = ET.SubElement(suite, "testcase", classname=f"{stack}.{finding.check_id}",
                                 name=f"{finding.check_id} {finding.resource} ({finding.path})")
            if kind is not None:
                ET.SubElement(case, kind, message=message)
        for skip, p in stale:
            case = ET.SubElement(suite, "testcase", classname=f"{stack}.{skip.id}", name=f"{skip.id} stale skip on {p}")
            ET.SubElement(case, "failure", message="the skip hides no failure: remove it")
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


# --- detect-secrets -------------------------------------------------------------------------------


@dataclass
class SecretsResult:
    files: list[str]
    unaudited: list[dict]
    real: list[dict]
    allowed: list[dict]
    merged: dict = field(repr=False, default_factory=dict)

    @property
    def problems(self) -> list[str]:
        out = [f"{s['filename']}:{s['line_number']}: {s['type']} (new or not audited)" for s in self.unaudited]
        out += [f"{s['filename']}:{s['line_number']}: {s['type']} (audited as a REAL secret: remove it and rotate it)" for s in self.real]
        return out


# Untracked files above this size are generated data (benchmark output, local runs), not source: they
# are listed as skipped instead of being read (detect-secrets holds a file's lines in memory). Tracked
# files are always scanned, whatever their size.
MAX_UNTRACKED_BYTES = 2 * 1024 * 1024


def _git_files(repo: Path, *args: str) -> set[str]:
    proc = subprocess.run(["git", "-C", str(repo), "ls-files", "-z", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise ScanSetupError(f"{repo} is not a git work tree: {proc.stderr.strip()}")
    return {n for n in proc.stdout.split("\0") if n}


def list_files(repo: Path) -> tuple[list[str], list[str]]:
    """(files to scan, large untracked files skipped): every file git would commit (tracked, plus
    untracked files not ignored), relative to ``repo``, the baseline itself excepted."""
    tracked = _git_files(repo, "--cached")
    untracked = _git_files(repo, "--others", "--exclude-standard")
    scan, skipped = [], []
    for name in sorted(tracked | untracked):
        path = repo / name
        if name == BASELINE_FILE.name or not path.is_file() or path.is_symlink():
            continue
        if name not in tracked and path.stat().st_size > MAX_UNTRACKED_BYTES:
            skipped.append(name)
        else:
            scan.append(name)
    return scan, skipped


def files_to_scan(repo: Path) -> list[str]:
    return list_files(repo)[0]


# detect-secrets records the path it was given with --baseline as this filter's ``filename`` (the file
# it never scans) and writes it back into the baseline: an absolute path of whichever machine and
# checkout last updated it. The gate lists files itself (the baseline excepted), so the entry only
# has to name the baseline, and is kept as the baseline's path relative to the repository.
BASELINE_FILTER = "detect_secrets.filters.common.is_baseline_file"


def _baseline_name(repo: Path, baseline: Path) -> str:
    """The baseline as the committed filter entry names it: relative to ``repo`` (its file name if outside)."""
    try:
        return baseline.resolve().relative_to(repo.resolve()).as_posix()
    except ValueError:
        return baseline.name


def portable(baseline: dict, name: str) -> dict:
    """``baseline`` with the ``is_baseline_file`` filter naming ``name`` (machine-independent), in place."""
    for entry in baseline.get("filters_used", []):
        if entry.get("path") == BASELINE_FILTER:
            entry["filename"] = name
    return baseline


def run_detect_secrets(repo: Path, files: list[str], *, baseline: Path, update: bool = False,
                       detect_secrets: str | None = None) -> SecretsResult:
    """Scan ``files`` with the baseline's settings, merging into a copy of it (or into it, to update).
    The merged result, and the baseline when updated, name the baseline by its path in ``repo``."""
    detect_secrets = detect_secrets or tool("DETECT_SECRETS_BIN", "detect-secrets")
    name = _baseline_name(repo, baseline)
    with tempfile.TemporaryDirectory() as tmp:
        work = baseline if update else Path(tmp) / "baseline.json"
        if baseline.is_file() and not update:
            shutil.copyfile(baseline, work)
        if work.is_file():
            cmd = [detect_secrets, "scan", "-n", "--baseline", str(work), *files]
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=repo)
        else:  # no baseline yet: a fresh scan
            proc = subprocess.run([detect_secrets, "scan", "-n", *files], capture_output=True, text=True, cwd=repo)
            if proc.returncode == 0:
                work.write_text(proc.stdout, encoding="utf-8")
        if proc.returncode != 0:
            raise ScanSetupError(f"detect-secrets failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
        merged = portable(json.loads(work.read_text(encoding="utf-8")), name)
        if update:  # as detect-secrets writes it (indent 2, final newline), the filter entry relative
            work.write_text(json.dumps(merged, indent=2) + "\n", encoding="utf-8")
    unaudited, real, allowed = [], [], []
    for entries in merged.get("results", {}).values():
        for entry in entries:
            if entry.get("is_secret") is False:
                allowed.append(entry)
            elif entry.get("is_secret") is True:
                real.append(entry)
            else:
                unaudited.append(entry)
    return SecretsResult(files, unaudited, real, allowed, merged)


# Synthesized Terraform is full of hashes (asset and code hashes) and names like "secret_uris", which
# the entropy and keyword detectors flag and which change with every code change; the committed
# snapshots carry the same content normalized and go through the baseline-audited repository scan.
# The synthesized stacks themselves get the pattern detectors only, with no allowlist at all.
ENTROPY_AND_KEYWORD_PLUGINS = ("Base64HighEntropyString", "HexHighEntropyString", "KeywordDetector")


def scan_synthesized(stacks: list[Path], *, detect_secrets: str | None = None) -> list[str]:
    """Credential patterns (keys, tokens, connection strings, private keys) in synthesized stacks."""
    detect_secrets = detect_secrets or tool("DETECT_SECRETS_BIN", "detect-secrets")
    if not stacks:
        return []
    root = Path(os.path.commonpath([s.parent.parent for s in stacks]))
    cmd = [detect_secrets, "scan", "-n"]
    for plugin in ENTROPY_AND_KEYWORD_PLUGINS:
        cmd += ["--disable-plugin", plugin]
    cmd += [str(s.relative_to(root)) for s in stacks]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=root)
    if proc.returncode != 0:
        raise ScanSetupError(f"detect-secrets failed on the synthesized stacks: {proc.stderr.strip()[-2000:]}")
    return [f"{name}:{e['line_number']}: {e['type']} in synthesized Terraform"
            for name, entries in json.loads(proc.stdout).get("results", {}).items() for e in entries]


def secrets_junit(result: SecretsResult, path: Path) -> None:
    """One test case per scanned file: failed if it holds a new, unaudited or real secret."""
    bad: dict[str, list[dict]] = {}
    for entry in result.unaudited + result.real:
        bad.setdefault(entry["filename"], []).append(entry)
    suite = ET.Element("testsuite", name="detect-secrets", tests=str(len(result.files)), failures=str(len(bad)))
    for name in result.files:
        case = ET.SubElement(suite, "testcase", classname="detect-secrets", name=name)
        if name in bad:
            lines = [f"line {e['line_number']}: {e['type']}" for e in bad[name]]
            ET.SubElement(case, "failure", message=f"{len(lines)} secret(s) not in the audited baseline").text = "\n".join(lines)
    root = ET.Element("testsuites")
    root.append(suite)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


# --- command line ---------------------------------------------------------------------------------


def say(msg: str) -> None:
    print(f"==> {msg}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("gate", nargs="?", choices=["all", "checkov", "secrets"], default="all")
    parser.add_argument("--repo", type=Path, default=REPO_ROOT, help="repository to scan (default: this one)")
    parser.add_argument("--stacks-dir", type=Path, help="default: REPO/cdktf.out/stacks")
    parser.add_argument("--skips", type=Path, help="default: REPO/security/checkov-skips.yaml")
    parser.add_argument("--no-skips", action="store_true", help="run every checkov check (shows what each skip hides)")
    parser.add_argument("--baseline", type=Path, help="default: REPO/.secrets.baseline")
    parser.add_argument("--update-baseline", action="store_true", help="merge new findings into the baseline, then audit it")
    parser.add_argument("--report-dir", type=Path, help="write JUnit XML and JSON reports here")
    args = parser.parse_args(argv)
    repo = args.repo.resolve()
    stacks_dir = args.stacks_dir or repo / "cdktf.out" / "stacks"
    failures: list[str] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            out_dir = args.report_dir or Path(tmp)
            out_dir.mkdir(parents=True, exist_ok=True)
            if args.gate in ("all", "checkov"):
                skips = [] if args.no_skips else load_skips(args.skips or repo / "security" / "checkov-skips.yaml")
                stacks = find_stacks(stacks_dir)
                targets = sum(len(s.targets) for s in skips)
                say(f"checkov over {len(stacks)} stack(s), offline, {len(skips)} check(s) skipped on {targets} named resource(s)")
                started = time.monotonic()
                result = run_checkov(stacks, skips, out_dir=out_dir)
                for stack in result.stacks:
                    print(f"checkov {stack}: {result.passed.get(stack, 0)} passed, "
                          f"{sum(f.stack == stack for f in result.failed)} failed, "
                          f"{sum(f.stack == stack for f, _ in result.skipped)} skipped by name")
                for problem in result.problems:
                    print(f"  FAILED {problem}")
                print(f"checkov took {time.monotonic() - started:.1f} s")
                failures += result.problems
            if args.gate in ("all", "secrets"):
                baseline = args.baseline or repo / BASELINE_FILE.name
                files, skipped = list_files(repo)
                for name in skipped:
                    print(f"  skipped {name}: untracked and over {MAX_UNTRACKED_BYTES // 1024 // 1024} MiB (generated data?)")
                say(f"detect-secrets over {len(files)} file(s) against {baseline.name}")
                started = time.monotonic()
                secrets = run_detect_secrets(repo, files, baseline=baseline, update=args.update_baseline)
                print(f"detect-secrets: {len(files)} files, {len(secrets.allowed)} audited false positive(s), "
                      f"{len(secrets.unaudited) + len(secrets.real)} problem(s), {time.monotonic() - started:.1f} s")
                for problem in secrets.problems:
                    print(f"  FAILED {problem}")
                if args.update_baseline:
                    print(f"baseline updated: audit it with `{os.environ.get('DETECT_SECRETS_BIN', 'detect-secrets')} audit {baseline}`")
                if args.report_dir:
                    secrets_junit(secrets, out_dir / "detect-secrets-junit.xml")
                    (out_dir / "detect-secrets.json").write_text(json.dumps(secrets.merged, indent=2), encoding="utf-8")
                failures += secrets.problems
                stacks = sorted(stacks_dir.glob("*/cdk.tf.json")) if stacks_dir.is_dir() else []
                synthesized = scan_synthesized(stacks)
                print(f"detect-secrets (credential patterns) over {len(stacks)} synthesized stack(s): {len(synthesized)} problem(s)")
                for problem in synthesized:
                    print(f"  FAILED {problem}")
                failures += synthesized
    except ScanSetupError as exc:
        print(f"security scan: {exc}", file=sys.stderr)
        return 2
    if failures:
        print(f"security gates FAILED: {len(failures)} finding(s)", file=sys.stderr)
        return 1
    print("security gates passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
