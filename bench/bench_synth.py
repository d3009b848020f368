#!/usr/bin/env python3
"""Benchmark: a full synth of every Phase 2 stack against the floors any CDKTF azurerm app pays.

All run in fresh subprocesses, interleaved, several times, in the same run (issue 14):
- eager floor: one stack with one resource group, the azurerm bindings imported the normal way
  (``EMOTION_PLATFORM_LAZY_BINDINGS=0``: the package ``__init__`` imports all 1,527 resource modules);
- lazy floor:  the same app with the lazy bindings (emotion_platform/_lazy_bindings.py and .js);
- full:        ``python main.py`` (config validation, every environment's stack, the Function archive).
Measured: wall time and peak RSS of the whole process tree (Python plus jsii's Node), sampled from
/proc. Targets: full <= 0.35x the eager floor and <= 1.3x the lazy floor, in time and in memory. One
more, uncounted, instrumented full synth splits its time into phases and counts jsii round trips and
loaded submodules, which says where the time beyond the lazy floor goes. Writes bench/results/synth.json.

    ./dev.sh bench synth            # BENCH_REPEAT=7 for more repetitions
"""

from __future__ import annotations

import datetime
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
TARGETS = {"vs_eager_floor": 0.35, "vs_lazy_floor": 1.3}
PAGE = os.sysconf("SC_PAGE_SIZE")

FLOOR = """
import sys, emotion_platform  # JSII_NODE and the lazy bindings, as the app does
from cdktf import App, TerraformStack
from cdktf_cdktf_provider_azurerm.provider import AzurermProvider
from cdktf_cdktf_provider_azurerm.resource_group import ResourceGroup
app = App(outdir=sys.argv[1])
stack = TerraformStack(app, "floor")
AzurermProvider(stack, "azurerm", features=[{}])
ResourceGroup(stack, "rg", name="rg-floor", location="westeurope")
app.synth()
"""

# main.py's synth, step by step, with the jsii round trips counted (jsii's process provider, wrapped)
PHASES = """
import json, sys, time
from pathlib import Path
marks, t0 = {}, time.perf_counter()
def mark(name, _last=[t0]):
    now = time.perf_counter(); marks[name] = round(now - _last[0], 3); _last[0] = now
import emotion_platform; mark("import emotion_platform")
import cdktf; mark("import cdktf (starts the jsii kernel, loads cdktf and constructs)")
import cdktf_cdktf_provider_azurerm, cdktf_cdktf_provider_time; mark("import the provider packages (assembly loads)")
from jsii._kernel.providers import process
calls, send = [0], process._NodeProcess.send
def counted(self, *args, **kwargs):
    calls[0] += 1
    return send(self, *args, **kwargs)
process._NodeProcess.send = counted
from emotion_platform import app as app_module, data_factory_stack; mark("import the constructs (their provider submodules)")
configs = app_module.load_all(None, None); mark("validate the config files")
out = Path(sys.argv[1]); out.mkdir(parents=True, exist_ok=True)
app = app_module.build_app(out / "out", configs=configs, staging_dir=out / "staging"); mark("build the stacks (constructs, Function archive)")
build_calls = calls[0]
app.synth(); mark("app.synth() (Node: resolve tokens, write the JSON)")
loaded = {p: sum(1 for m in sys.modules if m.startswith(p + ".") and "._" not in m)
          for p in ("cdktf_cdktf_provider_azurerm", "cdktf_cdktf_provider_time")}
print(json.dumps({"phases_s": marks, "total_s": round(time.perf_counter() - t0, 3),
                  "jsii_round_trips": {"import_and_build": build_calls, "synth": calls[0] - build_calls},
                  "python_submodules_loaded": loaded}))
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


def _env(**extra: str) -> dict[str, str]:
    # PYTHONDONTWRITEBYTECODE (set in some shells and CI images) would make every run compile the project's
    # own modules from source; a user's Python writes their bytecode once, as the warm-up run does here.
    drop = ("PHASE2_BACKEND", "CDKTF_OUTDIR", "EMOTION_PLATFORM_LAZY_BINDINGS", "EMOTION_PLATFORM_LAZY_BINDINGS_LOG",
            "EMOTION_PLATFORM_BINDINGS_BYTECODE", "PYTHONDONTWRITEBYTECODE")
    return {**{k: v for k, v in os.environ.items() if k not in drop}, **extra}


def measure(cmd: list[str], env: dict[str, str]) -> tuple[float, int]:
    """(wall seconds, peak RSS bytes of the process tree)."""
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


def _node_loads(log: Path) -> dict[str, int]:
    """Submodules the jsii kernel required, per npm package, from the Node hook's log."""
    lines = log.read_text().splitlines() if log.exists() else []
    return {pkg: sum(1 for line in lines if line.startswith(f"load {pkg} ")) for pkg in ("@cdktf/provider-azurerm", "@cdktf/provider-time")}


