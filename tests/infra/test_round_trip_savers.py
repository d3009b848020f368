"""The helpers that answer without a jsii round trip (issue 14) give the answers cdktf would give."""

from __future__ import annotations

import pytest
from cdktf import App, Fn, TerraformStack, Token
from cdktf_cdktf_provider_azurerm.resource_group import ResourceGroup
from constructs import Construct

from emotion_platform.roles import construct_key
from emotion_platform.validation import is_token


@pytest.fixture(scope="module")
def stack() -> TerraformStack:
    return TerraformStack(App(), "phase2-test")


def test_is_token_agrees_with_cdktf(stack: TerraformStack) -> None:
    rg = ResourceGroup(stack, "rg", name="rg-x", location="westeurope")
    tokens = [rg.name, rg.id, Token.as_number(rg.name), Token.as_list(rg.name), Fn.join("-", ["a", rg.name])]
    plain = ["", "rg-x", "a {b} c", "${not a token}", 0, 3.5, None, True, ["a"]]
    assert [is_token(v) for v in tokens] == [True] * len(tokens)
    assert [is_token(v) for v in plain] == [False] * len(plain)
    # the fast path only answers where cdktf itself says "resolved"
    assert [bool(Token.is_unresolved(v)) for v in plain if isinstance(v, str)] == [False] * 4


def test_construct_key_is_the_path_below_the_stack(stack: TerraformStack) -> None:
    outer = Construct(stack, "foundation")
    inner = Construct(Construct(outer, "storage"), "data-factory--reader--bronze")
    assert construct_key(inner) == "foundation-storage-data-factory--reader--bronze"
    assert construct_key(outer) == "foundation"
    assert construct_key(stack) == "phase2-test"
