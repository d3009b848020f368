"""The silver batch on Spark: the deployed Data Flow Script itself, run by :mod:`emotion_platform.dataflow.spark`.

Same contract with the runner as the DuckDB engine (:func:`.engine.run_batch`): bronze files in;
the partitions the batch affects (complete, merged with the existing silver) and one quarantine file
out; a :class:`.engine.BatchResult`. The rows come from the script:

1. the script runs on the new bronze files up to its split: ``Route@Rejected`` -> ``QuarantineSink``
   is the quarantine; the valid branch holds the new valid rows;
2. merging: the new valid rows, plus every existing silver row of a partition they touch (where a new
   row lands, or where an existing row shares a key with one), are fed to the script's own
   deduplication (window, rank filter, folder column, silver sink) as the valid branch; the sink's
   ``rowFolderUrlColumn`` folders are the affected partitions. Without existing silver this is the
   script from end to end, as Data Factory runs it.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import pyarrow.parquet as pq

from ..dataflow import spark as sx
from ..dataflow.deployed import Dataset, DeployedDataFlow
from ..dataflow.tree import Literal
from ..dataflow.typecheck import CheckedScript, typecheck
from .engine import BatchResult, BronzeError
from .plan import CleaningPlan
from .prechecks import header_only, precheck, with_records

if TYPE_CHECKING:  # pyspark is imported when a batch runs, not with this module
    from pyspark.sql import DataFrame, SparkSession


@dataclass
class SparkSettings:
    master: str | None = None  # None: $SPARK_MASTER or local[2]
    conf: dict[str, str] = field(default_factory=dict)


@dataclass
class ScriptRoles:
    """Where in the script the runner plugs in: the source, the split's branches, the two sinks."""

    source: str
    split_input: str
    valid: str
    rejected: str
    silver_sink: str
    quarantine_sink: str

    @classmethod
    def of(cls, checked: CheckedScript, flow: DeployedDataFlow) -> "ScriptRoles":
        script = checked.script
        if len(flow.sources) != 1:
            raise BronzeError(f"the data flow has {len(flow.sources)} sources; the silver engine reads one")
        splits = script.of("split")
        if len(splits) != 1 or len(splits[0].branches) != 2:
            raise BronzeError("the data flow needs one split into a valid and a rejected branch")
        (split,) = splits
        folders = [st.output for st in script.of("sink") if isinstance(st.named("rowFolderUrlColumn"), Literal)]
        others = [st.output for st in script.of("sink") if st.output not in folders]
        if len(folders) != 1 or len(others) != 1:
            raise BronzeError("the data flow needs one partitioned silver sink and one quarantine sink")
        valid, rejected = split.streams
        return cls(next(iter(flow.sources)), split.inputs[0], valid, rejected, folders[0], others[0])


def _partition_values(df: DataFrame, column: str) -> list:
    return [r[0] for r in df.select(column).distinct().collect()]


def _materialize_split_input(
    spark: SparkSession,
    checked: CheckedScript,
    source: dict[str, sx.SourceInput],
    roles: ScriptRoles,
    silver_cols: list[str],
    where: Path,
) -> DataFrame:
    """Run the script up to its split once, into Parquet under ``where``, and return that stream read back.

    Why: the valid count, the quarantine and the merge each start a Spark job over the split's input;
    recomputed, that is the whole derive chain three times, and cached in memory it is ~50 string
    columns per row under a 1 GB driver heap (spill and GC at 1M rows). Only the columns read after
    the split (by the script, or by the runner: the silver columns) are written; one job, every core
    (one task per input split). The script's own split, window and sinks then run on the read-back
    stream, injected under the same name."""
    df = sx.execute(spark, checked, source).streams[roles.split_input]
    used = sx.columns_used_after(checked.script, roles.split_input)
    keep = [c for c in df.columns if used is None or c in used or c in silver_cols]
    df.select(*[f"`{c}`" for c in keep]).write.mode("overwrite").parquet(str(where))
    return spark.read.parquet(str(where))


