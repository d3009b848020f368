"""The data flows as deployed: read from a synthesized ``cdk.tf.json``, not from the generator.

What Data Factory receives is the ``script`` (or ``script_lines``, which the provider sends as an
array the service joins with newlines) of each ``azurerm_data_factory_data_flow`` after Terraform's
template pass: ``$${`` becomes ``${`` and ``%%{`` becomes ``%{``; an unescaped ``${`` or ``%{`` would
be an interpolation and is refused here. Each source and sink block names a dataset by a Terraform
reference, resolved to that dataset's resource so its options (delimiter, header, quote, escape,
container) can be read the way the service reads them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

DATA_FLOW = "azurerm_data_factory_data_flow"
_REF = re.compile(r"^\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.name\}$")
_LIVE_TEMPLATE = re.compile(r"(?<![$%])[$%]\{")


class DeployedError(ValueError):
    """The synthesized JSON does not hold what a data flow deployment needs; the message says what."""


@dataclass(frozen=True)
class Dataset:
    """A dataset a source or sink names: its resource type and block (provider attribute names)."""

    resource_type: str
    resource_id: str
    block: dict

    @property
    def name(self) -> str:
        return self.block.get("name", self.resource_id)


@dataclass(frozen=True)
class DeployedDataFlow:
    resource_id: str
    name: str
    text: str
    sources: dict[str, Dataset]  # stream name -> dataset
    sinks: dict[str, Dataset]


def terraform_unescape(text: str, *, where: str) -> str:
    """The string as Terraform hands it to the provider (template escapes undone)."""
    live = _LIVE_TEMPLATE.search(text.replace("$${", "").replace("%%{", ""))
    if live:
        raise DeployedError(f"{where}: unescaped Terraform template sequence {live.group(0)!r} (Terraform would interpolate it)")
    return text.replace("$${", "${").replace("%%{", "%{")


def _dataset(resources: dict, ref: str, where: str) -> Dataset:
    m = _REF.match(ref)
    if not m:
        raise DeployedError(f"{where}: dataset name {ref!r} is not a reference to a dataset resource")
    rtype, rid = m.groups()
    try:
        return Dataset(rtype, rid, resources[rtype][rid])
    except KeyError:
        raise DeployedError(f"{where}: dataset {rtype}.{rid} is not in the stack") from None


def read_data_flows(tf_json: Path | dict) -> dict[str, DeployedDataFlow]:
    """Every data flow of a synthesized stack, by its Data Factory name."""
    doc = json.loads(Path(tf_json).read_text(encoding="utf-8")) if not isinstance(tf_json, dict) else tf_json
    resources = doc.get("resource", {})
    flows: dict[str, DeployedDataFlow] = {}
    for rid, block in resources.get(DATA_FLOW, {}).items():
        where = f"{DATA_FLOW}.{rid}"
        if "script" in block and "script_lines" in block:
            raise DeployedError(f"{where}: both script and script_lines are set")
        if "script" in block:
            raw = block["script"]
        elif "script_lines" in block:
            raw = "\n".join(block["script_lines"])
        else:
            raise DeployedError(f"{where}: neither script nor script_lines is set")
        text = terraform_unescape(raw, where=where)
        sources = {
            b["name"]: _dataset(resources, b["dataset"]["name"], f"{where} source {b['name']}") for b in block.get("source", [])
        }
        sinks = {b["name"]: _dataset(resources, b["dataset"]["name"], f"{where} sink {b['name']}") for b in block.get("sink", [])}
        flows[block.get("name", rid)] = DeployedDataFlow(rid, block.get("name", rid), text, sources, sinks)
    return flows


def read_data_flow(tf_json: Path | dict, name: str | None = None) -> DeployedDataFlow:
    """The one data flow of the stack (or the one called ``name``)."""
    flows = read_data_flows(tf_json)
    if name is not None:
        if name not in flows:
            raise DeployedError(f"no data flow named {name!r} (found: {', '.join(flows) or 'none'})")
        return flows[name]
    if len(flows) != 1:
        raise DeployedError(f"expected one data flow, found {len(flows)}: {', '.join(flows) or 'none'}")
    return next(iter(flows.values()))
