"""`python -m emotion_platform silver --engine spark`: the CLI runs the deployed script through the
runner, and its setup errors exit 2 with one message."""

from __future__ import annotations

import json

from emotion_platform.cli import EXIT_USAGE, main

from ..silver.conftest import generate


def test_the_cli_runs_the_deployed_data_flow_on_spark(tmp_path, spark, synth_outdir, capsys) -> None:
    generate(tmp_path / "bronze", 300, 71, 0.2)
    tf_json = synth_outdir / "stacks" / "phase2-dev" / "cdk.tf.json"
    code = main(["silver", "--bronze", str(tmp_path / "bronze"), "--silver", str(tmp_path / "silver"),
                 "--engine", "spark", "--data-flow", str(tf_json), "--master", "local[2]", "--json", "--quiet"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["engine"] == "spark" and report["rows_in"] == 300
    assert report["silver_rows_after"] == report["valid_rows"] - report["duplicates_removed"]
    assert set(report["code_distributions"]) == {"emotion", "context", "source_channel", "device_tz"}
    assert sum(report["code_distributions"]["emotion"].values()) == report["silver_rows_after"]


def test_a_missing_data_flow_file_is_a_usage_error(tmp_path, capsys) -> None:
    generate(tmp_path / "bronze", 10, 72, 0.0)
    code = main(["silver", "--bronze", str(tmp_path / "bronze"), "--silver", str(tmp_path / "silver"),
                 "--engine", "spark", "--data-flow", str(tmp_path / "nope.json"), "--quiet"])
    assert code == EXIT_USAGE
    assert f"--data-flow {tmp_path / 'nope.json'}: no such file" in capsys.readouterr().err
    assert not (tmp_path / "silver").exists() or not any((tmp_path / "silver").iterdir())


def test_spark_options_without_the_spark_engine_are_refused(tmp_path, capsys) -> None:
    code = main(["silver", "--bronze", str(tmp_path), "--silver", str(tmp_path / "s"), "--master", "local[1]",
                 "--quiet"])
    assert code == EXIT_USAGE and "apply to --engine spark only" in capsys.readouterr().err


def test_a_file_that_holds_no_data_flow_is_a_usage_error(tmp_path, capsys) -> None:
    (tmp_path / "cdk.tf.json").write_text(json.dumps({"resource": {}}))
    code = main(["silver", "--bronze", str(tmp_path), "--silver", str(tmp_path / "s"), "--engine", "spark",
                 "--data-flow", str(tmp_path / "cdk.tf.json"), "--quiet"])
    assert code == EXIT_USAGE and "expected one data flow, found 0" in capsys.readouterr().err
