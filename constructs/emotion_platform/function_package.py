"""Stage a clean copy of ``function_app/`` for the deployment archive, honouring ``.funcignore``.

Core Tools (``func azure functionapp publish``) leave out what ``.funcignore`` lists; the synthesized
archive must contain exactly the same, whoever deploys. cdktf hashes the staged directory's contents,
so the asset hash (and with it the redeploy trigger) changes only when shipped code changes.
"""

from __future__ import annotations

import fnmatch
import shutil
from pathlib import Path

FUNCTION_APP_DIR = Path(__file__).resolve().parents[2] / "function_app"

# Never shipped, whatever .funcignore says: caches, local secrets, VCS and editor state.
ALWAYS_EXCLUDED = (
    "__pycache__/",
    "*.pyc",
    ".venv/",
    ".git/",
    ".vscode/",
    ".pytest_cache/",
    "local.settings.json",
    ".funcignore",
)


def ignore_patterns(source: Path) -> list[str]:
    """``.funcignore`` patterns (gitignore syntax, without negation) plus ``ALWAYS_EXCLUDED``."""
    patterns = list(ALWAYS_EXCLUDED)
    funcignore = source / ".funcignore"
    if funcignore.is_file():
        for line in funcignore.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#") and not line.startswith("!"):
                patterns.append(line)
    return patterns


def is_ignored(relative: str, is_dir: bool, patterns: list[str]) -> bool:
    name = relative.rsplit("/", 1)[-1]
    for pattern in patterns:
        dir_only = pattern.endswith("/")
        pat = pattern.strip("/")
        if dir_only and not is_dir:
            continue
        anchored = "/" in pattern.rstrip("/")  # 'a/b' or '/a' match from the root only
        if fnmatch.fnmatchcase(relative, pat) or (not anchored and fnmatch.fnmatchcase(name, pat)):
            return True
    return False


def stage_function_app(source: Path, destination: Path) -> Path:
    """Copy ``source`` into ``destination`` without ignored files; returns ``destination``."""
    source = Path(source)
    if not (source / "host.json").is_file() and not (source / "function_app.py").is_file():
        raise FileNotFoundError(f"{source}: not a Functions project (no host.json or function_app.py)")
    patterns = ignore_patterns(source)
    destination.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source).as_posix()
        if any(is_ignored("/".join(relative.split("/")[: i + 1]), True, patterns) for i in range(relative.count("/"))):
            continue  # inside an ignored directory
        if is_ignored(relative, path.is_dir(), patterns):
            continue
        target = destination / relative
        if path.is_dir():
            target.mkdir(exist_ok=True)
        else:
            shutil.copyfile(path, target)
    return destination
