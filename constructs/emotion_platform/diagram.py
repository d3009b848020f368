"""Architecture diagram (Mermaid) generated from a synthesized ``cdk.tf.json``, so the picture in the docs
is the stack, not a drawing of it. A test regenerates it and compares it with README.md.

    python -m emotion_platform.diagram cdktf.out/stacks/phase2-dev/cdk.tf.json          # print
    python -m emotion_platform.diagram cdktf.out/stacks/phase2-dev/cdk.tf.json --update README.md
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

# What a reader needs to see; the rest (role assignments become edges, waits and data plumbing) is left out.
LABELS = {
    "azurerm_resource_group": "Resource group",
    "azurerm_storage_account": "Storage account",
    "azurerm_storage_container": "Container",
    "azurerm_key_vault": "Key Vault",
    "azurerm_key_vault_secret": "Secret",
    "azurerm_log_analytics_workspace": "Log Analytics",
    "azurerm_application_insights": "Application Insights",
    "azurerm_service_plan": "Flex Consumption plan",
    "azurerm_user_assigned_identity": "Managed identity",
    "azurerm_function_app_flex_consumption": "Function App",
    "azurerm_data_factory": "Data Factory",
    "azurerm_data_factory_linked_service_data_lake_storage_gen2": "Linked service (ADLS Gen2)",
    "azurerm_data_factory_linked_service_key_vault": "Linked service (Key Vault)",  # pragma: allowlist secret
    "azurerm_data_factory_linked_service_azure_function": "Linked service (Function)",
    "azurerm_data_factory_pipeline": "Pipeline",
    "azurerm_data_factory_data_flow": "Data flow",
    "azurerm_data_factory_trigger_schedule": "Schedule trigger",
    "terraform_data": "Code deployment (az CLI)",
    "azurerm_storage_account_blob_container_sas": "Container SAS (create, write)",
}
# Data sources that compute a value rather than reference something that exists already.
COMPUTED = {"azurerm_storage_account_blob_container_sas"}
GROUPS = {"foundation": "Foundation", "generator": "GeneratorFunction", "silver": "SilverPipeline", "": "DataFactoryStack"}
ROLE_SHORT = {
    "Storage Blob Data Reader": "Blob Data Reader",
    "Storage Blob Data Contributor": "Blob Data Contributor",
    "Storage Blob Data Owner": "Blob Data Owner",
    "Key Vault Secrets User": "Secrets User",
    "Key Vault Secrets Officer": "Secrets Officer",
    "Monitoring Metrics Publisher": "Metrics Publisher",
}
# Attributes that mean "lives inside": drawn as dotted containment edges from the parent.
CONTAINED_BY = {
    "data_factory_id": None,  # any type
    "storage_account_id": "azurerm_storage_container",
    "key_vault_id": "azurerm_key_vault_secret",
}
REF = re.compile(r"\$\{(data\.)?([a-z0-9_]+)\.([\w-]+)\.[^}]*\}")
DEPLOYER = "deployer"
START, END = "<!-- diagram:{stack}:start -->", "<!-- diagram:{stack}:end -->"


def _strings(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            if key != "//":
                yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def _refs(node) -> list[tuple[str, str]]:
    return [(m.group(2), m.group(3)) for s in _strings(node) for m in REF.finditer(s)]


def mermaid(doc: dict) -> str:
    """A left-to-right flowchart: one subgraph per top-level construct, role assignments as labelled edges."""
    blocks: dict[tuple[str, str], dict] = {}
    for kind in ("resource", "data"):
        for type_, items in doc.get(kind, {}).items():
            for key, block in items.items():
                blocks[(type_, key)] = {**block, "__kind": kind}
    ids: dict[tuple[str, str], str] = {}
    groups: dict[str, list[str]] = {}
    for (type_, key), block in sorted(blocks.items(), key=lambda kv: kv[1]["//"]["metadata"]["path"]):
        if type_ not in LABELS:
            continue
        path = block["//"]["metadata"]["path"].split("/", 1)[1]
        node = "n" + str(len(ids) + 1)
        ids[(type_, key)] = node
        name = (
            block.get("name")
            if isinstance(block.get("name"), str) and "${" not in block.get("name", "")
            else path.rsplit("/", 1)[-1]
        )
        existing = " (existing)" if block["__kind"] == "data" and type_ not in COMPUTED else ""
        label = f"{LABELS[type_]}{existing}<br/>{name}"
        shape = (
            f'{node}[("{label}")]' if type_ in ("azurerm_storage_container", "azurerm_key_vault_secret") else f'{node}["{label}"]'
        )
        group = path.split("/", 1)[0] if "/" in path else ""
        groups.setdefault(GROUPS.get(group, group), []).append(shape)

    # A few blocks are drawn as the resource they stand for.
    for (type_, key), block in blocks.items():
        if type_ == "azurerm_function_app_host_keys":
            apps = [r for r in _refs(block["name"]) if r in ids]
            if apps:
                ids[(type_, key)] = ids[apps[0]]

    edges: list[str] = []
    seen: set[str] = set()

    def edge(a: str, b: str, label: str, dotted: bool = False) -> None:
        line = f'{a} -.->|"{label}"| {b}' if dotted else f'{a} -->|"{label}"| {b}'
        if a != b and line not in seen:
            seen.add(line)
            edges.append(line)

    for (type_, key), block in sorted(blocks.items(), key=lambda kv: kv[1]["//"]["metadata"]["path"]):
        if type_ == "azurerm_role_assignment":
            principal = _refs(block["principal_id"])
            scope = _refs(block["scope"])
            source = ids.get(principal[0]) if principal and principal[0][0] != "azurerm_client_config" else DEPLOYER
            target = ids.get(scope[-1]) if scope else None
            if source and target:
                edge(source, target, ROLE_SHORT.get(block["role_definition_name"], block["role_definition_name"]))
        elif type_ == "azurerm_monitor_diagnostic_setting":
            watched, workspace = _refs(block["target_resource_id"]), _refs(block.get("log_analytics_workspace_id", ""))
            if watched and workspace and watched[0] in ids and workspace[0] in ids:
                edge(ids[watched[0]], ids[workspace[0]], "diagnostics")
        elif (type_, key) in ids and type_ in LABELS:
            me = ids[(type_, key)]
            for attribute, value in block.items():
                if attribute in ("//", "depends_on", "__kind"):
                    continue
                for ref in _refs(value):
                    other = ids.get(ref)
                    if not other or ref[0] in ("azurerm_resource_group", "azurerm_service_plan"):
                        continue
                    if attribute in CONTAINED_BY and CONTAINED_BY[attribute] in (None, type_):
                        edge(other, me, "holds", dotted=True)
                    elif type_ == "azurerm_key_vault_secret":
                        edge(other, me, "value from", dotted=True)
                    elif type_ == "terraform_data":
                        edge(me, other, "deploys code to")
                    else:
                        edge(me, other, "uses")

    lines = ["flowchart LR", f'  {DEPLOYER}(["Deployer: az login or pipeline identity"])']
    for group, nodes in groups.items():
        lines.append(f'  subgraph {group.replace(" ", "_")}["{group}"]')
        lines.extend(f"    {n}" for n in nodes)
        lines.append("  end")
    lines.extend(f"  {e}" for e in edges)
    return "\n".join(lines) + "\n"


def embed(markdown: str, stack: str, diagram: str) -> str:
    start, end = START.format(stack=stack), END.format(stack=stack)
    if start not in markdown or end not in markdown:
        raise ValueError(f"markers {start} / {end} not found")
    head, rest = markdown.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n```mermaid\n{diagram}```\n{end}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emotion_platform.diagram", description=__doc__.split("\n\n")[0])
    parser.add_argument("stack_json", type=Path, help="cdktf.out/stacks/<stack>/cdk.tf.json")
    parser.add_argument("--update", type=Path, help="markdown file whose diagram block to rewrite")
    args = parser.parse_args(argv)
    doc = json.loads(args.stack_json.read_text(encoding="utf-8"))
    diagram = mermaid(doc)
    if args.update:
        stack = doc["//"]["metadata"]["stackName"]
        args.update.write_text(embed(args.update.read_text(encoding="utf-8"), stack, diagram), encoding="utf-8")
        print(f"updated the {stack} diagram in {args.update}", file=sys.stderr)
    else:
        sys.stdout.write(diagram)
    return 0


if __name__ == "__main__":
    sys.exit(main())
