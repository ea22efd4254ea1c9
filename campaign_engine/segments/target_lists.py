"""Target lists: frozen segment snapshots (sorted, limited, de-duplicated), uploads, CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from sqlalchemy import Select, delete, func, insert, literal, select
from sqlalchemy.orm import Session

from campaign_engine.bulk import key_in, write_rows
from campaign_engine.errors import InvalidInput, NotFound, Problem
from campaign_engine.models import Contact, ContactTraits, Segment, TargetList, TargetListMember
from campaign_engine.segments.definition import parse_definition
from campaign_engine.segments.service import (
    MembersPage,
    get_segment,
    members_select,
)

SORT_FIELDS: dict[str, Any] = {
    "clv": ContactTraits.clv,
    "monetary": ContactTraits.monetary,
    "frequency": ContactTraits.frequency,
    "recency_days": ContactTraits.recency_days,
    "p_alive": ContactTraits.p_alive,
    "revenue_total": ContactTraits.revenue_total,
    "household_income": Contact.household_income,
    "created_at": Contact.created_at,
    "id": Contact.id,
}
DEDUPE_FIELDS: dict[str, Any] = {"email": Contact.email, "phone": Contact.phone}
MATCH_FIELDS = ("external_id", "email", "phone")
EXPORT_COLUMNS = (
    "position",
    "contact_id",
    "external_id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "city",
    "country",
)
MAX_LIMIT = 10_000_000


@dataclass(frozen=True)
class TargetListRow:
    """A target list as the list pages show it."""

    id: int
    name: str
    kind: str
    segment_id: int | None
    segment_name: str | None
    size: int
    sort_by: str | None
    limit: int | None
    dedupe_by: str | None
    created_at: datetime


@dataclass(frozen=True)
class StaticListResult:
    """An uploaded list: what matched a contact and which lines did not."""

    target_list: TargetList
    matched: int
    unmatched: list[Problem]


def _check_options(
    name: str, sort_by: str | None, limit: int | None, dedupe_by: str | None
) -> list[Problem]:
    problems = []
    if not name.strip() or len(name.strip()) > 200:
        problems.append(Problem("name", "give a name of 1-200 characters"))
    if sort_by is not None and sort_by not in SORT_FIELDS:
        problems.append(Problem("sort_by", f"sort by one of {', '.join(SORT_FIELDS)}"))
    if limit is not None and not 1 <= limit <= MAX_LIMIT:
        problems.append(Problem("limit", f"give a limit from 1 to {MAX_LIMIT:,}"))
    if dedupe_by is not None and dedupe_by not in DEDUPE_FIELDS:
        problems.append(Problem("dedupe_by", "de-duplicate by email or phone"))
    return problems


def create_snapshot(
    session: Session,
    segment_id: int,
    *,
    name: str,
    now: datetime,
    sort_by: str | None = None,
    descending: bool = True,
    limit: int | None = None,
    dedupe_by: str | None = None,
    created_by: str | None = None,
) -> TargetList:
    """Freeze a segment's members now into a list: sorted, de-duplicated, then limited."""
    segment = get_segment(session, segment_id)
    return snapshot_definition(
        session,
        segment.definition,
        segment_id=segment.id,
        name=name,
        now=now,
        sort_by=sort_by,
        descending=descending,
        limit=limit,
        dedupe_by=dedupe_by,
        created_by=created_by,
    )


def snapshot_definition(
    session: Session,
    definition: dict[str, Any],
    *,
    segment_id: int | None,
    name: str,
    now: datetime,
    sort_by: str | None = None,
    descending: bool = True,
    limit: int | None = None,
    dedupe_by: str | None = None,
    created_by: str | None = None,
) -> TargetList:
    """Freeze the members of a definition (a segment's or a campaign's audience) into a list."""
    if problems := _check_options(name, sort_by, limit, dedupe_by):
        raise InvalidInput("the target list options are invalid", problems)
    parsed = parse_definition(definition)
    target = TargetList(
        name=name.strip(),
        kind="snapshot",
        segment_id=segment_id,
        definition=definition,
        sort_by=sort_by,
        sort_descending=descending,
        limit=limit,
        dedupe_by=dedupe_by,
        created_by=created_by,
    )
    session.add(target)
    session.flush()
    members = members_select(session, parsed, now)
    ranked = _ranked(members, sort_by or "id", descending and sort_by is not None, dedupe_by)
    chosen = select(literal(target.id), ranked.c.contact_id, ranked.c.position)
    if limit is not None:
        chosen = chosen.where(ranked.c.position <= limit)
    session.execute(
        insert(TargetListMember).from_select(["list_id", "contact_id", "position"], chosen)
    )
    target.size = _size(session, target.id)
    session.flush()
    return target


