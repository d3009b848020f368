"""Blob output against a real Azurite: staged blocks, one commit, never an overwrite."""

import json
import math
import secrets

import pytest
from azure.storage.blob import BlobBlock

from emotion_events.generator import GeneratorParams, generate, write_local
from emotion_events.paths import relative_paths
from emotion_events.service import generate_to
from emotion_events.sinks import BLOCK_SIZE, BlobTarget, TargetExistsError

from .reference import read_bronze


@pytest.fixture
def bronze(azurite):
    container = azurite.service_client().get_container_client(f"t-{secrets.token_hex(6)}")
    container.create_container()
    yield container
    container.delete_container()


def _run(container, params, run_id, **target_options):
    csv_path, manifest_path = relative_paths(run_id)
    return generate_to(BlobTarget(container, **target_options), params, run_id=run_id, csv_path=csv_path,
                       manifest_path=manifest_path)


def test_blob_bytes_equal_the_local_file_and_blocks_are_4_mib(bronze, tmp_path, contract):
    params = GeneratorParams(rows=60_000, seed=21, dirty_ratio=0.1)
    manifest = _run(bronze, params, "blob-run")
    blob = bronze.get_blob_client(manifest["path"])
    data = blob.download_blob().readall()
    local = write_local(params, tmp_path, run_id="blob-run")
    assert data == local.csv_path.read_bytes()
    assert manifest["bytes"] == len(data) > 2 * BLOCK_SIZE
    committed, uncommitted = blob.get_block_list("all")
    assert len(committed) == math.ceil(len(data) / BLOCK_SIZE) and not uncommitted
    assert all(b.size == BLOCK_SIZE for b in committed[:-1])
    assert blob.get_blob_properties().content_settings.content_type == "text/csv; charset=utf-8"
    stored = json.loads(bronze.get_blob_client(manifest["manifest_path"]).download_blob().readall())
    assert stored == manifest and stored["container"] == bronze.container_name
    # and the manifest holds against the blob's own bytes
    path = tmp_path / "downloaded.csv"
    path.write_bytes(data)
    reading = read_bronze(path, contract)
    assert len(reading.events) == manifest["expected_valid_distinct_events"]
    assert sum(reading.reasons.values()) == manifest["expected_quarantined_rows"]


def test_nothing_is_visible_until_the_single_commit(bronze):
    seen = []

    def on_block(count):
        if count == 2:  # blocks are staged, the blob does not exist yet
            blob = bronze.get_blob_client(relative_paths("staged", None)[0])
            seen.append((blob.exists(), [b.name for b in bronze.list_blobs()]))

    manifest = _run(bronze, GeneratorParams(rows=20_000, seed=2), "staged", block_size=256 * 1024, on_block=on_block)
    assert seen == [(False, [])]
    assert bronze.get_blob_client(manifest["path"]).exists()


def test_an_existing_blob_is_never_overwritten(bronze):
    csv_path, manifest_path = relative_paths("taken")
    bronze.upload_blob(csv_path, b"precious")
    with pytest.raises(TargetExistsError, match="not overwritten"):
        _run(bronze, GeneratorParams(rows=1000, seed=3), "taken")
    assert bronze.get_blob_client(csv_path).download_blob().readall() == b"precious"
    assert not bronze.get_blob_client(manifest_path).exists()
    # the staged blocks of the refused upload stayed uncommitted
    committed, _uncommitted = bronze.get_blob_client(csv_path).get_block_list("all")
    assert [b.id for b in committed] == [] or all(isinstance(b, BlobBlock) for b in committed)


def test_empty_data_still_commits_one_block(bronze):
    writer = BlobTarget(bronze).open("events/empty.csv")
    writer.commit()
    assert bronze.get_blob_client("events/empty.csv").download_blob().readall() == b""


def test_stream_is_flat_in_memory_per_chunk():
    # the largest piece handed to a sink is one chunk, whatever the row count
    sizes = [len(c) for c in generate(GeneratorParams(rows=100_000, seed=1))]
    assert max(sizes) < 2 * 1024 * 1024 and len(sizes) > 10
