"""Peak memory does not grow with the row count (measured in fresh processes, not timed)."""

import subprocess
import sys

# VmHWM is the peak resident set of the child's own address space (ru_maxrss would also count the
# pages it shared with this large test process between fork and exec).
SCRIPT = """
import sys
from emotion_events.generator import GeneratorParams, write_local
write_local(GeneratorParams(rows=int(sys.argv[1]), seed=1), sys.argv[2], run_id="m")
print(next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:")))
"""


def peak_rss_mb(rows: int, out) -> float:
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(rows), str(out)], capture_output=True, text=True,
                          check=True, timeout=300)
    return int(done.stdout.strip()) / 1024


def test_peak_rss_is_flat_from_100k_to_1_5m_rows(tmp_path):
    small = peak_rss_mb(100_000, tmp_path / "small")
    large = peak_rss_mb(1_500_000, tmp_path / "large")
    assert large < small + 16, (small, large)
    assert large < 256
