#!/usr/bin/env python3
"""Benchmark: the vectorized event generator against a Faker-based generator of the same columns.

Every case runs in a fresh subprocess pinned to one CPU with OMP/OpenBLAS/MKL threads set to 1:
- generator 1M and 10M rows (default 5 % dirt) written to a local sink (``write_local``: file,
  fsync, link into place, manifest);
- Faker baseline: the same 11 columns, one row at a time (uuid4, hexify, random_element, pyfloat,
  date_time_between in the device time zone), written with the csv module; timed on fewer rows
  (default 50k) and reported per row.
Measured: events/s and MB/s (wall clock inside the child, from params to committed file), CPU
seconds, and peak RSS of each child: ``ru_maxrss`` from ``os.wait4`` (the child's getrusage; this
small parent keeps the fork-time share negligible) cross-checked with the child's own VmHWM.
Also reports the installed size of the Function's dependencies (function_app/requirements.txt) as
found in this environment. Writes bench/results/generator.json.

    ./dev.sh bench generator        # BENCH_ROWS=1000000,10000000 BENCH_FAKER_ROWS=50000 BENCH_REPEAT=2

Targets: >= 1,000,000 events/s on one core, >= 25x the Faker baseline, peak RSS <= 256 MB at 10M.
The machine may be shared while this runs: figures are then pessimistic (see load averages).
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULT = ROOT / "bench" / "results" / "generator.json"
ROWS = [int(x) for x in os.environ.get("BENCH_ROWS", "1000000,10000000").split(",")]
FAKER_ROWS = int(os.environ.get("BENCH_FAKER_ROWS", "50000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "2"))
TARGET_RATE, TARGET_SPEEDUP, TARGET_RSS_MB = 1_000_000, 25.0, 256.0
SINGLE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                 "NUMEXPR_NUM_THREADS": "1", "VECLIB_MAXIMUM_THREADS": "1"}

GENERATOR_CHILD = r"""
import json, os, sys, time
os.sched_setaffinity(0, {int(sys.argv[3])})
from emotion_events.generator import GeneratorParams, write_local
t0, c0 = time.perf_counter(), time.process_time()
r = write_local(GeneratorParams(rows=int(sys.argv[1]), seed=2026), sys.argv[2], run_id="bench")
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0,
                  "bytes": r.manifest["bytes"], "rows": r.manifest["rows_written"], "vm_hwm_mb": round(hwm / 1024, 1)}))
"""

FAKER_CHILD = r"""
import csv, json, os, sys, time
os.sched_setaffinity(0, {int(sys.argv[3])})
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo
from faker import Faker
from emotion_events import default_contract
c = default_contract()
emotions, contexts = list(c.emotions.canonical), list(c.codes["context"].canonical)
channels, zones = list(c.codes["source_channel"].canonical), [ZoneInfo(z) for z in c.time_zones]
fake = Faker()
Faker.seed(2026)
start = datetime(2026, 1, 5, tzinfo=timezone.utc)
end = start + timedelta(days=7)
rows = int(sys.argv[1])
t0, c0 = time.perf_counter(), time.process_time()
path = os.path.join(sys.argv[2], "faker.csv")
with open(path, "w", newline="", encoding="utf-8") as fh:
    w = csv.writer(fh, lineterminator="\r\n")
    w.writerow(c.bronze_header)
    for _ in range(rows):
        zone = fake.random_element(zones)
        occurred = fake.date_time_between(start_date=start, end_date=end, tzinfo=zone)
        recorded = occurred + timedelta(milliseconds=fake.pyint(1000, 600000))
        w.writerow([fake.uuid4(), "u_" + fake.hexify("^" * 16), fake.random_element(emotions),
                    f"{fake.pyfloat(min_value=0, max_value=1):.2f}", f"{fake.pyfloat(min_value=-1, max_value=1):.3f}",
                    f"{fake.pyfloat(min_value=0, max_value=1):.3f}", fake.random_element(contexts),
                    fake.random_element(channels), zone.key,
                    occurred.isoformat(timespec="milliseconds"), recorded.isoformat(timespec="milliseconds")])
    fh.flush()
    os.fsync(fh.fileno())
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0,
                  "bytes": os.path.getsize(path), "rows": rows, "vm_hwm_mb": round(hwm / 1024, 1)}))
