"""Silver in blob containers (real Azurite) under faults: kill -9 at the steps of a fresh and an
incremental run, two runs at once, and a dead holder's lease. Each checks the silver rows (count and
content hash, against a clean local run over the same bronze), the state blob and what is left."""

from __future__ import annotations

import json
import signal
import time
import uuid
from pathlib import Path

import pytest

from emotion_platform.silver.lock import LEASE_ENV, LOCK_BLOB
from emotion_platform.silver.runner import STATE_FILE
from emotion_platform.silver.storage import CONNECTION_STRING_ENV

from .conftest import generate
from .faultkit import (Outcome, copy_bronze, parquet_bytes_fingerprint, run_cli, silver_cmd, start_cli,
                       state_summary, wait_for)
from .test_faults import ROWS

pytestmark = pytest.mark.usefixtures("azurite")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Three bronze files and the clean local outcomes over the first two and over all three."""
    from emotion_platform.silver.runner import run_silver

    base = tmp_path_factory.mktemp("blob-fault-corpus")
    gen = base / "gen"
    names = [generate(gen, ROWS, seed=80 + i, run_id=f"blob-fault-{i}").csv_path.relative_to(gen).as_posix()
             for i in range(3)]
    clean = {}
    for label, files in (("two", names[:2]), ("all", names)):
        root = base / f"clean-{label}"
        copy_bronze(gen, root / "bronze", files)
        run_silver(str(root / "bronze"), str(root / "silver"), quarantine=str(root / "quarantine"),
                   memory_limit="256MB", threads=1)
        clean[label] = Outcome.of(root)
    return gen, names, clean


class Lake:
    """A bronze container and a lake container (silver, quarantine, report) in Azurite."""

    def __init__(self, azurite, root: Path) -> None:
        tag = uuid.uuid4().hex[:8]
        self.azurite, self.root = azurite, root
        self.service = azurite.service_client()
        self.bronze, self.lake = f"bronze-{tag}", f"lake-{tag}"
        for name in (self.bronze, self.lake):
            self.service.create_container(name)

    @property
    def env(self) -> dict[str, str]:
        return {CONNECTION_STRING_ENV: self.azurite.connection_string}

    def cmd(self, *extra: str) -> list[str]:
        return silver_cmd(self.root, *extra, bronze=f"az://{self.bronze}", silver=f"az://{self.lake}/silver")

    def upload(self, gen: Path, names: list[str]) -> None:
        for name in names:
            self.service.get_blob_client(self.bronze, name).upload_blob((gen / name).read_bytes())

    def blobs(self, prefix: str) -> dict[str, bytes]:
        cc = self.service.get_container_client(self.lake)
        return {b.name[len(prefix):]: cc.download_blob(b.name).readall()
                for b in cc.list_blobs(name_starts_with=prefix)}

    def names(self) -> list[str]:
        return sorted(b.name for b in self.service.get_container_client(self.lake).list_blobs())

    def state(self) -> dict | None:
        raw = self.blobs("silver/").get(STATE_FILE)
        return state_summary(raw) if raw is not None else None

    def outcome(self) -> Outcome:
        silver = {k: v for k, v in self.blobs("silver/").items() if k.endswith(".parquet")}
        quarantine = self.blobs("quarantine/")
        return Outcome(parquet_bytes_fingerprint(silver, hive=True),
                       parquet_bytes_fingerprint(quarantine, hive=False), self.state())

    def lease_state(self) -> str:
        return self.service.get_blob_client(self.lake, f"silver/{LOCK_BLOB}").get_blob_properties().lease.state


def same_as(outcome: Outcome, clean: Outcome) -> None:
    """Rows and quarantine equal to the clean run; the state agrees except the fingerprints (MD5 in blobs)."""
    assert (outcome.silver, outcome.quarantine) == (clean.silver, clean.quarantine)
    blob_state, local_state = dict(outcome.state), dict(clean.state)
    assert {k: v["size"] for k, v in blob_state.pop("bronze").items()} == \
        {k: v["size"] for k, v in local_state.pop("bronze").items()}
    assert blob_state == local_state


def assert_nothing_left(lake: Lake) -> None:
    assert all(n.startswith(("silver/event_date=", "quarantine/batch-", "report/report.", "report/runs/"))
               or n in (f"silver/{STATE_FILE}", f"silver/{LOCK_BLOB}") for n in lake.names()), lake.names()
    assert lake.lease_state() == "available"
    assert list((lake.root / "work").iterdir()) == []


# Each killed run leaves its lease to expire (15 s here), so the blob cases are the ones that differ
# from a folder: partway through the uploads, and after the state blob's commit; the local suite
# covers every step.
@pytest.mark.parametrize("incremental, step", [
    (False, "silver-uploading"), (False, "silver-published"), (True, "silver-uploading"),
])
def test_kill_during_a_blob_run_then_a_rerun_equals_a_clean_run(corpus, azurite, tmp_path, incremental, step):
    gen, names, clean = corpus
    lake = Lake(azurite, tmp_path)
    lake.upload(gen, names[:2] if incremental else names)
    if incremental:
        first = run_cli(lake.cmd(), **lake.env)
        assert first.returncode == 0, first.stderr
        lake.upload(gen, names[2:])
    before = lake.state()

    killed = run_cli(lake.cmd(), fault=f"{step}=kill", **lake.env, **{LEASE_ENV: "15"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    if step != "silver-published":
        assert lake.state() == before, "the state blob, the commit record, is written last"
    assert len(list((tmp_path / "work").iterdir())) == 1  # the killed run's work folder

    # The killed run never released its lease: the rerun waits for it to expire, then runs.
    rerun = run_cli(lake.cmd("--wait", "60"), **lake.env)
    assert rerun.returncode == 0, rerun.stderr
    same_as(lake.outcome(), clean["all"])
    assert_nothing_left(lake)


def test_two_blob_runs_at_once_and_a_dead_holders_lease(corpus, azurite, tmp_path) -> None:
    gen, names, clean = corpus
    lake = Lake(azurite, tmp_path)
    lake.upload(gen, names)
    pause = tmp_path / "pause"
    env = lake.env | {LEASE_ENV: "15"}
    holder = start_cli(lake.cmd(), fault=f"batch-cleaned=pause:{pause}", **env)
    try:
        wait_for(pause / "batch-cleaned.reached", holder)
        assert lake.lease_state() == "leased"
        time.sleep(18)  # longer than the lease: the holder's renewals keep it
        busy = run_cli(lake.cmd("--quiet"), **env)
        assert busy.returncode == 3 and f"pid {holder.pid} on " in busy.stderr, busy.stderr
        assert busy.stderr.count("\n") == 1 and "Traceback" not in busy.stderr

        holder.send_signal(signal.SIGKILL)  # dies holding the lease: nobody releases it
        holder.wait(timeout=60)
        assert lake.lease_state() == "leased"
        t0 = time.monotonic()
        waited = run_cli(lake.cmd("--wait", "120"), **env)
        assert waited.returncode == 0, waited.stderr
        assert "waiting for the silver lease" in waited.stderr
        assert time.monotonic() - t0 < 100
    finally:
        (pause / "batch-cleaned.go").touch()
    same_as(lake.outcome(), clean["all"])
    assert_nothing_left(lake)
    report = json.loads(lake.blobs("report/")["report.json"])
    assert report["mode"] == "full" and report["silver_rows_after"] == clean["all"].silver.rows
