"""Faults: Azurite stopped mid-upload, or unreachable from the start, leaves no blob behind."""

import pytest
from azure.storage.blob import ExponentialRetry

from emotion_events.generator import GeneratorParams
from emotion_events.paths import relative_paths
from emotion_events.service import generate_to
from emotion_events.sinks import BlobTarget, StorageWriteError

FAST_FAIL = {"retry_policy": ExponentialRetry(initial_backoff=0, increment_base=1, retry_total=1, random_jitter_range=0),
             "connection_timeout": 2, "read_timeout": 5}


def test_azurite_stopped_mid_upload_commits_nothing(azurite_factory):
    service = azurite_factory(persistent=True)
    container = service.service_client(**FAST_FAIL).get_container_client("bronze")
    container.create_container()
    container.upload_blob("marker.txt", b"committed before the fault")
    csv_path, manifest_path = relative_paths("faulty")
    staged = []

    def stop_after_three(count):
        staged.append(count)
        if count == 3:
            service.stop()  # graceful: Azurite saves what it has, then goes away mid-upload

    with pytest.raises(StorageWriteError, match="nothing committed"):
        generate_to(BlobTarget(container, block_size=256 * 1024, on_block=stop_after_three),
                    GeneratorParams(rows=50_000, seed=1), run_id="faulty", csv_path=csv_path,
                    manifest_path=manifest_path)
    assert staged[:3] == [1, 2, 3]

    service.start()  # same port, same data directory
    container = service.service_client().get_container_client("bronze")
    assert [b.name for b in container.list_blobs()] == ["marker.txt"]  # persistence works, and no CSV
    assert not container.get_blob_client(csv_path).exists()
    assert not container.get_blob_client(manifest_path).exists()
    # the service did receive the staged blocks: they exist only as an uncommitted blob
    with_uncommitted = {b.name for b in container.list_blobs(include=["uncommittedblobs"])}
    assert csv_path in with_uncommitted


def test_unreachable_storage_fails_clearly(azurite_factory):
    service = azurite_factory()
    container = service.service_client(**FAST_FAIL).get_container_client("bronze")
    container.create_container()
    service.stop()
    csv_path, manifest_path = relative_paths("unreachable")
    with pytest.raises(StorageWriteError, match="staging block 0"):
        generate_to(BlobTarget(container), GeneratorParams(rows=1000, seed=1), run_id="unreachable",
                    csv_path=csv_path, manifest_path=manifest_path)
