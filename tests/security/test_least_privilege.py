"""Gate 3: least privilege. The exact set of role assignments (principal, role, scope) per stack, read
from the synthesized JSON with every Terraform reference resolved to the resource it names, compared
with what the design gives each identity (issues 2 and 4):

- deployer (the identity running Terraform): Key Vault Secrets Officer on the vault, to write the
  seed's secrets, only where there is one to write (the bronze SAS in connection-string mode, the
  function key when the factory calls the generator); Storage Blob Data Reader on bronze, for the
  pipeline's post-deploy smoke test;
- generator Function, user-assigned identity: Storage Blob Data Owner on its own runtime account (the
  Functions host's identity-based storage), Monitoring Metrics Publisher on its Application Insights,
  and, keyless mode only, Storage Blob Data Contributor on bronze;
- generator Function, system-assigned identity (resolves Key Vault references; Flex cannot name
  another identity for them): Key Vault Secrets User on the bronze connection-string secret, in
  connection-string mode only;
- Data Factory: reads bronze, writes silver and quarantine (container scope), Key Vault Secrets User
  on the generator's function-key secret, only when it calls the generator.

No principal gets Owner, Contributor or User Access Administrator, by name or by role id.
"""

from __future__ import annotations

import json
import re
import tomllib

import pytest

from tests.security.scanner import REPO_ROOT

REF = re.compile(r"\$\{(data\.)?([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([^}]+)\}")
CONTAINER_SCOPE = re.compile(r"^(?P<account>\$\{[^}]+\}|/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Storage/storageAccounts/[a-z0-9]+)/blobServices/default/containers/(?P<container>.+)$")
ACCOUNT_ID = re.compile(r"^/subscriptions/(?:\$\{data\.azurerm_client_config\.[A-Za-z0-9_-]+\.subscription_id\})/resourceGroups/[^/]+/providers/Microsoft\.Storage/storageAccounts/(?P<name>[a-z0-9]+)$")
PRIVILEGED = {"Owner", "Contributor", "User Access Administrator"}
PRIVILEGED_IDS = {  # built-in role definition ids of the same three roles
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
}


class Stack:
    """One synthesized stack, with Terraform references resolvable to the resources they name."""

    def __init__(self, doc: dict) -> None:
        self.doc = doc

    def block(self, data: bool, rtype: str, name: str) -> dict:
        section = self.doc["data" if data else "resource"]
        try:
            return section[rtype][name]
        except KeyError:
            raise AssertionError(f"reference to missing {'data.' if data else ''}{rtype}.{name}") from None

    def ref(self, text: str) -> tuple[bool, str, str, str, dict]:
        m = REF.fullmatch(text)
        if not m:
            raise AssertionError(f"{text!r} is not a single Terraform reference")
        data, rtype, name, attr = bool(m.group(1)), m.group(2), m.group(3), m.group(4)
        return data, rtype, name, attr, self.block(data, rtype, name)

    def literal_name(self, text: str) -> str:
        """A name attribute, or the name a ``${...name}`` reference points at."""
        if text.startswith("${"):
            data, rtype, name, attr, block = self.ref(text)
            assert attr == "name", text
            return self.literal_name(block["name"])
        return text

    def function_apps(self) -> dict[str, dict]:
        return self.doc["resource"].get("azurerm_function_app_flex_consumption", {})

    def principal(self, text: str) -> str:
        data, rtype, name, attr, block = self.ref(text)
        if data and rtype == "azurerm_client_config" and attr == "object_id":
            return "deployer"
        if rtype == "azurerm_data_factory" and attr == "identity[0].principal_id":
            return f"data factory {block['name']}"
        if rtype == "azurerm_function_app_flex_consumption" and attr == "identity[0].principal_id":
            return f"function {block['name']} (system-assigned)"
        if rtype == "azurerm_user_assigned_identity" and attr == "principal_id":
            users = [app["name"] for app in self.function_apps().values()
                     if f"${{azurerm_user_assigned_identity.{name}.id}}" in app.get("identity", {}).get("identity_ids", [])]
            assert len(users) == 1, f"user-assigned identity {name} is used by {users}"
            return f"function {users[0]} (user-assigned)"
        raise AssertionError(f"unknown kind of principal {text!r}")

    def account_name(self, text: str) -> str:
        """The account a storage account id names: a reference to the resource, or an id built from names
        for Phase 1's account (the subscription from the provider's client config, nothing hard-coded)."""
        m = ACCOUNT_ID.match(text)
        if m:
            return m.group("name")
        data, rtype, name, attr, block = self.ref(text)
        assert rtype == "azurerm_storage_account" and attr == "id", text
        return block["name"]

    def scope(self, text: str) -> str:
        m = CONTAINER_SCOPE.match(text)
        if m:
            return f"container {self.account_name(m.group('account'))}/{self.literal_name(m.group('container'))}"
        data, rtype, name, attr, block = self.ref(text)
        if data and rtype == "azurerm_storage_container" and attr == "id":  # Phase 1's container, looked up by id
            return f"container {self.account_name(block['storage_account_id'])}/{block['name']}"
        if rtype == "azurerm_key_vault_secret" and attr in ("resource_versionless_id", "resource_id", "id", "versionless_id"):
            return f"secret {block['name']}"
        if rtype == "azurerm_key_vault" and attr == "id":
            return f"key vault {block['name']}"
        if rtype == "azurerm_storage_account" and attr == "id":
            return f"storage account {block['name']}"
        if rtype == "azurerm_application_insights" and attr == "id":
            users = [app["name"] for app in self.function_apps().values()
                     if f"azurerm_application_insights.{name}." in json.dumps(app)]
            assert len(users) == 1, f"Application Insights {name} is wired to {users}"
            return f"application insights of function {users[0]}"
        raise AssertionError(f"unexpected scope {text!r} (resource groups and subscriptions are too broad)")

    def assignments(self) -> set[tuple[str, str, str]]:
        out = set()
        for rid, ra in self.doc["resource"].get("azurerm_role_assignment", {}).items():
            assert "role_definition_name" in ra, f"{rid}: role by id; name the built-in role"
            out.add((self.principal(ra["principal_id"]), ra["role_definition_name"], self.scope(ra["scope"])))
        return out


