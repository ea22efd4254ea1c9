"""Import CSV and JSONL files: validate, write in chunks, report problems by line, keep rejects."""

from __future__ import annotations

import csv
import gc
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sqlalchemy.orm import Session

from campaign_engine.errors import InvalidInput, Problem
from campaign_engine.ingest.parser_process import parse_in_process
from campaign_engine.ingest.reading import Parsed, Row, as_record, file_format, parse_chunks
from campaign_engine.ingest.records import Kind
from campaign_engine.ingest.store import BatchResult, write_batch

MAX_REPORTED = 50
COLLECT_EVERY = 10  # chunks
# Files from this size on are parsed in a second process while this one writes.
PARSER_PROCESS_BYTES = 8 * 2**20
Progress = Callable[[int], None]


@dataclass
class ImportReport:
    """What an import did: counts and the rejected rows."""

    kind: Kind
    records: int = 0
    result: BatchResult = field(default_factory=BatchResult)
    rejected_lines: int = 0
    problem_count: int = 0
    problems: list[Problem] = field(default_factory=list)  # the first MAX_REPORTED


def _where(row: Row, problem: Problem) -> Problem:
    """Name the file line of a problem; lines[k] of a CSV order is on row k's own line."""
    line = row.lines[0]
    location = problem.location
    if location.startswith("lines[") and isinstance(row.source, list):  # a CSV row per line
        index, _, rest = location[len("lines[") :].partition("]")
        line = row.lines[int(index)] if index.isdigit() and int(index) < len(row.lines) else line
        location = rest.lstrip(".")
    return Problem(f"line {line}" + (f", field {location}" if location else ""), problem.message)


class RejectsWriter:
    """Write rejected rows with their reasons: CSV keeps the columns, JSONL wraps the text."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path, self.fmt = path, fmt
        self.handle: IO[str] | None = None
        self.csv: csv.DictWriter[str] | None = None

    def _open(self, row: Row) -> IO[str]:
        # Opened at the first reject, so a clean import leaves any old rejects file alone.
        if self.handle is None:
            self.handle = self.path.open("w", newline="", encoding="utf-8")
            if self.fmt == "csv" and row.header is not None:
                self.csv = csv.DictWriter(self.handle, [*row.header, "_line", "_errors"])
                self.csv.writeheader()
        return self.handle

    def write(self, row: Row, problems: list[Problem]) -> None:
        """Append `row` with `problems`."""
        handle = self._open(row)
        reasons = "; ".join(str(p) for p in problems)
        if self.csv is not None and row.header is not None and isinstance(row.source, list):
            for line, cells in zip(row.lines, row.source, strict=True):
                self.csv.writerow(
                    {**as_record(row.header, cells), "_line": line, "_errors": reasons}
                )
        else:
            handle.write(
                json.dumps({"line": row.lines[0], "errors": reasons, "text": row.source}) + "\n"
            )

    def close(self) -> None:
        """Flush and close the file, if any reject was written."""
        if self.handle is not None:
            self.handle.close()


def import_file(
    session: Session,
    kind: Kind,
    path: Path,
    fmt: str | None = None,
    skip_invalid: bool = False,
    rejects: Path | None = None,
    progress: Progress | None = None,
    parser_process: bool = False,
) -> ImportReport:
    """Import `path` into `session`; raise InvalidInput (all lines named) unless `skip_invalid`.

    The caller owns the transaction: on an exception nothing of the file may be committed.
    `parser_process` lets a large file be parsed in a spawned process; only entry points whose
    main module is import-safe (the CLI) may ask for it, as spawning re-imports that module.
    """
    fmt = file_format(path, fmt)
    report = ImportReport(kind)
    writer = RejectsWriter(rejects, fmt) if skip_invalid and rejects else None
    large = parser_process and path.stat().st_size >= PARSER_PROCESS_BYTES
    chunks = parse_in_process(path, fmt, kind) if large else parse_chunks(path, fmt, kind)
    try:
        with paused_gc():
            for number, parsed in enumerate(chunks, start=1):
                _import_chunk(session, parsed, report, writer, skip_invalid)
                if number % COLLECT_EVERY == 0:
                    # The few cycles chunks leave (query results); each pass scans the live
                    # chunk too, hence not after every one.
                    gc.collect(0)
                if progress:
                    progress(parsed.position)
    finally:
        chunks.close()
        if writer:
            writer.close()
    if report.rejected_lines and not skip_invalid:
        more = report.problem_count - len(report.problems)
        suffix = f" (first {len(report.problems)} problems shown, {more} more)" if more > 0 else ""
        raise InvalidInput(
            f"{path.name}: {report.rejected_lines} invalid record(s); nothing was imported{suffix}",
            report.problems,
        )
    return report


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause automatic cyclic garbage collection during an import.

    An import makes millions of short-lived objects: refcounting frees them, and automatic
    collections over them cost a quarter of the time. The caller collects the young generation
    every few chunks for the few cycles that query results leave.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _import_chunk(
    session: Session,
    parsed: Parsed,
    report: ImportReport,
    writer: RejectsWriter | None,
    skip_invalid: bool,
) -> None:
    chunk, valid, rejected = parsed.rows, parsed.valid, list(parsed.rejected)
    report.records += len(chunk)
    if rejected and not skip_invalid:
        valid = []  # the file will be refused: only keep validating
    if valid and (skip_invalid or not report.rejected_lines):
        result = write_batch(session, report.kind, valid)
        rejected += result.rejected
        result.rejected = []
        report.result.add(result)
    for rejection in rejected:
        row = chunk[rejection.index]
        problems = [_where(row, p) for p in rejection.problems]
        report.rejected_lines += 1
        report.problem_count += len(problems)
        report.problems.extend(problems[: MAX_REPORTED - len(report.problems)])
        if writer:
            writer.write(row, problems)
