"""Local output: complete or absent, never overwritten, never a stray temporary file."""

import pytest

from emotion_events import generator as gen
from emotion_events.generator import GeneratorParams, write_local
from emotion_events.sinks import TargetExistsError


def test_layout_is_the_bronze_layout(tmp_path):
    from datetime import date
    r = write_local(GeneratorParams(rows=100, seed=1), tmp_path, run_id="run-1", ingest_date=date(2026, 2, 3))
    assert r.csv_path == tmp_path / "events/ingest_date=2026-02-03/run-1.csv"
    assert r.manifest_path == tmp_path / "events/ingest_date=2026-02-03/run-1.manifest.json"
    assert r.manifest["path"] == "events/ingest_date=2026-02-03/run-1.csv"
    assert sorted(p.name for p in r.csv_path.parent.iterdir()) == ["run-1.csv", "run-1.manifest.json"]


def test_an_existing_file_is_never_overwritten(tmp_path):
    first = write_local(GeneratorParams(rows=100, seed=1), tmp_path, run_id="same")
    before = first.csv_path.read_bytes()
    with pytest.raises(TargetExistsError):
        write_local(GeneratorParams(rows=50, seed=2), tmp_path, run_id="same", ingest_date=None)
    assert first.csv_path.read_bytes() == before
    assert [p.name for p in first.csv_path.parent.iterdir() if p.name.endswith(".partial")] == []


def test_a_failure_mid_stream_leaves_nothing(tmp_path, monkeypatch):
    calls = {"n": 0}
    real = gen.EventStream._chunk

    def failing(self, index, lines, dirty):
        calls["n"] += 1
        if index == 2:
            raise RuntimeError("disk on fire")
        return real(self, index, lines, dirty)

    monkeypatch.setattr(gen.EventStream, "_chunk", failing)
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_local(GeneratorParams(rows=5 * gen.CHUNK_ROWS, seed=1), tmp_path, run_id="broken")
    assert calls["n"] == 3
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("run_id", ["../escape", "a/b", "", ".hidden", "x" * 101])
def test_unsafe_run_ids_are_refused(tmp_path, run_id):
    from emotion_events.paths import RunIdError
    with pytest.raises(RunIdError, match="run_id"):
        write_local(GeneratorParams(rows=1, seed=1), tmp_path, run_id=run_id)
    assert list(tmp_path.iterdir()) == []
