"""The engines the silver runner can clean a batch with, behind one small interface.

The runner (:mod:`.runner`) decides what to clean, stages it, publishes atomically and reports; an
engine only turns a batch of bronze files (plus the existing silver to merge with) into the affected
silver partitions and one quarantine file, and says what it did (:class:`.engine.BatchResult`).

- :class:`DuckDBEngine` (the default): the DuckDB SQL rendered from the contract (:mod:`.engine`);
- :class:`SparkEngine`: the Data Flow Script as deployed (read from a synthesized ``cdk.tf.json``),
  run on Spark (:mod:`.spark_engine`); ``master`` selects a cluster.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

from ..dataflow.deployed import DeployedDataFlow
from .engine import BatchResult, EngineSettings
from .plan import CleaningPlan

ENGINES = ("duckdb", "spark")


class EngineError(ValueError):
    """The engine cannot be set up as asked (names the option and the reason)."""


class Engine(Protocol):
    name: str

    def clean(
        self,
        plan: CleaningPlan,
        files: list[tuple[Path, str]],
        *,
        existing_silver: Path | None,
        silver_out: Path,
        quarantine_file: Path,
        spill_dir: Path,
        progress: Callable[[str], None],
    ) -> BatchResult:
        """Clean ``files`` ((local path, bronze name)); write the affected partitions (merged with
        ``existing_silver``) under ``silver_out`` and the quarantine rows to ``quarantine_file``."""
        ...


@dataclass
class DuckDBEngine:
    settings: EngineSettings = field(default_factory=EngineSettings)
    name: str = "duckdb"

    def clean(self, plan, files, *, existing_silver, silver_out, quarantine_file, spill_dir, progress):
        from .engine import run_batch

        return run_batch(
            plan,
            files,
            existing_silver=existing_silver,
            silver_out=silver_out,
            quarantine_file=quarantine_file,
            spill_dir=spill_dir,
            settings=self.settings,
            progress=progress,
        )


@dataclass
class SparkEngine:
    """``data_flow``: a synthesized ``cdk.tf.json`` holding the data flow (the deployed script and its
    datasets). ``master``: Spark master URL (default ``$SPARK_MASTER`` or ``local[2]``)."""

    data_flow: "Path | DeployedDataFlow"
    master: str | None = None
    conf: dict[str, str] = field(default_factory=dict)
    name: str = "spark"

    def __post_init__(self) -> None:
        from ..dataflow.deployed import DeployedDataFlow, DeployedError, read_data_flow

        if isinstance(self.data_flow, DeployedDataFlow):
            self.flow = self.data_flow
            return
        if not Path(self.data_flow).is_file():
            raise EngineError(
                f"--data-flow {self.data_flow}: no such file (run ./dev.sh synth, or pass the "
                "cdk.tf.json of the stack whose data flow should run)"
            )
        try:
            self.flow = read_data_flow(Path(self.data_flow))
        except (DeployedError, ValueError) as exc:
            raise EngineError(f"--data-flow {self.data_flow}: {exc}") from None
        try:
            import pyspark  # noqa: F401
        except ImportError:
            raise EngineError("--engine spark needs pyspark (pip install 'emotion-platform[spark]', or ./dev.sh setup)") from None

    def clean(self, plan, files, *, existing_silver, silver_out, quarantine_file, spill_dir, progress):
        from .spark_engine import SparkSettings, run_batch

        return run_batch(
            plan,
            files,
            flow=self.flow,
            existing_silver=existing_silver,
            silver_out=silver_out,
            quarantine_file=quarantine_file,
            spill_dir=spill_dir,
            settings=SparkSettings(self.master, dict(self.conf)),
            progress=progress,
        )


def default_data_flow(root: Path = Path(".")) -> Path:
    """The synthesized stack's ``cdk.tf.json`` under ``root/cdktf.out`` (the only one, or the dev one)."""
    stacks = sorted((root / "cdktf.out" / "stacks").glob("*/cdk.tf.json"))
    dev = [p for p in stacks if p.parent.name.endswith("-dev")]
    if len(stacks) == 1 or dev:
        return (dev or stacks)[0]
    raise EngineError(
        "--engine spark: pass --data-flow cdktf.out/stacks/<stack>/cdk.tf.json "
        f"({'no synthesized stack found; run ./dev.sh synth' if not stacks else 'several stacks'})"
    )
