"""Silver under an operator's faults, on real folders and real processes: two runs at once, kill -9 at
every step of a fresh and an incremental run, a work folder or silver on another filesystem, a disk
that fills up. Each test checks the final silver (row count and content hash against a clean run),
the state file, and what is left on disk.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from emotion_platform.cli import main
from emotion_platform.silver.faults import STEPS
from emotion_platform.silver.runner import STATE_FILE, run_silver

from .conftest import generate
from .faultkit import (Outcome, copy_bronze, finish, hidden_files, read_state, run_cli, silver_cmd,
                       silver_fingerprint, start_cli, wait_for)

ROWS = 3_000


@dataclass(frozen=True)
class Corpus:
    gen: Path
    names: list[str]  # three bronze files, relative to gen
    clean_first_two: Outcome  # a clean run over the first two files
    clean_all: Outcome  # a clean run over all three


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    base = tmp_path_factory.mktemp("fault-corpus")
    gen = base / "gen"
    names = [generate(gen, ROWS, seed=70 + i, run_id=f"fault-{i}").csv_path.relative_to(gen).as_posix()
             for i in range(3)]
    outcomes = []
    for label, files in (("two", names[:2]), ("all", names)):
        root = base / f"clean-{label}"
        copy_bronze(gen, root / "bronze", files)
        run_silver(str(root / "bronze"), str(root / "silver"), quarantine=str(root / "quarantine"),
                   memory_limit="256MB", threads=1)
        outcomes.append(Outcome.of(root))
    assert outcomes[1].silver.rows > outcomes[0].silver.rows > 0
    return Corpus(gen, names, *outcomes)


def cli_in_process(root: Path, *extra: str, work: Path | None = None) -> int:
    return main(["silver", "--bronze", str(root / "bronze"), "--silver", str(root / "silver"),
                 "--work-dir", str(work or root / "work"), "--threads", "1", "--memory-limit", "256MB",
                 "--quiet", *extra])


def assert_clean_disk(root: Path, work: Path | None = None) -> None:
    """After a successful run: the four locations and the unlocked lock file, no staging, no work."""
    assert sorted(p.name for p in root.iterdir() if p.name not in ("bronze", "pause")) == \
        [".silver.lock", "quarantine", "report", "silver", "work"] if work is None else \
        [".silver.lock", "quarantine", "report", "silver"]
    assert (root / ".silver.lock").read_bytes() == b"", "the lock file holds no holder once released"
    assert list((work or root / "work").iterdir()) == [], "no work folder is left"
    for folder in ("silver", "quarantine", "report"):
        assert hidden_files(root / folder) == [], f"no temporary file is left in {folder}"


def report_history(root: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((root / "report" / "runs").glob("*.json"))]


# -- kill -9 at every step -------------------------------------------------------------------------------

FRESH_STEPS = [s for s in STEPS if s not in ("silver-moved-aside", "silver-uploading")]
COMMITTED = ("silver-published", "report-partial")  # steps after which the killed run's silver stands


@pytest.mark.parametrize("step", FRESH_STEPS)
def test_kill_during_a_fresh_run_then_a_rerun_equals_a_clean_run(corpus, tmp_path, step) -> None:
    root = tmp_path
    copy_bronze(corpus.gen, root / "bronze", corpus.names)
    killed = run_cli(silver_cmd(root), fault=f"{step}=kill")
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    # What the kill left: a work folder once one was made, the staged snapshot while it was unpublished.
    work_folders = [p.name for p in (root / "work").iterdir()]
    assert len(work_folders) == (0 if step == "locked" else 1) and all(n.startswith("silver-") for n in work_folders)
    assert bool(list(root.glob(".silver.new-*"))) == (step in ("snapshot-built", "quarantine-published"))
    assert (root / "silver" / STATE_FILE).exists() == (step in COMMITTED)
    if step in COMMITTED:
        assert Outcome.of(root) == corpus.clean_all  # published whole before the kill

    assert cli_in_process(root) == 0
    assert Outcome.of(root) == corpus.clean_all
    assert_clean_disk(root)
    history = report_history(root)
    assert [r["mode"] for r in history] == ["full"], "one record of the run that built silver"
    report = json.loads((root / "report" / "report.json").read_text())
    assert report["mode"] == ("up-to-date" if step in COMMITTED else "full")
    assert report["silver_rows_after"] == corpus.clean_all.silver.rows


INCREMENTAL_STEPS = [s for s in STEPS if s != "silver-uploading"]


@pytest.mark.parametrize("step", INCREMENTAL_STEPS)
def test_kill_during_an_incremental_run_then_a_rerun_equals_a_clean_run(corpus, tmp_path, step) -> None:
    root = tmp_path
    copy_bronze(corpus.gen, root / "bronze", corpus.names[:2])
    assert cli_in_process(root) == 0
    before = Outcome.of(root)
    assert before == corpus.clean_first_two
    copy_bronze(corpus.gen, root / "bronze", corpus.names[2:])

    killed = run_cli(silver_cmd(root), fault=f"{step}=kill")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    if step == "silver-moved-aside":  # between the two renames: silver is missing, the old one aside
        assert not (root / "silver").exists()
        (old,) = root.glob(".silver.old-*")
        assert silver_fingerprint(old) == before.silver
    elif step in COMMITTED:
        assert Outcome.of(root) == corpus.clean_all
    else:  # nothing of the batch is visible in silver, and its state is the previous one
        assert Outcome.of(root).silver == before.silver and read_state(root / "silver") == before.state
    assert len(list((root / "work").iterdir())) == (0 if step == "locked" else 1)

    assert cli_in_process(root) == 0
    assert Outcome.of(root) == corpus.clean_all
    assert_clean_disk(root)
    assert [r["mode"] for r in report_history(root)] == ["full", "incremental"]


def test_a_run_killed_before_its_report_has_it_delivered_by_the_next_run(corpus, tmp_path) -> None:
    root = tmp_path
    copy_bronze(corpus.gen, root / "bronze", corpus.names)
    killed = run_cli(silver_cmd(root), fault="silver-published=kill")
    assert killed.returncode == -signal.SIGKILL
    assert not (root / "report").exists()
    state = json.loads((root / "silver" / STATE_FILE).read_text())
    assert state["last_report"]["mode"] == "full"  # committed with silver

    rerun = run_cli(silver_cmd(root))
    assert rerun.returncode == 0, rerun.stderr
    assert "delivered the report of an interrupted run" in rerun.stderr
    (record,) = report_history(root)
    assert record["started_at"] == state["last_report"]["started_at"]
    assert record["rows_in"] == 3 * ROWS and record["silver_rows_after"] == corpus.clean_all.silver.rows


# -- two runs at once ------------------------------------------------------------------------------------

FLAGS = {"full": ["--full"], "incremental": []}


@pytest.mark.parametrize("first, second", [("full", "incremental"), ("incremental", "full")])
def test_two_runs_on_one_silver_never_interleave(corpus, tmp_path, first, second) -> None:
    root = tmp_path
    copy_bronze(corpus.gen, root / "bronze", corpus.names[:2])
    assert cli_in_process(root) == 0
    copy_bronze(corpus.gen, root / "bronze", corpus.names[2:])
    pause = root / "pause"

    holder = start_cli(silver_cmd(root, *FLAGS[first]), fault=f"snapshot-built=pause:{pause}")
    try:
        wait_for(pause / "snapshot-built.reached", holder)
        staged = sorted(root.glob(".silver.new-*"))
        assert staged, "the holder's snapshot is staged next to silver"

        # The operator: same silver, a typo in --bronze. Refused; the holder's staging untouched.
        typo = run_cli(silver_cmd(root, bronze=root / "bronz"))
        assert typo.returncode == 2 and "no such folder" in typo.stderr and "Traceback" not in typo.stderr
        # A second real run is refused at once, naming the holder.
        busy = run_cli(silver_cmd(root, *FLAGS[second], "--quiet"))
        assert busy.returncode == 3, busy.stderr
        assert f"pid {holder.pid} on " in busy.stderr and "--wait" in busy.stderr
        assert busy.stderr.count("\n") == 1 and "Traceback" not in busy.stderr
        assert sorted(root.glob(".silver.new-*")) == staged and all(p.is_dir() for p in staged)

        # With --wait it queues behind the holder (its progress says so) and runs after it.
        log = pause / "waiter.log"
        with open(log, "w") as err:
            waiter = subprocess.Popen(silver_cmd(root, *FLAGS[second], "--wait"), stderr=err,
                                      stdout=subprocess.DEVNULL, env={k: v for k, v in os.environ.items()
                                                                      if k != "EMOTION_SILVER_FAULT"})
        wait_for_text(log, "waiting for the silver lock", waiter)
        assert waiter.poll() is None
    finally:
        (pause / "snapshot-built.go").touch()
    code, _out, err = finish(holder)
    assert code == 0, err
    assert waiter.wait(timeout=180) == 0, log.read_text()
    assert Outcome.of(root) == corpus.clean_all
    assert_clean_disk(root)
    modes = [r["mode"] for r in report_history(root)]
    assert modes == ["full", first] + (["full"] if second == "full" else [])


def wait_for_text(path: Path, text: str, proc: subprocess.Popen) -> None:
    import time

    deadline = time.monotonic() + 180
    while text not in path.read_text():
        assert proc.poll() is None, path.read_text()
        assert time.monotonic() < deadline, path.read_text()
        time.sleep(0.05)


def test_a_dead_holders_lock_is_recovered_at_once(corpus, tmp_path) -> None:
    root = tmp_path
    copy_bronze(corpus.gen, root / "bronze", corpus.names)
    pause = root / "pause"
    holder = start_cli(silver_cmd(root), fault=f"batch-cleaned=pause:{pause}")
    wait_for(pause / "batch-cleaned.reached", holder)
    assert json.loads((root / ".silver.lock").read_text())["pid"] == holder.pid
    holder.send_signal(signal.SIGKILL)  # kill -9 while it holds the lock
    holder.wait(timeout=60)
    assert cli_in_process(root) == 0  # no --wait needed: the kernel dropped the dead run's lock
    assert Outcome.of(root) == corpus.clean_all
    assert_clean_disk(root)


# -- other filesystems and full disks ---------------------------------------------------------------------

@pytest.fixture
def tmpfs(tmp_path):
    """``mount(name, size)``: a fresh tmpfs of ``size`` (e.g. "64M") at ``tmp_path / name``."""
    mounted: list[Path] = []

    def mount(name: str, size: str) -> Path:
        if os.geteuid() != 0:
            pytest.skip("mounting a tmpfs needs root (CI runs the suite as root)")
        point = tmp_path / name
        point.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(point)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"mount -t tmpfs is not permitted here: {done.stderr.strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in reversed(mounted):
        subprocess.run(["umount", str(point)], check=False)


def test_a_work_folder_on_another_filesystem(corpus, tmpfs, tmp_path) -> None:
    root = tmp_path / "lake"
    work = tmpfs("work", "256M")
    assert os.stat(work).st_dev != os.stat(tmp_path).st_dev
    copy_bronze(corpus.gen, root / "bronze", corpus.names[:2])
    assert cli_in_process(root, work=work) == 0  # fresh
    assert Outcome.of(root) == corpus.clean_first_two
    copy_bronze(corpus.gen, root / "bronze", corpus.names[2:])
    assert cli_in_process(root, work=work) == 0  # incremental: untouched partitions hard-linked, new ones copied
    assert Outcome.of(root) == corpus.clean_all
    assert_clean_disk(root, work)


def test_silver_on_another_filesystem_than_the_work_folder(corpus, tmpfs, tmp_path) -> None:
    root = tmpfs("lake", "256M")
    assert os.stat(root).st_dev != os.stat(tmp_path).st_dev
    work = tmp_path / "work"
    copy_bronze(corpus.gen, root / "bronze", corpus.names[:2])
    assert cli_in_process(root, work=work) == 0
    copy_bronze(corpus.gen, root / "bronze", corpus.names[2:])
    assert cli_in_process(root, work=work) == 0
    assert Outcome.of(root) == corpus.clean_all
    assert_clean_disk(root, work)


def test_a_full_work_disk_fails_with_one_message_and_changes_nothing(corpus, tmpfs, tmp_path, capsys) -> None:
    root = tmp_path / "lake"
    copy_bronze(corpus.gen, root / "bronze", corpus.names[:2])
    assert cli_in_process(root) == 0
    before = Outcome.of(root)
    copy_bronze(corpus.gen, root / "bronze", corpus.names[2:])
    tiny = tmpfs("tiny", "96k")
    capsys.readouterr()
    assert cli_in_process(root, work=tiny) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "space" in err.lower() and "--work-dir" in err
    assert Outcome.of(root) == before  # silver, quarantine and state as they were
    assert list(tiny.iterdir()) == [], "the failed run's work folder is removed"
    assert list(root.glob(".silver.*-*")) == []
    assert cli_in_process(root) == 0  # with room to work, the batch goes through
    assert Outcome.of(root) == corpus.clean_all


def test_a_full_silver_disk_leaves_the_previous_silver(corpus, tmpfs, tmp_path, capsys) -> None:
    root = tmpfs("lake", "1M")
    work = tmp_path / "work"
    copy_bronze(corpus.gen, tmp_path / "bronze", corpus.names)
    (root / "bronze").symlink_to(tmp_path / "bronze")  # bronze elsewhere; silver fills the small disk
    small = tmp_path / "first"
    copy_bronze(corpus.gen, small, corpus.names[:1])
    assert main(["silver", "--bronze", str(small), "--silver", str(root / "silver"), "--work-dir", str(work),
                 "--quiet", "--threads", "1"]) == 0
    before = Outcome.of(root)
    filler = root / "filler"
    free = os.statvfs(root).f_bavail * os.statvfs(root).f_frsize
    filler.write_bytes(b"\0" * max(free - 64 * 1024, 0))  # leave less room than the new snapshot needs
    capsys.readouterr()
    assert cli_in_process(root, "--full", work=work) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "space" in err.lower(), err
    assert Outcome.of(root) == before
    assert list(root.glob(".silver.*-*")) == [], "the staged snapshot is removed"
    assert list(work.iterdir()) == []
    filler.unlink()
    assert cli_in_process(root, work=work) == 0
    assert Outcome.of(root) == corpus.clean_all


def test_a_full_recompute_killed_after_its_quarantine_leaves_no_quarantine_twice(corpus, tmp_path) -> None:
    """A --full run's quarantine file covers every bronze file; killed before its silver commit, it
    must not stay beside the batches the old state still counts (the lines would be there twice)."""
    root = tmp_path
    copy_bronze(corpus.gen, root / "bronze", corpus.names[:2])
    assert cli_in_process(root) == 0
    copy_bronze(corpus.gen, root / "bronze", corpus.names[2:])
    killed = run_cli(silver_cmd(root, "--full"), fault="quarantine-published=kill")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert len(list((root / "quarantine").glob("batch-*.parquet"))) == 2  # the old batch and the orphan

    assert cli_in_process(root) == 0  # incremental: the old state does not know the orphan
    assert Outcome.of(root) == corpus.clean_all
    state = json.loads((root / "silver" / STATE_FILE).read_text())
    assert sorted(p.name for p in (root / "quarantine").glob("batch-*.parquet")) == state["quarantine_batches"]
    assert_clean_disk(root)

    assert cli_in_process(root, "--full") == 0  # a full recompute supersedes every older batch file
    assert Outcome.of(root) == corpus.clean_all
    assert len(list((root / "quarantine").glob("batch-*.parquet"))) == 1
