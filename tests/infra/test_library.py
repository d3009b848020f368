"""The constructs as Phase 3 uses them, in small stacks of their own: references that create nothing,
containers and secrets as objects, grants to anything with a principal, the role allow-list, and the
``moved`` blocks that keep Phase 2's role assignments when their addresses changed."""

from __future__ import annotations

import json

import pytest

import emotion_platform  # noqa: F401  (JSII_NODE before cdktf)
from emotion_platform.roles import Principal
from emotion_platform.validation import ValidationError

from .tf import DEV, PROD, resources

UUID = "11111111-2222-3333-4444-555555555555"
SUB = "00000000-0000-0000-0000-000000000000"


def _stack():
    from cdktf import TerraformStack, Testing
    from cdktf_cdktf_provider_azurerm.provider import AzurermProvider, AzurermProviderFeatures

    stack = TerraformStack(Testing.app(), "phase3")
    AzurermProvider(stack, "azurerm", features=[AzurermProviderFeatures()])
    return stack


def _synth(stack) -> dict:
    from cdktf import Testing

    return json.loads(Testing.synth(stack))


def _existing(stack):
    from emotion_platform import SecretsVault, SilverStorage

    lake = SilverStorage.from_existing(stack, "lake", name="stemotionprod01", resource_group_name="rg-emotion-prod")
    vault = SecretsVault.from_existing(stack, "vault", name="kv-emotion-prod-01", resource_group_name="rg-emotion-prod")
    return lake, vault


def test_references_to_an_existing_lake_and_vault_create_nothing() -> None:
    from emotion_platform.secrets_vault import ExistingSecretsVault
    from emotion_platform.silver_storage import ExistingSilverStorage

    stack = _stack()
    lake, vault = _existing(stack)
    assert isinstance(lake, ExistingSilverStorage) and isinstance(vault, ExistingSecretsVault)
    silver = lake.container("silver")
    secret = vault.secret("reporting-api-token")
    assert not silver.created and secret.resource is None
    assert lake.container("silver") is silver, "referencing twice is one reference"
    doc = _synth(stack)
    assert "resource" not in doc, f"a reference created {list(doc.get('resource', {}))}"
    # the only reads: the caller's subscription, the vault, and a keyless check that silver exists
    assert sorted(doc["data"]) == ["azurerm_client_config", "azurerm_key_vault", "azurerm_storage_container"]
    assert "azurerm_storage_account" not in doc["data"], "no ListKeys"
    assert secret.scope.endswith("/secrets/reporting-api-token") and secret.versionless_id.endswith("secrets/reporting-api-token")


def test_add_container_and_add_secret_create_exactly_those() -> None:
    stack = _stack()
    lake, vault = _existing(stack)
    gold = lake.add_container("gold")
    token = vault.add_secret("token", name="reporting-api-token", value="${var.token}", content_type="text/plain")
    doc = _synth(stack)
    assert [c["name"] for c in doc["resource"]["azurerm_storage_container"].values()] == ["gold"]
    assert len(doc["resource"]["azurerm_key_vault_secret"]) == 1
    # the deployer role is opt-in: no deployer given, no role assignment (Phase 2 already made one)
    assert "azurerm_role_assignment" not in doc["resource"]
    # the time resources the vault needs bring their provider when the stack has none
    assert "time" in doc["terraform"]["required_providers"]
    assert gold.created and token.resource is not None
    with pytest.raises(ValidationError, match=r"add_container.name = 'gold': this lake already has that container"):
        lake.add_container("gold")


def test_the_deployer_role_is_granted_only_when_asked_for() -> None:
    from emotion_platform import SecretsVault

    stack = _stack()
    vault = SecretsVault.from_existing(stack, "vault", name="kv-emotion-prod-01", resource_group_name="rg",
                                       deployer=Principal.user(UUID))
    vault.add_secret("s", name="a-secret", value="x", content_type="text/plain")
    (role,) = _synth(stack)["resource"]["azurerm_role_assignment"].values()
    assert (role["role_definition_name"], role["principal_id"], role["principal_type"]) == ("Key Vault Secrets Officer", UUID, "User")


