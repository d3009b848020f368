"""Lazy provider bindings (issue 14, emotion_platform/_lazy_bindings.py and .js): the synthesized output is
byte-for-byte what the eager bindings give, only the submodules in use are loaded on either side of jsii,
and everything a program may do with the packages still works."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

from emotion_platform import _lazy_bindings
from emotion_platform._node import use_project_node
from tests.fixtures.synth import ROOT, clean_env, synth_command

PACKAGES = {"cdktf_cdktf_provider_azurerm": "@cdktf/provider-azurerm", "cdktf_cdktf_provider_time": "@cdktf/provider-time"}

# The Phase 3 example (examples/phase3/main.py) run from the editable install. It imports cdktf and the
# bindings before emotion_platform on purpose (the package must set up Node whatever the order), which
# would leave the bindings eager in both runs and the comparison empty; so the runner imports
# emotion_platform first, as a Phase 3 app that wants lazy bindings does, then runs the file unchanged as
# __main__. tests/examples/ runs the same file from the built wheel.
PHASE3_EXAMPLE = ROOT / "examples" / "phase3" / "main.py"
PHASE3_RUNNER = "import runpy, sys, emotion_platform; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"


def phase3_command(outdir: Path) -> list[str]:
    return [sys.executable, "-c", PHASE3_RUNNER, str(PHASE3_EXAMPLE), str(outdir)]


# Every app whose synthesized output must not depend on the mechanism: name -> (the command that
# synthesizes it into the given folder, the stacks it writes).
APPS: dict[str, tuple[Callable[[Path], list[str]], tuple[str, ...]]] = {
    "phase2": (synth_command, ("phase2-dev", "phase2-prod")),  # python main.py, with the Function archive
    "phase3-example": (phase3_command, ("phase3",)),  # reuses Phase 2's lake and vault, adds gold
}


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _run(cmd: list[str], log: Path, **env: str) -> None:
    env = clean_env(EMOTION_PLATFORM_LAZY_BINDINGS_LOG=str(log), **env)
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]


def _counting_terraform(tmp_path: Path) -> tuple[str, Path]:
    """A PATH whose `terraform` is the real one, run through a wrapper that logs each run."""
    real = shutil.which("terraform")
    if real is None:
        pytest.skip("needs Terraform on PATH (cdktf checks its version at synth)")
    bin_dir, runs = tmp_path / "bin", tmp_path / "terraform-runs"
    bin_dir.mkdir()
    wrapper = bin_dir / "terraform"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> "{runs}"\nexec "{real}" "$@"\n')
    wrapper.chmod(0o755)
    return f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", runs


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _node_log(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


@pytest.mark.parametrize("app", sorted(APPS))
def test_synthesized_output_is_byte_identical_with_and_without_lazy_bindings(app: str, tmp_path: Path) -> None:
    lazy_out, eager_out = tmp_path / "lazy", tmp_path / "eager"
    command, stacks = APPS[app]
    path, runs = _counting_terraform(tmp_path)
    _run(command(lazy_out), tmp_path / "lazy.log", PATH=path)
    lazy_runs = _lines(runs)
    runs.unlink(missing_ok=True)
    _run(command(eager_out), tmp_path / "eager.log", EMOTION_PLATFORM_LAZY_BINDINGS="0", PATH=path)
    eager_runs = _lines(runs)

    lazy, eager = _tree(lazy_out), _tree(eager_out)
    assert sorted(lazy) == sorted(eager)
    written = sorted(name.split("/")[1] for name in lazy if name.startswith("stacks/") and name.endswith("/cdk.tf.json"))
    assert written == sorted(stacks)
    assert all(json.loads(lazy[f"stacks/{s}/cdk.tf.json"])["resource"] for s in stacks), "every stack has resources"
    different = [name for name in lazy if lazy[name] != eager[name]]
    assert not different, f"lazy and eager bindings synthesized different files: {different}"

    # the comparison means something only if one run was lazy and the other was not (Node side here,
    # Python side in the next test): the kernel made both npm indexes lazy and loaded a few dozen submodules
    log = _node_log(tmp_path / "lazy.log")
    assert "lazy @cdktf/provider-azurerm 1527" in log and "lazy @cdktf/provider-time 5" in log
    loaded = [line for line in log if line.startswith("load @cdktf/provider-azurerm ")]
    assert 0 < len(loaded) < 100, loaded
    assert _node_log(tmp_path / "eager.log") == []

    # cdktf's Terraform version checks (terraform_data, moved blocks) ran `terraform version` once each
    # without the hook, and once in all with it: same checks, same answers, one run
    assert set(lazy_runs) <= {"version"} and set(eager_runs) <= {"version"}
    assert len(lazy_runs) == min(len(eager_runs), 1), (lazy_runs, eager_runs)
    if app == "phase2":  # both stacks: a terraform_data deployment and moved blocks each
        assert len(eager_runs) == 4
        assert log.count("terraform version: reused") == 4


PYTHON_SIDE = r"""
import json, sys
import emotion_platform
from cdktf import App, TerraformStack
import jsii
from jsii._kernel import _make_reference_for_native
from jsii._kernel.types import CreateRequest
import cdktf_cdktf_provider_azurerm as az
import cdktf_cdktf_provider_time as tm

