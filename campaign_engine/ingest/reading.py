"""Read CSV and JSONL files into validated records, chunk by chunk, with their file lines."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from campaign_engine.errors import InvalidInput, Problem
from campaign_engine.ingest.batch import parse_batch
from campaign_engine.ingest.records import Kind
from campaign_engine.ingest.store import Item, Rejection

CHUNK = 5000
JSON_COLUMNS = {"attributes", "properties"}
LINE_COLUMNS = {"sku", "quantity", "unit_price", "unit_cost"}


@dataclass
class Row:
    """A raw record as read from a file, with the file lines it came from."""

    lines: list[int]
    raw: Any
    source: list[list[str]] | str  # the CSV cells or the JSONL text, for the rejects file
    problems: list[Problem] = field(default_factory=list)
    header: list[str] | None = None  # the CSV header the cells belong to


@dataclass
class Parsed:
    """A chunk of rows after validation, and how far into the file it reaches."""

    rows: list[Row]
    valid: list[Item[Any]]
    rejected: list[Rejection]
    position: int


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


def _chunks(rows: Iterator[Row], size: int | None) -> Iterator[list[Row]]:
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if size is not None and len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def parse_chunks(
    path: Path, fmt: str, kind: Kind, chunk_size: int | None = None
) -> Generator[Parsed, None, None]:
    """Read and validate `path` in chunks; a products file (a catalogue) comes as one chunk.

    Rows keep their lines and source, not their raw values, so a chunk is cheap to pass on.
    """
    # A catalogue is read whole, so a premium_sku may name a product further down the file.
    size = None if kind is Kind.products else chunk_size or CHUNK
    with path.open("rb") as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as handle:
        rows = read_csv(handle, kind) if fmt == "csv" else read_jsonl(handle)
        try:
            for chunk in _chunks(rows, size):
                raws = [row.raw for row in chunk]
                valid, rejected = parse_batch(kind, raws, [row.problems for row in chunk])
                for row in chunk:
                    row.raw = None
                yield Parsed(chunk, valid, rejected, raw.tell())
        except UnicodeDecodeError as exc:
            raise InvalidInput(
                f"{path.name} is not UTF-8 text (byte {exc.start} of a block): save it as UTF-8"
            ) from None
