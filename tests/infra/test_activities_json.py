"""``activities_json`` spells every key exactly as azurerm 4.55's SDK models do.

The provider parses ``activities_json`` into go-azure-sdk types and reads it back from them: a key spelled
differently from the struct's JSON tag (``dataflow`` for ``dataFlow``) is rewritten, an unknown key is
dropped, an enum value in another case is canonicalized, and every plan shows a change (provider #25586).
The expected spelling is ``provider/adf_activity_models.json``, derived by ``provider/
derive_adf_activity_models.py`` from the model files azurerm v4.55.0 vendors (paths and commit in the
fixture), not written from memory.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .tf import DEV, PROD, resources

MODELS = json.loads((Path(__file__).parent / "provider" / "adf_activity_models.json").read_text(encoding="utf-8"))


def _problems(value, struct: str, where: str) -> list[str]:
    """Every key (recursively) of ``value`` that the SDK struct ``struct`` would not write back as is."""
    spec = MODELS["structs"][struct]
    fields = spec["fields"]
    if not isinstance(value, dict):
        return [f"{where}: expected an object ({struct})"]
    out = []
    for key, item in value.items():
        here = f"{where}.{key}"
        if key not in fields:
            close = [k for k in fields if k.lower() == key.lower()]
            hint = f" (the SDK spells it {close[0]!r})" if close else f" (not a field of {struct}, {spec['file']})"
            out.append(f"{here}{hint}")
            continue
        field = fields[key]
        if not field["go_type"].startswith("*") and not field["required"] and item in ("", 0, False, [], {}):
            out.append(f"{here}: a zero value of a non-pointer omitempty field is dropped on read")
        items = item if field.get("list") else [item]
        if field.get("list") and not isinstance(item, list):
            out.append(f"{here}: expected a list")
            continue
        for i, element in enumerate(items):
            at = f"{here}[{i}]" if field.get("list") else here
            if field["kind"] == "struct":
                out += _problems(element, field["struct"], at)
            elif field["kind"] == "enum" and element not in MODELS["enums"][field["enum"]]:
                out.append(f"{at} = {element!r}: the SDK writes one of {MODELS['enums'][field['enum']]}")
        if field.get("required") is False and item is None:
            out.append(f"{here}: null is dropped on read")
    for key, field in fields.items():
        if field.get("required") and key not in value:
            out.append(f"{where}.{key}: required by {struct} (written back even when absent)")
    return out


def activity_problems(activities: list[dict]) -> list[str]:
    problems = []
    for i, activity in enumerate(activities):
        type_ = activity.get("type")
        if type_ not in MODELS["activities"]:
            problems.append(f"activities[{i}].type = {type_!r}: not among the derived types {sorted(MODELS['activities'])}")
            continue
        problems += _problems(activity, MODELS["activities"][type_], f"activities[{i}]({activity.get('name')})")
    return problems


def pipelines(synthesized):
    for stack in (DEV, PROD):
        for key, block in resources(synthesized[stack], "azurerm_data_factory_pipeline").items():
            yield stack, key, json.loads(block["activities_json"].replace("$${", "${").replace("%%{", "%{"))


def test_the_fixture_names_the_provider_files_it_was_derived_from() -> None:
    source = MODELS["source"]
    assert source["ref"] == "v4.55.0" and len(source["commit"]) == 40
    for struct in MODELS["structs"].values():
        assert struct["file"].startswith(source["directory"] + "/model_") and struct["file"].endswith(".go")
    # what the issue is about: ExecuteDataFlow's reference is typeProperties.dataFlow in the SDK
    assert "dataFlow" in MODELS["structs"]["ExecuteDataFlowActivityTypeProperties"]["fields"]


def test_every_activity_type_the_pipeline_uses_is_in_the_fixture(synthesized) -> None:
    used = {a["type"] for _, _, acts in pipelines(synthesized) for a in acts}
    assert used and used <= set(MODELS["activities"]), used - set(MODELS["activities"])


def test_every_key_of_activities_json_is_spelled_as_the_sdk_writes_it_back(synthesized) -> None:
    seen = 0
    for stack, key, activities in pipelines(synthesized):
        seen += len(activities)
        assert activity_problems(activities) == [], f"{stack} {key}"
    assert seen >= 3  # dev: generate + clean; prod: at least clean


@pytest.mark.parametrize(
    ("activity", "expected"),
    [
        ({"name": "a", "type": "ExecuteDataFlow", "typeProperties": {"dataflow": {"referenceName": "x", "type": "DataFlowReference"}}},
         ["activities[0](a).typeProperties.dataflow (the SDK spells it 'dataFlow')",
          "activities[0](a).typeProperties.dataFlow: required by ExecuteDataFlowActivityTypeProperties (written back even when absent)"]),
        ({"name": "a", "type": "AzureFunctionActivity", "typeProperties": {"functionName": "f", "method": "post"}},
         ["activities[0](a).typeProperties.method = 'post': the SDK writes one of "
          "['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'TRACE']"]),
        ({"name": "a", "type": "ExecuteDataFlow", "typeProperties": {"dataFlow": {"referenceName": "x", "type": "DataFlowReference"}},
          "dependsOn": [{"activity": "b", "dependencyConditions": ["Succeeded"], "condition": "x"}]},
         ["activities[0](a).dependsOn[0].condition (not a field of ActivityDependency, "
          + MODELS["structs"]["ActivityDependency"]["file"] + ")"]),
    ],
)
def test_the_checker_catches_what_the_provider_would_rewrite(activity, expected) -> None:
    assert activity_problems([activity]) == expected