def expected_assignments(env: str) -> set[tuple[str, str, str]]:
    """The designed grants, derived from the environment's config file (read here with tomllib, not
    through the config loader the stack uses)."""
    cfg = tomllib.loads((REPO_ROOT / "config" / f"{env}.toml").read_text())
    f, fn, st = cfg["foundation"], cfg["function"], cfg["storage"]
    connection_string = fn.get("storage_mode", "identity") == "connection_string"
    calls_generator = cfg.get("pipeline", {}).get("call_generator", True)
    lake = f["storage_account_name"]
    bronze = f"container {lake}/{f.get('bronze_container', 'bronze')}"
    fn_user = f"function {fn['name']} (user-assigned)"
    fn_system = f"function {fn['name']} (system-assigned)"
    factory = f"data factory {cfg['data_factory']['name']}"
    expected = {
        ("deployer", "Storage Blob Data Reader", bronze),
        (fn_user, "Storage Blob Data Owner", f"storage account {fn['storage_account_name']}"),
        (fn_user, "Monitoring Metrics Publisher", f"application insights of function {fn['name']}"),
        (factory, "Storage Blob Data Reader", bronze),
        (factory, "Storage Blob Data Contributor", f"container {lake}/{st.get('silver_container', 'silver')}"),
        (factory, "Storage Blob Data Contributor", f"container {lake}/{st.get('quarantine_container', 'quarantine')}"),
    }
    if calls_generator:  # the function key exists only for the factory's call
        expected.add((factory, "Key Vault Secrets User", "secret generator-function-key"))
    if cfg.get("key_vault", {}).get("assign_deployer_role", True) and (connection_string or calls_generator):
        expected.add(("deployer", "Key Vault Secrets Officer", f"key vault {f['key_vault_name']}"))
    if connection_string:
        expected.add((fn_system, "Key Vault Secrets User", "secret bronze-storage-connection-string"))
    else:
        expected.add((fn_user, "Storage Blob Data Contributor", bronze))
    return expected


def env_of(stack_name: str) -> str:
    assert stack_name.startswith("phase2-"), stack_name
    return stack_name.removeprefix("phase2-")


def test_every_environment_has_a_stack(synthesized: dict) -> None:
    envs = sorted(p.stem for p in (REPO_ROOT / "config").glob("*.toml"))
    assert sorted(env_of(name) for name in synthesized) == envs


def test_role_assignments_are_exactly_the_designed_ones(synthesized: dict) -> None:
    for name, doc in sorted(synthesized.items()):
        actual = Stack(doc).assignments()
        expected = expected_assignments(env_of(name))
        assert actual == expected, (
            f"{name}:\n  unexpected: {sorted(actual - expected)}\n  missing:    {sorted(expected - actual)}"
        )
        # one resource per (principal, role, scope): a duplicate fails in Azure with RoleAssignmentExists
        assert len(doc["resource"]["azurerm_role_assignment"]) == len(actual), name


def test_no_principal_is_owner_contributor_or_user_access_administrator(synthesized: dict) -> None:
    for name, doc in synthesized.items():
        for rid, ra in doc["resource"].get("azurerm_role_assignment", {}).items():
            assert ra.get("role_definition_name") not in PRIVILEGED, f"{name}: {rid}"
            role_id = str(ra.get("role_definition_id", "")).lower()
            assert not any(g in role_id for g in PRIVILEGED_IDS), f"{name}: {rid}"


def test_managed_identities_are_marked_as_service_principals(synthesized: dict) -> None:
    # principal_type lets ARM accept a just-created identity without waiting for Entra replication.
    for name, doc in synthesized.items():
        stack = Stack(doc)
        for rid, ra in doc["resource"]["azurerm_role_assignment"].items():
            if stack.principal(ra["principal_id"]) != "deployer":
                assert ra.get("principal_type") == "ServicePrincipal", f"{name}: {rid}"


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda ra: ra.update(role_definition_name="Contributor"), "unexpected"),
        (lambda ra: ra.update(scope=ra["scope"].split("/blobServices")[0]), "unexpected"),
        (lambda ra: ra.update(scope="/subscriptions/00000000-0000-0000-0000-000000000000"), "not a single Terraform reference"),
    ],
)
def test_the_exact_set_check_bites(synthesized: dict, mutate, message: str) -> None:
    """Widening one Data Factory grant (role or scope) is caught."""
    name, doc = sorted(synthesized.items())[0]
    doc = json.loads(json.dumps(doc))
    ra = next(v for v in doc["resource"]["azurerm_role_assignment"].values()
              if "azurerm_data_factory." in v["principal_id"] and v["role_definition_name"] == "Storage Blob Data Reader")
    mutate(ra)
    with pytest.raises(AssertionError, match=message):
        actual = Stack(doc).assignments()
        assert actual == expected_assignments(env_of(name)), "unexpected"
