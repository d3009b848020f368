"""The manifest upload never replaces an existing blob (or file): against a real Azurite and a local folder."""

from __future__ import annotations

import secrets

import pytest

from emotion_events.generator import GeneratorParams
from emotion_events.paths import relative_paths
from emotion_events.service import generate_to
from emotion_events.sinks import BlobTarget, LocalTarget, TargetExistsError


@pytest.fixture
def bronze(azurite):
    container = azurite.service_client().get_container_client(f"m-{secrets.token_hex(6)}")
    container.create_container()
    yield container
    container.delete_container()


def test_put_new_refuses_an_existing_blob_and_leaves_it_as_it_was(bronze) -> None:
    bronze.upload_blob("events/x.manifest.json", b'{"theirs": true}\n')
    before = bronze.get_blob_client("events/x.manifest.json").get_blob_properties()
    with pytest.raises(TargetExistsError, match=r"^blob events/x.manifest.json already exists; not overwritten$"):
        BlobTarget(bronze).put_new("events/x.manifest.json", b'{"ours": true}\n')
    blob = bronze.get_blob_client("events/x.manifest.json")
    assert blob.download_blob().readall() == b'{"theirs": true}\n'
    assert blob.get_blob_properties().etag == before.etag, "not rewritten, not even with the same bytes"


def test_a_run_whose_manifest_exists_stops_before_committing_its_csv(bronze) -> None:
    """The manifest goes up before the CSV is committed; an existing manifest (another run's, a retry
    with a reused run id) stops the run with the manifest's name, its bytes untouched and no CSV."""
    csv_path, manifest_path = relative_paths("reused")
    bronze.upload_blob(manifest_path, b'{"run_id": "reused", "rows": 7}\n')
    etag = bronze.get_blob_client(manifest_path).get_blob_properties().etag
    with pytest.raises(TargetExistsError, match=f"blob {manifest_path} already exists; not overwritten") as err:
        generate_to(BlobTarget(bronze, block_size=64 * 1024), GeneratorParams(rows=2_000, seed=9), run_id="reused",
                    csv_path=csv_path, manifest_path=manifest_path)
    assert err.value.committed == {csv_path: False, manifest_path: False}  # neither is this run's
    blob = bronze.get_blob_client(manifest_path)
    assert blob.download_blob().readall() == b'{"run_id": "reused", "rows": 7}\n'
    assert blob.get_blob_properties().etag == etag
    assert not bronze.get_blob_client(csv_path).exists()


def test_the_local_manifest_is_never_replaced_either(tmp_path) -> None:
    target = LocalTarget(tmp_path)
    path = tmp_path / "events" / "x.manifest.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"theirs\n")
    with pytest.raises(TargetExistsError):
        target.put_new("events/x.manifest.json", b"ours\n")
    assert path.read_bytes() == b"theirs\n"
    assert [p.name for p in path.parent.iterdir()] == ["x.manifest.json"], "no temporary file left"
