"""scripts/smoke_test.py against the real generator Function and a real Azurite.

A local HTTP server plays the Functions host: it enforces the function key like auth level FUNCTION
does, builds a real ``func.HttpRequest`` and calls the decorated ``generate`` from
function_app/function_app.py, which writes to Azurite. The smoke test lists Azurite with the
azure-storage-blob SDK where the pipeline uses the az CLI; everything else is the script's own code.
"""

from __future__ import annotations

import http.server
import importlib.util
import json
import os
import secrets
import sys
import threading
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import azure.functions as func
import pytest

from emotion_events import app_settings as S
from tests.pipeline.pipeline_model import REPO_ROOT

_spec = importlib.util.spec_from_file_location("smoke_test", REPO_ROOT / "scripts" / "smoke_test.py")
smoke = importlib.util.module_from_spec(_spec)
sys.modules["smoke_test"] = smoke
_spec.loader.exec_module(smoke)


@pytest.fixture(scope="module")
def generate_handler():
    """The user function behind ``generate``, loaded the way the Functions host loads the app."""
    spec = importlib.util.spec_from_file_location("smoke_function_app", REPO_ROOT / "function_app" / "function_app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (fn,) = [f for f in module.app.get_functions() if f.get_function_name() == "generate"]
    return fn.get_user_function()


@dataclass
class Host:
    """What the local Functions host stand-in saw and how it should misbehave."""

    key: str
    handler: object
    url: str = ""
    fail_first: int = 0  # answer 503 this many times first (a cold start)
    skip_function: bool = False  # answer 200 with a made-up body and write nothing
    requests: list[dict] = field(default_factory=list)


def serve(host: Host):
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output clean
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            url = urllib.parse.urlsplit(self.path)
            host.requests.append({"path": url.path, "body": body, "key_ok": self.headers.get("x-functions-key") == host.key})
            if url.path != "/api/generate":
                return self._reply(404, {"error": "no such function"})
            if self.headers.get("x-functions-key") != host.key:
                return self._reply(401, {"error": "unauthorized"})
            if host.fail_first > 0:
                host.fail_first -= 1
                return self._reply(503, {"error": "host starting"})
            if host.skip_function:
                return self._reply(200, {"blob_path": "events/ingest_date=2026-01-01/never-written.csv"})
            req = func.HttpRequest(
                method="POST", url=f"http://localhost{self.path}", headers=dict(self.headers),
                params=dict(urllib.parse.parse_qsl(url.query)), body=body,
            )
            resp = host.handler(req)
            self.send_response(resp.status_code)
            self.send_header("Content-Type", resp.mimetype or "application/json")
            self.end_headers()
            self.wfile.write(resp.get_body())

        def _reply(self, status: int, doc: dict):
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps(doc).encode())

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@dataclass
class LocalPlatform:
    """The smoke test's view of Azure, pointed at the local host stand-in and Azurite."""

    url: str
    key: str
    container: object

    def function_url(self) -> str:
        return f"{self.url}/api/generate"

    def function_key(self) -> str:
        return self.key

    def list_blobs(self, prefix: str) -> set[str]:
        return set(self.container.list_blob_names(name_starts_with=prefix))


class FastClock(smoke.Clock):
    """Real time for the clock, but sleeps are recorded and shortened (retry waits of 30 s)."""

    def __init__(self) -> None:
        import time

        self.slept: list[float] = []
        super().__init__(monotonic=time.monotonic, sleep=lambda s: (self.slept.append(s), time.sleep(min(s, 0.05))))


@pytest.fixture
def bronze(azurite, monkeypatch):
    from azure.storage.blob import BlobServiceClient

    name = f"bronze{secrets.token_hex(4)}"
    container = BlobServiceClient.from_connection_string(azurite.connection_string).get_container_client(name)
    container.create_container()
    # The app settings GeneratorFunction sets in Azure, pointing at Azurite.
    monkeypatch.setenv(S.BRONZE_CONNECTION_STRING, azurite.connection_string)
    monkeypatch.setenv(S.BRONZE_CONTAINER, name)
    monkeypatch.delenv(S.BRONZE_ACCOUNT_URL, raising=False)
    yield container
    container.delete_container()


@pytest.fixture
def host(generate_handler):
    h = Host(key=secrets.token_urlsafe(24), handler=generate_handler)
    server = serve(h)
    h.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield h
    server.shutdown()
    server.server_close()


def test_smoke_passes_when_the_function_writes_a_new_bronze_blob(host, bronze) -> None:
    bronze.upload_blob("events/ingest_date=2026-01-01/older.csv", b"id\n")  # history is not "new"
    result = smoke.run_smoke(LocalPlatform(host.url, host.key, bronze), rows=50, seed=7, clock=FastClock(), log=lambda m: None)
    assert result.attempts == 1
    assert result.response["rows_written"] > 0
    csv, manifest = result.response["blob_path"], result.response["manifest_path"]
    assert set(result.new_blobs) == {csv, manifest}
    assert all(b.startswith("events/") for b in result.new_blobs)
    assert json.loads(host.requests[0]["body"]) == {"rows": 50, "seed": 7}
    assert host.requests[0]["key_ok"]


