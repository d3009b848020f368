#!/usr/bin/env python3
"""Post-deploy smoke test: call the generator Function over HTTP and prove a new bronze blob appeared.

Run by the pipeline after ``terraform apply`` (through scripts/smoke_test.sh, inside AzureCLI@2):

1. read the stack's non-sensitive Terraform outputs (Function App, resource group, storage account,
   bronze container);
2. list the blobs under ``events/`` in bronze (``az storage blob list --auth-mode login``);
3. fetch the ``generate`` function key with the az CLI and call the function with a small row count
   (retrying while a fresh deployment warms up);
4. poll bronze until a blob that was not there before appears, and check it is the one the function
   said it wrote.

Stdlib only: it runs on the agent's Python without installing the project. The key is held in memory
and never printed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Protocol

# The stack's outputs the smoke test reads (exact names; see constructs/emotion_platform stacks).
OUTPUTS = {
    "function_app": "function_app_name",
    "function_url": "function_app_url",
    "resource_group": "resource_group_name",
    "storage_account": "storage_account_name",
    "bronze_container": "bronze_container_name",
}
FUNCTION_NAME = "generate"
EVENTS_PREFIX = "events/"


class SmokeFailure(Exception):
    """The deployment does not do what it should; the message says what was expected and seen."""


class Platform(Protocol):
    """What the smoke test needs from Azure; the az CLI in the pipeline, something local in tests."""

    def function_url(self) -> str: ...

    def function_key(self) -> str: ...

    def list_blobs(self, prefix: str) -> set[str]: ...


@dataclass
class SmokeResult:
    new_blobs: list[str]
    response: dict
    attempts: int
    seconds: float


@dataclass
class Clock:
    """Injectable time, so waits are bounded and testable."""

    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


def named_blobs(response: object, prefix: str) -> set[str]:
    """Every string in the function's JSON answer that looks like a blob path under ``prefix``."""
    found: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str):
            path = value.split("?", 1)[0]
            # Accept a bare blob name, container/name or a full blob URL.
            idx = path.find(prefix)
            if idx >= 0:
                found.add(path[idx:])

    walk(response)
    return found


def call_function(
    url: str,
    key: str,
    params: dict[str, object],
    *,
    attempts: int,
    wait_s: float,
    timeout_s: float,
    clock: Clock,
    log: Callable[[str], None],
) -> tuple[dict, int]:
    """POST a JSON body to the function; retry 404/5xx/connection errors (a fresh deployment is still
    starting). Any other 4xx is final: the request itself is wrong, and retrying will not help.
    """
    body = json.dumps(params).encode()
    last = ""
    for attempt in range(1, attempts + 1):
        request = urllib.request.Request(
            url, data=body, method="POST",
            headers={"x-functions-key": key, "Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as reply:
                body = reply.read().decode("utf-8", "replace")
                try:
                    return json.loads(body), attempt
                except ValueError as exc:
                    raise SmokeFailure(f"{url} answered {reply.status} with non-JSON: {body[:300]!r}") from exc
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:300]
            last = f"HTTP {exc.code}: {detail}"
            if 400 <= exc.code < 500 and exc.code not in (404, 408, 429):
                raise SmokeFailure(f"{url} refused the smoke request: {last}") from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            last = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
        log(f"attempt {attempt}/{attempts}: {last}; retrying in {wait_s:.0f} s")
        if attempt < attempts:
            clock.sleep(wait_s)
    raise SmokeFailure(f"{url} did not answer successfully after {attempts} attempts; last: {last}")


def run_smoke(
    platform: Platform,
    *,
    rows: int,
    seed: int,
    prefix: str = EVENTS_PREFIX,
    call_attempts: int = 10,
    call_wait_s: float = 30.0,
    call_timeout_s: float = 230.0,
    blob_timeout_s: float = 120.0,
    poll_s: float = 5.0,
    clock: Clock | None = None,
    log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr),
) -> SmokeResult:
    """Call the generator once and wait for the new blob; raise SmokeFailure if it never appears."""
    if rows < 1:
        raise ValueError(f"rows must be >= 1, got {rows}")
    clock = clock or Clock()
    start = clock.monotonic()
    before = platform.list_blobs(prefix)
    log(f"{len(before)} blob(s) under {prefix} before the call")
    url = platform.function_url()
    response, attempts = call_function(
        url,
        platform.function_key(),
        {"rows": rows, "seed": seed},
        attempts=call_attempts,
        wait_s=call_wait_s,
        timeout_s=call_timeout_s,
        clock=clock,
        log=log,
    )
    log(f"{url} answered after {attempts} attempt(s): {json.dumps(response)[:500]}")

    # Every blob the answer names (the CSV and its manifest) must appear, and must be new.
    claimed = named_blobs(response, prefix)
    stale = sorted(claimed & before)
    if stale:
        raise SmokeFailure(f"the function reports {stale}, which existed before the call (overwritten?)")
    deadline = clock.monotonic() + blob_timeout_s
    while True:
        new = platform.list_blobs(prefix) - before
        done = claimed <= new if claimed else bool(new)
        if done or clock.monotonic() >= deadline:
            break
        clock.sleep(poll_s)
    if not new:
        raise SmokeFailure(
            f"the function answered but no new blob appeared under {prefix} within {blob_timeout_s:.0f} s"
        )
    if not claimed <= new:
        raise SmokeFailure(
            f"the function says it wrote {sorted(claimed)}, but the new blobs under {prefix} are {sorted(new)}"
        )
    return SmokeResult(sorted(new), response, attempts, clock.monotonic() - start)