def loaded(pkg):
    return sorted(m[len(pkg) + 1:] for m in sys.modules if m.startswith(pkg + ".") and "._" not in m)

out = {"after_import": {p.__name__: loaded(p.__name__) for p in (az, tm)}}
out["all"] = {p.__name__: len(p.__all__) for p in (az, tm)}
out["dir_has_all"] = all(set(p.__all__) <= set(dir(p)) for p in (az, tm))
out["attribute"] = az.key_vault.KeyVault.__qualname__
from cdktf_cdktf_provider_azurerm.storage_account import StorageAccount
from cdktf_cdktf_provider_time.sleep import Sleep
out["from_import"] = [StorageAccount.__module__, Sleep.__module__]
try:
    az.no_such_resource
except AttributeError as e:
    out["unknown"] = str(e)

# the kernel hands back an object whose type lives in a submodule Python has not imported
app = App(outdir=sys.argv[1])
stack = TerraformStack(app, "s")
jsii.kernel.provider.create(CreateRequest(
    fqn="@cdktf/provider-azurerm.resourceGroup.ResourceGroup",
    args=_make_reference_for_native(jsii.kernel, [stack, "rg", {"name": "rg-x", "location": "westeurope"}]),
    overrides=[], interfaces=[]))
out["resource_group_before"] = "cdktf_cdktf_provider_azurerm.resource_group" in sys.modules
found = stack.node.find_child("rg")
out["found"] = [type(found).__module__, type(found).__name__, found.terraform_resource_type]
out["loaded_at_end"] = loaded(az.__name__)
print(json.dumps(out))
"""


def test_python_side_loads_only_what_is_used_and_the_packages_behave_as_before(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", PYTHON_SIDE, str(tmp_path / "out")], cwd=ROOT, env=clean_env(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    out = json.loads(proc.stdout.splitlines()[-1])
    assert out["after_import"] == {"cdktf_cdktf_provider_azurerm": [], "cdktf_cdktf_provider_time": []}
    assert out["all"] == {"cdktf_cdktf_provider_azurerm": 1527, "cdktf_cdktf_provider_time": 5}
    assert out["dir_has_all"] is True
    assert out["attribute"] == "KeyVault"
    assert out["from_import"] == ["cdktf_cdktf_provider_azurerm.storage_account", "cdktf_cdktf_provider_time.sleep"]
    assert "no_such_resource" in out["unknown"]
    assert out["resource_group_before"] is False
    assert out["found"] == ["cdktf_cdktf_provider_azurerm.resource_group", "ResourceGroup", "azurerm_resource_group"]
    assert out["loaded_at_end"] == ["key_vault", "resource_group", "storage_account"]


def test_bindings_imported_before_the_mechanism_stay_eager_and_work(tmp_path: Path) -> None:
    """A Phase 3 app that imports the bindings first gets today's behaviour (time: cheap to load eagerly)."""
    code = (
        "import sys, json, cdktf_cdktf_provider_time as tm, emotion_platform\n"
        "import cdktf_cdktf_provider_azurerm as az\n"
        "from cdktf import App, TerraformStack\n"
        "from cdktf_cdktf_provider_time.provider import TimeProvider\n"
        "from cdktf_cdktf_provider_time.sleep import Sleep\n"
        "app = App(outdir=sys.argv[1]); stack = TerraformStack(app, 's'); TimeProvider(stack, 'time')\n"
        "Sleep(stack, 'wait', create_duration='30s')\n"
        "app.synth()\n"
        "print(json.dumps([sorted(m for m in sys.modules if m.startswith('cdktf_cdktf_provider_time.')\n"
        "                  and '._' not in m), '__getattr__' in vars(tm), '__getattr__' in vars(az)]))\n"
    )
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-c", code, str(out)], cwd=ROOT, env=clean_env(), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    time_modules, time_lazy, azurerm_lazy = json.loads(proc.stdout.splitlines()[-1])
    assert time_modules == [f"cdktf_cdktf_provider_time.{m}" for m in ("offset", "provider", "rotating", "sleep", "static_resource")]
    assert (time_lazy, azurerm_lazy) == (False, True)
    doc = json.loads((out / "stacks" / "s" / "cdk.tf.json").read_text())
    assert doc["resource"]["time_sleep"]["wait"]["create_duration"] == "30s"


