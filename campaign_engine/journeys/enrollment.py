"""Enroll contacts in a journey version in bulk: re-entry, entry caps and the journey holdout.

Every entry path (segment, event, schedule, API) ends here. An enrollment row starts at its
entry step, `active` and due at once, so the next runner tick walks it; its entry step gets a
`JourneyStep` row straight away. Re-entry and `max_entries` count the contact's enrollments in
every version of the journey. The holdout draw is seeded with `<journey>:<contact>:<entry
number>`, which is known before the row exists and never changes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Table, case, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from campaign_engine.bulk import key_in, write_rows
from campaign_engine.models import JourneyEnrollment, JourneyStep, JourneyVersion
from journeys import JourneyDefinition, in_holdout, may_enter, parse, start

CHUNK = 5_000
LIVE = ("active", "waiting")
TABLE = cast(Table, JourneyEnrollment.__table__)


def definition_of(version: JourneyVersion) -> JourneyDefinition:
    """Return a version's parsed definition (parsed once per distinct definition)."""
    return _parsed(json.dumps(version.definition, sort_keys=True))


@lru_cache(maxsize=512)
def _parsed(text: str) -> JourneyDefinition:
    return parse(json.loads(text))


def holdout_seed(journey_id: int, contact_id: int, entry_number: int) -> str:
    """Return the stable seed of one entry's journey-holdout draw."""
    return f"{journey_id}:{contact_id}:{entry_number}"


def enroll(
    session: Session,
    version: JourneyVersion,
    contact_ids: Iterable[int],
    entry_id: str,
    now: datetime,
) -> int:
    """Enroll the contacts the journey's settings let in by `entry_id`; return how many entered.

    Safe to repeat and to race: a second enrollment with the same entry number is refused by
    the unique (journey, contact, entry number) constraint and simply not counted.
    """
    definition = definition_of(version)
    first = start(definition, entry_id, now)  # raises JourneyError for a step that is no entry
    wanted = sorted(set(contact_ids))
    entered = 0
    for i in range(0, len(wanted), CHUNK):
        entered += _enroll_chunk(
            session, version, definition, wanted[i : i + CHUNK], first.to_json(), now
        )
    return entered


def _enroll_chunk(
    session: Session,
    version: JourneyVersion,
    definition: JourneyDefinition,
    contact_ids: list[int],
    state: dict[str, Any],
    now: datetime,
) -> int:
    e = JourneyEnrollment
    history = session.execute(
        select(
            e.contact_id,
            func.count(),
            func.max(e.entry_number),
            func.max(e.entered_at),
            func.sum(case((e.status.in_(LIVE), 1), else_=0)),
        )
        .where(e.journey_id == version.journey_id, key_in(session, e.contact_id, contact_ids))
        .group_by(e.contact_id)
    )
    past = {row[0]: row[1:] for row in history}
    rows: list[dict[str, Any]] = []
    for contact_id in contact_ids:
        entries, top, last, live = past.get(contact_id, (0, 0, None, 0))
        if not may_enter(
            definition.settings,
            entries=entries,
            active=bool(live),
            last_entered_at=last,
            now=now,
        ):
            continue
        number = (top or 0) + 1
        rows.append(
            {
                "journey_id": version.journey_id,
                "version_id": version.id,
                "contact_id": contact_id,
                "entry_number": number,
                "holdout": in_holdout(
                    definition, holdout_seed(version.journey_id, contact_id, number)
                ),
                "status": "active",
                "node_id": state["node_id"],
                "state": state,
                "due_at": now,
                "claimed_at": None,
                "entered_at": now,
                "updated_at": now,
                "finished_at": None,
            }
        )
    if not rows:
        return 0
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = (
        dialect.insert(TABLE)
        .on_conflict_do_nothing(index_elements=["journey_id", "contact_id", "entry_number"])
        .returning(TABLE.c.id)
    )
    ids = list(session.connection().execute(insert, rows).scalars())
    write_rows(
        session,
        JourneyStep,
        [
            {
                "enrollment_id": enrollment_id,
                "journey_id": version.journey_id,
                "version_id": version.id,
                "node_id": state["node_id"],
                "entered_at": now,
                "left_at": None,
                "outcome": None,
            }
            for enrollment_id in ids
        ],
    )
    return len(ids)
