"""Provider submodules compiled once with PEP 563 annotations and memoized stub hints (issue 14,
emotion_platform/_bindings_bytecode.py): the same type checks and messages, the same synthesized output
(tests/infra/test_lazy_bindings.py compares lazy against eager), a cache that follows the source."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from emotion_platform import _bindings_bytecode as bb
from tests.fixtures.synth import ROOT, clean_env

# A miniature of what jsii-pacmak generates for these bindings: typeguard probe, an annotated method,
# a type-checking stub resolved on every call.
GENERATED = '''"""generated"""
import typing
from importlib.metadata import version as _metadata_package_version
TYPEGUARD_MAJOR_VERSION = int(_metadata_package_version('typeguard').split('.')[0])

class Thing:
    def size(self, value: typing.Optional[typing.Union[int, str]] = None) -> int:
        type_hints = typing.get_type_hints(_typecheckingstub__abc)
        return type_hints

def _typecheckingstub__abc(value: typing.Optional[int]) -> None:
    pass
'''


def _load(path: Path, directory: Path, name: str = "fake_generated"):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    loader = bb.FastSubmoduleLoader(name, str(path), directory)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_transform_keeps_every_line_and_only_touches_the_two_patterns() -> None:
    out = bb.transform(GENERATED)
    assert out is not None and out.count("\n") == GENERATED.count("\n")
    assert "typing.get_type_hints(" not in out and "_metadata_package_version('typeguard')" not in out
    assert bb.transform("x = 1\n") is None  # not generated jsii code: imported the ordinary way


def test_module_is_compiled_once_annotations_stay_strings_and_stub_hints_are_memoized(tmp_path: Path) -> None:
    source, cache = tmp_path / "fake_generated.py", tmp_path / "cache"
    source.write_text(GENERATED)
    module = _load(source, cache)
    assert module.Thing.size.__annotations__["value"] == "typing.Optional[typing.Union[int, str]]"  # not evaluated
    from importlib.metadata import version
    import typing

    assert module.TYPEGUARD_MAJOR_VERSION == int(version("typeguard").split(".")[0])
    first, second = module.Thing().size(), module.Thing().size()
    assert first is second  # resolved once per stub
    assert first == {"value": typing.Optional[int], "return": type(None)}
    cached = cache / "fake_generated.pyc"
    assert cached.is_file() and oct(cache.stat().st_mode & 0o777) == "0o700"
    # a changed source (size and mtime differ) is compiled again, never served from the old entry
    source.write_text(GENERATED.replace("class Thing:", "class Thing:\n    changed = True"))
    assert getattr(_load(source, cache), "Thing").changed is True


def test_a_directory_others_may_write_is_not_used(tmp_path: Path) -> None:
    source, cache = tmp_path / "fake_generated.py", tmp_path / "shared"
    source.write_text(GENERATED)
    cache.mkdir(mode=0o777)
    cache.chmod(0o777)
    module = _load(source, cache)
    assert not any(cache.iterdir())  # nothing written, nothing read from it
    assert not isinstance(module.Thing.size.__annotations__["value"], str)  # imported the ordinary way


def _planted(source: Path, cache: Path, directory_mode: int, file_mode: int) -> None:
    """A cache entry whose header matches ``source`` but whose code sets ``PLANTED``."""
    import importlib.util
    import marshal

    cache.mkdir(mode=0o700, exist_ok=True)
    info = source.stat()
    header = b"|".join((importlib.util.MAGIC_NUMBER, bb.VERSION, b"O%d" % sys.flags.optimize,
                        b"%d" % info.st_size, b"%d" % info.st_mtime_ns)) + b"\n"
    entry = cache / "fake_generated.pyc"
    entry.write_bytes(header + marshal.dumps(compile("PLANTED = True", str(source), "exec")))
    entry.chmod(file_mode)
    cache.chmod(directory_mode)


@pytest.mark.parametrize("directory_mode, file_mode", [(0o777, 0o600), (0o700, 0o666)], ids=["shared-folder", "shared-file"])
def test_an_entry_others_could_have_written_is_never_run(tmp_path: Path, directory_mode: int, file_mode: int) -> None:
    source, cache = tmp_path / "fake_generated.py", tmp_path / "cache"
    source.write_text(GENERATED)
    _planted(source, cache, directory_mode, file_mode)
    module = _load(source, cache)
    assert not hasattr(module, "PLANTED") and hasattr(module, "Thing")


def test_a_truncated_entry_is_compiled_again(tmp_path: Path) -> None:
    source, cache = tmp_path / "fake_generated.py", tmp_path / "cache"
    source.write_text(GENERATED)
    _load(source, cache)
    entry = cache / "fake_generated.pyc"
    entry.write_bytes(entry.read_bytes()[:-40])  # a write cut short (the real writer renames whole files)
    assert hasattr(_load(source, cache), "Thing")
    assert hasattr(_load(source, cache), "Thing")  # and the rewritten entry serves the next import


def test_cache_dir_follows_xdg_and_the_switch(tmp_path: Path) -> None:
    assert bb.cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "emotion-platform" / "bindings-bytecode" / sys.implementation.cache_tag
    assert bb.cache_dir({"XDG_CACHE_HOME": str(tmp_path), bb.CACHE_ENV: "0"}) is None
    with pytest.raises(ValueError, match=bb.CACHE_ENV):
        bb.cache_dir({bb.CACHE_ENV: "fast"})


# The real bindings: the same typeguard error for a wrong argument, with and without the fast bytecode.
REAL = (
    "import json, sys, emotion_platform\n"
    "from cdktf import App, TerraformStack\n"
    "from cdktf_cdktf_provider_azurerm.resource_group import ResourceGroup\n"
    "stack = TerraformStack(App(outdir=sys.argv[1]), 's')\n"
    "mod = sys.modules['cdktf_cdktf_provider_azurerm.resource_group']\n"
    "try:\n"
    "    ResourceGroup(stack, 'rg', name=42, location='westeurope')\n"
    "    error = None\n"
    "except TypeError as exc:\n"
    "    error = str(exc)\n"
    "print(json.dumps([type(mod.__loader__).__name__, error]))\n"
)


def test_real_bindings_type_check_exactly_as_before(tmp_path: Path) -> None:
    results = {}
    for switch in ("1", "0"):
        env = clean_env(XDG_CACHE_HOME=str(tmp_path / "xdg"), EMOTION_PLATFORM_LAZY_BINDINGS="1", **{bb.CACHE_ENV: switch})
        proc = subprocess.run([sys.executable, "-c", REAL, str(tmp_path / "out")], cwd=ROOT, capture_output=True,
                              text=True, timeout=300, env=env)
        assert proc.returncode == 0, proc.stderr[-3000:]
        results[switch] = json.loads(proc.stdout.splitlines()[-1])
    assert results["1"][0] == "FastSubmoduleLoader" and results["0"][0] == "SourceFileLoader"
    assert results["1"][1] is not None and "name" in results["1"][1], results
    assert results["1"][1] == results["0"][1]  # the same typeguard message, word for word
    cached = {p.name for p in (tmp_path / "xdg" / "emotion-platform" / "bindings-bytecode").rglob("*.pyc")}
    assert "cdktf_cdktf_provider_azurerm.resource_group.pyc" in cached
