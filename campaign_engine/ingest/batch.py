"""Parse raw records into validated ones, locating every problem; write API batches whole."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from campaign_engine.errors import InvalidInput, PayloadTooLarge, Problem
from campaign_engine.ingest.records import RECORD_TYPES, Kind, Record
from campaign_engine.ingest.store import BatchResult, Item, Rejection, write_batch

MESSAGES = {
    "extra_forbidden": "unknown field",
    "missing": "is required",
}
# Errors whose message already quotes the value (our own validators) or has none to quote.
SELF_EXPLAINED = {*MESSAGES, "value_error", "assertion_error"}


def field_path(loc: Sequence[int | str]) -> str:
    """Render a pydantic location like ('lines', 0, 'sku') as 'lines[0].sku'."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def problems_of(error: ValidationError) -> list[Problem]:
    """Turn a pydantic error into one Problem per violation, naming the field."""
    problems = []
    for detail in error.errors(include_url=False):
        message = MESSAGES.get(detail["type"]) or detail["msg"].removeprefix("Value error, ")
        if detail["type"] not in SELF_EXPLAINED and not isinstance(
            detail.get("input"), dict | list
        ):
            message += f" (got {detail['input']!r})"
        problems.append(Problem(field_path(detail["loc"]), message))
    return problems


def parse_record(kind: Kind, raw: Any) -> Record | list[Problem]:
    """Validate one raw record; return it, or the problems with it."""
    if not isinstance(raw, dict):
        return [Problem("", f"a record must be a JSON object, got {type(raw).__name__}")]
    try:
        return RECORD_TYPES[kind].model_validate(raw)
    except ValidationError as error:
        return problems_of(error)


def parse_batch(
    kind: Kind, raws: Sequence[Any], found: Sequence[list[Problem]] | None = None
) -> tuple[list[Item[Any]], list[Rejection]]:
    """Validate every raw record; return the valid ones and the rejections, by position.

    `found` holds problems already known per record (from reading a file); such a record is
    rejected with them, without validating it.
    """
    valid: list[Item[Any]] = []
    rejected: list[Rejection] = []
    for index, raw in enumerate(raws):
        parsed = (found[index] if found else None) or parse_record(kind, raw)
        if isinstance(parsed, list):
            rejected.append(Rejection(index, parsed))
        else:
            valid.append((index, parsed))
    return valid, rejected


def located(rejections: Sequence[Rejection], where: str) -> list[Problem]:
    """Prefix each problem with the record's position, e.g. records[3].email."""
    return [
        Problem(f"{where}[{r.index}]" + (f".{p.location}" if p.location else ""), p.message)
        for r in rejections
        for p in r.problems
    ]


def ingest_batch(session: Session, kind: Kind, body: Any, max_batch: int) -> BatchResult:
    """Validate and write an API batch `{"records": [...]}`: all of it, or none of it."""
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise InvalidInput(
            'the body must be a JSON object {"records": [...]}', [Problem("records", "is required")]
        )
    unknown = sorted(set(body) - {"records"})
    if unknown:
        raise InvalidInput(
            "unknown fields in the body", [Problem(name, "unknown field") for name in unknown]
        )
    raws = body["records"]
    if len(raws) > max_batch:
        raise PayloadTooLarge(
            f"a batch holds at most {max_batch} records; this one has {len(raws)}"
        )
    valid, rejected = parse_batch(kind, raws)
    if rejected:
        raise InvalidInput(
            f"{len(rejected)} of {len(raws)} {kind} are invalid; nothing was written",
            located(rejected, "records"),
        )
    result = write_batch(session, kind, valid)
    if result.rejected:
        count = len(result.rejected)
        raise InvalidInput(
            f"{count} of {len(raws)} {kind} refer to unknown records; nothing written",
            located(result.rejected, "records"),
        )
    return result
