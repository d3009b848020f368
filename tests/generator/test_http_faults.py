"""The HTTP trigger under faults and hostile input, on real Azurite: storage that stops (or is raced)
between the manifest and the CSV commit never leaves a CSV without its manifest, the answer says
exactly what was committed, and silver ingests nothing of the failed batch; every input ends in a
JSON answer, 4xx naming the parameter."""

from __future__ import annotations

import json
import secrets

import azure.functions as func
import pytest

from emotion_events import app_settings as S
from emotion_events import sinks, triggers
from emotion_platform.silver.runner import run_silver


def request(*, body: bytes = b"", url: str = "http://localhost/api/generate", params=None) -> func.HttpRequest:
    return func.HttpRequest(method="POST", url=url, params=params or {}, body=body)


def answer(resp: func.HttpResponse) -> tuple[int, dict]:
    assert resp.mimetype == "application/json"
    return resp.status_code, json.loads(resp.get_body())


def settings_for(service, container: str) -> dict[str, str]:
    return {S.BRONZE_CONNECTION_STRING: service.connection_string, S.BRONZE_CONTAINER: container,
            S.BATCH_ROWS: "2000"}


def names(container, **kw) -> list[str]:
    return sorted(b.name for b in container.list_blobs(**kw))


def test_storage_stopped_between_the_manifest_and_the_csv(azurite_factory, monkeypatch, tmp_path) -> None:
    service = azurite_factory(persistent=True)
    name = f"bronze-{secrets.token_hex(4)}"
    container = service.service_client().get_container_client(name)
    container.create_container()
    settings = settings_for(service, name)
    status, good = answer(triggers.handle_http(request(body=b'{"rows": 2000, "seed": 7}'), settings))
    assert status == 200  # a batch committed before the fault, with its manifest

    real_put = sinks.BlobTarget.put_new

    def put_then_stop(self, path, data, content_type="application/json"):
        real_put(self, path, data, content_type)
        service.stop()  # storage dies right after the manifest, before the CSV's commit

    monkeypatch.setattr(sinks.BlobTarget, "put_new", put_then_stop)
    status, body = answer(triggers.handle_http(request(body=b'{"rows": 3000, "seed": 8}'), settings))
    monkeypatch.undo()
    assert status == 503
    committed = body["error"]["committed"]
    (csv_path,) = [p for p in committed if p.endswith(".csv")]
    (manifest_path,) = [p for p in committed if p.endswith(".manifest.json")]
    # The manifest landed; the CSV's commit could not be confirmed either way while storage was down.
    assert committed == {csv_path: None, manifest_path: True}
    message = body["error"]["message"]
    assert f"committed anyway: {manifest_path}" in message and f"unknown whether committed" in message

    service.start()
    container = service.service_client().get_container_client(name)
    assert csv_path not in names(container) and manifest_path in names(container)
    assert csv_path in names(container, include=["uncommittedblobs"])  # staged blocks only, invisible
    every_csv = [n for n in names(container) if n.endswith(".csv")]
    assert every_csv == [good["blob_path"]]
    assert all(n.removesuffix(".csv") + ".manifest.json" in names(container) for n in every_csv)

    # Silver reads the committed batch and nothing of the failed one.
    outcome = run_silver(f"az://{name}", str(tmp_path / "silver"), quarantine=str(tmp_path / "quarantine"),
                         connection_string=service.connection_string, threads=1, memory_limit="256MB")
    assert outcome.bronze_files == [good["blob_path"]]
    assert outcome.silver_rows_after == good["manifest"]["expected_valid_distinct_events"]


def test_a_csv_raced_in_after_the_manifest_is_not_ours_and_our_manifest_is_withdrawn(azurite, monkeypatch) -> None:
    name = f"bronze-{secrets.token_hex(4)}"
    container = azurite.service_client().get_container_client(name)
    container.create_container()
    real_put = sinks.BlobTarget.put_new

    def put_then_race(self, path, data, content_type="application/json"):
        real_put(self, path, data, content_type)
        container.upload_blob(path.removesuffix(".manifest.json") + ".csv", b"someone else's file", overwrite=True)

    monkeypatch.setattr(sinks.BlobTarget, "put_new", put_then_race)
    status, body = answer(triggers.handle_http(request(body=b'{"rows": 1000}'), settings_for(azurite, name)))
    assert status == 409
    committed = body["error"]["committed"]
    assert set(committed.values()) == {False}, committed
    assert "nothing was committed" in body["error"]["message"]
    (csv_path,) = [p for p in committed if p.endswith(".csv")]
    assert names(container) == [csv_path]  # the other writer's CSV untouched, no manifest of ours
    assert container.download_blob(csv_path).readall() == b"someone else's file"