def test_the_environment_variable_turns_it_off_and_keeps_node_options() -> None:
    code = (
        "import os, sys, json, emotion_platform._lazy_bindings as lb\n"
        "print(json.dumps([any(type(f).__name__ == '_LazyPackageFinder' for f in sys.meta_path), os.environ.get('NODE_OPTIONS')]))"
    )
    for value, lazy in (("0", False), ("off", False), ("1", True), ("", True)):
        proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                              env=clean_env(EMOTION_PLATFORM_LAZY_BINDINGS=value, NODE_OPTIONS="--max-http-header-size=16384"))
        assert proc.returncode == 0, proc.stderr
        finder, options = json.loads(proc.stdout)
        assert finder is lazy, value
        if lazy:
            assert options.startswith("--require ") and str(_lazy_bindings.NODE_HOOK) in options
            assert options.endswith(" --max-http-header-size=16384")  # the user's options are kept
        else:
            assert options == "--max-http-header-size=16384"


@pytest.mark.parametrize("value", ["2", "lazy", "nope"])
def test_a_misspelt_switch_is_refused_with_a_clear_error(value: str) -> None:
    with pytest.raises(ValueError, match=rf"EMOTION_PLATFORM_LAZY_BINDINGS='{value}': expected 1 .* or 0"):
        _lazy_bindings.enabled({"EMOTION_PLATFORM_LAZY_BINDINGS": value})


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_jsii_submodule_names_are_the_ones_the_bindings_were_generated_from(package: str) -> None:
    """The map that lets jsii import a submodule on demand: checked against the jsii type names pacmak
    wrote into every submodule of the installed bindings."""
    import importlib.util

    root = Path(importlib.util.find_spec(package).submodule_search_locations[0])
    init = (root / "__init__.py").read_text()
    _, submodules = _lazy_bindings._split(init)
    assert submodules and len(submodules) == len(set(submodules))
    wrong = []
    for sub in submodules:
        with open(root / sub / "__init__.py", encoding="utf-8") as f:
            head = f.read(200_000)
        fqn = head.split('jsii_type="', 1)[1].split('"', 1)[0]
        if fqn.rsplit(".", 1)[0] != f"{PACKAGES[package]}.{_lazy_bindings.jsii_submodule_name(sub)}":
            wrong.append((sub, fqn))
    assert not wrong


