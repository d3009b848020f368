"""Gate 2: detect-secrets over the repository (everything git would commit, snapshots included) finds
nothing beyond the audited baseline, the synthesized stacks carry no credential pattern at all, and a
planted secret is caught."""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import string
import subprocess
import sys
from pathlib import Path

import pytest

from tests.security.scanner import DETECT_SECRETS, REPO_ROOT, SCRIPT, TOOL_ENV, security_scan, stacks_dir

BASELINE = REPO_ROOT / ".secrets.baseline"


def scan(repo: Path) -> object:
    files = security_scan.files_to_scan(repo)
    return security_scan.run_detect_secrets(repo, files, baseline=repo / ".secrets.baseline", detect_secrets=DETECT_SECRETS)


def test_no_secret_in_the_repository_beyond_the_audited_baseline() -> None:
    result = scan(REPO_ROOT)
    assert result.problems == [], "\n".join(result.problems)
    tracked = subprocess.run(["git", "-C", str(REPO_ROOT), "ls-files"], capture_output=True, text=True, check=True).stdout.split()
    tracked = [t for t in tracked if (REPO_ROOT / t).is_file() and t != ".secrets.baseline"]
    assert set(tracked) <= set(result.files), "every tracked file is scanned, snapshots included"


def test_the_synthesized_stacks_carry_no_credential_pattern(synth_outdir: Path, tmp_path: Path) -> None:
    stacks = sorted(stacks_dir(synth_outdir).glob("*/cdk.tf.json"))
    assert stacks
    assert security_scan.scan_synthesized(stacks, detect_secrets=DETECT_SECRETS) == []
    # ... and the same scan bites on a key slipped into a copy of one
    doc = json.loads(stacks[0].read_text())
    doc.setdefault("locals", {})["leak"] = f"DefaultEndpointsProtocol=https;AccountName=stx;AccountKey={fake_storage_key()}"
    copy = tmp_path / "stacks" / stacks[0].parent.name / "cdk.tf.json"
    copy.parent.mkdir(parents=True)
    copy.write_text(json.dumps(doc, indent=2))
    problems = security_scan.scan_synthesized([copy], detect_secrets=DETECT_SECRETS)
    assert problems and all(p.startswith(f"{stacks[0].parent.name}/cdk.tf.json:") for p in problems)


def test_the_baseline_holds_only_audited_false_positives() -> None:
    assert BASELINE.is_file(), "the audited baseline is committed"
    baseline = json.loads(BASELINE.read_text())
    for filename, entries in baseline["results"].items():
        for entry in entries:
            assert entry.get("is_secret") is False, f"{filename}:{entry['line_number']} {entry['type']} is not audited"
    # -n (no network verification) is how the scanner runs: the baseline must not need it either.
    assert not any(f["path"].endswith("is_verified") for f in baseline.get("filters_used", []))


def test_the_baseline_keeps_every_detector_and_excludes_no_file() -> None:
    """The scan takes its settings from the baseline: dropping a plugin or adding an exclusion there
    would silently weaken the gate."""
    baseline = json.loads(BASELINE.read_text())
    listed = subprocess.run([DETECT_SECRETS, "scan", "--list-all-plugins"], capture_output=True, text=True, check=True)
    assert {p["name"] for p in baseline["plugins_used"]} == set(listed.stdout.split())
    filters = {f["path"] for f in baseline.get("filters_used", [])}
    assert not {f for f in filters if f.startswith("detect_secrets.filters.regex.")}, filters


# --- it bites -------------------------------------------------------------------------------------


def fake_storage_key() -> str:
    """A random value shaped like an Azure storage account key (made at run time: no secret in source)."""
    return base64.b64encode(secrets.token_bytes(64)).decode()


def fake_aws_key_id() -> str:
    return "AKIA" + "".join(secrets.choice(string.ascii_uppercase + "234567") for _ in range(16))


@pytest.fixture(scope="module")
def audited_copy(tmp_path_factory) -> Path:
    """Every file the gate scans, copied into a fresh git work tree (nothing committed, as in a PR)."""
    copy = tmp_path_factory.mktemp("pristine") / "repo"
    for rel in security_scan.files_to_scan(REPO_ROOT):
        dest = copy / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO_ROOT / rel, dest)
    if BASELINE.is_file():
        shutil.copyfile(BASELINE, copy / ".secrets.baseline")
    shutil.copyfile(REPO_ROOT / ".gitignore", copy / ".gitignore")
    subprocess.run(["git", "init", "-q", str(copy)], check=True)
    subprocess.run(["git", "-C", str(copy), "add", "-A"], check=True)
    # Start from an audited state whatever the working tree holds today: every current finding is
    # marked a false positive, so the planted secrets below are the only problems.
    baseline = scan(copy).merged
    for entries in baseline["results"].values():
        for entry in entries:
            entry["is_secret"] = False
    (copy / ".secrets.baseline").write_text(json.dumps(baseline, indent=2))
    assert scan(copy).problems == []
    return copy


