"""Benchmark: the Spark engine (the deployed Data Flow Script on local Spark) beside the DuckDB engine.

Same bronze as ``bench_silver.py`` (the project's generator, cached under ``bench/out/``), same CLI
(``python -m emotion_platform silver --full --engine spark|duckdb``), each engine in its own child
process. Peak RSS is the peak of the sum over the child's whole process tree (Python, and for Spark
the JVM that pyspark starts), sampled every 100 ms from /proc. Results: ``bench/results/spark.json``.

    ./dev.sh bench spark                           # 10M rows
    SPARK_BENCH_ROWS=1000000 ./dev.sh bench spark  # a quicker run

Needs a synthesized stack (``./dev.sh synth``): the Spark engine runs the data flow of
``cdktf.out/stacks/phase2-dev/cdk.tf.json``. Spark runs ``local[2]`` (this machine's cores).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from bench_silver import OUT as SILVER_OUT, bronze, expected  # noqa: E402

OUT = ROOT / "bench" / "out" / "spark"
RESULTS = ROOT / "bench" / "results" / "spark.json"
ROWS = int(os.environ.get("SPARK_BENCH_ROWS", 10_000_000))
MASTER = os.environ.get("SPARK_BENCH_MASTER", "local[2]")
DATA_FLOW = ROOT / "cdktf.out" / "stacks" / "phase2-dev" / "cdk.tf.json"


def say(msg: str) -> None:
    print(f"[bench spark] {msg}", file=sys.stderr, flush=True)


def _tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants (from /proc)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


def run_tree_measured(args: list[str]) -> tuple[float, int, str]:
    """(wall seconds, peak RSS of the process tree, stdout) of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    done.set()
    sampler.join()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:8])} failed ({proc.returncode}):\n{err.decode()[-3000:]}")
    return wall, peak[0], out.decode()


def engine_run(folder: Path, engine: str) -> dict:
    work = OUT / f"run-{engine}"
    shutil.rmtree(work, ignore_errors=True)
    args = [sys.executable, "-m", "emotion_platform", "silver", "--bronze", str(folder), "--silver",
            str(work / "silver"), "--full", "--json", "--work-dir", str(OUT), "--engine", engine]
    if engine == "spark":
        args += ["--data-flow", str(DATA_FLOW), "--master", MASTER]
    wall, rss, out = run_tree_measured(args)
    report = json.loads(out)
    return {"engine": engine, "rows": report["rows_in"], "seconds": round(wall, 2),
            "rows_per_second": round(report["rows_in"] / wall), "peak_rss_bytes": rss,
            "peak_rss_mb": round(rss / 2**20), "engine_seconds": report["seconds"],
            "stage_seconds": report["timings"], "silver_rows": report["silver_rows_after"],
            "quarantined_rows": report["quarantined_rows"]}


def main() -> int:
    if not DATA_FLOW.is_file():
        say(f"{DATA_FLOW} is missing: run ./dev.sh synth first")
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    load_start = os.getloadavg()
    folder, manifests = bronze(ROWS, f"{ROWS // 1_000_000}m" if ROWS >= 1_000_000 else str(ROWS))
    say(f"DuckDB engine on {ROWS:,} rows")
    duck = engine_run(folder, "duckdb")
    say(f"  {duck['rows_per_second']:,} rows/s, {duck['seconds']} s, peak RSS {duck['peak_rss_mb']} MB")
    say(f"Spark engine ({MASTER}) on {ROWS:,} rows")
    spark = engine_run(folder, "spark")
    say(f"  {spark['rows_per_second']:,} rows/s, {spark['seconds']} s, peak RSS {spark['peak_rss_mb']} MB")
    exp = expected(manifests)
    result = {
        "benchmark": "spark",
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "load_average_start": load_start, "load_average_end": os.getloadavg()},
        "rows": ROWS, "master": MASTER, "duckdb": duck, "spark": spark,
        "spark_vs_duckdb_speed": round(spark["rows_per_second"] / duck["rows_per_second"], 3),
        "correct": {"same_silver_rows": spark["silver_rows"] == duck["silver_rows"] == exp["silver_rows"],
                    "same_quarantined_rows": spark["quarantined_rows"] == duck["quarantined_rows"]
                    == exp["quarantined_rows"]},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    say(f"Spark/DuckDB speed {result['spark_vs_duckdb_speed']}; results in {RESULTS.relative_to(ROOT)}")
    return 0 if all(result["correct"].values()) else 1


if __name__ == "__main__":
    assert SILVER_OUT.parent == OUT.parent
    raise SystemExit(main())
