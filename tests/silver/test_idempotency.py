"""Re-runs, merges of new bronze files, and atomic publishing of local silver."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from emotion_platform.silver import runner as runner_mod
from emotion_platform.silver.runner import STATE_FILE, recover_local, run_silver

from .conftest import generate, manifest, read_silver


def tree(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file (hidden staging files included, to catch leftovers)."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def run(root: Path, **kw):
    kw.setdefault("threads", 1)
    return run_silver(str(root / "bronze"), str(root / "silver"), quarantine=str(root / "quarantine"),
                      memory_limit="256MB", **kw)


def derive_later_file(src: Path, dest: Path, in_silver: set[str], *, every: int = 50) -> tuple[set[str], set[str]]:
    """A later bronze file made from lines of an earlier one whose events made it to silver: exact
    copies and re-sends (same id, recorded_at one hour later, another intensity).
    Returns (copied ids, re-sent ids)."""
    lines = src.read_bytes().decode("utf-8").split("\r\n")
    header, body = lines[0], [line for line in lines[1:] if line]
    copies, resends, out = set(), set(), []
    for i, line in enumerate(body[::every]):
        f = line.split(",")
        if len(f) != 11 or f[0] not in in_silver or not f[10].startswith("2026-") or f[10].endswith("Z"):
            continue  # keep to lines of valid events with a canonical recorded_at
        if i % 2:
            out.append(line)
            copies.add(f[0])
        else:
            hour = int(f[10][11:13])
            if hour >= 22:
                continue
            f[10] = f"{f[10][:11]}{hour + 1:02d}{f[10][13:]}"
            f[3] = "0.99"
            out.append(",".join(f))
            resends.add(f[0])
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(("\r\n".join([header, *out]) + "\r\n").encode())
    return copies, resends


@pytest.fixture
def bronze(tmp_path):
    first = generate(tmp_path / "bronze", 15_000, seed=31, run_id="first")
    return tmp_path, first


def test_rerunning_over_the_same_bronze_changes_nothing(bronze) -> None:
    root, first = bronze
    outcome = run(root)
    assert outcome.mode == "full" and outcome.silver_rows_after == manifest(first)["expected_valid_distinct_events"]
    before = tree(root / "silver"), tree(root / "quarantine")
    again = run(root)
    assert again.mode == "up-to-date" and again.batch.rows_in == 0
    assert (tree(root / "silver"), tree(root / "quarantine")) == before


def test_a_full_recompute_of_the_same_bronze_yields_the_same_rows(bronze) -> None:
    root, _first = bronze
    run(root, threads=2)
    before = read_silver(root / "silver", root / "quarantine")
    quarantine_before = tree(root / "quarantine")
    outcome = run(root, full=True, threads=2)
    assert outcome.mode == "full" and outcome.mode_reason == "requested"
    after = read_silver(root / "silver", root / "quarantine")
    assert after.rows == before.rows and len(after.rows) == outcome.silver_rows_after
    assert tree(root / "quarantine") == quarantine_before  # the quarantine file is always sorted


@pytest.mark.parametrize("racy_first", [True, False], ids=["hint-empty-first", "hint-set-first"])
def test_the_quarantine_file_is_named_by_content_not_by_listing_time(bronze, monkeypatch, racy_first) -> None:
    """A file listed within RACY_SECONDS of its write has no change hint; the batch's quarantine file
    must get the same name either way (it used to depend on how soon the run followed the write)."""
    from emotion_platform.silver import storage

    root, _first = bronze
    monkeypatch.setattr(storage, "RACY_SECONDS", 1e9 if racy_first else 0.0)
    run(root)
    names = sorted(p.name for p in (root / "quarantine").glob("*.parquet"))
    monkeypatch.setattr(storage, "RACY_SECONDS", 0.0 if racy_first else 1e9)
    run(root, full=True)
    assert sorted(p.name for p in (root / "quarantine").glob("*.parquet")) == names and len(names) == 1


def test_sorted_output_makes_a_full_recompute_byte_identical(bronze) -> None:
    root, _first = bronze
    run(root, sort_output=True, threads=2)
    silver_before = {k: v for k, v in tree(root / "silver").items() if k != STATE_FILE}
    run(root, full=True, sort_output=True, threads=2)
    assert {k: v for k, v in tree(root / "silver").items() if k != STATE_FILE} == silver_before


def test_new_bronze_files_merge_without_duplicates_and_equal_a_full_recompute(bronze, tmp_path) -> None:
    root, first = bronze
    run(root)
    valid_ids = {r["event_id"] for r in read_silver(root / "silver").rows}
    copies, resends = derive_later_file(first.csv_path, root / "bronze/events/ingest_date=2026-01-06/later.csv",
                                        valid_ids)
    second = generate(root / "bronze", 5_000, seed=32, run_id="second")
    assert copies and resends

    merged = run(root)
    assert merged.mode == "incremental" and len(merged.bronze_files) == 2
    silver = read_silver(root / "silver", root / "quarantine")
    ids = [r["event_id"] for r in silver.rows]
    assert len(ids) == len(set(ids)), "no key twice after the merge"
    m1, m2 = manifest(first), manifest(second)
    assert len(ids) == m1["expected_valid_distinct_events"] + m2["expected_valid_distinct_events"]
    rows = silver.by_id()
    assert all(rows[e]["intensity"] == 0.99 for e in resends), "the later re-send wins across files"
    assert merged.batch.duplicates_removed == len(copies) + len(resends) + (
        m2["expected_valid_rows"] - m2["expected_valid_distinct_events"])

    # The same bronze cleaned from scratch gives the same silver, row for row.
    full_root = tmp_path / "from-scratch"
    full = run_silver(str(root / "bronze"), str(full_root / "silver"), quarantine=str(full_root / "quarantine"),
                      memory_limit="256MB", threads=1)
    assert full.mode == "full"
    assert read_silver(full_root / "silver").rows == silver.rows
    assert sorted(read_silver(full_root / "silver", full_root / "quarantine").quarantine,
                  key=lambda q: (q["source_file"], q["raw_line_or_record"])) == sorted(
        silver.quarantine, key=lambda q: (q["source_file"], q["raw_line_or_record"]))


def test_a_merge_rewrites_only_the_partitions_it_touches(bronze) -> None:
    root, _first = bronze
    run(root)
    before = tree(root / "silver")
    later = generate(root / "bronze", 2_000, seed=33, run_id="later", hours=6)  # 6 hours: at most 2 UTC dates
    outcome = run(root)
    after = tree(root / "silver")
    touched = set(outcome.batch.affected_partitions)
    assert 1 <= len(touched) <= 2
    for name, digest in before.items():
        if name != STATE_FILE and name.split("/")[0] not in touched:
            assert after[name] == digest, f"{name} was rewritten although no new row landed there"
    assert outcome.silver_rows_after == outcome.silver_rows_before + manifest(later)["expected_valid_distinct_events"]


def test_a_changed_contract_or_bronze_file_triggers_a_full_recompute(bronze) -> None:
    from emotion_events.contract import contract_with, default_contract

    root, first = bronze
    run(root)
    ranges = json.loads(json.dumps(default_contract().raw["ranges"]))
    ranges["arousal"]["min"] = 0.1
    outcome = run(root, contract=contract_with(ranges=ranges))
    assert outcome.mode == "full" and "contract changed" in outcome.mode_reason
    with open(first.csv_path, "ab") as fh:
        fh.write(b"appended,line\r\n")
    outcome = run(root, contract=contract_with(ranges=ranges))
    assert outcome.mode == "full" and "changed after it was merged" in outcome.mode_reason


def test_a_failure_while_publishing_leaves_the_previous_silver_intact(bronze, monkeypatch) -> None:
    root, _first = bronze
    run(root)
    before = tree(root / "silver")
    generate(root / "bronze", 1_000, seed=34, run_id="doomed")

    def boom(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr(runner_mod, "swap_in", boom)
    with pytest.raises(OSError, match="disk full"):
        run(root)
    assert tree(root / "silver") == before
    assert [p.name for p in root.iterdir() if p.name.startswith(".silver")] == [".silver.lock"], \
        "staging folders are removed; the lock file stays (unlocked)"
    monkeypatch.undo()
    assert run(root).mode == "incremental"


def test_an_interrupted_swap_is_undone_on_the_next_run(bronze) -> None:
    root, _first = bronze
    run(root)
    before = tree(root / "silver")
    # Crash between the two renames: silver moved aside, the new snapshot not yet in place.
    os.replace(root / "silver", root / ".silver.old-123")
    (root / ".silver.new-123").mkdir()
    recover_local(root / "silver")
    assert tree(root / "silver") == before
    assert not (root / ".silver.old-123").exists() and not (root / ".silver.new-123").exists()


def test_silver_and_its_state_are_swapped_in_together(bronze) -> None:
    root, first = bronze
    run(root)
    state = json.loads((root / "silver" / STATE_FILE).read_text())
    assert list(state["bronze"]) == [first.csv_path.relative_to(root / "bronze").as_posix()]
    assert state["silver_rows"] == manifest(first)["expected_valid_distinct_events"]
    assert state["partitions"] == sorted(p.name for p in (root / "silver").iterdir() if p.is_dir())
