"""Package layout: `constructs` is the library, the package imports light, constructs export lazily,
and the cdktf CLI runs the same entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def python(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_import_constructs_is_the_library_not_the_repository_directory() -> None:
    import constructs

    assert hasattr(constructs, "Construct")
    assert "site-packages" in (constructs.__file__ or ""), constructs.__file__
    assert not (ROOT / "constructs" / "__init__.py").exists()
    # also from the repository root, where `constructs/` is on the path as a directory
    assert python("import constructs; print(constructs.__file__)").endswith("constructs/__init__.py")
    assert "site-packages" in python("import constructs; print(constructs.__file__)")


def test_package_import_is_light_and_exports_constructs_lazily() -> None:
    out = python(
        "import sys, emotion_platform as e; print('cdktf' in sys.modules);"
        "from emotion_platform import load_config; print('cdktf' in sys.modules);"
        "from emotion_platform import SecretsVault, SilverStorage, GeneratorFunction, DataFactoryStack, build_app;"
        "print('cdktf' in sys.modules, DataFactoryStack.__module__)"
    )
    assert out.splitlines() == ["False", "False", "True emotion_platform.data_factory_stack"]


def test_cdktf_cli_runs_main_py_through_the_project_environment() -> None:
    cdktf = json.loads((ROOT / "cdktf.json").read_text())
    assert cdktf["language"] == "python"
    assert cdktf["app"] == "./dev.sh py main.py"
    assert (ROOT / "main.py").is_file()


def test_stack_ids_are_stable_construct_paths(synthesized) -> None:
    """Logical ids derive from construct ids; renaming one would replace live resources."""
    doc = synthesized["phase2-dev"]
    assert "foundation_vault_E0F83B65" in doc["resource"]["azurerm_key_vault"]
    assert "generator_app_6D12AFFE" in doc["resource"]["azurerm_function_app_flex_consumption"]
    assert "data-factory" in doc["resource"]["azurerm_data_factory"]
