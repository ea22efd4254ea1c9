"""The journey runner: claim due enrollments, gather their facts, advance them, apply effects.

One batch is one transaction: the claim, the effects (ledger rows, profile writes, webhook
calls), the trail and the new states commit together or not at all, so a runner that dies
mid-batch leaves nothing half-done and the next tick redoes the batch. PostgreSQL claims with
`FOR UPDATE SKIP LOCKED`, so runners in parallel take disjoint batches; SQLite (one writer)
claims with a conditional UPDATE of `claimed_at`. Only enrollments of published journeys
move: pausing a journey freezes its contacts where they are, and on resuming they carry on
in logical time (a wait that ended during the pause ends at its deadline). An enrollment
whose data breaks (a definition or state that no longer parses, an effect the database
refuses) does not hold up the batch: it keeps its place, its state records the error, and it
is tried again later with a growing backoff.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, or_, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from campaign_engine.bulk import write_rows
from campaign_engine.db import transaction
from campaign_engine.dispatch.policy import PolicyRules
from campaign_engine.journeys.effects import Moved, Route, carry_out
from campaign_engine.journeys.enrollment import definition_of
from campaign_engine.journeys.facts import Pending, gather
from campaign_engine.models import (
    Campaign,
    Journey,
    JourneyEnrollment,
    JourneyStep,
    JourneyVersion,
)
from journeys import EnrollmentState, JourneyDefinition, Step, advance

log = logging.getLogger(__name__)

BATCH = 1000
LEASE = timedelta(minutes=5)  # a SQLite claim older than this was abandoned
ERROR_BACKOFF = timedelta(minutes=5)
ERROR_BACKOFF_CAP = timedelta(days=1)
LIVE = ("active", "waiting")
FINISHED = ("completed", "exited", "converted")
ENROLLMENTS = cast(Table, JourneyEnrollment.__table__)
JOURNEYS = cast(Table, Journey.__table__)
STEPS = cast(Table, JourneyStep.__table__)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A claimed enrollment as stored."""

    id: int
    journey_id: int
    version_id: int
    contact_id: int
    status: str
    node_id: str
    holdout: bool
    state: dict[str, Any]


def tick(
    sessions: sessionmaker[Session],
    now: datetime,
    batch: int = BATCH,
    *,
    rules: PolicyRules | None = None,
    lease: timedelta = LEASE,
    max_batches: int | None = None,
) -> int:
    """Advance every enrollment due at `now`, a committed batch at a time; return transitions.

    A batch that fails as a whole is redone one enrollment at a time (each in a savepoint),
    so one bad enrollment cannot hold up the others.
    """
    rules = rules or PolicyRules()
    moved = batches = 0
    while max_batches is None or batches < max_batches:
        try:
            with transaction(sessions) as session:
                done, claimed = advance_due(session, now, batch, rules=rules, lease=lease)
        except Exception:
            log.exception("a journey batch failed; redoing it one enrollment at a time")
            with transaction(sessions) as session:
                done, claimed = advance_due(
                    session, now, batch, rules=rules, lease=lease, careful=True
                )
        moved += done
        batches += 1
        if claimed < batch:
            break
    return moved


def advance_due(
    session: Session,
    now: datetime,
    batch: int,
    *,
    rules: PolicyRules,
    lease: timedelta = LEASE,
    careful: bool = False,
) -> tuple[int, int]:
    """Claim and advance one batch in the caller's transaction; return (transitions, claimed)."""
    claimed = claim(session, now, batch, lease)
    if not claimed:
        return 0, 0
    routes, definitions = _versions(session, {c.version_id for c in claimed})
    failures: dict[int, str] = {}
    pending: list[tuple[Claimed, Pending]] = []
    for c in claimed:
        try:
            definition = definitions[c.version_id]
            if isinstance(definition, Exception):
                raise definition
            state = EnrollmentState.from_json(c.state)
            pending.append((c, Pending(c.id, c.contact_id, definition, state)))
        except Exception as error:
            failures[c.id] = _describe(error)
    moved: list[Moved] = []
    if careful:
        for c, p in pending:
            try:
                with session.begin_nested():
                    one = _advance(c, p, gather(session, [p], now)[c.id], routes, now)
                    carry_out(session, [one], rules, now)
                    record_trail(session, [one], now)
                moved.append(one)
            except Exception as error:
                failures[c.id] = _describe(error)
    else:
        facts = gather(session, [p for _, p in pending], now)
        for c, p in pending:
            try:
                moved.append(_advance(c, p, facts[c.id], routes, now))
            except Exception as error:
                failures[c.id] = _describe(error)
        carry_out(session, moved, rules, now)
        record_trail(session, moved, now)
    for enrollment_id, why in failures.items():
        log.warning("journey enrollment %d cannot advance: %s", enrollment_id, why)
    store(session, moved, [(c, failures[c.id]) for c in claimed if c.id in failures], now)
    return sum(len(m.step.transitions) for m in moved), len(claimed)


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:500]


