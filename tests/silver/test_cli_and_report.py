"""The command line and the data-quality report it writes."""

from __future__ import annotations

import json
import subprocess
import sys

import matplotlib.image as mpimg
import pytest

from emotion_platform.cli import main

from .conftest import HEADER, bronze_line, generate, manifest, write_bronze


def test_the_module_runs_end_to_end_and_writes_silver_quarantine_and_report(tmp_path) -> None:
    result = generate(tmp_path / "bronze", 5_000, seed=51, run_id="cli", dirty_ratio=0.1)
    proc = subprocess.run([sys.executable, "-m", "emotion_platform", "silver", "--bronze", str(tmp_path / "bronze"),
                           "--silver", str(tmp_path / "out" / "silver"), "--memory-limit", "256MB", "--threads", "1"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "classifying 1 bronze file(s)" in proc.stderr  # progress on stderr
    m = manifest(result)
    report = json.loads((tmp_path / "out" / "report" / "report.json").read_text())
    assert report["rows_in"] == m["rows_written"]
    assert report["quarantined_rows"] == m["expected_quarantined_rows"]
    assert report["quarantined_by_reason"] == {"empty_file": 0, "bad_header": 0, **m["expected_quarantine_reasons"]}
    assert report["duplicates_removed"] == m["expected_valid_rows"] - m["expected_valid_distinct_events"]
    assert report["silver_rows_after"] == m["expected_valid_distinct_events"]
    assert sum(report["emotion_distribution"].values()) == report["silver_rows_after"]
    assert list(report["emotion_distribution"])[:8] == ["joy", "trust", "fear", "surprise", "sadness", "disgust",
                                                         "anger", "anticipation"]
    assert list((tmp_path / "out" / "quarantine").glob("batch-*.parquet"))
    md = (tmp_path / "out" / "report" / "report.md").read_text()
    assert f"| rows in | {m['rows_written']:,} |" in md and "![" in md
    image = mpimg.imread(tmp_path / "out" / "report" / "report.png")
    assert image.shape[0] >= 400 and image.shape[1] >= 1000  # a real raster, 12 x 4.8 in at 100 dpi
    assert f"full: {m['rows_written']:,} rows in" in proc.stdout


def test_the_report_after_an_up_to_date_run_says_nothing_was_new(tmp_path, capsys) -> None:
    write_bronze(tmp_path / "b", [bronze_line()])
    args = ["silver", "--bronze", str(tmp_path / "b"), "--silver", str(tmp_path / "s"), "--report", str(tmp_path / "r"),
            "--threads", "1", "--quiet", "--json"]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 0
    printed = json.loads(capsys.readouterr().out)
    data = json.loads((tmp_path / "r" / "report.json").read_text())
    assert printed == data
    assert data["mode"] == "up-to-date" and data["rows_in"] == 0 and data["silver_rows_after"] == 1
    assert mpimg.imread(tmp_path / "r" / "report.png").shape[0] > 0


@pytest.mark.parametrize("args, message", [
    (["--memory-limit", "lots"], "'lots' is not a memory size"),
    (["--threads", "0"], "'0' must be at least 1"),
])
def test_bad_arguments_exit_2_naming_the_value(tmp_path, capsys, args, message) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["silver", "--bronze", str(tmp_path), "--silver", str(tmp_path / "s"), *args])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_runtime_problems_are_reported_without_a_traceback(tmp_path, capsys) -> None:
    (tmp_path / "empty").mkdir()
    assert main(["silver", "--bronze", str(tmp_path / "empty"), "--silver", str(tmp_path / "s"), "--quiet"]) == 1
    assert "no bronze files (*.csv) under" in capsys.readouterr().err
    write_bronze(tmp_path / "b", [bronze_line()], header=HEADER.upper())
    # A file whose header differs is quarantined as one bad_header record; the run completes.
    assert main(["silver", "--bronze", str(tmp_path / "b"), "--silver", str(tmp_path / "s"), "--quiet"]) == 0
    assert main(["silver", "--bronze", str(tmp_path / "b"), "--silver", str(tmp_path / "b"), "--quiet"]) == 2
    assert "--bronze and --silver are the same location" in capsys.readouterr().err


def test_a_contract_file_can_be_given(tmp_path, capsys) -> None:
    from emotion_events.contract import CONTRACT_PATH

    data = json.loads(CONTRACT_PATH.read_text())
    data["ranges"]["valence"] = {"min": 0.0, "max": 1.0}  # only pleasant feelings, for the sake of the test
    (tmp_path / "contract.json").write_text(json.dumps(data))
    write_bronze(tmp_path / "b", [bronze_line(valence="-0.5")])
    assert main(["silver", "--bronze", str(tmp_path / "b"), "--silver", str(tmp_path / "s"), "--quiet",
                 "--contract", str(tmp_path / "contract.json")]) == 0
    assert "out_of_range 1" in capsys.readouterr().out
    broken = tmp_path / "broken.json"
    data["validation"]["rules"].append({"reason": "vibes"})
    broken.write_text(json.dumps(data))
    assert main(["dataflow-script", "--contract", str(broken)]) == 2
    assert "'vibes': no engine implements it" in capsys.readouterr().err


def test_a_work_folder_that_does_not_exist_yet_is_created_and_left_empty(tmp_path) -> None:
    generate(tmp_path / "bronze", 500, seed=52, run_id="work")
    work = tmp_path / "scratch" / "silver-work"
    assert main(["silver", "--bronze", str(tmp_path / "bronze"), "--silver", str(tmp_path / "silver"),
                 "--work-dir", str(work), "--quiet", "--threads", "1"]) == 0
    assert work.is_dir() and list(work.iterdir()) == []  # staging and spill files are removed
    assert list((tmp_path / "silver").glob("event_date=*/*.parquet"))