def _ranked(members: Select[Any], sort_by: str, descending: bool, dedupe_by: str | None) -> Any:
    """Return a subquery of (contact_id, position) in list order, one row per dedupe key."""
    sort = SORT_FIELDS[sort_by]
    base = (
        select(Contact.id.label("contact_id"), sort.label("sort_value"))
        .select_from(Contact)
        .outerjoin(ContactTraits, ContactTraits.contact_id == Contact.id)
        .where(Contact.id.in_(members))
    )
    if dedupe_by is not None:
        key = DEDUPE_FIELDS[dedupe_by]
        order = _order(sort, descending, Contact.id)
        base = base.add_columns(
            key.label("dedupe_key"),
            func.row_number().over(partition_by=key, order_by=order).label("copy"),
        )
        sub = base.subquery()
        # Contacts without the key are kept: there is nothing to collapse them on.
        base = select(sub.c.contact_id, sub.c.sort_value).where(
            (sub.c.copy == 1) | sub.c.dedupe_key.is_(None)
        )
    rows = base.subquery()
    order = _order(rows.c.sort_value, descending, rows.c.contact_id)
    return select(
        rows.c.contact_id, func.row_number().over(order_by=order).label("position")
    ).subquery()


def _order(sort: Any, descending: bool, tiebreak: Any) -> list[Any]:
    return [(sort.desc() if descending else sort.asc()).nulls_last(), tiebreak.asc()]


def _size(session: Session, list_id: int) -> int:
    count = select(func.count()).where(TargetListMember.list_id == list_id)
    return session.scalar(count) or 0


def _normalise(match_by: str, value: str) -> str:
    value = value.strip()
    if match_by == "email":
        return value.lower()
    if match_by == "phone":
        return "".join(ch for ch in value if ch.isdigit() or ch == "+")
    return value


def create_static_list(
    session: Session, *, name: str, csv_text: str, match_by: str, created_by: str | None = None
) -> StaticListResult:
    """Make a list from an uploaded CSV, matching rows to contacts by one column."""
    problems = _check_options(name, None, None, None)
    if match_by not in MATCH_FIELDS:
        problems.append(Problem("match_by", f"match by one of {', '.join(MATCH_FIELDS)}"))
    if problems:
        raise InvalidInput("the list upload is invalid", problems)
    reader = csv.DictReader(io.StringIO(csv_text.lstrip("\ufeff")))
    columns = [c.strip().lower() for c in reader.fieldnames or []]
    if match_by not in columns:
        found = ", ".join(columns) or "none"
        raise InvalidInput(
            "the CSV cannot be matched to contacts",
            [Problem("line 1", f"the header has no {match_by!r} column (columns: {found})")],
        )
    reader.fieldnames = columns
    wanted: dict[str, int] = {}  # key -> first line it appears on
    for row in reader:
        value = _normalise(match_by, row.get(match_by) or "")
        if value and value not in wanted:
            wanted[value] = reader.line_num
    found_ids = _lookup(session, match_by, list(wanted))
    unmatched = [
        Problem(f"line {line}", f"no contact with {match_by} {key!r}")
        for key, line in wanted.items()
        if key not in found_ids
    ]
    target = TargetList(name=name.strip(), kind="static", created_by=created_by)
    session.add(target)
    session.flush()
    seen: set[int] = set()
    rows: list[dict[str, Any]] = []
    for key in wanted:
        contact_id = found_ids.get(key)
        if contact_id is not None and contact_id not in seen:
            seen.add(contact_id)
            rows.append({"list_id": target.id, "contact_id": contact_id, "position": len(rows) + 1})
    write_rows(session, TargetListMember, rows, all_new=True)
    target.size = len(rows)
    session.flush()
    return StaticListResult(target, len(rows), unmatched)


