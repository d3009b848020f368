"""The local command, run as people run it: ``python -m emotion_events generate ...``."""

import json
import os
import secrets
import subprocess
import sys

import pytest

ENV = {k: v for k, v in os.environ.items() if not k.startswith("BRONZE_")}


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "emotion_events", "generate", *args], capture_output=True,
                          text=True, env=env or ENV, timeout=120)


def test_generate_to_a_local_directory(tmp_path):
    done = run("--rows", "5000", "--out", str(tmp_path), "--seed", "3", "--dirty-ratio", "0.1", "--run-id", "cli")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    csv = tmp_path / summary["csv"].split(str(tmp_path) + "/")[1]
    assert csv.name == "cli.csv" and csv.exists() and csv.with_name("cli.manifest.json").exists()
    manifest = json.loads(csv.with_name("cli.manifest.json").read_text())
    assert summary["rows_written"] == manifest["rows_written"] == 5000 and manifest["seed"] == 3
    assert done.stderr == ""  # small runs stay quiet


def test_long_runs_show_a_progress_bar_on_stderr(tmp_path):
    done = run("--rows", "40000", "--out", str(tmp_path), "--progress")
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line]
    assert lines[-1].startswith("[##############################] 100.0% 40,000/40,000 rows")
    assert len(lines) >= 3 and json.loads(done.stdout)["rows_written"] == 40000


@pytest.mark.parametrize("args, message", [
    (["--rows", "0"], "rows=0 is invalid"),
    (["--rows", "10", "--dirty-ratio", "0.9"], "dirty_ratio=0.9 is invalid"),
    (["--rows", "10", "--start", "tomorrow"], "start='tomorrow' is invalid"),
    (["--rows", "10", "--run-id", "../x"], "run_id='../x' is invalid"),
])
def test_bad_arguments_exit_2_with_the_rule(tmp_path, args, message):
    done = run(*args, "--out", str(tmp_path))
    assert done.returncode == 2 and message in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_blob_target_uses_the_function_settings(azurite, tmp_path):
    name = f"cli-{secrets.token_hex(4)}"
    env = {**ENV, "BRONZE_STORAGE_CONNECTION_STRING": azurite.connection_string, "BRONZE_CONTAINER": name}
    done = run("--rows", "3000", "--blob", "--create-container", "--run-id", "to-blob", env=env)
    assert done.returncode == 0, done.stderr
    container = azurite.service_client().get_container_client(name)
    names = sorted(b.name for b in container.list_blobs())
    assert [n.rsplit("/", 1)[1] for n in names] == ["to-blob.csv", "to-blob.manifest.json"]
    container.delete_container()


def test_blob_target_without_settings_names_the_setting(tmp_path):
    done = run("--rows", "10", "--blob")
    assert done.returncode == 2 and "BRONZE_STORAGE_CONNECTION_STRING" in done.stderr