def _advance(c: Claimed, p: Pending, facts: Any, routes: dict[int, Route], now: datetime) -> Moved:
    step = advance(p.definition, p.state, facts, now)
    return Moved(c.id, c.contact_id, c.holdout, routes[c.version_id], p.state, step)


def claim(session: Session, now: datetime, limit: int, lease: timedelta = LEASE) -> list[Claimed]:
    """Claim up to `limit` due enrollments of published journeys, earliest due first."""
    e = ENROLLMENTS.c
    columns = (e.id, e.journey_id, e.version_id, e.contact_id, e.status, e.node_id, e.holdout)
    due = (
        select(e.id)
        .join(JOURNEYS, JOURNEYS.c.id == e.journey_id)
        .where(e.due_at <= now, e.status.in_(LIVE), JOURNEYS.c.status == "published")
        .order_by(e.due_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        locked = due.add_columns(*columns[1:], e.state).with_for_update(
            skip_locked=True, of=ENROLLMENTS
        )
        rows = session.execute(locked).all()
    else:
        due = due.where(or_(e.claimed_at.is_(None), e.claimed_at < now - lease))
        rows = session.execute(
            update(ENROLLMENTS)
            .where(e.id.in_(due.scalar_subquery()))
            .values(claimed_at=now)
            .returning(*columns, e.state)
        ).all()
    return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)


def _versions(
    session: Session, version_ids: set[int]
) -> tuple[dict[int, Route], dict[int, JourneyDefinition | Exception]]:
    """Return each version's route (campaign and run) and parsed definition (or why not)."""
    routes: dict[int, Route] = {}
    definitions: dict[int, JourneyDefinition | Exception] = {}
    rows = session.execute(
        select(JourneyVersion, Journey.campaign_id, Campaign.purpose)
        .join(Journey, Journey.id == JourneyVersion.journey_id)
        .outerjoin(Campaign, Campaign.id == Journey.campaign_id)
        .where(JourneyVersion.id.in_(sorted(version_ids)))
    )
    for version, campaign_id, purpose in rows:
        routes[version.id] = Route(
            version.journey_id, version.id, campaign_id, version.run_id, purpose or "marketing"
        )
        try:
            definitions[version.id] = definition_of(version)
        except Exception as error:
            definitions[version.id] = error
    return routes, definitions


def _ending(step: Step) -> str:
    if step.status == "converted":
        return "converted"
    for effect in reversed(step.effects):
        reason = getattr(effect, "reason", None)
        if isinstance(reason, str):
            return reason
    return step.status


def record_trail(session: Session, moved: Sequence[Moved], now: datetime) -> None:
    """Close each enrollment's open step and add a step row for every node it reached."""
    closing: list[dict[str, Any]] = []
    opened: list[dict[str, Any]] = []
    for m in moved:
        # The open step: the row already in the table, until the first move.
        node: str | None = m.before.node_id
        at, stored = m.before.entered_at, True
        for t in m.step.transitions:
            if node is not None:
                _leave(closing, opened, m, (node, at, stored), t.at, t.branch)
            node, at, stored = t.to_node, t.at, False
        if node is not None and m.step.status != "waiting":
            _leave(closing, opened, m, (node, at, stored), now if stored else at, _ending(m.step))
        elif node is not None and not stored:
            opened.append(_step(m, node, at, None, None))
    _close_steps(session, closing)
    write_rows(session, JourneyStep, opened, conflict=["enrollment_id", "node_id", "entered_at"])


def _leave(
    closing: list[dict[str, Any]],
    opened: list[dict[str, Any]],
    m: Moved,
    current: tuple[str, datetime, bool],
    left_at: datetime,
    outcome: str,
) -> None:
    """Record that the enrollment left `current` (node, entered at, already stored)."""
    node, entered_at, stored = current
    if stored:
        closing.append({"b_e": m.enrollment_id, "b_n": node, "b_at": left_at, "b_o": outcome[:32]})
    else:
        opened.append(_step(m, node, entered_at, left_at, outcome[:32]))


def _step(
    m: Moved, node_id: str, entered_at: datetime, left_at: datetime | None, outcome: str | None
) -> dict[str, Any]:
    return {
        "enrollment_id": m.enrollment_id,
        "journey_id": m.route.journey_id,
        "version_id": m.route.version_id,
        "node_id": node_id,
        "entered_at": entered_at,
        "left_at": left_at,
        "outcome": outcome,
    }


CLOSE_MANY = text(
    "UPDATE journey_steps AS s SET left_at = v.left_at, outcome = v.outcome"
    " FROM unnest(CAST(:ids AS bigint[]), CAST(:nodes AS text[]),"
    " CAST(:lefts AS timestamptz[]), CAST(:outcomes AS text[]))"
    " AS v(enrollment_id, node_id, left_at, outcome)"
    " WHERE s.enrollment_id = v.enrollment_id AND s.node_id = v.node_id AND s.left_at IS NULL"
)


def _close_steps(session: Session, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            CLOSE_MANY,
            {
                "ids": [r["b_e"] for r in rows],
                "nodes": [r["b_n"] for r in rows],
                "lefts": [r["b_at"] for r in rows],
                "outcomes": [r["b_o"] for r in rows],
            },
        )
        return
    s = STEPS.c
    session.connection().execute(
        update(STEPS)
        .where(s.enrollment_id == bindparam("b_e"), s.node_id == bindparam("b_n"))
        .where(s.left_at.is_(None))
        .values(left_at=bindparam("b_at"), outcome=bindparam("b_o")),
        rows,
    )


STORE_MANY = text(
    "UPDATE journey_enrollments AS e SET status = v.status, node_id = v.node_id,"
    " state = CAST(v.state AS jsonb), due_at = v.due_at, claimed_at = NULL,"
    " updated_at = :now, finished_at = v.finished_at"
    " FROM unnest(CAST(:ids AS bigint[]), CAST(:statuses AS text[]), CAST(:nodes AS text[]),"
    " CAST(:states AS text[]), CAST(:dues AS timestamptz[]), CAST(:finished AS timestamptz[]))"
    " AS v(id, status, node_id, state, due_at, finished_at)"
    " WHERE e.id = v.id"
)


def store(
    session: Session,
    moved: Sequence[Moved],
    failed: Sequence[tuple[Claimed, str]],
    now: datetime,
) -> None:
    """Save each enrollment's new state, status and wake-up (or its error and retry time)."""
    rows = []
    for m in moved:
        status = m.step.status
        rows.append(
            {
                "b_id": m.enrollment_id,
                "b_status": status,
                "b_node_id": m.step.state.node_id,
                "b_state": m.step.state.to_json(),
                "b_due_at": m.step.wake_at if status == "waiting" else None,
                "b_finished_at": now if status in FINISHED else None,
            }
        )
    for c, error in failed:
        errors = int(c.state.get("errors", 0) or 0) + 1 if isinstance(c.state, dict) else 1
        backoff = min(ERROR_BACKOFF * 2 ** (errors - 1), ERROR_BACKOFF_CAP)
        state = dict(c.state) if isinstance(c.state, dict) else {"stored": c.state}
        rows.append(
            {
                "b_id": c.id,
                "b_status": c.status,
                "b_node_id": c.node_id,
                "b_state": state | {"error": error, "errors": errors},
                "b_due_at": now + backoff,
                "b_finished_at": None,
            }
        )
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            STORE_MANY,
            {
                "now": now,
                "ids": [r["b_id"] for r in rows],
                "statuses": [r["b_status"] for r in rows],
                "nodes": [r["b_node_id"] for r in rows],
                "states": [json.dumps(r["b_state"]) for r in rows],
                "dues": [r["b_due_at"] for r in rows],
                "finished": [r["b_finished_at"] for r in rows],
            },
        )
        return
    e = ENROLLMENTS.c
    session.connection().execute(
        update(ENROLLMENTS)
        .where(e.id == bindparam("b_id"))
        .values(
            status=bindparam("b_status"),
            node_id=bindparam("b_node_id"),
            state=bindparam("b_state"),
            due_at=bindparam("b_due_at"),
            finished_at=bindparam("b_finished_at"),
            claimed_at=None,
            updated_at=now,
        ),
        rows,
    )
