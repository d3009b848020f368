"""docs/cicd.md's one-time setup is part of the security design: the checks on the service connections,
the per-environment isolation and the least-privilege role delegation it creates are read from the
document itself and held against the pipeline, the configs and the synthesized stacks."""

from __future__ import annotations

import json
import re
import shlex
import tomllib

import pytest

from tests.pipeline.pipeline_model import REPO_ROOT, load_pipeline

DOC = (REPO_ROOT / "docs" / "cicd.md").read_text(encoding="utf-8")
ENVIRONMENTS = sorted(p.stem for p in (REPO_ROOT / "config").glob("*.toml"))
HEREDOC = re.compile(r"cat > (?P<name>[\w$.-]+) <<EOF\n(?P<body>.*?)\nEOF\n", re.S)
BRANCH_CONTROL_TASK = "86b05a0c-73e6-4f7d-b3cf-e38f3b39a75b"
TASK_CHECK = "fe1de3ee-a436-41b4-bb20-f6eb4cb879a7"
EXTENDS_CHECK = "4020e66e-b0f3-47e1-bc88-48f3cc59b5f3"


def documents() -> dict[str, dict]:
    """Every JSON document the setup writes with a heredoc, shell variables left as text."""
    found = {}
    for m in HEREDOC.finditer(DOC):
        found[m.group("name")] = json.loads(m.group("body"))
    return found


def config(env: str) -> dict:
    return tomllib.loads((REPO_ROOT / "config" / f"{env}.toml").read_text())


def shell_commands() -> list[list[str]]:
    """The setup's shell commands (continuation lines joined), split like a shell would."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", DOC, re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        pending = ""
        for line in joined.splitlines():
            line = pending + line.split(" # ")[0].strip()
            if not line.startswith("az "):
                continue
            try:
                commands.append(shlex.split(line, posix=True))
                pending = ""
            except ValueError:  # a quoted argument goes on over the next line
                pending = line + "\n"
        assert not pending, f"unterminated command in docs/cicd.md: {pending[:80]}"
    return commands


def option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def test_every_service_connection_gets_branch_control_and_the_required_template() -> None:
    docs = documents()
    endpoint_checks = [d for d in docs.values() if d.get("resource", {}).get("type") == "endpoint"]
    branch = [d for d in endpoint_checks if d["type"]["id"].lower() == TASK_CHECK]
    template = [d for d in endpoint_checks if d["type"]["id"].lower() == EXTENDS_CHECK]
    assert len(branch) == 1 and len(template) == 1, "one of each, created per connection in the loop"
    settings = branch[0]["settings"]
    assert settings["definitionRef"]["id"] == BRANCH_CONTROL_TASK
    assert settings["inputs"] == {"allowedBranches": "refs/heads/main", "ensureProtectionOfBranch": "true",
                                  "allowUnknownStatusBranch": "false"}
    (extends,) = template[0]["settings"]["extendsChecks"]
    assert extends["repositoryRef"] == "refs/heads/main"
    # the file the pipeline really extends
    assert REPO_ROOT / extends["templatePath"] == load_pipeline().doc["extended_template"]
    for check in (branch[0], template[0]):
        assert check["resource"] == {"type": "endpoint", "id": "$SC_ID", "name": "phase2-$ENV"}
    # and both are posted to the checks API for each connection
    posted = [c for c in shell_commands() if c[:3] == ["az", "devops", "invoke"] and option(c, "--area") == "pipelineschecks"]
    assert any(option(c, "--in-file") == "$check" for c in posted)
    assert "for check in sc-branch-check.json sc-template-check.json; do" in DOC


def test_environments_get_branch_control_and_prod_an_approval() -> None:
    docs = documents()
    assert docs["branch-check.json"]["resource"]["type"] == "environment"
    assert docs["branch-check.json"]["settings"]["inputs"]["allowedBranches"] == "refs/heads/main"
    assert docs["approval.json"]["resource"]["name"] == "phase2-prod"
    assert docs["approval.json"]["settings"]["requesterCannotBeApprover"] is True


def test_saved_plans_are_kept_briefly() -> None:
    retention = documents()["retention.json"]
    assert retention["artifactsRetention"]["value"] <= 7
    assert retention["pullRequestRunRetention"]["value"] <= 1


def test_no_pipeline_identity_gets_a_subscription_wide_role() -> None:
    assignments = [c for c in shell_commands() if c[:4] == ["az", "role", "assignment", "create"]]
    assert len(assignments) == 3, "Contributor, constrained RBAC Administrator, state container"
    scopes = {option(c, "--role"): option(c, "--scope") for c in assignments}
    assert scopes == {
        "Contributor": "$SCOPE",
        "Role Based Access Control Administrator": "$SCOPE",
        "Storage Blob Data Contributor": "$STATE_ACCOUNT_ID/blobServices/default/containers/tfstate-$ENV",
    }
    assert "SCOPE=$(az group show --name ${RG[$ENV]} --query id -o tsv)" in DOC
    assert "SCOPE=/subscriptions" not in DOC.replace(" ", "")
    for argv in assignments:
        assert option(argv, "--assignee-principal-type") == "ServicePrincipal"


def test_role_assignment_rights_are_constrained_to_the_stacks_roles(synthesized: dict) -> None:
    (rbac_admin,) = [c for c in shell_commands() if option(c, "--role") == "Role Based Access Control Administrator"]
    assert option(rbac_admin, "--condition") == "$CONDITION" and option(rbac_admin, "--condition-version") == "2.0"
    condition = re.search(r'^CONDITION="(.*)"$', DOC, re.M).group(1)
    # both the write and the delete side are limited to the listed roles and to service principals
    for side, source in (("write", "@Request"), ("delete", "@Resource")):
        assert f"ActionMatches{{'Microsoft.Authorization/roleAssignments/{side}'}}" in condition
        assert f"{source}[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {{$ROLE_IDS}}" in condition
        assert f"{source}[Microsoft.Authorization/roleAssignments:PrincipalType] ForAnyOfAnyValues:StringEqualsIgnoreCase {{'ServicePrincipal'}}" in condition
    listed = dict(re.findall(r'^\s+\[(\w+)\]="([^"]+)"$', DOC, re.M))
    for env in ENVIRONMENTS:
        granted = {ra["role_definition_name"] for ra in synthesized[f"phase2-{env}"]["resource"]["azurerm_role_assignment"].values()}
        assert set(listed[env].split("|")) == granted, f"docs/cicd.md ROLES[{env}] must be exactly what phase2-{env} grants"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_environment_has_its_own_group_and_state_container(env: str) -> None:
    cfg = config(env)
    groups = dict(re.findall(r"\[(\w+)\]=([\w.()-]+)", re.search(r"^declare -A RG=\((.*)\)", DOC, re.M).group(1)))
    assert groups[env] == cfg["foundation"]["resource_group_name"]
    assert cfg["state"]["container_name"] == f"tfstate-{env}", "the setup creates tfstate-<env> per environment"
    if cfg["foundation"]["mode"] == "standalone":
        assert cfg["foundation"].get("create_resource_group") is False, "the group is pre-created, not created by the deployer"
    others = [config(e)["state"]["container_name"] for e in ENVIRONMENTS if e != env]
    assert cfg["state"]["container_name"] not in others
