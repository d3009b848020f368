"""A bronze file silver already merged is rewritten: the run notices by content, not by size or times,
and recomputes silver; a file only touched (same bytes) is not recomputed. Local folders and blob
containers (a real Azurite)."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path

import pytest
from azure.storage.blob import BlobBlock, ContentSettings

from emotion_platform.silver import storage as storage_mod
from emotion_platform.silver.runner import STATE_FILE, run_silver
from emotion_platform.silver.storage import LocalLocation

from .conftest import bronze_line, read_silver, write_bronze

NAME = "events/ingest_date=2026-01-05/a.csv"
IDS = [f"{i:08d}-1111-4111-8111-111111111111" for i in range(1, 6)]


def lines(intensity: str = "0.50") -> list[str]:
    return [bronze_line(event_id=e, intensity=intensity if e == IDS[2] else "0.50") for e in IDS]


def run(root: Path, **kw):
    return run_silver(str(root / "bronze"), str(root / "silver"), quarantine=str(root / "quarantine"),
                      memory_limit="256MB", threads=1, **kw)


def rewrite_in_place_keeping_times(path: Path, data: bytes) -> None:
    """What `cp -p`, `rsync -t` or a careful script do: same size, same mtime, new bytes."""
    st = path.stat()
    assert len(data) == st.st_size
    with open(path, "r+b") as fh:  # in place: same inode
        fh.write(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_mtime_ns == st.st_mtime_ns and path.stat().st_size == st.st_size


@pytest.fixture
def settled(monkeypatch):
    """Change hints for files of any age (by default a file written in the last seconds gets none,
    so its content is hashed on every run): the tests then prove the hint itself moves."""
    monkeypatch.setattr(storage_mod, "RACY_SECONDS", 0.0)


def test_a_same_size_rewrite_with_its_mtime_restored_is_recomputed(tmp_path, settled) -> None:
    path = write_bronze(tmp_path / "bronze", lines())
    first = run(tmp_path)
    assert first.mode == "full" and read_silver(tmp_path / "silver").by_id()[IDS[2]]["intensity"] == 0.50
    state = json.loads((tmp_path / "silver" / STATE_FILE).read_text())
    assert state["bronze"][NAME]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()

    new = b"\r\n".join(l.replace(b"0.50", b"0.77") if l.startswith(IDS[2].encode()) else l
                       for l in path.read_bytes().split(b"\r\n"))
    rewrite_in_place_keeping_times(path, new)
    again = run(tmp_path)
    assert again.mode == "full" and again.mode_reason == f"bronze file {NAME} changed after it was merged"
    silver = read_silver(tmp_path / "silver").by_id()
    assert silver[IDS[2]]["intensity"] == 0.77 and len(silver) == len(IDS), "the file's rows are recomputed"
    state = json.loads((tmp_path / "silver" / STATE_FILE).read_text())
    assert state["bronze"][NAME]["sha256"] == hashlib.sha256(new).hexdigest()
    assert run(tmp_path).mode == "up-to-date"


def test_a_touched_file_with_the_same_bytes_is_hashed_not_recomputed(tmp_path, settled) -> None:
    path = write_bronze(tmp_path / "bronze", lines())
    run(tmp_path)
    silver_state = (tmp_path / "silver" / STATE_FILE).read_bytes()
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 5_000_000_000))
    said: list[str] = []
    outcome = run(tmp_path, progress=said.append)
    assert outcome.mode == "up-to-date" and outcome.batch.rows_in == 0
    assert any("comparing its content" in m for m in said)
    assert (tmp_path / "silver" / STATE_FILE).read_bytes() == silver_state


def test_a_file_just_written_gets_no_change_hint_so_its_content_is_always_compared(tmp_path) -> None:
    """Timestamps have a granularity: a rewrite in the same tick as the listing could leave every
    time as it was. A file changed in the last RACY_SECONDS is therefore listed without a hint."""
    write_bronze(tmp_path / "bronze", lines())
    (fresh,) = LocalLocation(tmp_path / "bronze").list(".csv")
    assert fresh.fingerprint == ""
    old = tmp_path / "bronze" / NAME
    os.utime(old, ns=(0, 0))  # an old mtime, but the ctime is still now
    assert LocalLocation(tmp_path / "bronze").list(".csv")[0].fingerprint == ""
    path = write_bronze(tmp_path / "bronze", lines())
    run(tmp_path)
    rewrite_in_place_keeping_times(path, path.read_bytes().replace(b",0.50,", b",0.66,", 1))
    assert run(tmp_path).mode == "full"


def test_a_state_without_content_hashes_recomputes_once(tmp_path, settled) -> None:
    write_bronze(tmp_path / "bronze", lines())
    run(tmp_path)
    state_path = tmp_path / "silver" / STATE_FILE
    state = json.loads(state_path.read_text())
    for entry in state["bronze"].values():
        del entry["sha256"]
        entry["fingerprint"] = "older-format"
    state_path.write_text(json.dumps(state))
    assert run(tmp_path).mode == "full"
    assert run(tmp_path).mode == "up-to-date"


def test_a_malformed_content_hash_in_the_state_is_refused(tmp_path, settled) -> None:
    from emotion_platform.silver.runner import StateFileError

    write_bronze(tmp_path / "bronze", lines())
    run(tmp_path)
    state_path = tmp_path / "silver" / STATE_FILE
    state = json.loads(state_path.read_text())
    state["bronze"][NAME]["sha256"] = "abc"
    state_path.write_text(json.dumps(state))
    with pytest.raises(StateFileError, match=r"bronze entry .* 'sha256' is not a sha256"):
        run(tmp_path)


# -- blob containers (Azurite) ---------------------------------------------------------------------

@pytest.fixture
def containers(azurite):
    service = azurite.service_client()
    tag = uuid.uuid4().hex[:8]
    bronze, lake = service.create_container(f"bronze-{tag}"), service.create_container(f"lake-{tag}")
    yield azurite, bronze, lake
    bronze.delete_container()
    lake.delete_container()


def blob_run(azurite, bronze, lake, **kw):
    return run_silver(f"az://{bronze.container_name}", f"az://{lake.container_name}/silver",
                      quarantine=f"az://{lake.container_name}/quarantine",
                      connection_string=azurite.connection_string, memory_limit="256MB", threads=1, **kw)


def blob_intensity(lake, event_id: str) -> float:
    import io

    import pyarrow.parquet as pq

    for b in lake.list_blobs(name_starts_with="silver/"):
        if b.name.endswith(".parquet"):
            for row in pq.read_table(io.BytesIO(lake.download_blob(b.name).readall())).to_pylist():
                if row["event_id"] == event_id:
                    return row["intensity"]
    raise AssertionError(f"{event_id} not in silver")


def test_a_same_size_blob_rewrite_that_keeps_the_old_content_md5_is_recomputed(containers, tmp_path) -> None:
    azurite, bronze, lake = containers
    data = write_bronze(tmp_path / "src", lines()).read_bytes()
    blob = bronze.get_blob_client(NAME)
    blob.upload_blob(data)
    old_md5 = blob.get_blob_properties().content_settings.content_md5
    assert blob_run(azurite, bronze, lake).mode == "full"
    assert blob_intensity(lake, IDS[2]) == 0.50

    new = data.replace(f"{IDS[2]},u_0123456789abcdef,joy,0.50".encode(), f"{IDS[2]},u_0123456789abcdef,joy,0.88".encode())
    assert new != data and len(new) == len(data)
    # A block-list writer that carries the old Content-MD5 property over (the service stores the property
    # of a block-list commit as given): the property no longer describes the bytes.
    blob.stage_block("b0", new)
    blob.commit_block_list([BlobBlock(block_id="b0")], content_settings=ContentSettings(content_md5=old_md5))
    props = blob.get_blob_properties()
    assert props.size == len(data) and bytes(props.content_settings.content_md5) == bytes(old_md5)

    outcome = blob_run(azurite, bronze, lake)
    assert outcome.mode == "full" and outcome.mode_reason == f"bronze file {NAME} changed after it was merged"
    assert blob_intensity(lake, IDS[2]) == 0.88
    assert blob_run(azurite, bronze, lake).mode == "up-to-date"


def test_a_blob_whose_metadata_changed_is_compared_by_content_not_recomputed(containers, tmp_path) -> None:
    azurite, bronze, lake = containers
    blob = bronze.get_blob_client(NAME)
    blob.upload_blob(write_bronze(tmp_path / "src", lines()).read_bytes())
    blob_run(azurite, bronze, lake)
    etag = blob.get_blob_properties().etag
    blob.set_blob_metadata({"reviewed": "yes"})  # a new ETag, the same bytes
    assert blob.get_blob_properties().etag != etag
    said: list[str] = []
    outcome = blob_run(azurite, bronze, lake, progress=said.append)
    assert outcome.mode == "up-to-date"
    assert any("comparing its content" in m for m in said)
