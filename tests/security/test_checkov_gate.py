"""Gate 1: checkov over every synthesized stack, offline, with zero failures. A failure is skipped only
on the (check, stack, construct path) targets security/checkov-skips.yaml names, each check listed once
with its reason; the same finding anywhere else fails the gate, and so does a target that hides nothing."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from tests.security.scanner import CHECKOV, REPO_ROOT, SCRIPT, TOOL_ENV, security_scan, stacks_dir

SKIPS = REPO_ROOT / "security" / "checkov-skips.yaml"


@pytest.fixture(scope="module")
def stacks(synth_outdir: Path, synthesized: dict) -> list[Path]:
    found = security_scan.find_stacks(stacks_dir(synth_outdir))
    assert {p.parent.name for p in found} == set(synthesized), "every synthesized stack is scanned"
    return found


@pytest.fixture(scope="module")
def gate(stacks: list[Path], tmp_path_factory) -> object:
    """The gate exactly as ./dev.sh scan runs it (same skips, same flags)."""
    return security_scan.run_checkov(stacks, security_scan.load_skips(SKIPS),
                                     out_dir=tmp_path_factory.mktemp("checkov"), checkov=CHECKOV)


# --- the skip list --------------------------------------------------------------------------------


def test_each_skipped_check_is_listed_once_with_a_reason() -> None:
    raw = yaml.safe_load(SKIPS.read_text(encoding="utf-8"))
    ids = [entry["id"] for entry in raw["skips"]]
    assert len(ids) == len(set(ids)), f"listed more than once: {sorted({i for i in ids if ids.count(i) > 1})}"
    for entry in raw["skips"]:
        assert set(entry) == {"id", "reason", "resources"}, entry
        assert len(entry["reason"].split()) >= 5, f"{entry['id']}: the reason must say why"
    loaded = security_scan.load_skips(SKIPS)
    assert [s.id for s in loaded] == ids
    for skip in loaded:  # scoped: never a whole stack, never a pattern
        assert skip.targets and all("*" not in path and path for _, path in skip.targets), skip.id


@pytest.mark.parametrize(
    "text, message",
    [
        ("skips:\n  - id: CKV_AZURE_35\n    reason: public endpoints are needed by design here\n    resources: {s: [a]}\n"
         "  - id: CKV_AZURE_35\n    reason: listed a second time for another resource\n    resources: {s: [b]}\n",
         "skips[1].id = CKV_AZURE_35: already listed at skips[0]; list each check once"),
        ("skips:\n  - id: CKV_AZURE_35\n", "skips[0].reason for CKV_AZURE_35 = None: must say why"),
        ("skips:\n  - id: CKV_AZURE_35\n    reason: because\n", "must say why, in at least 20 characters"),
        ("skips:\n  - id: azure-35\n    reason: a perfectly long reason for it\n", "must be a checkov check id"),
        ("skips:\n  - id: CKV_AZURE_35\n    reason: a perfectly long reason for it\n    resource: x\n",
         "unknown key(s) ['resource']"),
        ("skips:\n  - id: CKV_AZURE_35\n    reason: a perfectly long reason for it\n",
         "skips[0].resources for CKV_AZURE_35 = None: must map each stack to the construct paths"),
        ("skips:\n  - id: CKV_AZURE_35\n    reason: a perfectly long reason for it\n    resources: {'*': [a]}\n",
         "stack name '*' must be a stack name such as phase2-dev (no wildcards)"),
        ("skips:\n  - id: CKV_AZURE_35\n    reason: a perfectly long reason for it\n    resources: {phase2-dev: ['foundation/*']}\n",
         "'foundation/*' must be a construct path below the stack"),
        ("skips:\n  - id: CKV_AZURE_35\n    reason: a perfectly long reason for it\n    resources: {phase2-dev: []}\n",
         "resources.phase2-dev = []: must be a non-empty list of construct paths"),
        ("skips:\n  - id: CKV_AZURE_35\n    reason: a perfectly long reason for it\n    resources: {phase2-dev: [a, a]}\n",
         "'a' is listed twice"),
        ("- CKV_AZURE_35\n", "must be a mapping with exactly one key 'skips'"),
    ],
)
def test_the_skip_file_is_validated(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "skips.yaml"
    path.write_text(text)
    with pytest.raises(security_scan.ScanSetupError) as err:
        security_scan.load_skips(path)
    assert message in str(err.value)


# --- the gate -------------------------------------------------------------------------------------


def test_checkov_finds_no_failure_in_any_stack(gate) -> None:
    assert gate.problems == [], "\n".join(gate.problems)
    for stack in gate.stacks:  # not vacuous: checkov really evaluated each stack
        assert gate.passed.get(stack, 0) >= 10, f"{stack}: only {gate.passed.get(stack, 0)} checks ran"


def test_every_skip_target_still_hides_a_real_failure(gate) -> None:
    """A skip whose check passes anyway is stale and would hide a future regression: the gate says so."""
    assert gate.stale == []
    listed = {(s.id, stack, path) for s in security_scan.load_skips(SKIPS) for stack, path in s.targets}
    assert {(s.id, f.stack, f.path) for f, s in gate.skipped} == listed


def test_a_skip_hides_its_finding_on_the_named_resource_only(synthesized: dict, tmp_path: Path) -> None:
    """One checkov run: a copy of a stack under another name gets none of its skips; a target dropped
    from the list fails again; a target whose check passes is reported stale."""
    skips = security_scan.load_skips(SKIPS)
    dropped = next(s for s in skips if ("phase2-prod", "generator/runtime-storage") in s.targets)
    planted = next(s for s in skips if s.id == "CKV_AZURE_103")
    changed = []
    for s in skips:
        targets = set(s.targets)
        if s is dropped:
            targets.discard(("phase2-prod", "generator/runtime-storage"))
        if s is planted:
            targets.add(("phase2-dev", "generator/app"))  # the Function App passes CKV_AZURE_103 (a factory check)
        if targets:
            changed.append(security_scan.Skip(s.id, s.reason, frozenset(targets)))
    paths = []
    for name in ("phase2-dev", "phase2-prod", "phase2-copy"):
        doc = copy.deepcopy(synthesized["phase2-prod" if name == "phase2-copy" else name])
        if name == "phase2-copy":
            doc["//"]["metadata"]["stackName"] = name
            for items in doc.get("resource", {}).values():
                for block in items.values():
                    meta = block.get("//", {}).get("metadata", {})
                    if meta.get("path", "").startswith("phase2-prod/"):
                        meta["path"] = "phase2-copy/" + meta["path"].removeprefix("phase2-prod/")
        stack = tmp_path / "stacks" / name / "cdk.tf.json"
        stack.parent.mkdir(parents=True)
        stack.write_text(json.dumps(doc))
        paths.append(stack)
    result = security_scan.run_checkov(paths, changed, out_dir=tmp_path / "out", checkov=CHECKOV)
    prod_skipped = {(s.id, f.path) for f, s in result.skipped if f.stack == "phase2-prod"}
    copy_failed = {(f.check_id, f.path) for f in result.failed if f.stack == "phase2-copy"}
    assert prod_skipped - {(dropped.id, "generator/runtime-storage")} <= copy_failed, "the copy gets no skip"
    assert (dropped.id, "generator/runtime-storage") in {(f.check_id, f.path) for f in result.failed if f.stack == "phase2-prod"}
    assert [(s.id, stack, path) for s, stack, path in result.stale] == [("CKV_AZURE_103", "phase2-dev", "generator/app")]
    assert any("stale skip CKV_AZURE_103 on generator/app" in p for p in result.problems)


def _first(doc: dict, rtype: str) -> dict:
    return next(iter(doc["resource"][rtype].values()))


INSECURE_CHANGES = [  # (resource type, attribute, insecure value or None to drop it, check that must fail)
    ("azurerm_storage_account", "min_tls_version", "TLS1_0", "CKV_AZURE_44"),
    ("azurerm_storage_container", "container_access_type", "blob", "CKV_AZURE_34"),
    ("azurerm_key_vault_secret", "expiration_date", None, "CKV_AZURE_41"),
]


def test_the_gate_bites_on_insecure_changes(synthesized: dict, tmp_path: Path) -> None:
    """The same gate over copies of a stack, each made insecure in one attribute, fails on that check
    (one checkov run over all the copies)."""
    copies = []
    for i, (rtype, attribute, value, check) in enumerate(INSECURE_CHANGES):
        name = next(n for n, doc in sorted(synthesized.items()) if rtype in doc.get("resource", {}))
        doc = copy.deepcopy(synthesized[name])
        resource = _first(doc, rtype)
        if value is None:
            resource.pop(attribute, None)
        else:
            resource[attribute] = value
        stack = tmp_path / "stacks" / f"{name}-insecure-{i}" / "cdk.tf.json"
        stack.parent.mkdir(parents=True)
        stack.write_text(json.dumps(doc, indent=2))
        copies.append(stack)
    result = security_scan.run_checkov(copies, security_scan.load_skips(SKIPS), out_dir=tmp_path / "out", checkov=CHECKOV)
    for stack, (rtype, attribute, value, check) in zip(copies, INSECURE_CHANGES):
        failed = {f.check_id for f in result.failed if f.stack == stack.parent.name}
        assert check in failed, f"{rtype}.{attribute}={value!r} not caught: {failed}"


def test_scan_command_publishes_junit_for_the_pipeline(synth_outdir: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "checkov", "--stacks-dir", str(stacks_dir(synth_outdir)), "--report-dir", str(tmp_path)],
        capture_output=True, text=True, env={**TOOL_ENV, "PATH": "/usr/bin:/bin"}, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    suites = ET.parse(tmp_path / "checkov-junit.xml").getroot().findall("testsuite")
    assert {s.get("name") for s in suites} == {"checkov phase2-dev", "checkov phase2-prod"}
    for suite in suites:
        assert int(suite.get("tests")) > 10 and int(suite.get("failures")) == 0
        assert int(suite.get("skipped")) > 0  # the named skips appear as skipped cases, with their reason
        assert all(s.get("message") for s in suite.iter("skipped"))
    assert json.loads((tmp_path / "checkov.json").read_text())["summary"]["passed"] > 0  # checkov's own report


def test_scan_command_fails_clearly_without_stacks(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "checkov", "--stacks-dir", str(tmp_path)],
        capture_output=True, text=True, env={**TOOL_ENV, "PATH": "/usr/bin:/bin"}, timeout=120,
    )
    assert proc.returncode == 2
    assert f"no stacks under {tmp_path} (*/cdk.tf.json): run ./dev.sh synth first" in proc.stderr