# --- Azure through the az CLI ---------------------------------------------------------------------


def _run(cmd: list[str], *, what: str) -> str:
    """Run a command; on failure say what was attempted, with stderr (the az CLI never echoes keys)."""
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SmokeFailure(f"{what} failed ({' '.join(cmd[:4])} ...): {proc.stderr.strip()[:500]}")
    return proc.stdout


def public_outputs(stack_dir: Path) -> dict[str, object]:
    """The stack's outputs from its state, sensitive ones dropped before anything else sees them."""
    raw = _run(["terraform", f"-chdir={stack_dir}", "output", "-json"], what="terraform output")
    outputs = json.loads(raw)
    return {name: o["value"] for name, o in outputs.items() if not o.get("sensitive")}


@dataclass
class AzCliPlatform:
    """The deployed environment, reached through the logged-in az CLI."""

    resource_group: str
    function_app: str
    storage_account: str
    container: str
    base_url: str = ""  # https://<default host name>; looked up with the az CLI when empty
    function_name: str = FUNCTION_NAME
    key_attempts: int = 10
    key_wait_s: float = 30.0
    clock: Clock = field(default_factory=Clock)
    log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr)

    def function_url(self) -> str:
        if self.base_url:
            return f"{self.base_url.rstrip('/')}/api/{self.function_name}"
        host = _run(
            ["az", "functionapp", "show", "--resource-group", self.resource_group, "--name", self.function_app,
             "--query", "defaultHostName", "--output", "tsv"],
            what="reading the Function App's host name",
        ).strip()
        if not host:
            raise SmokeFailure(f"Function App {self.function_app} has no default host name")
        return f"https://{host}/api/{self.function_name}"

    def function_key(self) -> str:
        # Right after a deployment the function may not be indexed yet: its keys appear when it is.
        last = ""
        for attempt in range(1, self.key_attempts + 1):
            try:
                keys = json.loads(
                    _run(
                        ["az", "functionapp", "function", "keys", "list", "--resource-group", self.resource_group,
                         "--name", self.function_app, "--function-name", self.function_name, "--output", "json"],
                        what=f"listing the keys of function {self.function_name}",
                    )
                )
                if keys.get("default"):
                    return keys["default"]
                last = "no 'default' key yet"
            except SmokeFailure as exc:
                last = str(exc)
            self.log(f"function key attempt {attempt}/{self.key_attempts}: {last}")
            if attempt < self.key_attempts:
                self.clock.sleep(self.key_wait_s)
        raise SmokeFailure(f"no key for function {self.function_name} on {self.function_app}: {last}")

    def list_blobs(self, prefix: str) -> set[str]:
        # The deployer's Storage Blob Data Reader on bronze may have been created by this very apply:
        # role assignments take minutes to propagate, so a refusal is retried before it counts.
        cmd = ["az", "storage", "blob", "list", "--auth-mode", "login", "--account-name", self.storage_account,
               "--container-name", self.container, "--prefix", prefix, "--num-results", "*",
               "--query", "[].name", "--output", "json"]
        for attempt in range(1, self.key_attempts + 1):
            try:
                return set(json.loads(_run(cmd, what=f"listing {self.storage_account}/{self.container}/{prefix}")))
            except SmokeFailure as exc:
                if attempt == self.key_attempts:
                    raise
                self.log(f"blob listing attempt {attempt}/{self.key_attempts}: {exc}")
                self.clock.sleep(self.key_wait_s)
        raise AssertionError("unreachable")


def platform_from_outputs(outputs: dict[str, object], names: dict[str, str] = OUTPUTS) -> AzCliPlatform:
    missing = [name for name in names.values() if not outputs.get(name)]
    if missing:
        raise SmokeFailure(
            f"stack outputs {missing} are missing (non-sensitive outputs present: {sorted(outputs)})"
        )
    return AzCliPlatform(
        resource_group=str(outputs[names["resource_group"]]),
        function_app=str(outputs[names["function_app"]]),
        storage_account=str(outputs[names["storage_account"]]),
        container=str(outputs[names["bronze_container"]]),
        base_url=str(outputs[names["function_url"]]),
    )


def parse_args(argv: Iterable[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack-dir", type=Path, required=True, help="initialized stack directory (cdktf.out/stacks/phase2-ENV)")
    parser.add_argument("--rows", type=int, default=100, help="rows to generate (default 100)")
    parser.add_argument("--seed", type=int, default=None, help="generator seed (default: the current time)")
    parser.add_argument("--blob-timeout", type=float, default=120.0, help="seconds to wait for the new blob")
    args = parser.parse_args(list(argv))
    if args.rows < 1:
        parser.error(f"--rows must be >= 1, got {args.rows}")
    return args


def main(argv: Iterable[str]) -> int:
    args = parse_args(argv)
    try:
        platform = platform_from_outputs(public_outputs(args.stack_dir))
        result = run_smoke(
            platform,
            rows=args.rows,
            seed=args.seed if args.seed is not None else int(time.time()),
            blob_timeout_s=args.blob_timeout,
        )
    except SmokeFailure as exc:
        print(f"##[error]smoke test failed: {exc}", file=sys.stderr)
        return 1
    print(f"smoke test passed in {result.seconds:.0f} s: new blob(s) {', '.join(result.new_blobs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
