"""Reading the deployed data flow from cdk.tf.json: the script after Terraform's template pass, the
datasets its sources and sinks name."""

from __future__ import annotations

import copy
import json

import pytest

from emotion_platform.dataflow.deployed import DeployedError, read_data_flow, read_data_flows, terraform_unescape
from emotion_platform.dataflow.parser import parse


def test_each_stack_deploys_one_data_flow_whose_datasets_resolve(deployed_flows) -> None:
    for stack, flow in deployed_flows.items():
        assert list(flow.sources) == ["BronzeLines"] and list(flow.sinks) == ["SilverSink", "QuarantineSink"]
        bronze = flow.sources["BronzeLines"]
        assert bronze.resource_type == "azurerm_data_factory_dataset_delimited_text"
        assert {"column_delimiter", "first_row_as_header", "quote_character", "escape_character"} <= set(bronze.block)
        assert all(d.resource_type == "azurerm_data_factory_dataset_parquet" for d in flow.sinks.values())


def test_terraform_template_escapes_are_undone_and_live_ones_refused() -> None:
    assert terraform_unescape("a $${x} %%{y} $ %", where="t") == "a ${x} %{y} $ %"
    with pytest.raises(DeployedError, match=r"unescaped Terraform template sequence '\$\{'"):
        terraform_unescape("a ${x}", where="t")
    with pytest.raises(DeployedError, match="'%\\{'"):
        terraform_unescape("%{ if x }", where="t")


def _stack(synth_outdir):
    path = sorted((synth_outdir / "stacks").glob("*/cdk.tf.json"))[0]
    return json.loads(path.read_text())


def test_script_lines_are_joined_with_newlines(synth_outdir) -> None:
    doc = _stack(synth_outdir)
    (rid, block), = doc["resource"]["azurerm_data_factory_data_flow"].items()
    expected = read_data_flow(doc).text
    block["script_lines"] = block.pop("script").split("\n")
    assert read_data_flow(doc).text == expected
    assert parse(expected).statements


@pytest.mark.parametrize("mutate, message", [
    (lambda b: b.pop("script"), "neither script nor script_lines"),
    (lambda b: b.__setitem__("script_lines", ["x"]), "both script and script_lines"),
    (lambda b: b["source"][0]["dataset"].__setitem__("name", "ds_literal"), "is not a reference"),
    (lambda b: b["sink"][0]["dataset"].__setitem__("name", "${azurerm_data_factory_dataset_parquet.gone.name}"),
     "is not in the stack"),
])
def test_malformed_data_flow_blocks_are_named(synth_outdir, mutate, message) -> None:
    doc = copy.deepcopy(_stack(synth_outdir))
    (block,) = doc["resource"]["azurerm_data_factory_data_flow"].values()
    mutate(block)
    with pytest.raises(DeployedError, match=message):
        read_data_flows(doc)


def test_a_named_flow_that_does_not_exist_is_named(synth_outdir) -> None:
    with pytest.raises(DeployedError, match="no data flow named 'nope' \\(found: df_silver_clean_events\\)"):
        read_data_flow(_stack(synth_outdir), "nope")
