"""Run one cleaning batch with DuckDB: bronze CSV files in, silver partitions and quarantine out.

Works on local paths only (the runner stages blobs); knows nothing about state or swapping. The
bronze text is scanned twice and the rows are never staged in between:

1. key scan: hash every line's dedup key (:func:`.sql.key_hash`, normalized but not classified) and keep
   the hashes seen more than once, counting the existing silver keys when merging. Nearly every
   key is unique, so this set is small (about 1% of the rows);
2. route: one ``COPY`` classifies every line and writes it under a ``_silver_row_kind`` partition:
   ``v`` valid rows whose key is seen once (final silver rows, already in silver's layout), ``r``
   valid rows whose key may repeat, ``q`` quarantined lines. DuckDB writes one schema per ``COPY``,
   so a quarantine record travels packed into the first text column (fields joined by ``\x1f``,
   the byte that can never occur in a bronze line because lines are read up to it);
3. merge: the ``r`` rows and the existing silver rows they could replace are ranked by the exact
   key, and the winners are written as extra files of their partitions, together with the other
   existing rows of every partition the batch touches; the ``q`` rows become the quarantine file.

Everything runs inside DuckDB with its ``memory_limit`` set, spilling to the work folder, so memory
stays bounded whatever the row count (10M rows: under 1 GB peak RSS with a 1 GB limit).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator

import duckdb

from . import sql
from .plan import CleaningPlan

# Lines are read whole: this delimiter must never occur in bronze text (a control character).
LINE_READ_DELIMITER = "\x1f"
KIND = "_silver_row_kind"  # the routing partition column of step 2 (not a silver column)
PACK = LINE_READ_DELIMITER  # joins a quarantine record's fields in step 2: never inside a line
SILVER_FILE_PATTERN = "part-{i}"
MERGED_FILE_PATTERN = "merged-{i}"  # winners of the exact ranking and carried existing rows
# Silver files: zstd at level 1 is smaller than snappy and cheaper to write; V2 data pages encode
# faster still (DuckDB, Spark and pandas/pyarrow read them).
SILVER_PARQUET = "FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, PARQUET_VERSION V2"


class BronzeError(ValueError):
    """A bronze file breaks the contract in a way that stops the run (names the file and the rule)."""


@dataclass(frozen=True)
class EngineSettings:
    memory_limit: str = "1GB"
    threads: int | None = None  # None: DuckDB's default (all cores)
    # Rows ordered by partition and key: byte-identical files on a full recompute, at the price of a
    # full sort (about +75% CPU at 10M rows). Off, files hold the same rows in an unspecified order.
    sort_output: bool = False


@dataclass
class BatchResult:
    rows_in: int = 0
    quarantined: dict[str, int] = field(default_factory=dict)
    valid_rows: int = 0
    merged_existing_rows: int = 0  # existing silver rows re-read because a new row could affect them
    output_rows: int = 0  # rows written to the affected partitions
    affected_partitions: list[str] = field(default_factory=list)  # folder names, e.g. event_date=2026-01-05
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def quarantined_rows(self) -> int:
        return sum(self.quarantined.values())

    @property
    def duplicates_removed(self) -> int:
        return self.valid_rows + self.merged_existing_rows - self.output_rows


def connect(settings: EngineSettings, work_dir: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    con.execute(f"SET memory_limit = {sql.lit(settings.memory_limit)}")
    con.execute(f"SET temp_directory = {sql.lit(str(work_dir / 'spill'))}")
    con.execute("SET preserve_insertion_order = false")
    # A partitioned write buffers rows per partition and thread; the default (524,288 rows) would
    # hold ~1 GB across a week of partitions. One row group's worth keeps it well inside the limit.
    con.execute("SET partitioned_write_flush_threshold = 32768")
    con.execute("SET TimeZone = 'UTC'")
    if settings.threads:
        con.execute(f"SET threads = {int(settings.threads)}")
    return con


@dataclass(frozen=True)
class ExtraRecord:
    """A quarantine record the SQL does not produce: a whole file, or a line that is not text."""

    line: str
    reason: str
    detail: str
    path: str  # the local path (mapped to the source name like every other record)


@dataclass
class BronzeInput:
    """What the SQL reads: files DuckDB's reader takes as they are, lines read in Python from the
    files it cannot take, and the records for files and lines no rule can see."""

    csv_files: list[tuple[Path, str]]
    fallback: list[tuple[Path, str]] = field(default_factory=list)
    records: list[ExtraRecord] = field(default_factory=list)


UTF8_BOM = b"\xef\xbb\xbf"
NOT_UTF8_DETAIL = "the line is not valid UTF-8"


def _text(raw: bytes) -> str:
    """Bytes as text for a record: invalid UTF-8 shown as \\xNN escapes (nothing is lost or guessed)."""
    return raw.decode("utf-8", errors="backslashreplace")


def _strip_terminator(raw: bytes) -> bytes:
    """A line without its ending: LF, and one CR right before it (CRLF). Any other CR stays."""
    if raw.endswith(b"\n"):
        raw = raw[:-1]
        if raw.endswith(b"\r"):
            raw = raw[:-1]
    return raw


def check_headers(plan: CleaningPlan, files: list[tuple[Path, str]]) -> BronzeInput:
    """Sort bronze files by their first line: the contract header (a UTF-8 BOM before it is stripped)
    makes a file readable; no bytes at all, or nothing after the header, is ``empty_file``; any other
    first line is ``bad_header``. Files of the last two kinds become one quarantine record each."""
    expected = plan.delimiter.join(plan.header)
    out = BronzeInput([])
    for path, name in files:
        if PACK in str(path):
            raise BronzeError(f"bronze file {name}: its path contains the control character \\x1f")
        with open(path, "rb") as fh:
            first = fh.readline(1 << 16)
            more = fh.read(1)
        if first.startswith(UTF8_BOM):
            first = first[len(UTF8_BOM) :]
        header = _strip_terminator(first)
        if not first and not more:
            out.records.append(ExtraRecord("", "empty_file", "the file has no bytes", str(path)))
        elif header != expected.encode():
            shown = _text(header)[:200]
            out.records.append(
                ExtraRecord(
                    shown, "bad_header", f"header {shown!r} differs from the contract's bronze.columns {expected!r}", str(path)
                )
            )
        elif not more:
            out.records.append(ExtraRecord(_text(header), "empty_file", "the file has a header and no line", str(path)))
        else:
            out.csv_files.append((path, name))
    return out


def _read_csv(paths: list[str]) -> str:
    listing = "[" + ", ".join(sql.lit(p) for p in paths) + "]"
    return (
        f"read_csv({listing}, columns = {{'line': 'VARCHAR'}}, delim = {sql.lit(LINE_READ_DELIMITER)}, "
        "quote = '', escape = '', header = true, auto_detect = false, filename = true, encoding = 'utf-8')"
    )


def _lines_view(con: duckdb.DuckDBPyConnection, files: list[tuple[Path, str]], bronze: BronzeInput) -> None:
    con.execute("CREATE OR REPLACE TABLE bronze_names (path VARCHAR, name VARCHAR)")
    con.executemany("INSERT INTO bronze_names VALUES (?, ?)", [(str(p), n) for p, n in files])
    parts = []
    # The file path stays as read (cheap: constant per file); quarantine maps it to the source name.
    if bronze.csv_files:
        parts.append(f"SELECT filename AS source_file, line FROM {_read_csv([str(p) for p, _n in bronze.csv_files])}")
    if bronze.fallback:
        parts.append("SELECT source_file, line FROM fallback_lines")
    if not parts:
        parts.append("SELECT CAST(NULL AS VARCHAR) AS source_file, CAST(NULL AS VARCHAR) AS line LIMIT 0")
    con.execute(f"CREATE OR REPLACE TEMP VIEW bronze_lines AS {' UNION ALL '.join(parts)}")


def _readable(con: duckdb.DuckDBPyConnection, path: Path) -> bool:
    """Whether DuckDB's line reader takes the whole file (mixed endings, a lone CR, invalid UTF-8 or
    the read delimiter make it stop)."""
    try:
        con.execute(f"SELECT count(line) FROM {_read_csv([str(path)])}").fetchone()
        return True
    except duckdb.Error:
        return False


FALLBACK_CHUNK = 100_000


def read_lines_in_python(con: duckdb.DuckDBPyConnection, path: Path, records: list[ExtraRecord]) -> int:
    """Read a file DuckDB's reader refuses with the contract's line model, into ``fallback_lines``.

    A line ends at LF (one CR before it belongs to the ending); the first line is the header. Lines
    that are valid UTF-8 go to the SQL like any other line (a lone CR or another control character
    makes them ``malformed_line`` there); a line that is not UTF-8 becomes its own record here.
    Returns the number of lines read.
    """
    import pyarrow as pa

    con.execute("CREATE TABLE IF NOT EXISTS fallback_lines (source_file VARCHAR, line VARCHAR)")
    name = str(path)
    batch: list[str] = []
    n = 0

    def flush() -> None:
        if batch:
            chunk = pa.table({"source_file": pa.array([name] * len(batch), pa.string()), "line": pa.array(batch, pa.string())})
            con.register("fallback_chunk", chunk)
            con.execute("INSERT INTO fallback_lines SELECT source_file, line FROM fallback_chunk")
            con.unregister("fallback_chunk")
            batch.clear()

    with open(path, "rb") as fh:
        fh.readline()  # the header (check_headers has compared it)
        for raw, text in utf8_lines(fh, name, records):
            n += 1
            if text is not None:
                batch.append(text)
            if len(batch) >= FALLBACK_CHUNK:
                flush()
    flush()
    return n


def utf8_lines(fh: BinaryIO, name: str, records: list[ExtraRecord]) -> Iterator[tuple[bytes, str | None]]:
    """Each remaining line of ``fh`` as (its bytes with the ending, its text without the ending), the
    contract's line model: a line ends at LF, one CR before it belongs to the ending. A line that is
    not UTF-8 comes with text None and its ``malformed_line`` record appended to ``records`` (source
    ``name``). One reading of the rule for the DuckDB fallback and the Spark pre-check."""
    for raw in fh:
        line = _strip_terminator(raw)
        try:
            yield raw, line.decode("utf-8")
        except UnicodeDecodeError:
            records.append(ExtraRecord(_text(line), "malformed_line", NOT_UTF8_DETAIL, name))
            yield raw, None


def _parquet(folder: Path, *, hive: dict[str, str] | None = None) -> str:
    """Every Parquet file below ``folder``; with ``hive``, the partition columns read from the paths."""
    glob = sql.lit(str(folder / "**" / "*.parquet"))
    if hive is None:
        return f"read_parquet({glob})"
    types = "{" + ", ".join(f"{sql.lit(k)}: {sql.lit(v)}" for k, v in hive.items()) + "}"
    return f"read_parquet({glob}, hive_partitioning = true, hive_types = {types})"


def _has_files(folder: Path) -> bool:
    return folder.is_dir() and any(folder.glob("**/*.parquet"))


def scalar(con: duckdb.DuckDBPyConnection, query: str) -> Any:
    """The one value of a query that always returns one row (an aggregate, a setting)."""
    row = con.execute(query).fetchone()
    if row is None:
        raise RuntimeError(f"DuckDB returned no row for {query!r}")
    return row[0]


def _count(con: duckdb.DuckDBPyConnection, folder: Path) -> int:
    """Rows in every Parquet file under ``folder`` (from the file footers)."""
    if not _has_files(folder):
        return 0
    return scalar(con, f"SELECT count(*) FROM {_parquet(folder)}")


def run_batch(
    plan: CleaningPlan,
    files: list[tuple[Path, str]],
    *,
    existing_silver: Path | None,
    silver_out: Path,
    quarantine_file: Path,
    spill_dir: Path,
    settings: EngineSettings = EngineSettings(),
    progress: Callable[[str], None] | None = None,
) -> BatchResult:
    """Clean ``files`` ((local path, source name) pairs) into ``silver_out`` and ``quarantine_file``.

    ``silver_out`` receives only the partitions this batch affects (complete, merged with
    ``existing_silver``); the caller combines them with the untouched existing partitions.
    ``spill_dir`` holds the routed rows and DuckDB's spill files; the caller removes it.
    """
    say = progress or (lambda _m: None)
    result = BatchResult(quarantined={r: 0 for r in plan.all_reasons})
    bronze = check_headers(plan, files)
    spill_dir.mkdir(parents=True, exist_ok=True)
    silver_out.mkdir(parents=True, exist_ok=True)
    con = connect(settings, spill_dir)
    cols = ", ".join(c.name for c in plan.silver_columns)
    part = ", ".join(plan.partition_by)
    hive = {c.name: _duck_type(c.type) for c in plan.silver_columns if c.name in plan.partition_by}
    order = settings.sort_output
    if order:
        con.execute("SET preserve_insertion_order = true")
    try:
        _lines_view(con, files, bronze)
        old = existing_silver if existing_silver is not None and _has_files(existing_silver) else None
        if old is not None:
            con.execute(f"CREATE VIEW old_rows AS SELECT {cols} FROM {_parquet(old, hive=hive)}")

        # 1. keys that may repeat (new lines, plus existing silver when merging)
        t0 = time.perf_counter()
        say(f"finding repeated keys in {len(files)} bronze file(s)")
        keys = f"SELECT {sql.key_hash(plan, 'line')} AS h FROM bronze_lines WHERE line <> ''"
        if old is not None:
            keys += f" UNION ALL SELECT {sql.key_hash(plan, 'silver')} FROM old_rows"
        threads = scalar(con, "SELECT current_setting('threads')")
        # One thread more than the cores for this scan: it hides the wait on reading and the
        # aggregation partitions better (10M lines on 2 cores: 1.2 s and 2.2 CPU-s instead of 1.7 s
        # and 3.2 CPU-s). The classification below is CPU-bound and runs on the cores alone.
        con.execute(f"SET threads = {threads + 1}")
        try:
            try:
                con.execute(f"CREATE TABLE repeated AS SELECT h FROM ({keys}) GROUP BY h HAVING count(*) > 1")
            except duckdb.InvalidInputException:
                # A file DuckDB's reader refuses (mixed line endings, a lone CR, invalid UTF-8, the read
                # delimiter): find it, read it line by line in Python instead, and scan again.
                bad = [(p, n) for p, n in bronze.csv_files if not _readable(con, p)]
                if not bad:
                    raise
                for p, n in bad:
                    say(f"bronze file {n}: not readable as a whole, reading it line by line")
                    read_lines_in_python(con, p, bronze.records)
                bronze.csv_files = [f for f in bronze.csv_files if f not in bad]
                bronze.fallback += bad
                _lines_view(con, files, bronze)
                con.execute(f"CREATE TABLE repeated AS SELECT h FROM ({keys}) GROUP BY h HAVING count(*) > 1")
        except duckdb.InvalidInputException as exc:
            raise BronzeError(f"bronze files could not be read line by line: {exc}") from exc
        finally:
            con.execute(f"SET threads = {threads}")
        result.timings["keys_s"] = time.perf_counter() - t0

        # 2. classify every line once, routed by kind
        t0 = time.perf_counter()
        say(f"classifying {len(files)} bronze file(s)")
        routed = spill_dir / "routed"
        carrier = _carrier(plan)
        packed = " || ".join(
            f"coalesce({c}, '')" if c == "detail" else c
            for c in ("reason", sql.lit(PACK), "detail", sql.lit(PACK), "source_file", sql.lit(PACK), "line")
        )
        # A quarantined line's other columns hold whatever classification made of it: only the carrier
        # is read back, and the partition columns are NULL so that every such line lands in one folder.
        select = [
            f"CASE WHEN reason IS NULL THEN {c.name} ELSE {packed} END AS {c.name}"
            if c.name == carrier
            else f"CASE WHEN reason IS NULL THEN {c.name} END AS {c.name}"
            if c.name in plan.partition_by
            else c.name
            for c in plan.silver_columns
        ]
        kind = f"CASE WHEN reason IS NOT NULL THEN 'q' WHEN key_hash IN (SELECT h FROM repeated) THEN 'r' ELSE 'v' END AS {KIND}"
        sort = f" ORDER BY {KIND}, {sql.silver_order(plan)}" if order else ""
        con.execute(f"""COPY (SELECT {", ".join(select)}, {kind}
                              FROM ({sql.classify_sql(plan, "bronze_lines")}){sort})
            TO {sql.lit(str(routed))}
            ({SILVER_PARQUET}, PARTITION_BY ({KIND}, {part}), OVERWRITE_OR_IGNORE,
             FILENAME_PATTERN {sql.lit(SILVER_FILE_PATTERN)})""")
        # Valid rows with a unique key are final: their partitions move into silver_out as they are.
        unique_rows = routed / f"{KIND}=v"
        if unique_rows.is_dir():
            for partition in unique_rows.iterdir():
                os.replace(partition, silver_out / partition.name)
        result.timings["classify_s"] = time.perf_counter() - t0

        # 3a. quarantine
        t0 = time.perf_counter()
        quarantine_file.parent.mkdir(parents=True, exist_ok=True)
        q_rows = routed / f"{KIND}=q"
        rejected = (
            f"SELECT string_split({carrier}, {sql.lit(PACK)}) AS f FROM {_parquet(q_rows)}"
            if _has_files(q_rows)
            else "SELECT CAST([] AS VARCHAR[]) AS f LIMIT 0"
        )
        # The line is last and may itself hold the packing character (a line read in Python): rejoin it.
        con.execute(f"""CREATE TEMP TABLE rejected AS SELECT array_to_string(f[4:], {sql.lit(PACK)}) AS line,
                        f[1] AS reason, f[2] AS detail, f[3] AS source_file FROM ({rejected})""")
        if bronze.records:
            con.executemany(
                "INSERT INTO rejected VALUES (?, ?, ?, ?)", [(r.line, r.reason, r.detail, r.path) for r in bronze.records]
            )
        for reason, n in con.execute("SELECT reason, count(*) FROM rejected GROUP BY reason").fetchall():
            result.quarantined[reason] = n
        qcols = {"raw_line_or_record": "c.line", "reason": "c.reason", "detail": "c.detail", "source_file": "n.name"}
        qselect = ", ".join(f"{qcols[c]} AS {c}" for c in plan.quarantine_columns)
        con.execute(f"""COPY (SELECT {qselect} FROM rejected c JOIN bronze_names n ON c.source_file = n.path
                              ORDER BY n.name, c.reason, c.line)
                        TO {sql.lit(str(quarantine_file))} (FORMAT parquet, COMPRESSION zstd)""")
        result.timings["quarantine_s"] = time.perf_counter() - t0

        # 3b. merge: rank the rows whose key may repeat, carry the untouched rows of touched partitions
        t0 = time.perf_counter()
        say("merging the rows whose key repeats")
        r_rows = routed / f"{KIND}=r"
        maybe_repeated = (
            f"SELECT {cols} FROM {_parquet(r_rows, hive=hive)}"
            if _has_files(r_rows)
            else f"SELECT {cols} FROM ({_empty_silver(plan)})"
        )
        unique_count = _count(con, silver_out)
        result.valid_rows = unique_count + _count(con, r_rows)
        con.execute(f"CREATE VIEW new_repeated AS {maybe_repeated}")
        parts = [f"SELECT {cols} FROM new_repeated"]
        if old is not None:
            in_repeated = f"{sql.key_hash(plan, 'silver')} IN (SELECT h FROM repeated)"
            # Touched partitions: where a new row lands, or where an existing row may be replaced.
            con.execute(f"CREATE TEMP TABLE touched ({', '.join(f'{k} {v}' for k, v in hive.items())})")
            if unique_count:
                con.execute(f"INSERT INTO touched SELECT DISTINCT {part} FROM {_parquet(silver_out, hive=hive)}")
            con.execute(f"""INSERT INTO touched SELECT DISTINCT {part} FROM new_repeated
                            UNION SELECT DISTINCT {part} FROM old_rows WHERE {in_repeated}""")
            con.execute(f"""CREATE VIEW old_carried AS SELECT {cols} FROM old_rows
                            SEMI JOIN (SELECT DISTINCT {part} FROM touched) USING ({part})
                            WHERE NOT ({in_repeated})""")
            con.execute(f"CREATE VIEW old_ranked AS SELECT {cols} FROM old_rows WHERE {in_repeated}")
            parts.append("SELECT * FROM old_ranked")
            result.merged_existing_rows = scalar(
                con, "SELECT (SELECT count(*) FROM old_carried) + (SELECT count(*) FROM old_ranked)"
            )
        merged = f"SELECT {cols} FROM ({sql.rank_sql(plan, '(' + ' UNION ALL '.join(parts) + ')')})"
        if old is not None:
            merged += f" UNION ALL SELECT {cols} FROM old_carried"
        sort = f" ORDER BY {sql.silver_order(plan)}" if order else ""
        con.execute(f"""COPY (SELECT * FROM ({merged}){sort}) TO {sql.lit(str(silver_out))}
            ({SILVER_PARQUET}, PARTITION_BY ({part}), OVERWRITE_OR_IGNORE,
             FILENAME_PATTERN {sql.lit(MERGED_FILE_PATTERN)})""")

        written = sorted(silver_out.glob("**/*.parquet"))
        result.output_rows = _count(con, silver_out)
        result.affected_partitions = sorted({p.parent.relative_to(silver_out).as_posix() for p in written})
        if old is not None:  # a touched partition can end up empty only if all its rows moved: keep it listed
            for (value,) in con.execute(f"SELECT DISTINCT {part} FROM touched").fetchall():
                name = f"{plan.partition_by[0]}={value}"
                if name not in result.affected_partitions:
                    result.affected_partitions.append(name)
            result.affected_partitions.sort()
        result.rows_in = result.valid_rows + result.quarantined_rows
        result.timings["merge_s"] = time.perf_counter() - t0
        return result
    finally:
        con.close()


def _carrier(plan: CleaningPlan) -> str:
    """The silver data column that carries packed quarantine records through the routing step."""
    for c in plan.silver_data_columns:
        if c.type == "string" and c.source == "field" and plan.field(c.field).codes is None:
            return c.name
    raise BronzeError("silver has no text column to carry quarantine records")  # build_plan keeps the key


def _empty_silver(plan: CleaningPlan) -> str:
    return "SELECT " + ", ".join(f"CAST(NULL AS {_duck_type(c.type)}) AS {c.name}" for c in plan.silver_columns) + " LIMIT 0"


def _duck_type(t: str) -> str:
    return {"date": "DATE", "string": "VARCHAR", "double": "DOUBLE", "timestamp_utc": "TIMESTAMPTZ"}[t]
