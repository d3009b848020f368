"""The synth-time type check of the generated Data Flow Script runs once per script and checker
(emotion_platform/_checked_scripts.py, issue 14): a pass is remembered, a failure never is, and any
change to the script or to the checker's source checks again."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from emotion_platform import _checked_scripts
from emotion_platform.dataflow.script import generate_script
from emotion_platform.dataflow.typecheck import DataFlowTypeError
from tests.fixtures.synth import ROOT, clean_env

SCRIPT = generate_script(None).text
BROKEN = SCRIPT.replace("length(line) - length(", "length(line) - lengthOf(", 1)  # no such function

CHECK_IN_FRESH_PROCESS = r"""
import json, sys
from emotion_platform._checked_scripts import typecheck_once
from emotion_platform.dataflow.script import generate_script
typecheck_once(generate_script(None).text)
print(json.dumps({"lark_loaded": "lark" in sys.modules, "checker_loaded": "emotion_platform.dataflow.typecheck" in sys.modules}))
"""


@pytest.fixture(autouse=True)
def _fresh_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_checked_scripts, "_passed", set())


def _in_fresh_process(cache_home: Path, **env: str) -> dict[str, bool]:
    proc = subprocess.run(
        [sys.executable, "-c", CHECK_IN_FRESH_PROCESS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(XDG_CACHE_HOME=str(cache_home), **env),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.splitlines()[-1])


def test_a_pass_is_remembered_and_the_next_synth_does_not_load_the_checker(tmp_path: Path) -> None:
    assert BROKEN != SCRIPT
    first = _in_fresh_process(tmp_path)
    assert first == {"lark_loaded": True, "checker_loaded": True}
    markers = list((tmp_path / "emotion-platform" / "checked-scripts").iterdir())
    assert [m.name for m in markers] == [_checked_scripts.cache_key(SCRIPT, _checked_scripts.checker_sources())]
    assert _in_fresh_process(tmp_path) == {"lark_loaded": False, "checker_loaded": False}


def test_a_failing_script_raises_every_time_and_is_never_remembered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    for _ in range(2):
        with pytest.raises(DataFlowTypeError, match="lengthOf"):
            _checked_scripts.typecheck_once(BROKEN)
    assert not (tmp_path / "emotion-platform" / "checked-scripts").exists() or not any(
        (tmp_path / "emotion-platform" / "checked-scripts").iterdir()
    )


def test_the_key_follows_the_script_and_every_checker_source(tmp_path: Path) -> None:
    sources = _checked_scripts.checker_sources()
    names = [s.name for s in sources]
    assert {"parser.py", "typecheck.py", "functions.py", "tree.py"} <= set(names), names
    assert sources[-1].parent.name == "lark", "lark's version is part of the key"
    copies = []
    for i, source in enumerate(sources):
        copy = tmp_path / str(i) / source.name
        copy.parent.mkdir()
        shutil.copyfile(source, copy)
        copies.append(copy)
    key = _checked_scripts.cache_key(SCRIPT, copies)
    assert key == _checked_scripts.cache_key(SCRIPT, sources)
    assert _checked_scripts.cache_key(SCRIPT + " ", copies) != key
    for copy in copies:
        original = copy.read_bytes()
        copy.write_bytes(original + b"\n# changed\n")
        assert _checked_scripts.cache_key(SCRIPT, copies) != key, copy.name
        copy.write_bytes(original)


def test_the_switch_turns_the_disk_cache_off(tmp_path: Path) -> None:
    assert _checked_scripts.cache_dir({"EMOTION_PLATFORM_SCRIPT_CHECK_CACHE": "0", "XDG_CACHE_HOME": str(tmp_path)}) is None
    assert _checked_scripts.cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "emotion-platform" / "checked-scripts"
    for _ in range(2):
        assert _in_fresh_process(tmp_path, EMOTION_PLATFORM_SCRIPT_CHECK_CACHE="0")["lark_loaded"] is True
    assert not (tmp_path / "emotion-platform").exists()


def test_an_unwritable_cache_only_means_the_check_runs_again(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the cache directory would go\n")
    for _ in range(2):
        assert _in_fresh_process(blocked)["lark_loaded"] is True
