"""The runner-level pre-check of bronze for engines that run the Data Flow Script (Spark).

Some quarantine records are not made by any rule of the script: a whole file with no bytes, with
nothing after its header, or with another header (``empty_file``, ``bad_header``; :func:`.engine.check_headers`),
and a line whose bytes are not UTF-8 (``malformed_line``, detail :data:`.engine.NOT_UTF8_DETAIL`). The
DuckDB engine makes them while it reads; Spark's CSV reader would read such a file's lines after the
first (a bad header is dropped as a header) and decode invalid bytes as U+FFFD, so this check runs
before Spark reads and produces the same records, with the same line model (a line ends at LF; one CR
before it belongs to the ending):

- files that fail the header check are not given to Spark at all;
- a readable file holding a line that is not UTF-8 is given to Spark as a copy without those lines
  (every other byte kept), under its own source name.

This is not part of the deployed script: Data Factory reads such files with its own reader.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from pathlib import Path

from .engine import ExtraRecord, check_headers, utf8_lines
from .plan import CleaningPlan

_CHUNK = 1 << 20


@dataclass
class PreChecked:
    """What the script reads (``(local path, source name)``), and the records made before it runs
    (``path`` holds the source name)."""

    files: list[tuple[Path, str]]
    records: list[ExtraRecord] = field(default_factory=list)


def is_utf8(path: Path) -> bool:
    """Whether the whole file decodes as UTF-8 (read in chunks; a character may straddle two)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(_CHUNK), b""):
                decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _without_bad_lines(path: Path, copy: Path, name: str, records: list[ExtraRecord]) -> None:
    """Copy ``path`` to ``copy`` line by line (LF endings), leaving out and recording the lines that
    are not UTF-8. The header (first line) is kept as it is: the header check has read it."""
    copy.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "rb") as src, open(copy, "wb") as dst:
        dst.write(src.readline())
        for raw, text in utf8_lines(src, name, records):
            if text is not None:
                dst.write(raw)


def precheck(plan: CleaningPlan, files: list[tuple[Path, str]], scratch: Path) -> PreChecked:
    """The files the script may read and the records of what it must not (see the module docstring).
    Copies go under ``scratch`` (the batch's spill folder)."""
    names = {str(p): n for p, n in files}
    sorted_ = check_headers(plan, files)
    out = PreChecked([], [ExtraRecord(r.line, r.reason, r.detail, names[r.path]) for r in sorted_.records])
    for i, (path, name) in enumerate(sorted_.csv_files):
        if is_utf8(path):
            out.files.append((path, name))
            continue
        copy = scratch / "utf8" / f"{i}-{path.name}"
        _without_bad_lines(path, copy, name, out.records)
        out.files.append((copy, name))
    return out


def header_only(plan: CleaningPlan, scratch: Path) -> tuple[Path, str]:
    """A file with the contract header and no line: what the script reads when every file of the
    batch was set aside (a source needs a file; it yields no row)."""
    path = scratch / "header-only.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((plan.delimiter.join(plan.header) + "\n").encode("utf-8"))
    return path, "(no readable bronze file)"


QUARANTINE_FIELDS = {"raw_line_or_record": "line", "reason": "reason", "detail": "detail", "source_file": "path"}


def with_records(table, records: list[ExtraRecord]):
    """The quarantine ``table`` (pyarrow, the sink's columns) with ``records`` appended, ordered by
    source file, reason and line as the DuckDB engine writes it."""
    import pyarrow as pa

    if records:
        extra = {c: [getattr(r, QUARANTINE_FIELDS[c]) for r in records] for c in table.column_names}
        table = pa.concat_tables([table, pa.table(extra, schema=table.schema)])
    order = [c for c in ("source_file", "reason", "raw_line_or_record") if c in table.column_names]
    return table.sort_by([(c, "ascending") for c in order])


__all__ = ["PreChecked", "header_only", "is_utf8", "precheck", "with_records"]
