#!/usr/bin/env python3
"""Refuse to init a stack whose provider lock file would let Terraform pick or trust a provider itself.

`terraform init -lockfile=readonly` installs exactly the versions the lock file selects and verifies
each downloaded zip against its hashes; a provider the file does not list would be selected and
trusted on first use, and init would fail only after talking to the registry. This check runs first
and names every gap at once: the stack's ``.terraform.lock.hcl`` must be the committed one, list every
provider the stack requires (``terraform.required_providers`` of cdk.tf.json) at the pinned version,
list nothing else, and carry for each at least one ``zh:`` hash (sha256 of a release zip, what the
registry's signed SHA256SUMS lists) and one ``h1:`` hash (the unpacked package). Stdlib only.

    python3 scripts/check_provider_lock.py cdktf.out/stacks/phase2-dev [--committed .terraform.lock.hcl]

Exit 0 when the lock is complete, 1 with one line per problem otherwise.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

LOCK_NAME = ".terraform.lock.hcl"
DEFAULT_HOST = "registry.terraform.io"
FIX = "record it with the one-time `terraform providers lock` step (docs/cicd.md, \"Provider lock file\") and commit .terraform.lock.hcl"

_BLOCK = re.compile(r'^provider\s+"([^"]+)"\s*\{(.*?)^\}', re.M | re.S)
_ATTR = re.compile(r'^\s*(version|constraints)\s*=\s*"([^"]*)"\s*$', re.M)
_HASHES = re.compile(r"^\s*hashes\s*=\s*\[(.*?)\]", re.M | re.S)
_EXACT = re.compile(r"^=?\s*(\d+\.\d+\.\d+)$")


@dataclass
class Locked:
    address: str
    version: str = ""
    constraints: str = ""
    hashes: list[str] = field(default_factory=list)


def parse_lock(text: str) -> dict[str, Locked]:
    """The provider blocks of a lock file (the subset of HCL that Terraform writes there)."""
    uncommented = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(("#", "//")))
    locks: dict[str, Locked] = {}
    for address, body in _BLOCK.findall(uncommented):
        entry = Locked(address)
        for name, value in _ATTR.findall(body):
            setattr(entry, name, value)
        hashes = _HASHES.search(body)
        if hashes:
            entry.hashes = re.findall(r'"([^"]*)"', hashes.group(1))
        locks[address] = entry
    return locks


def provider_address(source: str) -> str:
    """``azurerm`` / ``hashicorp/azurerm`` / ``registry.terraform.io/hashicorp/azurerm`` -> the full address."""
    parts = source.lower().split("/")
    if len(parts) == 1:
        parts = ["hashicorp", *parts]
    if len(parts) == 2:
        parts = [DEFAULT_HOST, *parts]
    return "/".join(parts)


def required_providers(doc: dict) -> dict[str, str]:
    """Full provider address -> the version constraint the synthesized stack states."""
    required = doc.get("terraform", {}).get("required_providers", {})
    return {provider_address(spec.get("source", name)): spec.get("version", "") for name, spec in required.items()}


def _hash_problem(value: str) -> str | None:
    scheme, _, digest = value.partition(":")
    if scheme == "zh":
        return None if re.fullmatch(r"[0-9a-f]{64}", digest) else "is not zh: and 64 lowercase hex digits"
    if scheme == "h1":
        try:
            ok = len(base64.b64decode(digest, validate=True)) == 32
        except ValueError:
            ok = False
        return None if ok else "is not h1: and the base64 of a sha256"
    return "has an unknown scheme (only zh: and h1: are written by terraform)"


def lock_problems(locks: dict[str, Locked], required: dict[str, str]) -> list[str]:
    """Everything that keeps ``locks`` from pinning exactly ``required``, as messages naming the
    provider, the value and the rule."""
    problems = []
    for address, constraint in sorted(required.items()):
        exact = _EXACT.match(constraint.strip())
        if not exact:
            problems.append(f"{address}: the stack requires {constraint!r}; pin an exact version (x.y.z) so the lock and the bindings agree")
            continue
        want = exact.group(1)
        entry = locks.get(address)
        if entry is None:
            problems.append(f"{address} {want}: not in the lock file; {FIX}")
            continue
        if entry.version != want:
            problems.append(f"{address}: the lock file selects {entry.version or 'no version'}, the stack requires {want}; {FIX}")
        zh = [h for h in entry.hashes if h.startswith("zh:")]
        h1 = [h for h in entry.hashes if h.startswith("h1:")]
        if not zh:
            problems.append(f"{address} {entry.version}: no zh: hashes (sha256 of each platform's release zip); {FIX}")
        if not h1:
            problems.append(f"{address} {entry.version}: no h1: hash (the unpacked package); {FIX}")
        for value in entry.hashes:
            problem = _hash_problem(value)
            if problem:
                problems.append(f"{address} {entry.version}: hash {value!r} {problem}")
    for address in sorted(set(locks) - set(required)):
        problems.append(f"{address}: in the lock file but required by no stack (terraform would remove it, which -lockfile=readonly refuses)")
    return problems


def check(stack_dir: Path, committed: Path | None) -> list[str]:
    lock, stack_file = stack_dir / LOCK_NAME, stack_dir / "cdk.tf.json"
    try:
        doc = json.loads(stack_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"{stack_file}: cannot read the synthesized stack: {exc}"]
    if not lock.is_file():
        return [f"{lock}: not found; ./dev.sh synth copies the committed {LOCK_NAME} into every stack"]
    text = lock.read_text(encoding="utf-8")
    if committed is not None and (not committed.is_file() or committed.read_text(encoding="utf-8") != text):
        return [f"{lock}: differs from the committed {committed} (synthesize again from this commit)"]
    return [f"{lock}: {p}" for p in lock_problems(parse_lock(text), required_providers(doc))]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Check a stack's provider lock file before terraform init.")
    parser.add_argument("stack_dir", type=Path, help="the synthesized stack directory (holds cdk.tf.json)")
    parser.add_argument("--committed", type=Path, help="the committed lock file the stack's copy must equal")
    args = parser.parse_args(argv)
    problems = check(args.stack_dir, args.committed)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"{args.stack_dir / LOCK_NAME}: every provider locked with hashes")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
