"""The Function, called through its decorated handlers with real ``func.HttpRequest`` objects and
real storage (Azurite)."""

import json
import secrets
import threading
import time
from datetime import datetime, timedelta, timezone

import azure.functions as func
from azure.functions.timer import TimerRequest
import pytest

from emotion_events import app_settings as S
from emotion_events import storage, triggers

from .reference import read_bronze


@pytest.fixture(scope="module")
def handlers(function_app_module):
    return {f.get_function_name(): f for f in function_app_module.app.get_functions()}


@pytest.fixture
def bronze(azurite, monkeypatch):
    """Settings as GeneratorFunction sets them, pointing at a fresh container in Azurite."""
    name = f"fn-{secrets.token_hex(6)}"
    container = azurite.service_client().get_container_client(name)
    container.create_container()
    for key in (S.BRONZE_ACCOUNT_URL, S.MANAGED_IDENTITY_CLIENT_ID, S.BATCH_ROWS, S.DIRTY_RATIO, S.MAX_ROWS):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv(S.BRONZE_CONNECTION_STRING, azurite.connection_string)
    monkeypatch.setenv(S.BRONZE_CONTAINER, name)
    yield container
    container.delete_container()


def call(handlers, *, params=None, body=b"", method="POST"):
    req = func.HttpRequest(method=method, url="http://localhost/api/generate", params=params or {}, body=body)
    resp = handlers["generate"].get_user_function()(req)
    assert resp.mimetype == "application/json"
    return resp.status_code, json.loads(resp.get_body())


def blobs(container):
    return sorted(b.name for b in container.list_blobs())


# -- registration ---------------------------------------------------------------------------------------

def test_http_trigger_is_post_generate_with_a_function_key(handlers):
    fn = handlers["generate"]
    trigger = json.loads(fn.get_function_json())["bindings"][0]
    assert trigger["type"] == "httpTrigger" and trigger["route"] == "generate"
    assert trigger["authLevel"] == "FUNCTION" and trigger["methods"] == ["POST"]


def test_timer_reads_its_schedule_from_app_settings_and_retries(handlers):
    fn = handlers["generate_on_schedule"]
    trigger = json.loads(fn.get_function_json())["bindings"][0]
    assert trigger["type"] == "timerTrigger" and trigger["schedule"] == f"%{S.SCHEDULE}%"
    assert trigger["runOnStartup"] is False
    retry = fn.get_settings_dict("retry_policy")
    assert retry["strategy"] == "exponential_backoff" and int(retry["max_retry_count"]) >= 3


# -- HTTP: success --------------------------------------------------------------------------------------

def test_generate_writes_csv_and_manifest_and_answers_where(handlers, bronze, tmp_path, contract):
    status, body = call(handlers, body=json.dumps({"rows": 25_000, "seed": 99, "dirty_ratio": 0.2}).encode())
    assert status == 200, body
    assert body["rows_written"] == 25_000 and body["container"] == bronze.container_name
    assert body["blob_path"].startswith("events/ingest_date=") and body["blob_path"].endswith(f"{body['run_id']}.csv")
    assert blobs(bronze) == sorted([body["blob_path"], body["manifest_path"]])
    manifest = json.loads(bronze.get_blob_client(body["manifest_path"]).download_blob().readall())
    assert manifest == body["manifest"] and manifest["seed"] == 99 and manifest["dirty_ratio"] == 0.2
    path = tmp_path / "got.csv"
    path.write_bytes(bronze.get_blob_client(body["blob_path"]).download_blob().readall())
    reading = read_bronze(path, contract)
    assert len(reading.events) == manifest["expected_valid_distinct_events"]
    assert sum(reading.reasons.values()) == manifest["expected_quarantined_rows"]


def test_query_parameters_work_and_the_function_key_is_ignored(handlers, bronze):
    status, body = call(handlers, params={"rows": "500", "seed": "7", "start": "2026-02-01", "hours": "48",
                                          "code": "function-key-from-query"})
    assert status == 200, body
    params = body["manifest"]["params"]
    assert params["rows"] == 500 and params["start"] == "2026-02-01T00:00:00Z" and params["hours"] == 48


def test_same_seed_and_window_give_the_same_events(handlers, bronze):
    request = json.dumps({"rows": 3000, "seed": 5, "start": "2026-03-02T00:00:00Z"}).encode()
    (s1, a), (s2, b) = call(handlers, body=request), call(handlers, body=request)
    assert s1 == s2 == 200 and a["blob_path"] != b["blob_path"]
    data = [bronze.get_blob_client(x["blob_path"]).download_blob().readall() for x in (a, b)]
    assert data[0] == data[1]


def test_defaults_come_from_app_settings(handlers, bronze, monkeypatch):
    monkeypatch.setenv(S.BATCH_ROWS, "1234")
    monkeypatch.setenv(S.DIRTY_RATIO, "0.1")
    status, body = call(handlers)
    assert status == 200, body
    m = body["manifest"]
    assert m["rows_written"] == 1234 and m["dirty_ratio"] == 0.1
    start = datetime.fromisoformat(m["params"]["start"])
    assert timedelta(hours=24) <= datetime.now(timezone.utc) - start <= timedelta(hours=25)