def test_a_successful_csv_carries_its_run_id_and_follows_its_manifest(azurite) -> None:
    name = f"bronze-{secrets.token_hex(4)}"
    container = azurite.service_client().get_container_client(name)
    container.create_container()
    status, body = answer(triggers.handle_http(request(body=b'{"rows": 500}'), settings_for(azurite, name)))
    assert status == 200
    csv = container.get_blob_client(body["blob_path"]).get_blob_properties()
    manifest = container.get_blob_client(body["manifest_path"]).get_blob_properties()
    assert csv.metadata[sinks.RUN_ID_METADATA] == body["run_id"]
    assert manifest.last_modified <= csv.last_modified  # the manifest first, then the CSV


# -- hostile input ----------------------------------------------------------------------------------------

DEEP = b'{"rows": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


@pytest.mark.parametrize("body, url, parameter, rule", [
    (b'{"rows": 1' + b"0" * 5000 + b"}", None, "rows", "must be an integer from 1 to"),
    (b'{"seed": -' + b"9" * 5000 + b"}", None, "seed", "must be an integer from 0 to"),
    (b'{"dirty_ratio": ' + b"9" * 5000 + b"}", None, "dirty_ratio", "must be a number from 0 to"),
    (DEEP, None, "body", "nests too deeply"),
    (b"[" * 100_000, None, "body", "nests too deeply"),
    (b"[" * 500 + b"]" * 500, None, "body", "must be a JSON object"),
    (b'{"rows": [[[[1]]]]}', None, "rows", "must be a number or a string, not a JSON array"),
    (b'{"rows": {"n": 1}}', None, "rows", "not a JSON object"),
    (b'{"rows": 10, "rows": 20}', None, "rows", "is given more than once in the body"),
    (b'{"rows": 10, "rows": 10}', None, "rows", "is given more than once in the body"),
    (b"", "http://localhost/api/generate?rows=10&rows=20", "rows", "is given more than once in the query"),
    (b'{"start": "9999-12-31T23:00:00-05:00", "hours": 8784}', None, "start", "years 2002 to 2100"),
    (b'{"start": "0001-01-01T00:00:00+14:00"}', None, "start", "years 2002 to 2100"),
    (b'{"start": "2100-12-31T23:59:59-23:59"}', None, "start", "years 2002 to 2100"),
    (b'{"start": "2026-01-05", "hours": 1' + b"0" * 400 + b"}", None, "hours", "must be an integer from 1 to"),
    (b'{"rows": 1e999}', None, "rows", "must be an integer"),
    (b'{"dirty_ratio": NaN}', None, "dirty_ratio", "must be a number from 0 to"),
    (b"\xff\xfe{}", None, "body", "must be a JSON object"),
])
def test_hostile_input_gets_a_400_naming_the_parameter(azurite, body, url, parameter, rule) -> None:
    name = f"bronze-{secrets.token_hex(4)}"
    azurite.service_client().create_container(name)
    req = request(body=body, url=url or "http://localhost/api/generate")
    status, answer_body = answer(triggers.handle_http(req, settings_for(azurite, name)))
    assert status == 400, answer_body
    error = answer_body["error"]
    assert error["parameter"] == parameter and rule in error["rule"], error
    assert len(json.dumps(error)) < 1000, "values are shortened in the answer"
    assert names(azurite.service_client().get_container_client(name)) == [], "nothing is written"


def test_an_unexpected_failure_still_answers_json(monkeypatch) -> None:
    def explode(*_a, **_k):
        raise RecursionError("somewhere deep")

    monkeypatch.setattr(triggers, "parse_request", explode)
    status, body = answer(triggers.handle_http(request(body=b"{}"), {S.BRONZE_CONNECTION_STRING: "x"}))
    assert status == 500 and "internal error" in body["error"]["message"]
