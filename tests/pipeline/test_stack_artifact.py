"""What the pipeline plans and applies is the synthesized stack directory: these tests hold the
contract between that directory (infra's synth) and the plan/apply scripts."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.pipeline.pipeline_model import REPO_ROOT, load_pipeline
from tests.security.scanner import stacks_dir

ASSET = re.compile(r"(?<![\w./-])(assets/[\w./-]+)")


def config_envs() -> list[str]:
    return sorted(p.stem for p in (REPO_ROOT / "config").glob("*.toml"))


def test_the_pipeline_plans_and_applies_every_configured_environment() -> None:
    stages = [s["stage"] for s in load_pipeline().stages]
    assert sorted(s.removeprefix("Plan_") for s in stages if s.startswith("Plan_")) == config_envs()
    assert sorted(s.removeprefix("Apply_") for s in stages if s.startswith("Apply_")) == config_envs()


def test_each_stack_is_where_the_plan_script_looks_and_carries_its_assets(synth_outdir: Path, synthesized: dict) -> None:
    """Everything a stack refers to on disk (the Function archive its deploy step uploads) lies inside
    its own directory, by a relative path, so the tfplan-<env> artifact (that directory) is complete."""
    root = stacks_dir(synth_outdir)
    assert sorted(synthesized) == [f"phase2-{env}" for env in config_envs()]
    for name, doc in synthesized.items():
        stack = root / name
        assert (stack / "cdk.tf.json").is_file()
        text = json.dumps(doc)
        assets = set(ASSET.findall(text))
        assert assets, f"{name}: the Function code archive is not referenced"
        for rel in assets:
            assert (stack / rel).is_file(), f"{name}: {rel} is not inside the stack directory"


def test_remote_state_stacks_pass_the_backend_check_and_local_ones_are_refused(synth_outdir: Path, synthesized: dict) -> None:
    """The plan/apply guard against local state, on the real synthesized stacks (whose backend follows
    each environment's [state] config in the test session)."""
    for name in synthesized:
        env = name.removeprefix("phase2-")
        backend = tomllib.loads((REPO_ROOT / "config" / f"{env}.toml").read_text())["state"]["backend"]
        proc = subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "check_backend.py"),
                               str(stacks_dir(synth_outdir) / name / "cdk.tf.json")], capture_output=True, text=True)
        if backend == "azurerm":
            assert proc.returncode == 0, proc.stderr
        else:
            assert proc.returncode == 1 and "synthesize with PHASE2_BACKEND=azurerm" in proc.stderr


def test_each_stack_deploys_the_function_code_inside_the_apply(synthesized: dict) -> None:
    """The apply job has no separate code-deployment step because the stack deploys the archive itself
    (Flex Consumption: OneDeploy through the az CLI that AzureCLI@2 logs in). If a config ever turns
    that off (deploy_code = false), the pipeline needs its own deployment step: this test says so."""
    for name, doc in synthesized.items():
        commands = [
            p["local-exec"]["command"]
            for resources in doc["resource"].values() for r in resources.values()
            for p in r.get("provisioner", []) if "local-exec" in p
        ]
        deploys = [c for c in commands if "az functionapp deployment source config-zip" in c]
        assert len(deploys) == 1, f"{name}: the Function code is not deployed by the apply; add a pipeline step"