# -- HTTP: bad input -> 400 naming the parameter, nothing written ----------------------------------------

@pytest.mark.parametrize("params, body, parameter", [
    ({"rows": "abc"}, b"", "rows"),
    ({"rows": "12.5"}, b"", "rows"),
    ({"rows": "0"}, b"", "rows"),
    ({"rows": "-10"}, b"", "rows"),
    ({"rows": "1001"}, b"", "rows"),  # over GENERATOR_MAX_ROWS (set to 1000 below)
    ({}, b'{"rows": 10.5}', "rows"),
    ({}, b'{"rows": true}', "rows"),
    ({}, b'{"rows": "ten"}', "rows"),
    ({"seed": "-1"}, b"", "seed"),
    ({"seed": "x"}, b"", "seed"),
    ({}, b'{"seed": 9223372036854775808}', "seed"),
    ({"dirty_ratio": "2"}, b"", "dirty_ratio"),
    ({"dirty_ratio": "nan"}, b"", "dirty_ratio"),
    ({}, b'{"dirty_ratio": "lots"}', "dirty_ratio"),
    ({"start": "yesterday"}, b"", "start"),
    ({"start": "2026-01-01T10:00:00"}, b"", "start"),  # no offset
    ({"hours": "0"}, b"", "hours"),
    ({"colour": "blue"}, b"", "colour"),
    ({}, b'{"rows": 10, "format": "parquet"}', "format"),
    ({}, b"{not json", "body"),
    ({}, b"[1, 2]", "body"),
    ({}, b"\xff\xfe", "body"),
    ({"rows": "10"}, b'{"rows": 20}', "rows"),  # conflicting query and body
])
def test_bad_input_is_a_400_naming_the_parameter_and_writes_nothing(handlers, bronze, monkeypatch,
                                                                    params, body, parameter):
    monkeypatch.setenv(S.MAX_ROWS, "1000")
    status, answer = call(handlers, params=params, body=body)
    assert status == 400, answer
    error = answer["error"]
    assert error["parameter"] == parameter and error["rule"] and parameter in error["message"]
    assert blobs(bronze) == []


# -- HTTP: configuration and storage failures -> 5xx, nothing written -------------------------------------

def test_missing_storage_settings_is_a_500_naming_the_setting(handlers, monkeypatch):
    monkeypatch.delenv(S.BRONZE_CONNECTION_STRING, raising=False)
    monkeypatch.delenv(S.BRONZE_ACCOUNT_URL, raising=False)
    status, body = call(handlers, params={"rows": "10"})
    assert status == 500 and body["error"]["setting"] == S.BRONZE_CONNECTION_STRING


def test_unresolved_key_vault_reference_is_reported(handlers, monkeypatch):
    monkeypatch.setenv(S.BRONZE_CONNECTION_STRING, "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/x)")
    status, body = call(handlers, params={"rows": "10"})
    assert status == 500 and "Key Vault reference" in body["error"]["message"]


def test_a_bad_app_setting_is_a_500_naming_it(handlers, bronze, monkeypatch):
    monkeypatch.setenv(S.DIRTY_RATIO, "plenty")
    status, body = call(handlers, params={"rows": "10"})
    assert status == 500 and body["error"]["setting"] == S.DIRTY_RATIO
    assert blobs(bronze) == []


def test_unreachable_storage_is_a_503_and_logged(handlers, azurite_factory, monkeypatch, caplog):
    service = azurite_factory(persistent=True)
    service.service_client().get_container_client("bronze").create_container()
    service.stop()
    monkeypatch.setenv(S.BRONZE_CONNECTION_STRING, service.connection_string)
    monkeypatch.setenv(S.BRONZE_CONTAINER, "bronze")
    status, body = call(handlers, params={"rows": "2000"})
    assert status == 503 and "nothing was committed" in body["error"]["message"]
    assert any(r.levelname == "ERROR" and "bronze storage" in r.getMessage() for r in caplog.records)
    service.start()
    assert blobs(service.service_client().get_container_client("bronze")) == []


def test_storage_failing_mid_write_is_a_503_and_commits_nothing(handlers, azurite_factory, monkeypatch):
    service = azurite_factory(persistent=True)
    container = service.service_client().get_container_client("bronze")
    container.create_container()
    monkeypatch.setenv(S.BRONZE_CONNECTION_STRING, service.connection_string)
    monkeypatch.setenv(S.BRONZE_CONTAINER, "bronze")
    monkeypatch.setenv(S.MAX_ROWS, "5000000")
    stopped = threading.Event()

    def stop_once_blocks_are_staged():  # watches the service like any other client would
        watcher = service.service_client().get_container_client("bronze")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not stopped.is_set():
            if any(True for _ in watcher.list_blobs(include=["uncommittedblobs"])):
                service.stop()
                stopped.set()
                return
            time.sleep(0.02)

    watcher = threading.Thread(target=stop_once_blocks_are_staged)
    watcher.start()
    status, body = call(handlers, params={"rows": "800000"})
    watcher.join()
    assert stopped.is_set(), "the upload finished before the watcher saw staged blocks"
    assert status == 503 and "nothing was committed" in body["error"]["message"]
    service.start()
    container = service.service_client().get_container_client("bronze")
    assert blobs(container) == []  # nothing committed: no CSV, no manifest
    assert len(list(container.list_blobs(include=["uncommittedblobs"]))) == 1  # only staged blocks


