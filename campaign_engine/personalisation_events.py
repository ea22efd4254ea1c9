"""Impressions and clicks of the storefront, recorded as `events` rows for the reports.

Types `personalisation_impression` (one per answer: mode, holdout, rule set, what each slot
showed) and `personalisation_click`. Like tracked opens and clicks they are written in
batches per process by a background thread (`CE_TRACKING_WRITES=direct`: one by one).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from campaign_engine.batch_writer import BatchWriter
from campaign_engine.bulk import write_rows
from campaign_engine.db import transaction
from campaign_engine.models import Event
from campaign_engine.models.types import utcnow

IMPRESSION, CLICK = "personalisation_impression", "personalisation_click"
EVENT_SOURCE = "personalise"


def impression_row(
    impression_id: str,
    contact_id: int | None,
    visitor_id: str | None,
    properties: dict[str, Any],
    at: datetime,
) -> dict[str, Any]:
    """Return the `events` row of one answer shown to a visitor."""
    return _row(impression_id, contact_id, visitor_id, IMPRESSION, properties, at)


def click_row(
    key: str, contact_id: int | None, properties: dict[str, Any], at: datetime
) -> dict[str, Any]:
    """Return the `events` row of a click on an item of an answer."""
    return _row(key, contact_id, None, CLICK, properties, at)


def _row(
    key: str,
    contact_id: int | None,
    visitor_id: str | None,
    kind: str,
    properties: dict[str, Any],
    at: datetime,
) -> dict[str, Any]:
    return {
        "dedupe_key": key,
        "contact_id": contact_id,
        "anonymous_id": visitor_id,
        "type": kind,
        "properties": properties,
        "occurred_at": at,
        "source": EVENT_SOURCE,
        "created_at": utcnow(),
    }


def write_events(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert event rows, skipping any whose dedupe key is taken (a replayed click).

    Impression ids are fresh random ones, so impressions are copied straight in; only
    clicks, which a storefront may send twice, go through the conflict check.
    """
    impressions = [row for row in rows if row["type"] == IMPRESSION]
    clicks = [row for row in rows if row["type"] != IMPRESSION]
    write_rows(session, Event, impressions, conflict=["dedupe_key"], all_new=True)
    write_rows(session, Event, clicks, conflict=["dedupe_key"])


class EventSink(Protocol):
    """Takes impression and click rows from the API."""

    def submit(self, row: dict[str, Any]) -> None:
        """Record `row` now or soon."""

    def flush(self) -> None:
        """Record everything submitted so far before returning."""


class DirectSink:
    """Writes each row in its own transaction before the request answers (tests, debugging)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def submit(self, row: dict[str, Any]) -> None:
        """Record `row` now."""
        with transaction(self.sessions) as session:
            write_events(session, [row])

    def flush(self) -> None:
        """Nothing waits."""


class BufferedSink(BatchWriter[dict[str, Any]]):
    """Gathers rows in memory; a background thread writes them every `flush_ms` in one batch.

    A worker killed with SIGKILL loses at most the last `flush_ms` of impressions; a clean
    shutdown flushes.
    """

    def __init__(self, sessions: sessionmaker[Session], flush_ms: int) -> None:
        def write(batch: list[dict[str, Any]]) -> None:
            with transaction(sessions) as session:
                write_events(session, batch)

        super().__init__(write, flush_ms, "personalisation-writer")


def event_sink(sessions: sessionmaker[Session], writes: str, flush_ms: int) -> EventSink:
    """Return the sink for `writes` ("buffered" or "direct", as CE_TRACKING_WRITES)."""
    if writes == "direct":
        return DirectSink(sessions)
    return BufferedSink(sessions, flush_ms)