# The Node half on its own, with real Node: the index shape it accepts, and anything else left alone.
NODE_CHECK = r"""
const idx = require(process.argv[1]);
const before = Object.keys(require.cache).filter((f) => f.includes("/lib/"));
const keys = Object.keys(idx);
const value = idx.keyVault.KeyVault;
const after = Object.keys(require.cache).filter((f) => f.includes("/lib/"));
console.log(JSON.stringify({ before: before.length, keys, value, after: after.length, esModule: idx.__esModule }));
"""


def _fake_package(root: Path, index: str) -> Path:
    lib = root / "node_modules" / "@cdktf" / "provider-azurerm" / "lib"
    for sub in ("key-vault", "resource-group"):
        (lib / sub).mkdir(parents=True)
        (lib / sub / "index.js").write_text(f'exports.KeyVault = "{sub}";\n')
    (lib / "index.js").write_text(index)
    return lib / "index.js"


INDEX = (
    '"use strict";\n/**\n * Copyright (c) HashiCorp, Inc.\n * SPDX-License-Identifier: MPL-2.0\n */\n'
    'Object.defineProperty(exports, "__esModule", { value: true });\n'
    "exports.resourceGroup = exports.keyVault = void 0;\n// generated by cdktf get\n"
    'exports.keyVault = require("./key-vault");\nexports.resourceGroup = require("./resource-group");\n'
    "//# sourceMappingURL=data:application/json;base64,e30=\n"
)


@pytest.mark.parametrize(
    ("index", "lazy"),
    [(INDEX, True), (INDEX.replace("// generated", 'globalThis.sideEffect = 1;\n// generated'), False)],
    ids=["generated-index", "index-with-other-statements"],
)
def test_node_hook_makes_only_the_generated_index_lazy(tmp_path: Path, index: str, lazy: bool) -> None:
    node = use_project_node() or "node"
    path = _fake_package(tmp_path, index)
    env = {**os.environ, "NODE_OPTIONS": f"--require {_lazy_bindings.NODE_HOOK}",
           "EMOTION_PLATFORM_LAZY_BINDINGS_LOG": str(tmp_path / "log")}
    env.pop("EMOTION_PLATFORM_LAZY_BINDINGS", None)
    proc = subprocess.run([node, "-e", NODE_CHECK, str(path)], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["keys"] == ["keyVault", "resourceGroup"] and out["value"] == "key-vault" and out["esModule"] is True
    assert (out["before"], out["after"]) == ((1, 2) if lazy else (3, 3))
    log = _node_log(tmp_path / "log")
    assert log == (["lazy @cdktf/provider-azurerm 2", "load @cdktf/provider-azurerm keyVault"] if lazy else [])


def test_without_terraform_the_synth_fails_with_cdktfs_own_message(tmp_path: Path) -> None:
    """The kept `terraform version` output is only ever a success: with no Terraform at all, cdktf's checks
    fail exactly as they do without the hook (each check runs the command itself and reports it)."""
    node_dir = Path(use_project_node() or shutil.which("node") or "node").parent
    env = clean_env(PATH=os.pathsep.join([str(Path(sys.executable).parent), str(node_dir), "/usr/bin", "/bin"]),
                    EMOTION_PLATFORM_LAZY_BINDINGS_LOG=str(tmp_path / "log"))
    assert shutil.which("terraform", path=env["PATH"]) is None
    proc = subprocess.run(synth_command(tmp_path / "out", "--env", "dev"), cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode != 0
    for source in ("[phase2-dev]", "[phase2-dev/generator/deploy]"):
        assert f"{source} Could not determine version of terraform, terraform version failed" in proc.stderr, proc.stderr[-3000:]
    assert not any("terraform version" in line for line in _node_log(tmp_path / "log"))
    assert not (tmp_path / "out").exists()
