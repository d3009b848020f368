"""Command line: ``python -m emotion_platform <command>``.

- ``silver``: clean bronze CSV files into silver Parquet with DuckDB (local folders or blob containers);
- ``dataflow-script``: print the Data Flow Script the Data Factory pipeline runs, generated from the
  same contract;
- ``silver-rules``: print the contract's cleaning rules as Markdown (the block in docs/silver.md).

Arguments are validated here, once; errors name the argument, the value and the rule. Every error
ends in one line on stderr and the exit status of :data:`EXIT_CODES` (the table in docs/silver.md).
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import re
import sys
import threading
import time
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BUSY, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EXIT_CODES = {  # docs/silver.md has this table, with examples (tests/silver/test_cli_errors.py)
    EXIT_OK: "done (also when silver was already up to date)",
    EXIT_FAILED: "the run could not complete; the previous silver is left as it was",
    EXIT_USAGE: "bad arguments, contract or location",
    EXIT_BUSY: "another run holds the silver lock",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
}

_MEMORY = re.compile(r"^\s*\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)


def memory_limit(value: str) -> str:
    if not _MEMORY.match(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a memory size such as 512MB or 1GB")
    return value.strip().replace(" ", "")


def positive_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an integer") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"{value!r} must be at least 1")
    return n


def wait_seconds(value: str) -> float:
    try:
        n = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not n >= 0:  # also rejects NaN
        raise argparse.ArgumentTypeError(f"{value!r} must be a number of seconds >= 0")
    return n


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m emotion_platform", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser(
        "silver",
        help="clean bronze CSV into silver Parquet (DuckDB)",
        description="Clean bronze CSV files into partitioned silver Parquet, a quarantine and "
        "a data-quality report. Locations are folders or az://container/prefix "
        "(connection string from --connection-string or AZURE_STORAGE_CONNECTION_STRING).",
    )
    s.add_argument("--bronze", required=True, help="bronze folder or az://container/prefix (all *.csv below it)")
    s.add_argument("--silver", required=True, help="silver folder or az://container/prefix")
    s.add_argument("--quarantine", help="quarantine location (default: next to silver, named 'quarantine')")
    s.add_argument("--report", help="report location (default: next to silver, named 'report')")
    s.add_argument("--memory-limit", type=memory_limit, default="1GB", help="DuckDB memory_limit (default 1GB)")
    s.add_argument("--threads", type=positive_int, help="DuckDB threads (default: all cores)")
    s.add_argument("--full", action="store_true", help="recompute silver from all bronze instead of merging new files")
    s.add_argument(
        "--sorted",
        action="store_true",
        help="order rows by partition and key (byte-identical files on a full recompute; costs a full sort)",
    )
    s.add_argument("--contract", type=Path, help="a contract JSON file (default: the packaged contract)")
    s.add_argument(
        "--connection-string",
        help="storage connection string for az:// locations "
        "(prefer the AZURE_STORAGE_CONNECTION_STRING environment variable: flags show in process lists)",
    )
    s.add_argument(
        "--work-dir",
        help="where to stage downloads, spill and the report (default: the system temp "
        "folder); work folders of killed runs found there are removed",
    )
    s.add_argument(
        "--wait",
        nargs="?",
        type=wait_seconds,
        const=float("inf"),
        metavar="SECONDS",
        help="when another run holds the silver lock, wait for it (up to SECONDS; without a value, "
        "as long as it takes) instead of exiting with status 3",
    )
    s.add_argument(
        "--engine",
        choices=("duckdb", "spark"),
        default="duckdb",
        help="duckdb (default): the SQL rendered from the contract; spark: the deployed Data Flow Script "
        "(from --data-flow) run on Spark",
    )
    s.add_argument(
        "--data-flow",
        type=Path,
        metavar="CDK_TF_JSON",
        help="with --engine spark: the synthesized cdk.tf.json whose data flow runs "
        "(default: cdktf.out/stacks/*-dev/cdk.tf.json)",
    )
    s.add_argument(
        "--master",
        dest="spark_master",
        metavar="URL",
        help="with --engine spark: the Spark master (default $SPARK_MASTER or local[2])",
    )
    s.add_argument("--json", action="store_true", help="print the report as JSON")
    s.add_argument("--quiet", action="store_true", help="no progress lines on stderr")

    d = sub.add_parser("dataflow-script", help="print the Data Flow Script generated from the contract")
    d.add_argument("--contract", type=Path, help="a contract JSON file (default: the packaged contract)")

    r = sub.add_parser("silver-rules", help="print the contract's cleaning rules as Markdown (docs/silver.md)")
    r.add_argument("--contract", type=Path, help="a contract JSON file (default: the packaged contract)")
    return p


def _contract(path: Path | None):
    """The contract of ``--contract FILE``; an unreadable or non-JSON file is a ContractError (exit 2)."""
    from emotion_events.contract import ContractError, parse_contract

    if path is None:
        return None
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise ContractError(f"--contract {path}: cannot read it ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ContractError(f"--contract {path}: is not UTF-8 text (a contract is a JSON file)") from None
    except (ValueError, RecursionError) as exc:
        raise ContractError(f"--contract {path}: is not JSON ({str(exc)[:200]})") from None
    if not isinstance(data, dict):
        raise ContractError(f"--contract {path}: is a JSON {type(data).__name__}, a contract is a JSON object")
    try:
        return parse_contract(data)
    except ContractError as exc:
        raise ContractError(f"--contract {path}: {exc}") from None
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise ContractError(f"--contract {path}: is not a silver contract ({type(exc).__name__}: {exc})") from None


def _cmd_silver(args: argparse.Namespace) -> int:
    from .silver.runner import run_silver
    from .silver.storage import sibling_uri

    t0 = time.perf_counter()
    # The chart library takes ~0.5 s to import: load it while the engine works, not after.
    threading.Thread(target=_load_chart_library, name="chart-import", daemon=True).start()

    def say(msg: str) -> None:
        if not args.quiet:
            print(f"[{time.perf_counter() - t0:7.1f}s] {msg}", file=sys.stderr, flush=True)

    contract = _contract(args.contract)
    report_uri = args.report or sibling_uri(args.silver, "report")
    engine = None
    if args.engine == "spark":
        from .silver.engines import SparkEngine, default_data_flow

        engine = SparkEngine(args.data_flow or default_data_flow(), master=args.spark_master)
    elif args.data_flow or args.spark_master:
        from .silver.engines import EngineError

        raise EngineError("--data-flow and --master apply to --engine spark only")
    outcome = run_silver(
        args.bronze,
        args.silver,
        quarantine=args.quarantine,
        report=report_uri,
        full=args.full,
        contract=contract,
        memory_limit=args.memory_limit,
        threads=args.threads,
        connection_string=args.connection_string,
        work_dir=args.work_dir,
        sort_output=args.sorted,
        wait=args.wait,
        progress=say,
        engine=engine,
    )
    report = outcome.report
    if report is None:  # run() always writes a report here (report_uri is never empty)
        raise RuntimeError("the silver run returned no report")
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        q = ", ".join(f"{k} {v}" for k, v in report["quarantined_by_reason"].items() if v) or "none"
        print(
            f"{report['mode']}: {report['rows_in']:,} rows in, {report['quarantined_rows']:,} quarantined ({q}), "
            f"{report['duplicates_removed']:,} duplicates removed; silver {report['silver_rows_before']:,} -> "
            f"{report['silver_rows_after']:,} rows\nsilver: {outcome.silver_uri}\nquarantine: "
            f"{outcome.quarantine_uri}\nreport: {outcome.report_uri}/report.md"
        )
    return 0


def _load_chart_library() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401


def _cmd_dataflow_script(args: argparse.Namespace) -> int:
    from .dataflow.script import generate_script

    print(generate_script(_contract(args.contract)).text)
    return 0


def _cmd_silver_rules(args: argparse.Namespace) -> int:
    from .silver.rules_doc import render

    print(render(_contract(args.contract)), end="")
    return 0


def _failure_message(exc: BaseException) -> tuple[int, str] | None:
    """(exit status, one-line message) for the errors a run can meet; None for a bug."""
    import duckdb
    from azure.core.exceptions import AzureError
    from emotion_events.contract import ContractError

    from .silver.engine import BronzeError
    from .silver.engines import EngineError
    from .silver.faults import FaultSpecError
    from .silver.lock import LockLostError, SilverBusyError
    from .silver.runner import SilverRunError
    from .silver.storage import LocationError

    if isinstance(exc, (ContractError, LocationError, FaultSpecError, EngineError)):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, SilverBusyError):
        return EXIT_BUSY, str(exc)
    if isinstance(exc, (BronzeError, SilverRunError, LockLostError)):
        return EXIT_FAILED, str(exc)
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        hint = " (free some space, or point --work-dir at a larger disk)" if exc.errno == errno.ENOSPC else ""
        return EXIT_FAILED, f"{exc.strerror or exc}{where}{hint}"
    if isinstance(exc, duckdb.Error):
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        hint = (
            " (free some space, or point --work-dir at a larger disk)"
            if "space left" in text.lower() or "disk" in text.lower()
            else ""
        )
        return EXIT_FAILED, f"DuckDB: {text[:500]}{hint}"
    if isinstance(exc, AzureError):
        text = (getattr(exc, "message", None) or str(exc) or type(exc).__name__).strip().splitlines()[0]
        return EXIT_FAILED, f"storage: {text[:500]}"
    return None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # A short-lived process: DuckDB's allocator may keep the pages it frees instead of returning them
    # to the system and faulting them back in (10M rows: ~35% fewer page faults, ~0.5 s less system
    # time, ~200 MB more peak RSS). Read when DuckDB loads, so before anything imports it.
    os.environ.setdefault("DUCKDB_JE_MALLOC_CONF", "dirty_decay_ms:-1,muzzy_decay_ms:-1")
    try:
        if args.command == "silver":
            return _cmd_silver(args)
        if args.command == "silver-rules":
            return _cmd_silver_rules(args)
        return _cmd_dataflow_script(args)
    except KeyboardInterrupt:
        print("error: interrupted; the previous silver is left as it was", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        known = _failure_message(exc)
        if known is None:
            raise
        print(f"error: {known[1]}", file=sys.stderr)
        return known[0]
