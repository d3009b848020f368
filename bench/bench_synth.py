#!/usr/bin/env python3
"""Benchmark: a full synth of every Phase 2 stack against the floor any CDKTF azurerm app pays.

Both run in fresh subprocesses, interleaved, several times, in the same run:
- floor: import cdktf and the azurerm bindings, synthesize one stack with one resource group;
- full:  ``python main.py`` (config validation, every environment's stack, the Function archive).
Measured: wall time and peak RSS of the whole process tree (Python plus jsii's Node), sampled from
/proc. Target: full within 1.3x of the floor. Writes bench/results/synth.json.

    ./dev.sh bench synth            # BENCH_REPEAT=7 for more repetitions
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULT = ROOT / "bench" / "results" / "synth.json"
REPEAT = int(os.environ.get("BENCH_REPEAT", "5"))
TARGET_RATIO = 1.3
PAGE = os.sysconf("SC_PAGE_SIZE")

FLOOR = """
import sys, emotion_platform  # JSII_NODE, as the app does
from cdktf import App, TerraformStack
from cdktf_cdktf_provider_azurerm.provider import AzurermProvider
from cdktf_cdktf_provider_azurerm.resource_group import ResourceGroup
app = App(outdir=sys.argv[1])
stack = TerraformStack(app, "floor")
AzurermProvider(stack, "azurerm", features=[{}])
ResourceGroup(stack, "rg", name="rg-floor", location="westeurope")
app.synth()
"""


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
                tree.setdefault(int(fields[1]), []).append(int(entry))
            except OSError:
                continue
    return tree


def _tree_rss(root: int) -> int:
    tree, total, stack = _children(), 0, [root]
    while stack:
        pid = stack.pop()
        try:
            with open(f"/proc/{pid}/statm", "rb") as f:
                total += int(f.read().split()[1]) * PAGE
        except OSError:
            pass
        stack.extend(tree.get(pid, []))
    return total


def measure(cmd: list[str]) -> tuple[float, int]:
    """(wall seconds, peak RSS bytes of the process tree)."""
    env = {k: v for k, v in os.environ.items() if k != "PHASE2_BACKEND"}
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss(proc.pid))
        time.sleep(0.02)
    wall = time.perf_counter() - started
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} failed ({proc.returncode}):\n{stderr[-3000:]}")
    return wall, peak


def summary(samples: list[tuple[float, int]]) -> dict:
    walls = [w for w, _ in samples]
    rss = [r for _, r in samples]
    return {
        "wall_s": {"median": round(statistics.median(walls), 3), "min": round(min(walls), 3), "max": round(max(walls), 3)},
        "peak_rss_mb": {"median": round(statistics.median(rss) / 2**20, 1), "max": round(max(rss) / 2**20, 1)},
        "samples": [{"wall_s": round(w, 3), "peak_rss_mb": round(r / 2**20, 1)} for w, r in samples],
    }


def main() -> int:
    runs: dict[str, list[tuple[float, int]]] = {"floor": [], "full": []}
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as tmp:
        commands = {
            "floor": [sys.executable, "-c", FLOOR, f"{tmp}/floor.out"],
            "full": [sys.executable, str(ROOT / "main.py"), "--outdir", f"{tmp}/full.out"],
        }
        measure(commands["floor"])  # warm the OS page cache once; not counted
        for i in range(REPEAT):
            for name in ("floor", "full"):  # interleaved, so machine load hits both alike
                wall, rss = measure(commands[name])
                runs[name].append((wall, rss))
                print(f"[{i + 1}/{REPEAT}] {name:5s} {wall:6.2f} s  {rss / 2**20:7.1f} MB", file=sys.stderr, flush=True)
        stacks = sorted(p.parent.name for p in Path(tmp, "full.out", "stacks").glob("*/cdk.tf.json"))
        resources = sum(
            sum(len(v) for v in json.loads(Path(tmp, "full.out", "stacks", s, "cdk.tf.json").read_text())["resource"].values())
            for s in stacks
        )
    floor, full = summary(runs["floor"]), summary(runs["full"])
    wall_ratio = full["wall_s"]["median"] / floor["wall_s"]["median"]
    rss_ratio = full["peak_rss_mb"]["median"] / floor["peak_rss_mb"]["median"]
    result = {
        "benchmark": "synth",
        "what": f"python main.py: {len(stacks)} stacks ({', '.join(stacks)}), {resources} resources, Function archive",
        "floor": "fresh process: import cdktf + azurerm bindings, synthesize one resource group",
        "repetitions": REPEAT,
        "full": full,
        "floor_run": floor,
        "ratio_wall": round(wall_ratio, 3),
        "ratio_peak_rss": round(rss_ratio, 3),
        "target_ratio": TARGET_RATIO,
        "within_target": wall_ratio <= TARGET_RATIO,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "note": "measured on a shared machine while other work ran: absolute figures may be pessimistic; the ratio is what counts",
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(
        f"synth: full {full['wall_s']['median']:.2f} s / {full['peak_rss_mb']['median']:.0f} MB  vs floor "
        f"{floor['wall_s']['median']:.2f} s / {floor['peak_rss_mb']['median']:.0f} MB  -> {wall_ratio:.2f}x time, "
        f"{rss_ratio:.2f}x memory (target <= {TARGET_RATIO}x)  [{RESULT}]"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
