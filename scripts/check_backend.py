#!/usr/bin/env python3
"""Refuse to plan or apply a stack whose state would not land in the environment's remote backend.

A stack synthesized without ``PHASE2_BACKEND=azurerm`` keeps local state, which on a pipeline agent is
thrown away with the agent: the next run would try to create everything again. Stdlib only (it runs
on the agent's python3 before any install).

    python3 scripts/check_backend.py cdktf.out/stacks/phase2-dev/cdk.tf.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REQUIRED = ("resource_group_name", "storage_account_name", "container_name", "key")


def backend_problems(doc: dict) -> list[str]:
    """What is wrong with the stack's backend block, as messages naming the field and the rule."""
    backend = doc.get("terraform", {}).get("backend", {})
    if "azurerm" not in backend:
        kinds = ", ".join(sorted(backend)) or "none (local state)"
        return [f"terraform.backend is {kinds}; must be azurerm (synthesize with PHASE2_BACKEND=azurerm)"]
    cfg = backend["azurerm"]
    problems = [f"terraform.backend.azurerm.{f} is missing or empty" for f in REQUIRED if not cfg.get(f)]
    if cfg.get("use_azuread_auth") is not True:
        problems.append(
            f"terraform.backend.azurerm.use_azuread_auth is {cfg.get('use_azuread_auth')!r}; must be true "
            "(Entra ID data-plane auth to the state container, no storage account key)"
        )
    for secret in ("access_key", "sas_token", "client_secret"):
        if secret in cfg:
            problems.append(f"terraform.backend.azurerm.{secret} is set; credentials never go in the backend block")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: check_backend.py PATH/cdk.tf.json", file=sys.stderr)
        return 2
    path = Path(argv[0])
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"{path}: cannot read the synthesized stack: {exc}", file=sys.stderr)
        return 1
    problems = backend_problems(doc)
    for problem in problems:
        print(f"{path}: {problem}", file=sys.stderr)
    if not problems:
        cfg = doc["terraform"]["backend"]["azurerm"]
        print(f"{path}: state in {cfg['storage_account_name']}/{cfg['container_name']}/{cfg['key']}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
