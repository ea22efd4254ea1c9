"""Make queued journey webhook calls: signed POSTs with a timeout, retried with backoff.

The runner only writes `JourneyWebhookCall` rows (an outbox), so a slow or dead receiver
never holds up a contact. This job claims due calls in one short transaction, posts them in
parallel outside any transaction, then records the answers in another. The body is signed
like social webhooks (`X-CE-Timestamp`, `X-CE-Signature`: HMAC-SHA256 of "timestamp.body").
A 2xx answer is done, and its body (JSON, or text) is written to the contact's custom
attribute `save_response_to` when the step asks for it. Timeouts, network errors, 408, 429
and 5xx are retried with exponential backoff until `max_attempts`; other 4xx answers fail at
once. A claim older than `LEASE` (a job that died mid-call) is taken again.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import requests
from sqlalchemy import Table, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from campaign_engine.channels.webhook_signing import signed_headers
from campaign_engine.db import transaction
from campaign_engine.models import Contact, JourneyWebhookCall

LEASE = timedelta(minutes=2)
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
WORKERS = 8
MAX_SAVED = 10_000  # characters of a text answer kept on the profile
CALLS = cast(Table, JourneyWebhookCall.__table__)
CONTACTS = cast(Table, Contact.__table__)


@dataclass(frozen=True, slots=True)
class Call:
    """A claimed webhook call."""

    id: int
    contact_id: int
    url: str
    payload: dict[str, Any]
    save_response_to: str | None
    timeout_seconds: int
    attempts: int
    max_attempts: int


@dataclass(frozen=True, slots=True)
class Answer:
    """What one POST came to: `done`, `retry` or `failed`, with the reply when there was one."""

    outcome: str
    status: int | None = None
    body: Any = None
    error: str | None = None


def backoff(attempts: int) -> timedelta:
    """Return how long to wait after the `attempts`-th failed attempt."""
    return cast(timedelta, min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_CAP))


def deliver_webhooks(
    sessions: sessionmaker[Session],
    now: datetime,
    limit: int = 50,
    *,
    secret: str,
    lease: timedelta = LEASE,
) -> Counter[str]:
    """Make up to `limit` due calls; return how many ended done, retry or failed."""
    with transaction(sessions) as session:
        calls = claim_calls(session, now, limit, lease)
    if not calls:
        return Counter()
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(calls))) as pool:
        answers = list(pool.map(lambda call: post(call, secret), calls))
    with transaction(sessions) as session:
        return record_answers(session, list(zip(calls, answers, strict=True)), now)


def claim_calls(session: Session, now: datetime, limit: int, lease: timedelta) -> list[Call]:
    """Claim due pending calls (counting the attempt), oldest first."""
    c = CALLS.c
    claimable = (c.status == "pending", or_(c.claimed_at.is_(None), c.claimed_at < now - lease))
    due = (
        select(c.id)
        .where(*claimable, c.next_attempt_at <= now)
        .order_by(c.next_attempt_at)
        .limit(limit)
    )
    rows = session.execute(
        update(CALLS)
        .where(c.id.in_(due.scalar_subquery()), *claimable)
        .values(claimed_at=now, attempts=c.attempts + 1)
        .returning(
            c.id,
            c.contact_id,
            c.url,
            c.payload,
            c.save_response_to,
            c.timeout_seconds,
            c.attempts,
            c.max_attempts,
        )
    )
    return sorted((Call(*row) for row in rows), key=lambda call: call.id)


def post(call: Call, secret: str) -> Answer:
    """POST the signed payload; never raises for receiver or network trouble."""
    raw = json.dumps(call.payload, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", **signed_headers(secret, raw)}
    try:
        response = requests.post(call.url, data=raw, headers=headers, timeout=call.timeout_seconds)
        text = response.text
    except requests.RequestException as error:
        return Answer("retry", error=f"unreachable or too slow: {error!r}"[:500])
    status = response.status_code
    if 200 <= status < 300:
        try:
            body: Any = json.loads(text) if text else None
        except ValueError:
            body = text[:MAX_SAVED]
        return Answer("done", status, body)
    outcome = "retry" if status >= 500 or status in (408, 429) else "failed"
    return Answer(outcome, status, error=f"answered {status}: {text[:200]}")


def record_answers(
    session: Session, answered: Sequence[tuple[Call, Answer]], now: datetime
) -> Counter[str]:
    """Store each call's outcome, schedule retries, save answers onto profiles."""
    outcomes: Counter[str] = Counter()
    c = CALLS.c
    for call, answer in answered:
        outcome = answer.outcome
        if outcome == "retry" and call.attempts >= call.max_attempts:
            outcome = "failed"
        values: dict[str, Any] = {
            "claimed_at": None,
            "response_status": answer.status,
            "error": answer.error,
            "status": "pending" if outcome == "retry" else outcome,
        }
        if outcome == "retry":
            values["next_attempt_at"] = now + backoff(call.attempts)
        session.execute(update(CALLS).where(c.id == call.id).values(**values))
        if outcome == "done" and call.save_response_to:
            save_answer(session, call.contact_id, call.save_response_to, answer.body, now)
        outcomes[outcome] += 1
    return outcomes


def save_answer(
    session: Session, contact_id: int, attribute: str, value: Any, now: datetime
) -> None:
    """Write a webhook's answer to one custom attribute of the contact."""
    query = select(CONTACTS.c.id, CONTACTS.c.attributes).where(CONTACTS.c.id == contact_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()  # an ingest may be writing the same attributes
    row = session.execute(query).first()
    if row is None:
        return  # the contact is gone
    attributes = row[1] or {}
    session.execute(
        update(CONTACTS)
        .where(CONTACTS.c.id == contact_id)
        .values(attributes={**attributes, attribute: value}, updated_at=now)
    )
