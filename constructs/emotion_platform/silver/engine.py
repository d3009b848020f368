"""Run one cleaning batch with DuckDB: bronze CSV files in, silver partitions and quarantine out.

Works on local paths only (the runner stages blobs); knows nothing about state or swapping. Steps:

1. read every line of the new bronze files and classify it (SQL from :mod:`.sql`), streaming the
   result into an uncompressed Parquet stage file;
2. write the quarantined lines to one Parquet file;
3. find the keys seen more than once (by 64-bit hash, 8 bytes a row), merge the valid rows with the
   existing silver rows they can affect (same key, or same partition as a new row), keep one row
   per key, and write only the affected partitions.

Everything runs inside DuckDB with its ``memory_limit`` set, spilling to the work folder, so memory
stays bounded whatever the row count (10M rows: under 1 GB peak RSS with a 1 GB limit).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb

from . import sql
from .plan import CleaningPlan

# Lines are read whole: this delimiter must never occur in bronze text (a control character).
LINE_READ_DELIMITER = "\x1f"
SILVER_FILE_PATTERN = "part-{i}"


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
    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False,
                                             "autoload_known_extensions": False})
    con.execute(f"SET memory_limit = {sql.lit(settings.memory_limit)}")
    con.execute(f"SET temp_directory = {sql.lit(str(work_dir / 'spill'))}")
    con.execute("SET preserve_insertion_order = false")
    # A partitioned write buffers rows per partition and thread; the default (524,288 rows) would
    # hold ~1 GB across a week of partitions. One row group's worth keeps it well inside the limit.
    con.execute("SET partitioned_write_flush_threshold = 122880")
    con.execute("SET TimeZone = 'UTC'")
    if settings.threads:
        con.execute(f"SET threads = {int(settings.threads)}")
    return con


def check_headers(plan: CleaningPlan, files: list[tuple[Path, str]]) -> None:
    """Every bronze file must start with the contract header (a UTF-8 BOM is tolerated)."""
    expected = plan.delimiter.join(plan.header)
    for path, name in files:
        with open(path, "rb") as fh:
            first = fh.readline(1 << 16).decode("utf-8", errors="replace").lstrip("\ufeff").rstrip("\r\n")
        if first != expected:
            raise BronzeError(f"bronze file {name}: header {first[:200]!r} differs from the contract's "
                              f"bronze.columns {expected!r}")


def _lines_view(con: duckdb.DuckDBPyConnection, files: list[tuple[Path, str]]) -> None:
    paths = [str(p) for p, _n in files]
    con.execute("CREATE OR REPLACE TABLE bronze_names (path VARCHAR, name VARCHAR)")
    con.executemany("INSERT INTO bronze_names VALUES (?, ?)", [(str(p), n) for p, n in files])
    listing = "[" + ", ".join(sql.lit(p) for p in paths) + "]"
    # The file path stays as read (cheap: constant per file); quarantine maps it to the source name.
    con.execute(f"""CREATE OR REPLACE TEMP VIEW bronze_lines AS
        SELECT filename AS source_file, line FROM read_csv({listing}, columns = {{'line': 'VARCHAR'}},
            delim = {sql.lit(LINE_READ_DELIMITER)}, quote = '', escape = '', header = true,
            auto_detect = false, filename = true, encoding = 'utf-8')""")


def _silver_glob(existing: Path) -> str | None:
    files = sorted(existing.glob("*=*/*.parquet"))
    return str(existing / "*=*" / "*.parquet") if files else None


def run_batch(plan: CleaningPlan, files: list[tuple[Path, str]], *, existing_silver: Path | None,
              silver_out: Path, quarantine_file: Path, spill_dir: Path,
              settings: EngineSettings = EngineSettings(),
              progress: Callable[[str], None] | None = None) -> BatchResult:
    """Clean ``files`` ((local path, source name) pairs) into ``silver_out`` and ``quarantine_file``.

    ``silver_out`` receives only the partitions this batch affects (complete, merged with
    ``existing_silver``); the caller combines them with the untouched existing partitions.
    ``spill_dir`` holds the staged rows and DuckDB's spill files; the caller removes it.
    """
    say = progress or (lambda _m: None)
    result = BatchResult()
    check_headers(plan, files)
    spill_dir.mkdir(parents=True, exist_ok=True)
    con = connect(settings, spill_dir)
    try:
        _lines_view(con, files)
        t0 = time.perf_counter()
        say(f"classifying {len(files)} bronze file(s)")
        # Classified rows are staged in an uncompressed Parquet file: streamed (memory stays flat),
        # cheap to write, and read back column by column by the steps below. Dictionary pages stay on:
        # the code columns, numbers and reason have few values, which makes the stage ~40% smaller and
        # reading it back (twice, for the dedup and the silver write) about twice as fast.
        stage = spill_dir / "classified.parquet"
        try:
            con.execute(f"COPY ({sql.classify_sql(plan, 'bronze_lines')}) TO {sql.lit(str(stage))} "
                        "(FORMAT parquet, COMPRESSION uncompressed, PARQUET_VERSION V2)")
        except duckdb.InvalidInputException as exc:  # e.g. a line holding the read delimiter
            raise BronzeError(f"bronze files could not be read line by line: {exc}") from exc
        con.execute(f"CREATE VIEW classified AS SELECT * FROM read_parquet({sql.lit(str(stage))})")
        result.timings["classify_s"] = time.perf_counter() - t0

        counts = con.execute("SELECT reason, count(*) FROM classified GROUP BY reason").fetchall()
        result.rows_in = sum(n for _r, n in counts)
        result.quarantined = {r: 0 for r in plan.rules}
        for reason, n in counts:
            if reason is None:
                result.valid_rows = n
            else:
                result.quarantined[reason] = n

        t0 = time.perf_counter()
        qcols = {"raw_line_or_record": "c.line", "reason": "c.reason", "detail": "c.detail", "source_file": "n.name"}
        qselect = ", ".join(f"{qcols[c]} AS {c}" for c in plan.quarantine_columns)
        quarantine_file.parent.mkdir(parents=True, exist_ok=True)
        con.execute(f"""COPY (SELECT {qselect} FROM classified c JOIN bronze_names n ON c.source_file = n.path
                              WHERE c.reason IS NOT NULL ORDER BY n.name, c.reason, c.line)
                        TO {sql.lit(str(quarantine_file))} (FORMAT parquet, COMPRESSION zstd)""")
        result.timings["quarantine_s"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        say(f"merging {result.valid_rows} valid row(s) into silver")
        cols = ", ".join(c.name for c in plan.silver_columns)
        part = ", ".join(plan.partition_by)
        key_hash = sql.key_hash(plan)
        con.execute(f"CREATE VIEW new_rows AS SELECT {cols} FROM classified WHERE reason IS NULL")
        glob = _silver_glob(existing_silver) if existing_silver else None
        if glob:
            types = {c.name: _duck_type(c.type) for c in plan.silver_columns if c.name in plan.partition_by}
            hive_types = "{" + ", ".join(f"{sql.lit(k)}: {sql.lit(v)}" for k, v in types.items()) + "}"
            con.execute(f"""CREATE VIEW old_rows AS SELECT {cols} FROM read_parquet({sql.lit(glob)},
                            hive_partitioning = true, hive_types = {hive_types})""")
            # Partitions a new row lands in, plus those holding an existing row whose key hash matches a
            # new row's (a hash collision only adds a partition to rewrite, never loses a row).
            con.execute(f"""CREATE TABLE affected AS
                SELECT DISTINCT {part} FROM new_rows
                UNION
                SELECT DISTINCT {part} FROM old_rows
                WHERE {key_hash} IN (SELECT {key_hash} FROM new_rows)""")
            con.execute(f"""CREATE VIEW candidates AS
                SELECT {cols} FROM new_rows
                UNION ALL
                SELECT {cols} FROM old_rows SEMI JOIN affected USING ({part})""")
            result.merged_existing_rows = con.execute(
                f"SELECT count(*) FROM old_rows SEMI JOIN affected USING ({part})").fetchone()[0]
        else:
            con.execute(f"CREATE VIEW candidates AS SELECT {cols} FROM new_rows")
        # Keys seen more than once (by hash: collisions only send a few extra rows to the exact ranking).
        con.execute(f"CREATE TABLE repeated AS SELECT {key_hash} AS h FROM candidates GROUP BY h HAVING count(*) > 1")
        result.timings["dedup_s"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        say("writing silver")
        silver_out.mkdir(parents=True, exist_ok=True)
        if settings.sort_output:
            con.execute("SET preserve_insertion_order = true")
        order = f" ORDER BY {sql.silver_order(plan)}" if settings.sort_output else ""
        data_cols = ", ".join(c.name for c in plan.silver_columns)
        con.execute(f"""COPY (SELECT {data_cols} FROM ({sql.dedup_sql(plan, 'candidates', 'repeated')}){order})
            TO {sql.lit(str(silver_out))}
            (FORMAT parquet, PARTITION_BY ({part}), OVERWRITE_OR_IGNORE,
             FILENAME_PATTERN {sql.lit(SILVER_FILE_PATTERN)})""")
        written = sorted(p for p in silver_out.glob("*=*/*.parquet"))
        result.output_rows = con.execute(
            f"SELECT count(*) FROM read_parquet({sql.lit(str(silver_out / '*=*' / '*.parquet'))})").fetchone()[0] \
            if written else 0
        result.affected_partitions = sorted({p.parent.name for p in written})
        if glob:  # an affected partition can end up empty only if all its rows moved: keep it listed
            for (value,) in con.execute(f"SELECT DISTINCT {part} FROM affected").fetchall():
                name = f"{plan.partition_by[0]}={value}"
                if name not in result.affected_partitions:
                    result.affected_partitions.append(name)
            result.affected_partitions.sort()
        result.timings["write_s"] = time.perf_counter() - t0
        return result
    finally:
        con.close()


def _duck_type(t: str) -> str:
    return {"date": "DATE", "string": "VARCHAR", "double": "DOUBLE", "timestamp_utc": "TIMESTAMPTZ"}[t]
