"""``python main.py``: a bad value exits non-zero with one clear message and writes nothing; a failure
during synthesis leaves an existing cdktf.out exactly as it was (issue 2, requirement 3)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.fixtures.synth import CONFIG_DIR, ROOT, clean_env, synth_command


def run(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(synth_command(*args), cwd=ROOT, env=clean_env(**env), capture_output=True, text=True, timeout=600)


def bad_config_dir(tmp_path: Path, old: str, new: str) -> Path:
    directory = tmp_path / "config"
    directory.mkdir()
    for path in CONFIG_DIR.glob("*.toml"):
        shutil.copy(path, directory / path.name)
    dev = directory / "dev.toml"
    text = dev.read_text()
    assert old in text
    dev.write_text(text.replace(old, new))
    return directory


def test_invalid_config_exits_2_with_one_message_and_no_output(tmp_path: Path) -> None:
    config_dir = bad_config_dir(tmp_path, 'storage_account_name = "stemotiondev01"', 'storage_account_name = "St_Emotion"')
    outdir = tmp_path / "cdktf.out"
    proc = run(outdir, "--config-dir", str(config_dir))
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, proc.stderr
    assert "foundation.storage_account_name = 'St_Emotion'" in errors[0] and "3-24 lower-case letters and digits" in errors[0]
    assert "Traceback" not in proc.stderr
    assert not outdir.exists()
    assert list(tmp_path.glob(".cdktf.out*")) == [], "no partial output left behind"


def test_invalid_config_leaves_a_previous_output_untouched(tmp_path: Path) -> None:
    config_dir = bad_config_dir(tmp_path, 'schedule = "0 0 * * * *"', 'schedule = "hourly"')
    outdir = tmp_path / "cdktf.out"
    (outdir / "stacks" / "phase2-dev").mkdir(parents=True)
    marker = outdir / "stacks" / "phase2-dev" / "cdk.tf.json"
    marker.write_text("{}")
    proc = run(outdir, "--config-dir", str(config_dir))
    assert proc.returncode == 2 and "function.schedule = 'hourly'" in proc.stderr
    assert marker.read_text() == "{}"


def test_a_failure_during_synthesis_leaves_no_partial_output(tmp_path: Path) -> None:
    """Config is valid but the Functions project is missing: the provider bindings load, synthesis
    fails, and neither a partial cdktf.out nor the temporary directory remains."""
    outdir = tmp_path / "cdktf.out"
    proc = run(outdir, "--function-dir", str(tmp_path / "no-such-function-app"))
    assert proc.returncode != 0
    assert "not a Functions project" in proc.stderr
    assert not outdir.exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # no work folder, no lock file


def test_unknown_environment_is_named(tmp_path: Path) -> None:
    proc = run(tmp_path / "out", "--env", "staging")
    assert proc.returncode == 2
    assert "--env = 'staging': no staging.toml" in proc.stderr and "known: dev, prod" in proc.stderr
