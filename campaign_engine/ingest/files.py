"""Import CSV and JSONL files: stream, validate, write in chunks, report problems by line."""

from __future__ import annotations

import csv
import gc
import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
    source: list[list[str]] | str  # the CSV cells or the JSONL text, for the rejects file
    problems: list[Problem] = field(default_factory=list)
    header: list[str] | None = None  # the CSV header the cells belong to


@dataclass
class ImportReport:
    """What an import did: counts and the rejected rows."""

    kind: Kind
    records: int = 0
    result: BatchResult = field(default_factory=BatchResult)
    rejected_lines: int = 0
    problem_count: int = 0
    problems: list[Problem] = field(default_factory=list)  # the first MAX_REPORTED


def file_format(path: Path, given: str | None) -> str:
    """Return 'csv' or 'jsonl' from `given` or the file's suffix."""
    fmt = given or {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}.get(path.suffix.lower())
    if fmt not in {"csv", "jsonl"}:
        raise InvalidInput(f"cannot tell the format of {path.name}; use --format csv or jsonl")
    return fmt


def _cell(column: str, value: str) -> tuple[Any, Problem | None]:
    if column in JSON_COLUMNS:
        try:
            return json.loads(value, parse_constant=_no_constant), None
        except ValueError as exc:
            if not isinstance(exc, json.JSONDecodeError):
                return None, Problem(column, str(exc))
            return None, Problem(column, f"is not valid JSON: {exc.msg}")
    return value, None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _scalar(value: str) -> Any:
    """Read a dotted attribute cell: JSON numbers, booleans and null, else the text."""
    try:
        parsed = json.loads(value, parse_constant=_no_constant)
    except (json.JSONDecodeError, ValueError):
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
                target = raw.setdefault(head, {})
                if not isinstance(target, dict):
                    problems.append(
                        Problem(head, f"holds no JSON object, so {head}.{tail} cannot go in it")
                    )
                    continue
                target[tail] = _scalar(cells[i])
        return raw, problems


def as_record(header: list[str], cells: list[str]) -> dict[str, str]:
    """Return a CSV row as column → cell (short rows padded, extra cells dropped)."""
    padded = cells + [""] * (len(header) - len(cells))
    return dict(zip(header, padded, strict=False))


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
            yield Row([reader.line_num], raw, [cells], problems, header)
        return
    seen: set[str] = set()
    current: Row | None = None
    for cells in reader:
        raw, problems = columns.raw(cells)
        line = {k: raw.pop(k) for k in LINE_COLUMNS if k in raw}
        order_id = raw.get("order_id")
        if current is not None and current.raw.get("order_id") == order_id:
            order_level = (set(raw) | set(current.raw)) - {"lines"}
            problems += [
                Problem(
                    k, f"differs from the first row of order {order_id!r} ({current.raw.get(k)!r})"
                )
                for k in sorted(order_level)
                if raw.get(k) != current.raw.get(k)
            ]
            # Located as lines[n].field, so the report names this row's own line.
            n = len(current.raw["lines"])
            current.problems += [Problem(f"lines[{n}]." + p.location, p.message) for p in problems]
            current.raw["lines"].append(line)
            current.lines.append(reader.line_num)
            assert isinstance(current.source, list)
            current.source.append(cells)
            continue
        if current is not None:
            yield current
        if order_id is not None and order_id in seen:
            problems.append(
                Problem("order_id", f"rows of order {order_id!r} must be next to each other")
            )
        if order_id is not None:
            seen.add(order_id)
        current = Row([reader.line_num], raw | {"lines": [line]}, [cells], problems, header)
    if current is not None:
        yield current


def read_jsonl(handle: IO[str]) -> Iterator[Row]:
    """Yield raw records from JSON Lines; blank lines are skipped."""
    for number, text in enumerate(handle, start=1):
        if not text.strip():
            continue
        try:
            yield Row([number], json.loads(text.rstrip("\r\n")), text)
        except json.JSONDecodeError as exc:
            yield Row(
                [number],
                None,
                text,
                [Problem("", f"invalid JSON: {exc.msg} at column {exc.colno}")],
            )


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
) -> ImportReport:
    """Import `path` into `session`; raise InvalidInput (all lines named) unless `skip_invalid`.

    The caller owns the transaction: on an exception nothing of the file may be committed.
    """
    fmt = file_format(path, fmt)
    report = ImportReport(kind)
    with (
        paused_gc(),
        path.open("rb") as raw,
        io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as handle,
    ):
        rows = read_csv(handle, kind) if fmt == "csv" else read_jsonl(handle)
        writer = RejectsWriter(rejects, fmt) if skip_invalid and rejects else None
        # A catalogue is read whole, so a premium_sku may name a product further down the file.
        size = None if kind is Kind.products else CHUNK
        try:
            for chunk in _chunks(rows, size):
                _import_chunk(session, kind, chunk, report, writer, skip_invalid)
                gc.collect(0)  # the few cycles a chunk leaves (query results), not its rows
                if progress:
                    progress(raw.tell())
        except UnicodeDecodeError as exc:
            raise InvalidInput(
                f"{path.name} is not UTF-8 text (byte {exc.start} of a block): save it as UTF-8"
            ) from None
        finally:
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
    after each chunk for the few cycles that query results leave.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _chunks(rows: Iterator[Row], size: int | None) -> Iterator[list[Row]]:
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if size is not None and len(chunk) >= size:
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
    if valid and (skip_invalid or not report.rejected_lines):
        result = write_batch(session, kind, valid)
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