def test_grants_take_principals_and_carry_their_type() -> None:
    from cdktf_cdktf_provider_azurerm.data_factory import DataFactory, DataFactoryIdentity
    from cdktf_cdktf_provider_azurerm.user_assigned_identity import UserAssignedIdentity

    stack = _stack()
    lake, vault = _existing(stack)
    silver, secret = lake.container("silver"), vault.secret("reporting-api-token")
    identity = UserAssignedIdentity(stack, "reporting", name="id-reporting", resource_group_name="rg", location="westeurope")
    factory = DataFactory(stack, "adf", name="adf-x", resource_group_name="rg", location="westeurope",
                          identity=DataFactoryIdentity(type="SystemAssigned"))
    grants = [
        lake.grant_read(identity, container=silver),
        lake.grant_read(Principal.user(UUID), container=silver),
        lake.grant_read(Principal.group("22222222-2222-3333-4444-555555555555"), container=silver),
        lake.grant_write(factory, container=silver),
        vault.grant_read(identity, secret=secret),
        lake.grant(Principal.service_principal(UUID), "storage blob data OWNER", container=silver),
    ]
    assert len({g.node.id for g in grants}) == len(grants), "derived ids never collide"
    assert lake.grant_read(identity, container=silver) is grants[0], "the same grant twice is one assignment"
    doc = _synth(stack)
    got = sorted((g["role_definition_name"], g["principal_type"], g["principal_id"].split(".")[0])
                 for g in doc["resource"]["azurerm_role_assignment"].values())
    assert got == sorted([
        ("Storage Blob Data Reader", "ServicePrincipal", "${azurerm_user_assigned_identity"),
        ("Storage Blob Data Reader", "User", UUID),
        ("Storage Blob Data Reader", "Group", "22222222-2222-3333-4444-555555555555"),
        ("Storage Blob Data Contributor", "ServicePrincipal", "${azurerm_data_factory"),
        ("Key Vault Secrets User", "ServicePrincipal", "${azurerm_user_assigned_identity"),
        ("Storage Blob Data Owner", "ServicePrincipal", UUID),
    ])
    scopes = {g["scope"] for g in doc["resource"]["azurerm_role_assignment"].values()}
    assert all("object at 0x" not in s for s in scopes)
    secrets = [s for s in scopes if "/secrets/" in s]
    assert len(secrets) == 1 and secrets[0].startswith("${data.azurerm_key_vault.") and secrets[0].endswith("}/secrets/reporting-api-token")
    assert len(scopes) == 2 and all(s.startswith("${data.azurerm_storage_container.") for s in scopes - set(secrets)), (
        "every storage grant on the one (verified) container")


@pytest.mark.parametrize("call, message", [
    (lambda lake, vault, c: lake.grant_read("alice@example.com", container=c),
     r"grantee = 'alice@example.com': must have a principal"),
    (lambda lake, vault, c: lake.grant_read(Principal.user(UUID), container="silver"),
     r"SilverStorage.grant.container = 'silver': must be a container of this lake|ExistingSilverStorage.grant.container = 'silver'"),
    (lambda lake, vault, c: lake.grant(Principal.user(UUID), "owner", container=c), r"grant.role = 'owner': must be one of the data-plane roles"),
    (lambda lake, vault, c: lake.grant(Principal.user(UUID), "Key Vault Secrets User", container=c), r"grant.role = 'Key Vault Secrets User'"),
    (lambda lake, vault, c: vault.grant(Principal.user(UUID), "Key Vault Administrator", secret=vault.secret("x")),
     r"grant.role = 'Key Vault Administrator'"),
    (lambda lake, vault, c: Principal.user(""), r"Principal.user.object_id = '': must be an Entra ID object id"),
    (lambda lake, vault, c: Principal.group("alice@example.com"), r"Principal.group.object_id = 'alice@example.com'"),
    (lambda lake, vault, c: vault.grant_read(Principal.user(UUID), secret="reporting-api-token"), r"must be a secret of this vault"),
])
def test_bad_grants_fail_naming_the_value_and_the_rule(call, message) -> None:
    stack = _stack()
    lake, vault = _existing(stack)
    with pytest.raises(ValidationError, match=message):
        call(lake, vault, lake.container("silver"))


def test_a_container_of_another_lake_is_refused() -> None:
    from emotion_platform import SilverStorage

    stack = _stack()
    lake, _ = _existing(stack)
    other = SilverStorage.from_existing(stack, "other", name="stother01", resource_group_name="rg", subscription_id=SUB)
    with pytest.raises(ValidationError, match="must be a container of this lake"):
        lake.grant_read(Principal.user(UUID), container=other.container("silver", verify=False))


def test_a_token_principal_needs_a_stable_name() -> None:
    from cdktf_cdktf_provider_azurerm.data_azurerm_client_config import DataAzurermClientConfig

    stack = _stack()
    client = DataAzurermClientConfig(stack, "client")
    with pytest.raises(ValidationError, match=r"Principal.user.name = None: is required when object_id is a token"):
        Principal.user(client.object_id)
    assert Principal.of_unknown_type(client.object_id, name="deployer").principal_type is None


@pytest.mark.parametrize("stack", [DEV, PROD])
def test_moved_blocks_carry_the_0_2_0_assignments_to_their_new_addresses(synthesized, stack) -> None:
    from emotion_platform._moves import MOVED

    doc = synthesized[stack]
    moved = doc.get("moved", [])
    assert moved, "Phase 2's role assignments changed address: without moved blocks an apply destroys and re-creates them"
    current = {f"azurerm_role_assignment.{k}" for k in resources(doc, "azurerm_role_assignment")}
    for block in moved:
        assert block["to"] in current and block["from"] not in current, block
        assert block["from"].split(".", 1)[1] in MOVED
    # every assignment that existed in 0.2.0 under another address is carried over
    paths = {v["//"]["metadata"]["path"].split("/", 1)[1] for v in resources(doc, "azurerm_role_assignment").values()}
    assert len(moved) == len([p for p in MOVED.values() if p in paths])
