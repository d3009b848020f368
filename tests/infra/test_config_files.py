"""Hostile config files, as a careful user makes them: each ends with exit 2 and one message naming the
file, the field, the value and the rule (run through the real entry point, ``main.py``); the checks
across environment files; config agreeing with the Function it configures (checked against the
Function's own parsers); a killed synth's leftovers removed by the next synth."""

from __future__ import annotations

import codecs
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emotion_events import app_settings as S
from emotion_events import limits
from emotion_events.http_params import RequestDefaults, RequestError, parse_request
from emotion_events.settings import GeneratorSettings, SettingError
from emotion_platform import app as synth_app
from emotion_platform import naming
from emotion_platform.config import ConfigError, load_all
from tests.fixtures.synth import ROOT, clean_env, synth_command

CONFIG_DIR = ROOT / "config"
DEV_TEXT = (CONFIG_DIR / "dev.toml").read_text(encoding="utf-8")
PROD_TEXT = (CONFIG_DIR / "prod.toml").read_text(encoding="utf-8")


def config_dir(tmp_path: Path, **files: str | bytes) -> Path:
    """A config folder with the repository's dev and prod files, plus or instead of ``files``."""
    folder = tmp_path / "config"
    folder.mkdir(parents=True)
    for name, content in {"dev": DEV_TEXT, "prod": PROD_TEXT, **files}.items():
        path = folder / f"{name}.toml"
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return folder


def with_value(text: str, key: str, value: str, section: str | None = None) -> str:
    """``text`` with ``key = ...`` replaced (inside ``[section]`` when given), or added to that section."""
    lines = text.splitlines()
    current = None
    for i, line in enumerate(lines):
        if line.startswith("["):
            if current == section and section is not None:
                lines.insert(i, f"{key} = {value}")
                return "\n".join(lines) + "\n"
            current = line.strip().strip("[]")
        elif current == section and re.match(rf"{re.escape(key)}\s*=", line):
            lines[i] = f"{key} = {value}"
            return "\n".join(lines) + "\n"
    if current == section:
        return "\n".join([*lines, f"{key} = {value}"]) + "\n"
    raise AssertionError(f"no [{section}] in the file")


def run_main(folder: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    outdir = tmp_path / "cdktf.out"
    return subprocess.run(synth_command(outdir, "--config-dir", str(folder), *args), cwd=ROOT, env=clean_env(),
                          capture_output=True, text=True, timeout=120)


def assert_refused(proc: subprocess.CompletedProcess, tmp_path: Path, *fragments: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-3000:])
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in errors[0], f"{fragment!r} not in {errors[0]!r}"
    assert not (tmp_path / "cdktf.out").exists(), "nothing is written"
    return errors[0]


# --- across environment files ------------------------------------------------------------------------


def test_a_copy_of_dev_under_another_name_is_refused(tmp_path: Path) -> None:
    """Same globally unique names in test.toml: refused, the copy (the later file) named."""
    folder = config_dir(tmp_path, test=DEV_TEXT.replace("environment = \"dev\"", "environment = \"test\""))
    message = assert_refused(run_main(folder, tmp_path), tmp_path, "test.toml: foundation.storage_account_name = 'stemotiondev01'",
                             "globally unique", "dev.toml")
    assert str(folder / "test.toml") in message


@pytest.mark.parametrize(
    ("section", "key", "field"),
    [
        ("foundation", "key_vault_name", "foundation.key_vault_name"),
        ("function", "name", "function.name"),
        ("function", "storage_account_name", "function.storage_account_name"),
        ("data_factory", "name", "data_factory.name"),
    ],
)
def test_each_globally_unique_name_belongs_to_one_environment(tmp_path: Path, section: str, key: str, field: str) -> None:
    """test.toml with its own names except one, taken from dev (Key Vault names compared without case)."""
    own = {"foundation": {"storage_account_name": '"stemotiontest01"', "key_vault_name": '"kv-emotion-test-01"'},
           "function": {"name": '"func-emotion-gen-test-01"', "storage_account_name": '"stemotionfntest01"'},
           "data_factory": {"name": '"adf-emotion-test-01"'}, "state": {"key": '"phase2-test.tfstate"'}}
    text = DEV_TEXT
    for sec, values in own.items():
        for k, v in values.items():
            if (sec, k) != (section, key):
                text = with_value(text, k, v, sec)
    if field == "foundation.key_vault_name":
        text = with_value(text, key, '"KV-Emotion-Dev-01"', section)
    folders = config_dir(tmp_path, test=text)
    with pytest.raises(ConfigError) as info:
        load_all(config_dir=folders)
    assert f"test.toml: {field} = " in str(info.value) and "dev.toml" in str(info.value)


