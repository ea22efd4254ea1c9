"""Import CSV and JSONL files: stream, validate, write in chunks, report problems by line."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy.orm import Session

from campaign_engine.errors import InvalidInput, Problem
from campaign_engine.ingest.batch import parse_record
from campaign_engine.ingest.records import Kind
from campaign_engine.ingest.store import BatchResult, Item, Rejection, write_batch

CHUNK = 5000
MAX_REPORTED = 50
JSON_COLUMNS = {"attributes", "properties"}
LINE_COLUMNS = {"sku", "quantity", "unit_price", "unit_cost"}
Progress = Callable[[int], None]


@dataclass
class Row:
    """A raw record as read from a file, with the file lines it came from."""

    lines: list[int]
    raw: Any
    source: list[dict[str, str]] | str  # the CSV rows or the JSONL text, for the rejects file
    problems: list[Problem] = field(default_factory=list)


@dataclass
class ImportReport:
    """What an import did: counts and the rejected rows."""

    kind: Kind
    records: int = 0
    result: BatchResult = field(default_factory=BatchResult)
    rejected_lines: int = 0
    problems: list[Problem] = field(default_factory=list)


def file_format(path: Path, given: str | None) -> str:
    """Return 'csv' or 'jsonl' from `given` or the file's suffix."""
    fmt = given or {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}.get(path.suffix.lower())
    if fmt not in {"csv", "jsonl"}:
        raise InvalidInput(f"cannot tell the format of {path.name}; use --format csv or jsonl")
    return fmt


def _cell(column: str, value: str) -> tuple[Any, Problem | None]:
    if column in JSON_COLUMNS:
        try:
            return json.loads(value), None
        except json.JSONDecodeError as exc:
            return None, Problem(column, f"is not valid JSON: {exc.msg}")
    return value, None


def _scalar(value: str) -> Any:
    """Read a dotted attribute cell: JSON numbers, booleans and null, else the text."""
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        return value
    return parsed if not isinstance(parsed, dict | list | str) else value


class CsvColumns:
    """How the columns of a CSV header map into a raw record (worked out once per file)."""

    def __init__(self, header: list[str]) -> None:
        self.header = header
        self.plain: list[tuple[int, str]] = []
        self.json: list[tuple[int, str]] = []
        self.nested: list[tuple[int, str, str]] = []
        for index, column in enumerate(header):
            head, dot, tail = column.partition(".")
            if dot and head in JSON_COLUMNS:
                self.nested.append((index, head, tail))
            elif column in JSON_COLUMNS:
                self.json.append((index, column))
            else:
                self.plain.append((index, column))

    def raw(self, cells: list[str]) -> tuple[dict[str, Any], list[Problem]]:
        """Turn a row's cells into a raw record: empty cells are absent, dotted columns nest."""
        problems = []
        if len(cells) != len(self.header):
            problems.append(
                Problem("", f"the row has {len(cells)} cells; the header has {len(self.header)}")
            )
            cells = (cells + [""] * len(self.header))[: len(self.header)]
        raw: dict[str, Any] = {name: cells[i] for i, name in self.plain if cells[i] != ""}
        for i, name in self.json:
            if cells[i] != "":
                raw[name], problem = _cell(name, cells[i])
                if problem:
                    problems.append(problem)
        for i, head, tail in self.nested:
            if cells[i] != "":
                raw.setdefault(head, {})[tail] = _scalar(cells[i])
        return raw, problems

    def source(self, cells: list[str]) -> dict[str, str]:
        """Return the row as column → cell, for the rejects file."""
        return dict(zip(self.header, cells, strict=False))


def csv_raw(row: dict[str, str]) -> tuple[dict[str, Any], list[Problem]]:
    """Turn one CSV row given as a mapping into a raw record."""
    return CsvColumns(list(row)).raw(list(row.values()))


def read_csv(handle: IO[str], kind: Kind) -> Iterator[Row]:
    """Yield raw records from CSV; order rows with the same order_id become one order."""
    reader = csv.reader(handle)
    header = next(reader, None)
    if header is None:
        return
    columns = CsvColumns(header)
    if kind is not Kind.orders:
        for cells in reader:
            raw, problems = columns.raw(cells)
            yield Row([reader.line_num], raw, [columns.source(cells)], problems)
        return
    seen: set[str] = set()
    current: Row | None = None
    for cells in reader:
        raw, problems = columns.raw(cells)
        line = {k: raw.pop(k) for k in LINE_COLUMNS if k in raw}
        order_id = raw.get("order_id")
        if current is not None and current.raw.get("order_id") == order_id:
            current.raw["lines"].append(line)
            current.lines.append(reader.line_num)
            assert isinstance(current.source, list)
            current.source.append(columns.source(cells))
            current.problems += problems
            continue
        if current is not None:
            yield current
        if order_id is not None and order_id in seen:
            problems.append(
                Problem("order_id", f"rows of order {order_id!r} must be next to each other")
            )
        if order_id is not None:
            seen.add(order_id)
        current = Row([reader.line_num], raw | {"lines": [line]}, [columns.source(cells)], problems)
    if current is not None:
        yield current


