"""Connection-string mode with the credential the stack really stores: a container SAS (create + write on
bronze only), minted the way ``data.azurerm_storage_account_blob_container_sas`` mints it, written into
the connection string the way ``SilverStorage.sas_connection_string`` writes it, and checked by Azurite,
which validates the signature and the permissions. The Function writes its CSV and manifest with it
(staged blocks, one commit, If-None-Match) and can do nothing else."""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta, timezone

import pytest
from azure.core.exceptions import HttpResponseError

from emotion_events import app_settings as S
from emotion_events import storage
from emotion_events.generator import GeneratorParams
from emotion_events.paths import relative_paths
from emotion_events.service import generate_to
from emotion_events.sinks import BlobTarget, StorageWriteError, TargetExistsError

from . import provider_sas

FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def _sas(azurite, container: str, *, permissions: str = "cw", start: datetime | None = None,
         expiry: datetime | None = None) -> str:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    return provider_sas.container_sas(
        account_name=azurite.account_name, account_key=azurite.account_key, container=container,
        permissions=permissions, start=(start or now - timedelta(minutes=15)).strftime(FORMAT),
        expiry=(expiry or now + timedelta(days=30)).strftime(FORMAT),
        https_only=False,  # the one difference from the stack (https_only = true): Azurite serves HTTP here
    )


@pytest.fixture
def bronze(azurite):
    """A fresh bronze container (made with the account key, as Terraform makes it) and its SAS
    connection string."""
    name = f"sas-{secrets.token_hex(6)}"
    admin = azurite.service_client().get_container_client(name)
    admin.create_container()
    conn = provider_sas.connection_string(azurite.blob_endpoint + "/", _sas(azurite, name))
    yield admin, conn
    admin.delete_container()


def _settings(conn: str, container: str) -> dict[str, str]:
    return {S.BRONZE_CONNECTION_STRING: conn, S.BRONZE_CONTAINER: container}


def test_the_token_has_the_providers_shape_and_azurite_checks_its_signature(bronze, azurite) -> None:
    """Azurite recomputes the 2018-11-09 signature: a token whose query says more than was signed
    (read added to ``sp``) is refused, so the acceptance in the other tests is not vacuous."""
    admin, conn = bronze
    sas = conn.split("SharedAccessSignature=", 1)[1]
    fields = [p.split("=", 1)[0] for p in sas.split("&")]
    assert fields == ["sv", "sr", "st", "se", "sp", "spr", "sig"]  # ComputeContainerSASToken's order
    assert dict(p.split("=", 1) for p in sas.split("&"))["sv"] == "2018-11-09"
    forged = conn.replace("&sp=cw&", "&sp=rcw&")
    container = storage.container_client(_settings(forged, admin.container_name))
    assert _denied(lambda: container.upload_blob("events/forged.csv", b"x")) in ("AuthenticationFailed", "AuthorizationFailure")
    assert provider_sas.permissions_string(create=True, write=True) == "cw"


def test_the_function_writes_csv_and_manifest_with_the_container_sas(bronze) -> None:
    admin, conn = bronze
    assert "AccountKey" not in conn and conn.startswith("BlobEndpoint=")
    container = storage.container_client(_settings(conn, admin.container_name))
    assert storage.describe_mode(_settings(conn, admin.container_name)) == "connection_string"
    csv_path, manifest_path = relative_paths("sas-run")
    manifest = generate_to(BlobTarget(container, block_size=256 * 1024), GeneratorParams(rows=20_000, seed=5),
                           run_id="sas-run", csv_path=csv_path, manifest_path=manifest_path)
    blob = admin.get_blob_client(manifest["path"])
    committed, uncommitted = blob.get_block_list("all")
    assert len(committed) > 1 and not uncommitted, "staged blocks, committed once"
    assert len(blob.download_blob().readall()) == manifest["bytes"]
    stored = json.loads(admin.get_blob_client(manifest["manifest_path"]).download_blob().readall())
    assert stored == manifest
    # and it still never overwrites: the commit is conditional, the SAS allows it to ask
    with pytest.raises(TargetExistsError, match="not overwritten"):
        generate_to(BlobTarget(container), GeneratorParams(rows=100, seed=6), run_id="sas-run",
                    csv_path=csv_path, manifest_path=manifest_path)


def _denied(call) -> str:
    with pytest.raises(HttpResponseError) as err:
        call()
    assert err.value.status_code == 403
    return err.value.error_code


def test_the_sas_can_read_list_and_delete_nothing(bronze, azurite) -> None:
    admin, conn = bronze
    admin.upload_blob("events/existing.csv", b"precious")
    container = storage.container_client(_settings(conn, admin.container_name))
    blob = container.get_blob_client("events/existing.csv")
    assert _denied(lambda: blob.download_blob().readall()) == "AuthorizationPermissionMismatch"
    assert _denied(lambda: list(container.list_blobs())) == "AuthorizationPermissionMismatch"
    assert _denied(blob.delete_blob) == "AuthorizationPermissionMismatch"
    assert _denied(container.delete_container) in ("AuthorizationPermissionMismatch", "AuthorizationResourceTypeMismatch")
    # nothing outside its container: the same SAS on another container is refused
    other = azurite.service_client().get_container_client(f"silver-{secrets.token_hex(4)}")
    other.create_container()
    try:
        service = storage.blob_service_client(_settings(conn, admin.container_name))
        foreign = service.get_container_client(other.container_name)
        assert _denied(lambda: foreign.upload_blob("x.csv", b"x")) in ("AuthenticationFailed", "AuthorizationFailure")
    finally:
        other.delete_container()
    assert admin.get_blob_client("events/existing.csv").download_blob().readall() == b"precious"


def test_an_expired_sas_fails_the_write_with_one_clear_error_and_commits_nothing(bronze, azurite) -> None:
    admin, _ = bronze
    past = datetime.now(timezone.utc) - timedelta(days=2)
    expired = provider_sas.connection_string(
        azurite.blob_endpoint + "/", _sas(azurite, admin.container_name, start=past - timedelta(days=30), expiry=past))
    container = storage.container_client(_settings(expired, admin.container_name), retry_total=0)
    csv_path, manifest_path = relative_paths("late")
    with pytest.raises(StorageWriteError, match="nothing committed"):
        generate_to(BlobTarget(container), GeneratorParams(rows=1000, seed=1), run_id="late",
                    csv_path=csv_path, manifest_path=manifest_path)
    assert list(admin.list_blobs()) == []
