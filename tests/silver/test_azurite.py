"""Blob containers as bronze source and silver/quarantine/report targets, against a real Azurite."""

from __future__ import annotations

import io
import json
import uuid

import pyarrow.parquet as pq
import pytest

from emotion_platform.cli import main
from emotion_platform.silver.lock import LOCK_BLOB
from emotion_platform.silver.runner import STATE_FILE, run_silver
from emotion_platform.silver.storage import CONNECTION_STRING_ENV, LocationError, open_location, sibling_uri

from .conftest import generate, manifest


@pytest.fixture
def account(azurite, tmp_path):
    """Fresh containers per test; bronze generated locally and uploaded as the Function would."""
    tag = uuid.uuid4().hex[:8]
    names = {k: f"{k}-{tag}" for k in ("bronze", "lake")}
    service = azurite.service_client()
    for n in names.values():
        service.create_container(n)
    return azurite, service, names


def upload_tree(service, container: str, root) -> None:
    for p in sorted(root.rglob("*")):
        if p.is_file():
            service.get_blob_client(container, p.relative_to(root).as_posix()).upload_blob(p.read_bytes(), overwrite=True)


def blobs(service, container: str, prefix: str = "") -> dict[str, str]:
    return {b.name: b.etag for b in service.get_container_client(container).list_blobs(name_starts_with=prefix or None)}


def silver_rows(service, container: str, prefix: str) -> list[dict]:
    rows = []
    for name in blobs(service, container, prefix + "/"):
        if name.endswith(".parquet"):
            data = service.get_blob_client(container, name).download_blob().readall()
            rows += pq.read_table(io.BytesIO(data)).to_pylist()
    return rows


def test_containers_in_and_out_through_the_cli(account, tmp_path, monkeypatch, capsys) -> None:
    azurite, service, c = account
    result = generate(tmp_path / "gen", 8_000, seed=41, run_id="blob-a")
    upload_tree(service, c["bronze"], tmp_path / "gen")
    monkeypatch.setenv(CONNECTION_STRING_ENV, azurite.connection_string)
    args = ["silver", "--bronze", f"az://{c['bronze']}/events", "--silver", f"az://{c['lake']}/silver",
            "--memory-limit", "256MB", "--threads", "1", "--quiet"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.startswith("full: 8,000 rows in")

    m = manifest(result)
    rows = silver_rows(service, c["lake"], "silver")
    assert len(rows) == m["expected_valid_distinct_events"] == len({r["event_id"] for r in rows})
    listing = blobs(service, c["lake"])
    assert all(n.startswith(("silver/event_date=", "quarantine/batch-", "report/report.", "report/runs/"))
               or n in (f"silver/{STATE_FILE}", f"silver/{LOCK_BLOB}") for n in listing), listing
    assert len([n for n in listing if n.startswith("report/runs/")]) == 1  # this run's record
    lock = service.get_blob_client(c["lake"], f"silver/{LOCK_BLOB}").get_blob_properties()
    assert lock.lease.state == "available" and lock.size == 0  # released, holds nothing
    q = [n for n in listing if n.startswith("quarantine/")]
    qrows = pq.read_table(io.BytesIO(service.get_blob_client(c["lake"], q[0]).download_blob().readall())).to_pylist()
    assert len(qrows) == m["expected_quarantined_rows"]
    assert all(r["source_file"].startswith("ingest_date=") for r in qrows)  # relative to --bronze
    report = json.loads(service.get_blob_client(c["lake"], "report/report.json").download_blob().readall())
    assert report["rows_in"] == 8_000 and report["silver_rows_after"] == len(rows)
    png = service.get_blob_client(c["lake"], "report/report.png")
    assert png.download_blob().readall()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.get_blob_properties().content_settings.content_type == "image/png"

    # Again: nothing new, so no blob of silver or quarantine is rewritten.
    silver_before = {k: v for k, v in blobs(service, c["lake"]).items() if not k.startswith("report/") and not k.endswith(LOCK_BLOB)}
    assert main(args) == 0
    assert "up-to-date" in capsys.readouterr().out
    assert {k: v for k, v in blobs(service, c["lake"]).items() if not k.startswith("report/") and not k.endswith(LOCK_BLOB)} == silver_before


def test_a_new_bronze_blob_is_merged_and_only_its_partitions_are_uploaded(account, tmp_path) -> None:
    azurite, service, c = account
    first = generate(tmp_path / "g1", 6_000, seed=42, run_id="blob-1")
    upload_tree(service, c["bronze"], tmp_path / "g1")
    kw = dict(quarantine=f"az://{c['lake']}/quarantine", connection_string=azurite.connection_string,
              memory_limit="256MB", threads=1)
    run_silver(f"az://{c['bronze']}", f"az://{c['lake']}/silver", **kw)
    before = blobs(service, c["lake"], "silver/")
    second = generate(tmp_path / "g2", 1_000, seed=43, run_id="blob-2", hours=3)
    upload_tree(service, c["bronze"], tmp_path / "g2")
    outcome = run_silver(f"az://{c['bronze']}", f"az://{c['lake']}/silver", **kw)
    assert outcome.mode == "incremental" and outcome.bronze_files == [
        p.relative_to(tmp_path / "g2").as_posix() for p in (tmp_path / "g2").rglob("*.csv")]
    after = blobs(service, c["lake"], "silver/")
    touched = set(outcome.batch.affected_partitions)
    for name, etag in before.items():
        part = name.split("/")[1]
        if "=" in part and part not in touched:
            assert after[name] == etag, f"{name} was re-uploaded although untouched"
    rows = silver_rows(service, c["lake"], "silver")
    expected = manifest(first)["expected_valid_distinct_events"] + manifest(second)["expected_valid_distinct_events"]
    assert len(rows) == expected == len({r["event_id"] for r in rows})
    assert len([n for n in blobs(service, c["lake"], "quarantine/")]) == 2  # one file per batch


def test_blob_locations_without_a_connection_string_are_refused(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv(CONNECTION_STRING_ENV, raising=False)
    with pytest.raises(LocationError, match="need a connection string"):
        open_location("az://bronze/events")
    with pytest.raises(LocationError, match="container 'Bad_Name' is not a valid name"):
        open_location("az://Bad_Name/x", connection_string="UseDevelopmentStorage=true")
    assert main(["silver", "--bronze", "az://bronze", "--silver", str(tmp_path / "s")]) == 2


def test_default_quarantine_and_report_sit_next_to_silver() -> None:
    assert sibling_uri("az://lake/silver", "quarantine") == "az://lake/quarantine"
    assert sibling_uri("az://silver", "quarantine") == "az://quarantine"
    assert sibling_uri("az://lake/a/silver", "report") == "az://lake/a/report"
