"""The data-quality report of a silver run: numbers as JSON, a Markdown summary and a PNG chart.

``report.json`` is the machine-readable record (rows in and out, duplicates removed, quarantined by
reason, emotion distribution, timings); ``report.md`` says the same for people; ``report.png``
shows where the bronze rows went and the emotions silver now holds.

Each file is written whole (a temporary name renamed locally, one upload commit in a blob
container), the chart and the Markdown first and ``report.json`` last. A run that changed silver
also keeps its JSON as ``runs/<run>.json`` (written first), and its state file carries the same
record, so the report of a run killed between publishing silver and writing its report is
delivered by the next run (:func:`deliver_pending`) instead of being lost.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from .runner import RunOutcome

REPORT_FILES = ("report.png", "report.md", "report.json")  # the order they are written in: JSON last
HISTORY = "runs"


def report_dict(outcome: RunOutcome) -> dict[str, Any]:
    b = outcome.batch
    return {
        "started_at": outcome.started_at,
        "mode": outcome.mode,
        "mode_reason": outcome.mode_reason,
        "contract_version": outcome.contract_version,
        "silver": outcome.silver_uri,
        "quarantine": outcome.quarantine_uri,
        "quarantine_file": outcome.quarantine_file,
        "bronze_files": outcome.bronze_files,
        "rows_in": b.rows_in,
        "valid_rows": b.valid_rows,
        "quarantined_rows": b.quarantined_rows,
        "quarantined_by_reason": dict(b.quarantined),
        "duplicates_removed": b.duplicates_removed,
        "existing_rows_merged": b.merged_existing_rows,
        "affected_partitions": b.affected_partitions,
        "silver_rows_before": outcome.silver_rows_before,
        "silver_rows_after": outcome.silver_rows_after,
        "silver_rows_added": outcome.silver_rows_after - outcome.silver_rows_before,
        "silver_partitions": outcome.silver_partitions,
        "emotion_distribution": outcome.emotions,
        "source_channel_distribution": outcome.channels,
        "code_distributions": outcome.distributions,  # every column the contract gives a code set
        "engine": outcome.engine,
        "seconds": round(outcome.seconds, 3),
        "rows_per_second": round(b.rows_in / outcome.seconds) if outcome.seconds > 0 and b.rows_in else 0,
        "timings": {k: round(v, 3) for k, v in b.timings.items()},
    }


def _pct(n: int, total: int) -> str:
    return f"{100.0 * n / total:.2f}%" if total else "-"


def report_markdown(r: dict[str, Any]) -> str:
    lines = [
        f"# Silver data-quality report ({r['started_at']})",
        "",
        f"Mode: **{r['mode']}** ({r['mode_reason']}); contract version {r['contract_version']}; "
        f"{len(r['bronze_files'])} bronze file(s) in {r['seconds']} s.",
        "",
        "| | rows | share of rows in |",
        "|---|---:|---:|",
        f"| rows in | {r['rows_in']:,} | 100% |",
        f"| valid | {r['valid_rows']:,} | {_pct(r['valid_rows'], r['rows_in'])} |",
        f"| quarantined | {r['quarantined_rows']:,} | {_pct(r['quarantined_rows'], r['rows_in'])} |",
        f"| duplicates removed | {r['duplicates_removed']:,} | {_pct(r['duplicates_removed'], r['rows_in'])} |",
        "",
        f"Silver: {r['silver_rows_before']:,} rows before, **{r['silver_rows_after']:,}** after "
        f"({r['silver_rows_added']:+,}) in {r['silver_partitions']} partition(s).",
        "",
        "## Quarantined by reason (contract order)",
        "",
        "| reason | rows |",
        "|---|---:|",
        *[f"| {k} | {v:,} |" for k, v in r["quarantined_by_reason"].items()],
        "",
        "## Emotions in silver",
        "",
        "| emotion | rows | share |",
        "|---|---:|---:|",
        *[f"| {k} | {v:,} | {_pct(v, r['silver_rows_after'])} |" for k, v in r["emotion_distribution"].items()],
        "",
        "![where the rows went and the emotions in silver](report.png)",
        "",
    ]
    return "\n".join(lines)


def render_chart(r: dict[str, Any], path: Path) -> None:
    """Two panels: the fate of this run's bronze rows, and the emotion distribution of silver."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8), dpi=100)
    added = max(r["valid_rows"] - r["duplicates_removed"], 0)
    fate = [("kept in silver", added, "#2e7d32"), ("duplicates removed", r["duplicates_removed"], "#f9a825")]
    fate += [(f"quarantine: {k}", v, "#c62828") for k, v in r["quarantined_by_reason"].items() if v]
    fate = [f for f in fate if f[1] > 0]
    if fate:
        labels = [f[0] for f in fate][::-1]
        values = [f[1] for f in fate][::-1]
        bars = left.barh(labels, values, color=[f[2] for f in fate][::-1])
        left.bar_label(bars, labels=[f"{v:,}" for v in values], padding=3, fontsize=8)
        left.set_xscale("log")  # quarantine and duplicates are a few percent: a linear axis hides them
        left.set_xlim(left=0.8, right=max(values) * 8)
        left.set_xlabel("rows (log scale)")
    else:
        left.text(0.5, 0.5, "no new bronze rows in this run", ha="center", va="center", transform=left.transAxes)
        left.set_axis_off()
    left.set_title(f"Bronze rows of this run: {r['rows_in']:,}")

    emotions = r["emotion_distribution"]
    names = list(emotions)
    counts = [emotions[n] for n in names]
    bars = right.bar(names, counts, color="#1565c0")
    total = sum(counts) or 1
    right.bar_label(bars, labels=[f"{100 * c / total:.1f}%" for c in counts], fontsize=8)
    right.set_title(f"Emotions in silver ({r['silver_rows_after']:,} events)")
    right.set_ylabel("events")
    right.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _p: f"{v:,.0f}"))
    right.tick_params(axis="x", rotation=30)
    fig.suptitle(f"Silver data quality - {r['mode']} run, {r['started_at']}")
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)


def history_name(r: dict[str, Any]) -> str:
    """``runs/<started_at as digits>Z-<mode>.json``: sorts by time, one per run that changed silver."""
    stamp = "".join(ch for ch in str(r["started_at"]) if ch.isdigit())
    return f"{HISTORY}/{stamp}Z-{r['mode']}.json"


def write_report_dict(r: dict[str, Any], location, tmp: Path) -> dict[str, Any]:
    """Render ``r`` into ``tmp`` (a work folder) and write it to ``location``, ``report.json`` last."""
    from .faults import checkpoint

    tmp.mkdir(parents=True, exist_ok=True)
    text = json.dumps(r, indent=2) + "\n"
    (tmp / "report.json").write_text(text, encoding="utf-8")
    (tmp / "report.md").write_text(report_markdown(r), encoding="utf-8")
    render_chart(r, tmp / "report.png")
    if hasattr(location, "ensure_container"):
        location.ensure_container()
    if r["mode"] != "up-to-date":
        location.upload(tmp / "report.json", history_name(r))
    for i, name in enumerate(REPORT_FILES):
        location.upload(tmp / name, name)
        if i == 0:
            checkpoint("report-partial")
    return r


def deliver_pending(last: dict[str, Any] | None, location, tmp: Path) -> bool:
    """Write the report a killed run committed with silver but never wrote; True if it had to."""
    if not isinstance(last, dict) or "started_at" not in last or "mode" not in last:
        return False
    if location.read_bytes(history_name(last)) is not None:
        return False
    try:
        write_report_dict(last, location, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return True