def test_smoke_retries_while_the_host_warms_up(host, bronze) -> None:
    host.fail_first = 2
    clock = FastClock()
    result = smoke.run_smoke(LocalPlatform(host.url, host.key, bronze), rows=10, seed=1, clock=clock,
                             call_wait_s=30, log=lambda m: None)
    assert result.attempts == 3
    assert clock.slept[:2] == [30, 30]
    assert len(result.new_blobs) == 2


def test_smoke_fails_when_the_function_answers_but_writes_nothing(host, bronze) -> None:
    host.skip_function = True
    with pytest.raises(smoke.SmokeFailure, match="no new blob appeared under events/ within 1 s"):
        smoke.run_smoke(LocalPlatform(host.url, host.key, bronze), rows=10, seed=1, clock=FastClock(),
                        blob_timeout_s=1, poll_s=0.2, log=lambda m: None)


def test_smoke_fails_at_once_on_a_rejected_key_and_never_prints_it(host, bronze, capsys) -> None:
    wrong = secrets.token_urlsafe(24)
    logged: list[str] = []
    with pytest.raises(smoke.SmokeFailure, match="refused the smoke request: HTTP 401") as err:
        smoke.run_smoke(LocalPlatform(host.url, wrong, bronze), rows=10, seed=1, clock=FastClock(), log=logged.append)
    assert len(host.requests) == 1  # a 401 is final: no retry storm
    everything = str(err.value) + "".join(logged) + "".join(capsys.readouterr())
    assert wrong not in everything and host.key not in everything


def test_smoke_fails_on_a_request_the_function_rejects(host, bronze) -> None:
    with pytest.raises(smoke.SmokeFailure, match="HTTP 400"):
        smoke.run_smoke(LocalPlatform(host.url, host.key, bronze), rows=10**9, seed=1, clock=FastClock(), log=lambda m: None)
    assert list(bronze.list_blob_names()) == []


def test_named_blobs_finds_paths_in_names_and_urls() -> None:
    answer = {"blob_path": "events/a.csv", "manifest": {"url": "https://x.blob.core.windows.net/bronze/events/a.manifest.json?sig=1"},
              "other": ["nothing", 3]}
    assert smoke.named_blobs(answer, "events/") == {"events/a.csv", "events/a.manifest.json"}


# --- outputs and the command line -----------------------------------------------------------------

OUTPUTS = {
    "function_app_name": {"sensitive": False, "type": "string", "value": "func-x"},
    "function_app_url": {"sensitive": False, "type": "string", "value": "https://func-x.azurewebsites.net"},
    "resource_group_name": {"sensitive": False, "type": "string", "value": "rg-x"},
    "storage_account_name": {"sensitive": False, "type": "string", "value": "stx"},
    "bronze_container_name": {"sensitive": False, "type": "string", "value": "bronze"},
    "application_insights_connection_string": {"sensitive": True, "type": "string", "value": "InstrumentationKey=abc"},
}


def fake_terraform(tmp_path: Path, outputs: dict) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "outputs.json").write_text(json.dumps(outputs))
    (bin_dir / "terraform").write_text(f'#!/bin/sh\ncat "{tmp_path / "outputs.json"}"\n')
    (bin_dir / "terraform").chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}


def test_outputs_drop_sensitive_values_and_build_the_platform(tmp_path: Path, monkeypatch) -> None:
    env = fake_terraform(tmp_path, OUTPUTS)
    monkeypatch.setenv("PATH", env["PATH"])
    outputs = smoke.public_outputs(tmp_path)
    assert "application_insights_connection_string" not in outputs
    platform = smoke.platform_from_outputs(outputs)
    assert platform.function_url() == "https://func-x.azurewebsites.net/api/generate"
    assert (platform.resource_group, platform.function_app, platform.storage_account, platform.container) == (
        "rg-x", "func-x", "stx", "bronze")


def test_missing_outputs_are_named(tmp_path: Path) -> None:
    outputs = {k: v["value"] for k, v in OUTPUTS.items() if k != "bronze_container_name"}
    with pytest.raises(smoke.SmokeFailure, match=r"stack outputs \['bronze_container_name'\] are missing"):
        smoke.platform_from_outputs(outputs)


def test_the_stack_outputs_the_smoke_test_reads_exist(synthesized: dict) -> None:
    for name, doc in synthesized.items():
        outputs = doc.get("output", {})
        for wanted in smoke.OUTPUTS.values():
            assert wanted in outputs, f"{name} has no output {wanted}"
            assert not outputs[wanted].get("sensitive"), f"{name}: {wanted} must not be sensitive"


def test_command_line_rejects_a_bad_row_count(tmp_path: Path) -> None:
    import subprocess

    proc = subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "smoke_test.py"), "--stack-dir", str(tmp_path), "--rows", "0"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "--rows must be >= 1, got 0" in proc.stderr
