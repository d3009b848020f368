"""Build and synthesize the Phase 2 app: every configured environment, one stack each.

``synth`` validates every config file first (no cdktf import, so a bad value fails in a fraction of a
second), synthesizes into a temporary sibling of the output directory and swaps it into place only when
everything succeeded: an error never leaves a partial ``cdktf.out``. A synth that was killed (kill -9,
a closed laptop) leaves its ``.cdktf.out.partial-*`` folder behind; the next synth removes it, and
never one that a synth running at the same time still holds (each holds a lock on its own folder).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

from .config import ConfigError, EnvironmentConfig, load_all

DEFAULT_OUTDIR = "cdktf.out"
# The committed provider lock file (hashes of every provider the stacks require). Each stack directory
# gets a copy, so `cdktf deploy` on a laptop and `terraform init -lockfile=readonly` in CI verify the
# provider downloads against it. Absent when these constructs are used from an installed wheel.
PROVIDER_LOCK = Path(__file__).resolve().parents[2] / ".terraform.lock.hcl"


def build_app(
    outdir: str | Path,
    envs: Sequence[str] | None = None,
    *,
    config_dir: Path | None = None,
    configs: Sequence[EnvironmentConfig] | None = None,
    staging_dir: Path | None = None,
    function_code_path: Path | None = None,
):
    """A ``cdktf.App`` with one ``DataFactoryStack`` per environment (all config files by default)."""
    if configs is None:
        configs = load_all(envs, config_dir)
    from . import use_project_node

    use_project_node()
    _quiet_node()
    os.environ["EMOTION_PLATFORM_TERRAFORM_PREFETCH"] = "1"  # for the kernel the next line may start (_lazy_bindings.js)
    try:
        from cdktf import App
    finally:
        del os.environ["EMOTION_PLATFORM_TERRAFORM_PREFETCH"]

    from .data_factory_stack import DataFactoryStack

    app = App(outdir=str(outdir))
    extra = {"function_code_path": function_code_path} if function_code_path else {}
    for config in configs:
        DataFactoryStack(app, config.stack_name, config=config, staging_dir=staging_dir, **extra)
    return app


def _quiet_node() -> None:
    """jsii's bundled dependencies trip Node 24 deprecation warnings (e.g. DEP0044) on every synth;
    they are noise to users of this app, so Node is asked not to print them."""
    options = os.environ.get("NODE_OPTIONS", "")
    if "--no-deprecation" not in options:
        os.environ["NODE_OPTIONS"] = f"{options} --no-deprecation".strip()


def synth(
    outdir: str | Path = DEFAULT_OUTDIR,
    envs: Sequence[str] | None = None,
    *,
    config_dir: Path | None = None,
    function_code_path: Path | None = None,
    log=lambda message: print(message, file=sys.stderr, flush=True),
) -> dict[str, Path]:
    """Synthesize atomically into ``outdir``; returns stack name -> its ``cdk.tf.json``."""
    started = time.perf_counter()
    configs = load_all(envs, config_dir)
    log(f"config valid: {', '.join(f'{c.name} ({c.foundation.mode}, state: {c.state.backend})' for c in configs)}")
    target = Path(outdir).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    removed = clean_leftovers(target)
    if removed:
        log(f"removed {removed} leftover(s) of an interrupted synth next to {_display(target)}")
    work = Path(tempfile.mkdtemp(prefix=_partial_prefix(target), dir=target.parent))
    try:
        with _held(work):
            out, staging = work / "out", work / "staging"
            log(f"synthesizing {', '.join(c.stack_name for c in configs)} (loading provider bindings)")
            app = build_app(out, configs=configs, staging_dir=staging, function_code_path=function_code_path)
            app.synth()
            result = {}
            for config in configs:
                stack_file = out / "stacks" / config.stack_name / "cdk.tf.json"
                if PROVIDER_LOCK.is_file():
                    shutil.copyfile(PROVIDER_LOCK, stack_file.with_name(PROVIDER_LOCK.name))
                resources = json.loads(stack_file.read_text())["resource"]
                count = sum(len(v) for v in resources.values())
                result[config.stack_name] = target / "stacks" / config.stack_name / "cdk.tf.json"
                log(f"  {config.stack_name}: {count} resources")
            _swap_into_place(out, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log(f"wrote {_display(target)} in {time.perf_counter() - started:.1f} s")
    return result


def _partial_prefix(target: Path) -> str:
    return f".{target.name}.partial-"


def _old_prefix(target: Path) -> str:
    return f".{target.name}.old-"


@contextlib.contextmanager
def _held(path: Path, *, blocking: bool = True):
    """An exclusive flock on ``path`` (a folder or a file) while the block runs; released by the kernel
    when the process dies, which is what tells a leftover from a folder in use."""
    fd = os.open(path, os.O_RDONLY | (os.O_CREAT if not path.is_dir() else 0), 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        yield
    finally:
        os.close(fd)


def clean_leftovers(target: Path, *, min_age_s: float = 2.0) -> int:
    """Remove what killed synths left next to ``target``; returns how many folders were removed.

    A ``partial-*`` folder is removed only when no process holds its lock and it is older than
    ``min_age_s`` (a synth starting this instant has created its folder but not locked it yet). An
    ``old-*`` folder is a previous output a killed swap did not delete: removed under the swap lock."""
    removed = 0
    now = time.time()
    for path in target.parent.glob(_partial_prefix(target) + "*"):
        try:
            if not path.is_dir() or now - path.stat().st_mtime < min_age_s:
                continue
            with _held(path, blocking=False):
                shutil.rmtree(path)
            removed += 1
        except (BlockingIOError, FileNotFoundError):
            continue  # in use by a synth running now, or removed by another one
        except OSError:
            continue  # a filesystem without flock: leave it rather than risk a running synth's folder
    if any(target.parent.glob(_old_prefix(target) + "*")):
        with contextlib.suppress(OSError), _held(_swap_lock(target)):
            for path in target.parent.glob(_old_prefix(target) + "*"):
                shutil.rmtree(path, ignore_errors=True)
                removed += not path.exists()
    return removed


def _swap_lock(target: Path) -> Path:
    return target.with_name(f".{target.name}.lock")


def _swap_into_place(new: Path, target: Path) -> None:
    """Replace ``target`` with ``new`` (two renames on one filesystem), one synth at a time."""
    with _held(_swap_lock(target)):
        old = None
        if target.exists():
            old = target.with_name(f"{_old_prefix(target)}{os.getpid()}")
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
        new.rename(target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="main.py", description="Synthesize the Phase 2 stacks (Terraform JSON) into cdktf.out/."
    )
    parser.add_argument("--env", action="append", help="environment to synthesize (repeatable; default: every config/*.toml)")
    parser.add_argument(
        "--outdir", default=os.environ.get("CDKTF_OUTDIR", DEFAULT_OUTDIR), help="output directory (default: %(default)s)"
    )
    parser.add_argument("--config-dir", type=Path, help="directory of <env>.toml files (default: config/ in the repository)")
    parser.add_argument(
        "--function-dir", type=Path, help="Functions project to package (default: function_app/ in the repository)"
    )
    args = parser.parse_args(argv)
    # The cdktf CLI (which sets CDKTF_OUTDIR) shows an app's stderr as errors: progress goes to stdout there.
    stream = sys.stdout if "CDKTF_OUTDIR" in os.environ else sys.stderr
    try:
        synth(
            args.outdir,
            args.env,
            config_dir=args.config_dir,
            function_code_path=args.function_dir,
            log=lambda message: print(message, file=stream, flush=True),
        )
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print(f"nothing was written to {args.outdir}", file=sys.stderr)
        return 2
    return 0