def _lookup(session: Session, match_by: str, keys: list[str]) -> dict[str, int]:
    column = getattr(Contact, match_by)
    found: dict[str, int] = {}
    for start in range(0, len(keys), 5_000):
        chunk = keys[start : start + 5_000]
        rows = session.execute(
            select(column, Contact.id).where(key_in(session, column, chunk)).order_by(Contact.id)
        )
        for key, contact_id in rows:
            found.setdefault(key, contact_id)
    return found


def get_target_list(session: Session, list_id: int) -> TargetList:
    """Return a target list or raise NotFound."""
    target = session.get(TargetList, list_id)
    if target is None:
        raise NotFound(f"target list {list_id} does not exist")
    return target


def list_target_lists(session: Session) -> list[TargetListRow]:
    """Return every target list, newest first."""
    rows = session.execute(
        select(
            TargetList.id,
            TargetList.name,
            TargetList.kind,
            TargetList.segment_id,
            Segment.name.label("segment_name"),
            TargetList.size,
            TargetList.sort_by,
            TargetList.limit,
            TargetList.dedupe_by,
            TargetList.created_at,
        )
        .outerjoin(Segment, Segment.id == TargetList.segment_id)
        .order_by(TargetList.created_at.desc(), TargetList.id.desc())
    )
    return [TargetListRow(**row._mapping) for row in rows]


def delete_target_list(session: Session, list_id: int) -> None:
    """Delete a target list and its members."""
    target = get_target_list(session, list_id)
    session.execute(delete(TargetListMember).where(TargetListMember.list_id == list_id))
    session.delete(target)
    session.flush()


def _export_select(source: Any) -> Select[Any]:
    """Select contacts' export columns from a (contact_id, position) source, in order."""
    return (
        select(
            source.c.position,
            Contact.id.label("contact_id"),
            Contact.external_id,
            Contact.email,
            Contact.phone,
            Contact.first_name,
            Contact.last_name,
            Contact.city,
            Contact.country,
        )
        .join(Contact, Contact.id == source.c.contact_id)
        .order_by(source.c.position)
    )


def _member_rows(list_id: int) -> Select[Any]:
    members = select(TargetListMember.contact_id, TargetListMember.position).where(
        TargetListMember.list_id == list_id
    )
    return _export_select(members.subquery())


def get_members_page(session: Session, list_id: int, page: int, per_page: int) -> MembersPage:
    """Return one page of a list's members in list order."""
    target = get_target_list(session, list_id)
    stmt = _member_rows(list_id).limit(per_page).offset((page - 1) * per_page)
    items = [dict(row._mapping) for row in session.execute(stmt)]
    return MembersPage(items, target.size, page, per_page)


def _iter_csv(session: Session, stmt: Select[Any]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    result = session.execute(stmt.execution_options(yield_per=5_000))
    for partition in result.partitions():
        writer.writerows(partition)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def iter_csv(session: Session, list_id: int) -> Iterator[str]:
    """Yield a list's members as CSV text, header first, streaming from the database."""
    get_target_list(session, list_id)
    return _iter_csv(session, _member_rows(list_id))


def iter_segment_csv(
    session: Session,
    segment_id: int,
    now: datetime,
    sort_by: str | None = None,
    descending: bool = True,
    limit: int | None = None,
    dedupe_by: str | None = None,
) -> Iterator[str]:
    """Yield a segment's current members as CSV (as a snapshot would hold them, unsaved)."""
    if problems := _check_options("export", sort_by, limit, dedupe_by):
        raise InvalidInput("the export options are invalid", problems)
    definition = parse_definition(get_segment(session, segment_id).definition)
    members = members_select(session, definition, now)
    ranked = _ranked(members, sort_by or "id", descending and sort_by is not None, dedupe_by)
    stmt = _export_select(ranked)
    if limit is not None:
        stmt = stmt.where(ranked.c.position <= limit)
    return _iter_csv(session, stmt)


def write_csv(session: Session, list_id: int, out: TextIO) -> int:
    """Write a list as CSV to `out`; return the number of members written."""
    for chunk in iter_csv(session, list_id):
        out.write(chunk)
    return get_target_list(session, list_id).size