# -- timer ----------------------------------------------------------------------------------------------

def test_timer_writes_one_batch_of_the_previous_hour(handlers, bronze, monkeypatch):
    monkeypatch.setenv(S.BATCH_ROWS, "2500")
    handlers["generate_on_schedule"].get_user_function()(TimerRequest(past_due=True))
    names = blobs(bronze)
    assert len(names) == 2 and names[0].endswith(".csv")
    manifest = json.loads(bronze.get_blob_client(names[1]).download_blob().readall())
    assert manifest["rows_written"] == 2500 and manifest["params"]["hours"] == 1
    start = datetime.fromisoformat(manifest["params"]["start"])
    now = datetime.now(timezone.utc)
    assert start == now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1) or now.minute == 0


def test_timer_failure_raises_so_the_retry_policy_runs(handlers, monkeypatch):
    monkeypatch.setenv(S.BRONZE_CONNECTION_STRING, "")
    monkeypatch.delenv(S.BRONZE_ACCOUNT_URL, raising=False)
    with pytest.raises(storage.StorageConfigError):
        handlers["generate_on_schedule"].get_user_function()(TimerRequest())


def test_timer_seed_repeats_within_a_minute_only():
    at = datetime(2026, 5, 1, 10, 7, 3, tzinfo=timezone.utc)
    same = triggers.timer_params({}, at + timedelta(seconds=40))
    assert triggers.timer_params({}, at).seed == same.seed
    assert triggers.timer_params({}, at + timedelta(minutes=1)).seed != same.seed
    assert same.start == datetime(2026, 5, 1, 9, tzinfo=timezone.utc) and same.hours == 1


# -- keyless mode ---------------------------------------------------------------------------------------

def test_keyless_mode_uses_the_account_url_and_a_managed_identity():
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    url = "https://stbronze.blob.core.windows.net"
    client = storage.blob_service_client({S.BRONZE_ACCOUNT_URL: url, S.MANAGED_IDENTITY_CLIENT_ID: "00000000-0000-0000-0000-000000000001"})
    assert client.url.rstrip("/") == url and isinstance(client.credential, ManagedIdentityCredential)
    client = storage.blob_service_client({S.BRONZE_ACCOUNT_URL: url})
    assert isinstance(client.credential, DefaultAzureCredential)
    with pytest.raises(storage.StorageConfigError) as err:
        storage.blob_service_client({S.BRONZE_ACCOUNT_URL: "ftp://nope"})
    assert err.value.setting == S.BRONZE_ACCOUNT_URL


def test_connection_string_wins_over_the_account_url(azurite):
    client = storage.blob_service_client({S.BRONZE_CONNECTION_STRING: azurite.connection_string,
                                          S.BRONZE_ACCOUNT_URL: "https://other.blob.core.windows.net"})
    assert client.account_name == azurite.account_name and str(azurite.port) in client.url


def test_bad_container_name_is_rejected():
    with pytest.raises(storage.StorageConfigError) as err:
        storage.container_name({S.BRONZE_CONTAINER: "Bronze_Layer"})
    assert err.value.setting == S.BRONZE_CONTAINER


def test_the_http_trigger_writes_with_a_container_sas_connection_string(handlers, azurite, monkeypatch):
    """Connection-string mode as the stack configures it: the secret holds a create+write container SAS
    (tests/generator/test_sas_storage.py covers what it may not do)."""
    from .provider_sas import connection_string, container_sas

    name = f"fn-sas-{secrets.token_hex(6)}"
    admin = azurite.service_client().get_container_client(name)
    admin.create_container()
    now = datetime.now(timezone.utc).replace(microsecond=0)
    sas = container_sas(account_name=azurite.account_name, account_key=azurite.account_key, container=name, permissions="cw",
                        start=(now - timedelta(minutes=15)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        expiry=(now + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ"), https_only=False)
    for key in (S.BRONZE_ACCOUNT_URL, S.MANAGED_IDENTITY_CLIENT_ID, S.BATCH_ROWS, S.DIRTY_RATIO, S.MAX_ROWS):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv(S.BRONZE_CONNECTION_STRING, connection_string(azurite.blob_endpoint + "/", sas))
    monkeypatch.setenv(S.BRONZE_CONTAINER, name)
    try:
        status, body = call(handlers, body=json.dumps({"rows": 1000, "seed": 3}).encode())
        assert status == 200, body
        assert blobs(admin) == sorted([body["blob_path"], body["manifest_path"]])
    finally:
        admin.delete_container()