"""


def _cpu() -> int:
    """The CPU the children are pinned to: the least busy one right now."""
    cpus = sorted(os.sched_getaffinity(0))
    try:
        def idle(stats):
            return {int(l.split()[0][3:]): int(l.split()[4]) for l in stats if re.match(r"cpu\d", l)}
        a = idle(Path("/proc/stat").read_text().splitlines())
        time.sleep(0.5)
        b = idle(Path("/proc/stat").read_text().splitlines())
        return max(cpus, key=lambda c: b.get(c, 0) - a.get(c, 0))
    except (OSError, ValueError):
        return cpus[-1]


def run_child(code: str, rows: int, cpu: int) -> dict:
    out = tempfile.mkdtemp(prefix="bench-generator-")  # outside the repository: nothing for scanners to trip on
    try:
        env = {**os.environ, **SINGLE_THREAD}
        proc = subprocess.Popen([sys.executable, "-c", code, str(rows), out, str(cpu)], env=env,
                                stdout=subprocess.PIPE, text=True)
        stdout = proc.stdout.read()
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.stdout.close()
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"benchmark child failed ({rows} rows): {stdout}")
        result = json.loads(stdout)
        result["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)
        result["events_per_s"] = round(result["rows"] / result["seconds"])
        result["events_per_cpu_s"] = round(result["rows"] / result["cpu_seconds"])
        result["mb_per_s"] = round(result["bytes"] / 1e6 / result["seconds"], 1)
        return result
    finally:
        shutil.rmtree(out, ignore_errors=True)


def function_dependency_size() -> dict:
    """Installed size (as found in this environment) of the Function's direct requirements
    (function_app/requirements.in) and their transitive requirements."""
    wanted = []
    for line in (ROOT / "function_app" / "requirements.in").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            wanted.append(re.split(r"[=<>!~\[ ]", line)[0])
    seen, sizes, missing = set(), {}, []
    queue = list(wanted)
    while queue:
        name = queue.pop()
        key = name.lower().replace("_", "-")
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
            continue
        total = 0
        for f in dist.files or []:
            try:
                total += dist.locate_file(f).stat().st_size
            except OSError:
                pass
        sizes[dist.metadata["Name"]] = round(total / 1e6, 1)
        for req in dist.requires or []:
            if "extra ==" in req:
                continue
            queue.append(re.split(r"[=<>!~;\[ (]", req.strip())[0])
    return {"total_mb": round(sum(sizes.values()), 1), "packages_mb": dict(sorted(sizes.items())),
            "not_installed_here": missing}


def best(runs: list[dict]) -> dict:
    b = min(runs, key=lambda r: r["seconds"])
    return {**b, "runs_seconds": [round(r["seconds"], 3) for r in runs],
            "peak_rss_mb": max(r["peak_rss_mb"] for r in runs), "vm_hwm_mb": max(r["vm_hwm_mb"] for r in runs)}


def main() -> int:
    load_before = os.getloadavg()
    cpu = _cpu()
    cases = {}
    for rows in ROWS:
        runs = []
        for i in range(REPEAT):
            r = run_child(GENERATOR_CHILD, rows, cpu)
            runs.append(r)
            print(f"generator {rows:>11,} rows  run {i + 1}: {r['events_per_s']:>10,} events/s  "
                  f"{r['mb_per_s']:7.1f} MB/s  peak RSS {r['peak_rss_mb']:6.1f} MB", flush=True)
        cases[str(rows)] = best(runs)
    faker = best([run_child(FAKER_CHILD, FAKER_ROWS, cpu) for _ in range(REPEAT)])
    print(f"faker     {FAKER_ROWS:>11,} rows         : {faker['events_per_s']:>10,} events/s  "
          f"{faker['mb_per_s']:7.1f} MB/s  peak RSS {faker['peak_rss_mb']:6.1f} MB", flush=True)
    load_after = os.getloadavg()

    rates = {rows: c["events_per_s"] for rows, c in cases.items()}
    slowest = min(rates.values())
    largest = cases[str(max(ROWS))]
    speedup = round(slowest / faker["events_per_s"], 1)
    deps = function_dependency_size()
    result = {
        "benchmark": "generator",
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpu": _cpu_model(), "cpus": os.cpu_count(), "pinned_cpu": cpu,
                    "python": platform.python_version(), "numpy": metadata.version("numpy"),
                    "faker": metadata.version("Faker"),
                    "load_average_before": [round(x, 2) for x in load_before],
                    "load_average_after": [round(x, 2) for x in load_after],
                    "note": "shared machine: other work may have run concurrently; figures are then pessimistic"},
        "method": {"repeat": REPEAT, "sink": "local file (write_local: fsync + link) in the system temp directory",
                   "single_thread_env": SINGLE_THREAD, "dirty_ratio": 0.05,
                   "reported": "best wall-clock run per case; peak RSS is the maximum over runs"},
        "generator": cases,
        "faker_baseline": faker,
        "speedup_vs_faker": speedup,
        "function_dependencies_installed": deps,
        "targets": {
            "events_per_s_min": TARGET_RATE, "speedup_min": TARGET_SPEEDUP, "peak_rss_mb_max_at_largest": TARGET_RSS_MB,
            "met": {"events_per_s": slowest >= TARGET_RATE, "speedup": speedup >= TARGET_SPEEDUP,
                    "peak_rss": largest["peak_rss_mb"] <= TARGET_RSS_MB},
        },
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    print(f"speedup vs Faker: {speedup}x   Function deps installed: {deps['total_mb']} MB   -> {RESULT.relative_to(ROOT)}")
    return 0


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


if __name__ == "__main__":
    sys.exit(main())
