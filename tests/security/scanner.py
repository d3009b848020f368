"""scripts/security_scan.py, imported (scripts/ is not a package) so tests call what ./dev.sh scan runs."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "security_scan.py"

_spec = importlib.util.spec_from_file_location("security_scan", SCRIPT)
security_scan = importlib.util.module_from_spec(_spec)
sys.modules["security_scan"] = security_scan
_spec.loader.exec_module(security_scan)

# The tools ./dev.sh setup installs; the tests run them exactly as ./dev.sh scan does.
CHECKOV = os.environ.get("CHECKOV_BIN") or str(REPO_ROOT / ".venv-tools" / "bin" / "checkov")
DETECT_SECRETS = os.environ.get("DETECT_SECRETS_BIN") or str(REPO_ROOT / ".venv-tools" / "bin" / "detect-secrets")
TOOL_ENV = {"CHECKOV_BIN": CHECKOV, "DETECT_SECRETS_BIN": DETECT_SECRETS}


def stacks_dir(synth_outdir: Path) -> Path:
    """The directory holding <stack>/cdk.tf.json in a synth output."""
    return synth_outdir / "stacks" if (synth_outdir / "stacks").is_dir() else synth_outdir