def _ratio(a: dict, b: dict) -> dict[str, float]:
    return {
        "wall": round(a["wall_s"]["median"] / b["wall_s"]["median"], 3),
        "peak_rss": round(a["peak_rss_mb"]["median"] / b["peak_rss_mb"]["median"], 3),
    }


def main() -> int:
    names = ("eager_floor", "lazy_floor", "full")
    runs: dict[str, list[tuple[float, int]]] = {name: [] for name in names}
    load_before = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as tmp:
        commands = {
            "eager_floor": ([sys.executable, "-c", FLOOR, f"{tmp}/floor.out"], _env(EMOTION_PLATFORM_LAZY_BINDINGS="0")),
            "lazy_floor": ([sys.executable, "-c", FLOOR, f"{tmp}/floor.out"], _env()),
            "full": ([sys.executable, str(ROOT / "main.py"), "--outdir", f"{tmp}/full.out"], _env()),
        }
        # warm the OS page cache once per command (not counted), the lazy ones logging what Node loads
        node = {}
        for name, (cmd, env) in commands.items():
            log = Path(tmp, f"{name}.log")
            measure(cmd, {**env, "EMOTION_PLATFORM_LAZY_BINDINGS_LOG": str(log)})
            node[name] = _node_loads(log)
        for i in range(REPEAT):
            for name in names:  # interleaved, so machine load hits all alike
                wall, rss = measure(*commands[name])
                runs[name].append((wall, rss))
                print(f"[{i + 1}/{REPEAT}] {name:11s} {wall:6.2f} s  {rss / 2**20:7.1f} MB", file=sys.stderr, flush=True)
        stacks = sorted(p.parent.name for p in Path(tmp, "full.out", "stacks").glob("*/cdk.tf.json"))
        resources = sum(
            sum(len(v) for v in json.loads(Path(tmp, "full.out", "stacks", s, "cdk.tf.json").read_text())["resource"].values())
            for s in stacks
        )
        phases = subprocess.run([sys.executable, "-c", PHASES, f"{tmp}/phases"], cwd=ROOT, env=_env(),
                                capture_output=True, text=True)
        if phases.returncode != 0:
            raise SystemExit(f"the instrumented synth failed ({phases.returncode}):\n{phases.stderr[-3000:]}")
        breakdown = json.loads(phases.stdout.splitlines()[-1])
    load_after = [round(x, 2) for x in os.getloadavg()]
    summaries = {name: summary(runs[name]) for name in names}
    full = summaries["full"]
    ratios = {
        "vs_eager_floor": _ratio(full, summaries["eager_floor"]),
        "vs_lazy_floor": _ratio(full, summaries["lazy_floor"]),
    }
    met = {key: all(value <= TARGETS[key] for value in ratios[key].values()) for key in TARGETS}
    breakdown["node_submodules_loaded"] = {"full": node["full"], "lazy_floor": node["lazy_floor"]}  # eager: all of them
    result = {
        "benchmark": "synth",
        "what": f"python main.py: {len(stacks)} stacks ({', '.join(stacks)}), {resources} resources, Function archive",
        "floors": {
            "eager_floor": "fresh process: import cdktf + azurerm bindings the normal way (EMOTION_PLATFORM_LAZY_BINDINGS=0), synthesize one resource group",
            "lazy_floor": "the same with the lazy bindings (Python and Node side): only the provider and resource_group submodules load",
        },
        "repetitions": REPEAT,
        "runs": summaries,
        "ratios": ratios,
        "targets": TARGETS,
        "met": met,
        "full_synth_breakdown": breakdown,
        "measured_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "load_average": {"before": load_before, "after": load_after},
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "note": "shared 2-core machine: other work may have run concurrently (see load_average); the ratios, measured interleaved in one run, are what counts",
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    med = {name: (summaries[name]["wall_s"]["median"], summaries[name]["peak_rss_mb"]["median"]) for name in names}
    print(
        f"synth: full {med['full'][0]:.2f} s / {med['full'][1]:.0f} MB; eager floor {med['eager_floor'][0]:.2f} s / "
        f"{med['eager_floor'][1]:.0f} MB -> {ratios['vs_eager_floor']['wall']:.2f}x time, {ratios['vs_eager_floor']['peak_rss']:.2f}x memory "
        f"(target <= {TARGETS['vs_eager_floor']}x); lazy floor {med['lazy_floor'][0]:.2f} s / {med['lazy_floor'][1]:.0f} MB -> "
        f"{ratios['vs_lazy_floor']['wall']:.2f}x time, {ratios['vs_lazy_floor']['peak_rss']:.2f}x memory (target <= {TARGETS['vs_lazy_floor']}x); "
        f"load {load_before[0]} -> {load_after[0]}  [{RESULT}]"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