def test_two_environments_never_share_a_state_blob(tmp_path: Path) -> None:
    text = DEV_TEXT
    for sec, k, v in (("foundation", "storage_account_name", '"stemotiontest01"'), ("foundation", "key_vault_name", '"kv-emotion-test-01"'),
                      ("function", "name", '"func-emotion-gen-test-01"'), ("function", "storage_account_name", '"stemotionfntest01"'),
                      ("data_factory", "name", '"adf-emotion-test-01"')):
        text = with_value(text, k, v, sec)
    folder = config_dir(tmp_path, test=text)  # state.key still phase2-dev.tfstate, backend local
    assert_refused(run_main(folder, tmp_path), tmp_path, "test.toml: state.key = 'phase2-dev.tfstate'",
                   "stemotiontfstate01/tfstate-dev/phase2-dev.tfstate", "own state.key")
    fixed = config_dir(tmp_path / "ok", test=with_value(text, "key", '"phase2-test.tfstate"', "state"))
    assert [c.name for c in load_all(config_dir=fixed)] == ["dev", "prod", "test"]


def test_every_file_is_checked_even_when_one_environment_is_asked_for(tmp_path: Path) -> None:
    folder = config_dir(tmp_path, test=DEV_TEXT)
    assert_refused(run_main(folder, tmp_path, "--env", "dev"), tmp_path, "test.toml", "globally unique")


def test_the_repository_files_pass_the_cross_file_check() -> None:
    assert [c.name for c in load_all(config_dir=CONFIG_DIR)] == sorted(p.stem for p in CONFIG_DIR.glob("*.toml"))


# --- hostile files and arguments -----------------------------------------------------------------------


HOSTILE_VALUES = [
    # (section or None for top level, key, TOML value, fragments of the message)
    ("pipeline.schedule", "start_time", '"20260101T020000Z"', ["pipeline.schedule.start_time = '20260101T020000Z'", "RFC 3339"]),
    ("pipeline.schedule", "start_time", '"2026-01-01t02:00:00z"', ["pipeline.schedule.start_time", "RFC 3339"]),
    ("pipeline.schedule", "start_time", '"2026-02-30T02:00:00Z"', ["pipeline.schedule.start_time", "exist"]),
    ("pipeline.schedule", "time_zone", '"Mars Standard Time"', ["pipeline.schedule.time_zone = 'Mars Standard Time'", "Windows time zone id"]),
    ("pipeline.schedule", "time_zone", '"Europe/Berlin"', ["pipeline.schedule.time_zone", "'W. Europe Standard Time'"]),
    ("storage", "allowed_ip_ranges", '["10.1.0.0/16"]', ["storage.allowed_ip_ranges = ['10.1.0.0/16']", "private (RFC 1918)"]),
    ("key_vault", "allowed_ip_ranges", '["192.168.0.7"]', ["key_vault.allowed_ip_ranges", "private (RFC 1918)"]),
    ("key_vault", "rbac_propagation_wait", '"６０s"', ["key_vault.rbac_propagation_wait = '６０s'", "ASCII digits"]),
    ("function", "schedule", '"0 0 ２ * * *"', ["function.schedule", "NCRONTAB"]),
    ("function", "dirty_ratio", "0.6", ["function.dirty_ratio = 0.6", f"between 0.0 and {limits.MAX_DIRTY_RATIO}"]),
    ("function", "max_rows", "1000", ["pipeline.generator_rows = 10000", "at most function.max_rows (1000)", "400"]),
]


@pytest.mark.parametrize(("section", "key", "value", "fragments"), HOSTILE_VALUES, ids=[f"{k}={v}" for _, k, v, _ in HOSTILE_VALUES])
def test_hostile_values_exit_2_with_one_message(tmp_path: Path, section, key, value, fragments) -> None:
    folder = config_dir(tmp_path, dev=with_value(DEV_TEXT, key, value, section))
    assert_refused(run_main(folder, tmp_path), tmp_path, "dev.toml: ", *fragments)


