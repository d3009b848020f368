"""Named fault-injection points, so tests can kill or pause a real run at a chosen step.

A run calls :func:`checkpoint` at each step below. Nothing happens unless the environment variable
``EMOTION_SILVER_FAULT`` names that step, as a comma-separated list of ``<step>=<action>``:

- ``<step>=kill``: the process sends itself SIGKILL there (an operator's ``kill -9``, deterministic);
- ``<step>=pause:<dir>``: the process creates ``<dir>/<step>.reached`` and waits (up to
  ``PAUSE_LIMIT_S``) until ``<dir>/<step>.go`` exists: a test can start a second run meanwhile.

The steps are the boundaries where an interruption leaves different things on disk; a test that
kills at each one proves a rerun recovers from all of them.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

FAULT_ENV = "EMOTION_SILVER_FAULT"
PAUSE_LIMIT_S = 300.0

STEPS = (
    "locked",  # the silver lock is held; leftovers not cleaned yet
    "cleaned",  # leftovers of killed runs removed, the work folder created
    "staged",  # bronze (and blob silver) downloaded into the work folder
    "batch-cleaned",  # the engine wrote the affected partitions and the quarantine file
    "snapshot-built",  # the new snapshot and its state file are complete, nothing published
    "quarantine-published",  # the batch's quarantine file is in place, silver not yet
    "silver-moved-aside",  # local silver: the old snapshot renamed away, the new one not yet in
    "silver-uploading",  # blob silver: the first partition file uploaded, the rest not yet
    "silver-published",  # silver and its state committed, the report not written yet
    "report-partial",  # one report file written, the others not yet
)


class FaultSpecError(ValueError):
    """``EMOTION_SILVER_FAULT`` names a step or an action that does not exist."""


def _actions() -> dict[str, str]:
    spec = os.environ.get(FAULT_ENV, "").strip()
    if not spec:
        return {}
    out = {}
    for item in spec.split(","):
        step, _, action = item.strip().partition("=")
        if step not in STEPS:
            raise FaultSpecError(f"{FAULT_ENV}: unknown step {step!r}; steps: {', '.join(STEPS)}")
        if action != "kill" and not action.startswith("pause:"):
            raise FaultSpecError(f"{FAULT_ENV}: action {action!r} for {step} must be 'kill' or 'pause:<dir>'")
        out[step] = action
    return out


def checkpoint(step: str) -> None:
    """Kill or pause here if the environment asks for it; otherwise return at once."""
    assert step in STEPS, step
    action = _actions().get(step)
    if action is None:
        return
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(60)  # never reached: SIGKILL cannot be caught
    folder = Path(action[len("pause:") :])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{step}.reached").write_text(str(os.getpid()))
    deadline = time.monotonic() + PAUSE_LIMIT_S
    while not (folder / f"{step}.go").exists():
        if time.monotonic() > deadline:
            raise FaultSpecError(f"{FAULT_ENV}: nobody released {step} within {PAUSE_LIMIT_S:.0f} s")
        time.sleep(0.05)