def read_jsonl(handle: IO[str]) -> Iterator[Row]:
    """Yield raw records from JSON Lines; blank lines are skipped."""
    for number, text in enumerate(handle, start=1):
        if not text.strip():
            continue
        try:
            yield Row([number], json.loads(text), text)
        except json.JSONDecodeError as exc:
            yield Row(
                [number],
                None,
                text,
                [Problem("", f"invalid JSON: {exc.msg} at column {exc.colno}")],
            )


def _where(row: Row, problem: Problem) -> Problem:
    """Name the file line of a problem; a problem in lines[k] of a CSV order is on row k's line."""
    line = row.lines[0]
    location = problem.location
    if location.startswith("lines[") and len(row.lines) > 1:
        index, _, rest = location[len("lines[") :].partition("]")
        line = row.lines[int(index)] if index.isdigit() and int(index) < len(row.lines) else line
        location = rest.lstrip(".")
    return Problem(f"line {line}" + (f", field {location}" if location else ""), problem.message)


class RejectsWriter:
    """Write rejected rows with their reasons: CSV keeps the columns, JSONL wraps the text."""

    def __init__(self, path: Path, fmt: str, header: list[str] | None) -> None:
        self.handle = path.open("w", newline="", encoding="utf-8")
        self.fmt = fmt
        self.csv = (
            csv.DictWriter(self.handle, [*(header or []), "_line", "_errors"])
            if fmt == "csv"
            else None
        )
        if self.csv:
            self.csv.writeheader()

    def write(self, row: Row, problems: list[Problem]) -> None:
        """Append `row` with `problems`."""
        reasons = "; ".join(str(p) for p in problems)
        if self.csv is not None and isinstance(row.source, list):
            for line, source in zip(row.lines, row.source, strict=True):
                self.csv.writerow({**source, "_line": line, "_errors": reasons})
        else:
            self.handle.write(
                json.dumps({"line": row.lines[0], "errors": reasons, "text": row.source}) + "\n"
            )

    def close(self) -> None:
        """Flush and close the file."""
        self.handle.close()


def import_file(
    session: Session,
    kind: Kind,
    path: Path,
    fmt: str | None = None,
    skip_invalid: bool = False,
    rejects: Path | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import `path` into `session`; raise InvalidInput (all lines named) unless `skip_invalid`.

    The caller owns the transaction: on an exception nothing of the file may be committed.
    """
    fmt = file_format(path, fmt)
    report = ImportReport(kind)
    with path.open("rb") as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle), None) if fmt == "csv" else None
        handle.seek(0)
        rows = read_csv(handle, kind) if fmt == "csv" else read_jsonl(handle)
        writer = RejectsWriter(rejects, fmt, header) if skip_invalid and rejects else None
        try:
            for chunk in _chunks(rows):
                _import_chunk(session, kind, chunk, report, writer, skip_invalid)
                if progress:
                    progress(raw.tell())
        finally:
            if writer:
                writer.close()
    if report.problems and not skip_invalid:
        shown = report.problems[:MAX_REPORTED]
        more = len(report.problems) - len(shown)
        suffix = f" (first {MAX_REPORTED} shown, {more} more)" if more > 0 else ""
        raise InvalidInput(
            f"{path.name}: {report.rejected_lines} invalid records; nothing imported{suffix}", shown
        )
    return report


def _chunks(rows: Iterator[Row]) -> Iterator[list[Row]]:
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _import_chunk(
    session: Session,
    kind: Kind,
    chunk: list[Row],
    report: ImportReport,
    writer: RejectsWriter | None,
    skip_invalid: bool,
) -> None:
    valid: list[Item[Any]] = []
    rejected: list[Rejection] = []
    for index, row in enumerate(chunk):
        parsed = row.problems or parse_record(kind, row.raw)
        if isinstance(parsed, list):
            rejected.append(Rejection(index, parsed))
        else:
            valid.append((index, parsed))
    report.records += len(chunk)
    if rejected and not skip_invalid:
        valid = []  # the file will be refused: only keep validating
    if valid and (skip_invalid or not report.problems):
        result = write_batch(session, kind, valid)
        rejected += result.rejected
        result.rejected = []
        report.result.add(result)
    for rejection in rejected:
        row = chunk[rejection.index]
        problems = [_where(row, p) for p in rejection.problems]
        report.rejected_lines += 1
        if len(report.problems) < MAX_REPORTED * 2:
            report.problems.extend(problems)
        if writer:
            writer.write(row, problems)