@pytest.fixture
def repo_copy(audited_copy: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "repo"
    shutil.copytree(audited_copy, copy, symlinks=True)
    return copy


def test_the_gate_catches_secrets_planted_in_code_config_snapshots_and_untracked_files(repo_copy: Path) -> None:
    key = fake_storage_key()
    planted = {
        "constructs/emotion_platform/leak.py": f'STORAGE = "DefaultEndpointsProtocol=https;AccountName=stx;AccountKey={key};EndpointSuffix=core.windows.net"\n',
        "config/leak.toml": f'[creds]\naws_access_key_id = "{fake_aws_key_id()}"\n',
        # a snapshot: committed synthesized JSON is scanned like code
        "tests/infra/snapshots/phase2-leak.json": json.dumps({"resource": {"azurerm_key_vault_secret": {"s": {"value": f"AccountKey={key}"}}}}, indent=2),
    }
    for rel, text in planted.items():
        (repo_copy / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo_copy / rel).write_text(text)
    subprocess.run(["git", "-C", str(repo_copy), "add", *list(planted)[:2]], check=True)
    # the snapshot stays untracked (a new file in a PR): files git would commit are scanned too
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "secrets", "--repo", str(repo_copy), "--report-dir", str(repo_copy.parent / "reports")],
        capture_output=True, text=True, env={**TOOL_ENV, "PATH": os.environ["PATH"]}, timeout=300,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    for rel in planted:
        assert f"FAILED {rel}:" in proc.stdout, f"{rel} not reported:\n{proc.stdout}"
    assert key not in proc.stdout + proc.stderr, "the scanner never prints a secret"
    junit = (repo_copy.parent / "reports" / "detect-secrets-junit.xml").read_text()
    assert junit.count("<failure") == len(planted)


def test_large_untracked_files_are_skipped_but_large_tracked_files_are_scanned(repo_copy: Path) -> None:
    big = "x" * (security_scan.MAX_UNTRACKED_BYTES + 1) + "\n"
    (repo_copy / "bench-output.csv").write_text(big)
    (repo_copy / "committed-data.csv").write_text(big)
    subprocess.run(["git", "-C", str(repo_copy), "add", "committed-data.csv"], check=True)
    scan_list, skipped = security_scan.list_files(repo_copy)
    assert skipped == ["bench-output.csv"]
    assert "committed-data.csv" in scan_list and "bench-output.csv" not in scan_list


def test_a_secret_audited_as_real_fails_the_gate(repo_copy: Path) -> None:
    (repo_copy / "leak.env").write_text(f"AZURE_STORAGE_KEY={fake_storage_key()}\n")
    baseline_path = repo_copy / ".secrets.baseline"
    first = security_scan.run_detect_secrets(repo_copy, ["leak.env"], baseline=baseline_path, detect_secrets=DETECT_SECRETS)
    assert [e["filename"] for e in first.unaudited] == ["leak.env"] * len(first.unaudited) and first.unaudited
    # Mark it audited as a real secret in the baseline: still a failure, with the advice to rotate.
    baseline = first.merged
    for entry in baseline["results"]["leak.env"]:
        entry["is_secret"] = True
    (repo_copy / ".secrets.baseline").write_text(json.dumps(baseline))
    second = security_scan.run_detect_secrets(repo_copy, ["leak.env"], baseline=baseline_path, detect_secrets=DETECT_SECRETS)
    assert second.unaudited == [] and second.real
    assert any("REAL secret" in p for p in second.problems)


# --- the baseline is machine-independent ------------------------------------------------------------


def _baseline_filter_names(baseline: dict) -> list[str]:
    return [f["filename"] for f in baseline.get("filters_used", []) if f["path"] == security_scan.BASELINE_FILTER]


def test_the_committed_baseline_names_itself_relative_to_the_repository() -> None:
    """No absolute path of whoever last updated it: the same file on every machine and checkout."""
    assert _baseline_filter_names(json.loads(BASELINE.read_text())) == [".secrets.baseline"]


def test_scanning_and_updating_keep_the_baseline_entry_relative(repo_copy: Path) -> None:
    """detect-secrets writes the path it was given (a temp copy, or this checkout's absolute path) into
    the baseline; the gate puts the relative name back, in the merged result and in an updated file."""
    (repo_copy / "leak.env").write_text(f"AZURE_STORAGE_KEY={fake_storage_key()}\n")
    baseline_path = repo_copy / ".secrets.baseline"
    scanned = security_scan.run_detect_secrets(repo_copy, ["leak.env"], baseline=baseline_path, detect_secrets=DETECT_SECRETS)
    assert _baseline_filter_names(scanned.merged) == [".secrets.baseline"]
    updated = security_scan.run_detect_secrets(repo_copy, ["leak.env"], baseline=baseline_path, update=True,
                                               detect_secrets=DETECT_SECRETS)
    assert updated.unaudited, "the planted key is merged in, unaudited"
    written = baseline_path.read_text()
    assert str(repo_copy) not in written and written.endswith("}\n")
    assert _baseline_filter_names(json.loads(written)) == [".secrets.baseline"]
    assert "leak.env" in json.loads(written)["results"]
