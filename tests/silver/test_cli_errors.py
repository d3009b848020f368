"""Every error of ``python -m emotion_platform silver`` ends in one line and the documented exit status,
and docs/silver.md's tables (options, exit statuses) stay complete and true to the code."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from emotion_platform.cli import EXIT_CODES, _parser, main
from emotion_platform.silver.runner import STATE_FILE

from .conftest import bronze_line, write_bronze
from .faultkit import Outcome

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "silver.md").read_text(encoding="utf-8")


def test_the_exit_status_table_is_the_code() -> None:
    block = DOC.split("<!-- exit-codes: emotion_platform.cli.EXIT_CODES -->", 1)[1].split("\n\n", 1)[0]
    rows = [line.split(" | ") for line in block.strip().splitlines()[2:]]
    assert {int(r[0].strip("| ")): r[1].strip() for r in rows} == EXIT_CODES


def test_the_options_table_lists_every_option() -> None:
    silver = _parser()._subparsers._group_actions[0].choices["silver"]
    options = {o for a in silver._actions for o in a.option_strings if o.startswith("--") and o != "--help"}
    documented = set(re.findall(r"^\| `(--[a-z-]+)", DOC, re.MULTILINE)) | set(
        re.findall(r"^\| `--json` / `(--quiet)`", DOC, re.MULTILINE))
    assert options == documented


@pytest.fixture
def lake(tmp_path):
    """A bronze folder with one valid file and a silver built from it."""
    write_bronze(tmp_path / "bronze", [bronze_line()])
    assert run(tmp_path) == 0
    return tmp_path


def run(root: Path, *extra: str, **paths: str) -> int:
    args = {"bronze": str(root / "bronze"), "silver": str(root / "silver"), "work-dir": str(root / "work")} | paths
    return main(["silver", *[x for k, v in args.items() for x in (f"--{k}", v)], "--quiet", "--threads", "1",
                 *extra])


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


def a_file(root: Path, name: str) -> str:
    (root / name).write_text("not a folder")
    return str(root / name)


@pytest.mark.parametrize("option, make, message", [
    ("silver", lambda r: a_file(r, "f"), "is a file, not a folder"),
    ("silver", lambda r: a_file(r, "f") + "/below", "is a file, not a folder"),
    ("quarantine", lambda r: a_file(r, "f"), "is a file, not a folder"),
    ("report", lambda r: a_file(r, "f"), "is a file, not a folder"),
    ("work-dir", lambda r: a_file(r, "f"), "is a file, not a folder"),
    ("bronze", lambda r: str(r / "bronz"), "no such folder"),
    ("contract", lambda r: a_file(r, "contract.txt"), "is not JSON"),
    ("contract", lambda r: str(r / "missing.json"), "cannot read it"),
    ("contract", lambda r: (r / "c.json").write_text("[1, 2]") and str(r / "c.json"), "a contract is a JSON object"),
    ("contract", lambda r: (r / "c.json").write_bytes(b"\xff\xfe{") and str(r / "c.json"), "is not UTF-8"),
    ("contract", lambda r: (r / "c.json").write_text("{}") and str(r / "c.json"), "--contract"),
])
def test_bad_locations_and_contracts_exit_2_with_one_message(lake, capsys, option, make, message) -> None:
    before = Outcome.of(lake)
    capsys.readouterr()
    value = make(lake)
    assert run(lake, **{option: value}) == 2
    err = one_error_line(capsys)
    assert message in err and f"--{option}" in err, err
    assert Outcome.of(lake) == before


@pytest.mark.parametrize("state, message", [
    (b"{not json", "is not valid JSON"),
    (b"[]", "a JSON list, not an object"),
    (b"42", "a JSON int, not an object"),
    (b'{"version": 1, "contract_sha256": "x", "bronze": {"a.csv": {"fingerprint": "f"}}}', "has no integer 'size'"),
    (b'{"version": 1, "contract_sha256": "x", "bronze": []}', "'bronze' is a list"),
    (b'{"version": 1, "contract_sha256": 7}', "'contract_sha256' is not a string"),
    (b'{"version": 1, "contract_sha256": "x", "silver_rows": "many"}', "'silver_rows' is 'many'"),
    (b"[" * 100_000, "is not valid JSON"),
])
def test_a_bad_state_file_exits_1_and_full_recovers(lake, capsys, state, message) -> None:
    before = Outcome.of(lake)
    (lake / "silver" / STATE_FILE).write_bytes(state)
    capsys.readouterr()
    assert run(lake) == 1
    err = one_error_line(capsys)
    assert message in err and "run with --full" in err, err
    assert run(lake, "--full") == 0  # as the message says
    assert Outcome.of(lake) == before  # silver and a valid state rebuilt from bronze
    assert run(lake) == 0 and json.loads((lake / "silver" / STATE_FILE).read_text())["version"] == 1


def test_unreachable_storage_exits_1_with_one_message(tmp_path, capsys, monkeypatch) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING",
                       "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
                       f"BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;")
    write_bronze(tmp_path / "bronze", [bronze_line()])
    assert run(tmp_path, silver="az://silver") == 1
    err = one_error_line(capsys)
    assert err.startswith("error: storage: ") and "Traceback" not in err


def test_wait_takes_a_number_of_seconds(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        run(tmp_path, "--wait", "-1")
    assert exc.value.code == 2 and "'-1' must be a number of seconds >= 0" in capsys.readouterr().err


def test_errors_print_no_traceback_from_a_real_process(lake) -> None:
    (lake / "silver" / STATE_FILE).write_text("42")
    proc = subprocess.run([sys.executable, "-m", "emotion_platform", "silver", "--bronze", str(lake / "bronze"),
                           "--silver", str(lake / "silver"), "--quiet"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