def test_an_empty_tag_key_is_refused(tmp_path: Path) -> None:
    text = DEV_TEXT.replace('tags = { project = "emotion-platform"', 'tags = { "" = "x", project = "emotion-platform"')
    assert_refused(run_main(config_dir(tmp_path, dev=text), tmp_path), tmp_path, "dev.toml: tags = ", "tag key ''", "empty")


def test_replication_in_existing_mode_is_refused_not_ignored(tmp_path: Path) -> None:
    """Chosen: refused (a warning scrolls by in CI; the setting would do nothing to Phase 1's account)."""
    text = with_value(PROD_TEXT, "replication", '"GRS"', "storage")
    assert_refused(run_main(config_dir(tmp_path, prod=text), tmp_path), tmp_path,
                   "prod.toml: storage.replication = 'GRS'", "only applies to foundation.mode = 'standalone'")


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        (DEV_TEXT.replace("# Phase 2", "# Phasé 2").encode("latin-1"), ["(encoding) line 1 = byte 0xe9", "not UTF-8", "Latin-1"]),
        (DEV_TEXT.encode("utf-16"), ["(encoding) = UTF-16", "UTF-8"]),
        (DEV_TEXT.encode("utf-16-le"), ["(encoding) = NUL bytes (UTF-16 or UTF-32?)", "UTF-8"]),
        (codecs.BOM_UTF8 + DEV_TEXT.encode("utf-8"), ["byte-order mark (BOM)", "not 'UTF-8 with BOM'"]),
    ],
    ids=["latin-1", "utf-16", "utf-16-le-no-bom", "utf-8-bom"],
)
def test_encodings_exit_2_with_one_message(tmp_path: Path, content: bytes, fragments: list[str]) -> None:
    assert_refused(run_main(config_dir(tmp_path, dev=content), tmp_path), tmp_path, "dev.toml: ", *fragments)


def test_a_folder_named_like_an_environment_file(tmp_path: Path) -> None:
    folder = config_dir(tmp_path)
    (folder / "x.toml").mkdir()
    assert_refused(run_main(folder, tmp_path), tmp_path, "x.toml: (file) = a directory", "not a folder")


def test_an_environment_given_twice(tmp_path: Path) -> None:
    assert_refused(run_main(config_dir(tmp_path), tmp_path, "--env", "dev", "--env", "dev"), tmp_path,
                   "--env = 'dev'", "more than once")


# --- config agrees with the Function (its own parsers are the judge) --------------------------------------


def _config_accepts(tmp_path: Path, **function_values: str) -> bool:
    text = DEV_TEXT
    for key, value in function_values.items():
        text = with_value(text, key, value, "pipeline" if key == "generator_rows" else "function")
    folder = config_dir(tmp_path, dev=text)
    try:
        load_all(["dev"], config_dir=folder)
    except ConfigError:
        return False
    return True


def _function_accepts(*, dirty_ratio: str = "0.05", max_rows: str = "5000000", batch_rows: str = "10000",
                      generator_rows: str | None = None) -> bool:
    """The app settings GeneratorFunction writes (str() of the config values), read by the Function's own
    settings parser; then the body Data Factory posts ({"rows": generator_rows}) through its request parser."""
    try:
        s = GeneratorSettings.from_settings({S.DIRTY_RATIO: dirty_ratio, S.MAX_ROWS: max_rows, S.BATCH_ROWS: batch_rows})
        if generator_rows is not None:
            parse_request({}, json.dumps({"rows": int(generator_rows)}).encode(), RequestDefaults(s.batch_rows, s.dirty_ratio, s.max_rows))
    except (SettingError, RequestError):
        return False
    return True


@pytest.mark.parametrize("value", ["0", "0.05", "0.5", "0.5000001", "0.6", "1.0"])
def test_dirty_ratio_is_accepted_exactly_when_the_function_accepts_it(tmp_path: Path, value: str) -> None:
    assert _config_accepts(tmp_path, dirty_ratio=value) == _function_accepts(dirty_ratio=str(float(value)))