def run_batch(
    plan: CleaningPlan,
    files: list[tuple[Path, str]],
    *,
    flow: DeployedDataFlow,
    existing_silver: Path | None,
    silver_out: Path,
    quarantine_file: Path,
    spill_dir: Path,
    settings: SparkSettings = SparkSettings(),
    progress: Callable[[str], None] | None = None,
    spark: SparkSession | None = None,
) -> BatchResult:
    """Clean ``files`` with the deployed script ``flow`` on Spark (see the module docstring)."""
    from pyspark.sql import functions as F

    say = progress or (lambda _m: None)
    result = BatchResult(quarantined={r: 0 for r in plan.all_reasons})
    spill_dir.mkdir(parents=True, exist_ok=True)
    silver_out.mkdir(parents=True, exist_ok=True)
    # Whole files and not-UTF-8 lines: quarantined before the script reads (see .prechecks).
    bronze = precheck(plan, files, spill_dir)
    spark = spark or sx.spark_session(settings.master, settings.conf)
    checked = typecheck(flow.text)
    roles = ScriptRoles.of(checked, flow)
    source = {roles.source: sx.SourceInput(bronze.files or [header_only(plan, spill_dir)], flow.sources[roles.source])}

    t0 = time.perf_counter()
    say(f"running the data flow on {len(files)} bronze file(s) with Spark")
    silver_cols = [c.name for c in plan.silver_columns]
    routed = _materialize_split_input(spark, checked, source, roles, silver_cols, spill_dir / "routed")
    first = sx.execute(spark, checked, source, inject={roles.split_input: routed})
    valid = first.streams[roles.valid].select(*silver_cols)
    result.valid_rows = valid.count()
    quarantine = first.sink(roles.quarantine_sink).orderBy("source_file", "reason", "raw_line_or_record")
    table = quarantine.toArrow()  # one file, as the runner publishes it (the quarantine is the small part)
    table = with_records(table, bronze.records)
    quarantine_file.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, quarantine_file, compression="snappy")
    for reason, n in Counter(table.column("reason").to_pylist()).items():
        result.quarantined[reason] = n
    result.timings["classify_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    say("deduplicating with the data flow's window")
    key = list(plan.dedup_key)
    part = plan.partition_by[0]
    rows = valid
    touched: list = []
    if existing_silver is not None and any(existing_silver.glob("*=*/*.parquet")):
        old = spark.read.option("basePath", str(existing_silver)).parquet(str(existing_silver / "*=*")).select(*silver_cols)
        keys = valid.select(*key).distinct()
        hit = (valid.select(part).union(old.join(keys, key, "left_semi").select(part))).distinct()
        carried = old.join(F.broadcast(hit), [part], "left_semi").persist()
        result.merged_existing_rows = carried.count()
        touched = _partition_values(hit, part)
        rows = valid.unionByName(carried)
    # The split's input is injected too, so nothing upstream of the split is built again.
    merged = sx.execute(spark, checked, source, inject={roles.split_input: routed, roles.valid: rows})
    silver = merged.sink(roles.silver_sink)
    written = sx.write_sink(silver, checked.script, roles.silver_sink, silver_out, spill_dir / "s")
    result.output_rows = sum(pq.ParquetFile(f).metadata.num_rows for f in silver_out.glob("*=*/*.parquet"))
    names = set(written) | {f"{part}={v}" for v in touched}
    result.affected_partitions = sorted(names)
    result.rows_in = result.valid_rows + result.quarantined_rows
    result.timings["merge_s"] = time.perf_counter() - t0
    if rows is not valid:
        carried.unpersist()
    shutil.rmtree(spill_dir / "routed", ignore_errors=True)
    shutil.rmtree(spill_dir / "q", ignore_errors=True)
    shutil.rmtree(spill_dir / "s", ignore_errors=True)
    return result


__all__ = ["Dataset", "ScriptRoles", "SparkSettings", "run_batch"]