@pytest.mark.parametrize("key", ["max_rows", "batch_rows"])
@pytest.mark.parametrize("value", [1, 10_000, limits.MAX_ROWS, limits.MAX_ROWS + 1])
def test_row_limits_are_accepted_exactly_when_the_function_accepts_them(tmp_path: Path, key: str, value: int) -> None:
    assert _config_accepts(tmp_path, **{key: str(value), "generator_rows": "1"}) == _function_accepts(**{key: str(value), "generator_rows": "1"})


@pytest.mark.parametrize("rows", [9_999, 10_000, 10_001])
def test_the_pipelines_request_is_accepted_exactly_when_the_function_accepts_it(tmp_path: Path, rows: int) -> None:
    accepted = _config_accepts(tmp_path, max_rows="10000", generator_rows=str(rows))
    assert accepted == _function_accepts(max_rows="10000", generator_rows=str(rows)) == (rows <= 10_000)


def test_config_reads_the_functions_limits_not_a_copy() -> None:
    import emotion_events.generator as generator
    import emotion_platform.config as config_module
    import emotion_platform.validation as validation

    assert generator.MAX_DIRTY_RATIO is limits.MAX_DIRTY_RATIO and generator.MAX_ROWS is limits.MAX_ROWS
    # config's rules are validation's (tests/infra/test_rules.py), and those read the Function's module
    assert validation.limits is limits
    assert config_module._SCHEMA["function"]["max_rows"].check is validation.FIELDS["max_rows"].rule
    assert validation.FIELDS["max_rows"].rule(limits.MAX_ROWS) is None and validation.FIELDS["max_rows"].rule(limits.MAX_ROWS + 1)


def test_time_zone_ids_come_from_cldr_not_a_hand_list() -> None:
    zones = naming.windows_time_zones()
    assert len(zones) > 130 and {"UTC", "W. Europe Standard Time", "Pacific Standard Time"} <= set(zones)
    assert zones["W. Europe Standard Time"] == "Europe/Berlin"


# --- a killed synth's leftovers ------------------------------------------------------------------------


def _start_synth(outdir: Path) -> subprocess.Popen:
    return subprocess.Popen(synth_command(outdir), cwd=ROOT, env=clean_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def _wait_for(predicate, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_a_killed_synths_leftovers_are_removed_by_the_next_synth_and_a_running_ones_kept(tmp_path: Path, monkeypatch) -> None:
    outdir = tmp_path / "cdktf.out"
    partials = lambda: sorted(tmp_path.glob(".cdktf.out.partial-*"))  # noqa: E731
    killed = _start_synth(outdir)
    try:
        _wait_for(lambda: len(partials()) == 1)
    finally:
        os.killpg(killed.pid, signal.SIGKILL)  # the process group this test started: synth and its Node
        killed.wait()
    (leftover,) = partials()
    os.utime(leftover, (time.time() - 60, time.time() - 60))
    running = _start_synth(outdir)  # the next synth: removes the leftover, then works in its own folder
    try:
        _wait_for(lambda: not leftover.exists() and len(partials()) == 1)
        (live,) = partials()
        time.sleep(0.5)
        os.utime(live, (time.time() - 60, time.time() - 60))  # age alone does not make a folder a leftover
        # Another synth meanwhile (in this process; cdktf never loads, the build fails at once) keeps it.
        monkeypatch.setattr(synth_app, "build_app", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("stop")))
        with pytest.raises(RuntimeError, match="stop"):
            synth_app.synth(outdir, ["dev"], log=lambda message: None)
        assert live.exists() and partials() == [live], "the running synth's folder stays, the failed one's own is gone"
    finally:
        os.killpg(running.pid, signal.SIGKILL)
        running.wait()
    os.utime(live, (time.time() - 60, time.time() - 60))
    assert synth_app.clean_leftovers(outdir) == 1 and partials() == []


def test_leftovers_are_ignored_by_git(tmp_path: Path) -> None:
    for name in (".cdktf.out.partial-abc123/x", ".cdktf.out.old-4242/x", ".cdktf.out.lock"):
        proc = subprocess.run(["git", "check-ignore", "--no-index", "-q", name], cwd=ROOT)
        assert proc.returncode == 0, name
