"""Hand tracked events to the database: at once (direct) or in batches per process (buffered).

Opens and clicks are the bulk of tracking traffic and each one is tiny, so the buffered writer
records them in batches (`batch_writer.BatchWriter`): one transaction per batch instead of one
per request. Unsubscribes and provider webhooks never go through it: they are written before
the response.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from campaign_engine.batch_writer import BatchWriter
from campaign_engine.db import transaction
from campaign_engine.tracking.machine import MachineRules
from campaign_engine.tracking.record import RawEvent, RecordResult, record_events


class EventWriter(Protocol):
    """Takes events from the tracking endpoints."""

    def submit(self, event: RawEvent) -> None:
        """Record `event` now or soon."""

    def flush(self) -> None:
        """Record everything submitted so far before returning."""

    def close(self) -> None:
        """Flush and stop."""


def write_now(
    sessions: sessionmaker[Session], events: Sequence[RawEvent], rules: MachineRules
) -> RecordResult:
    """Record `events` in one transaction of their own."""
    with transaction(sessions) as session:
        return record_events(session, events, rules)


class DirectWriter:
    """Records each event in its own transaction before the request answers."""

    def __init__(self, sessions: sessionmaker[Session], rules: MachineRules) -> None:
        self.sessions = sessions
        self.rules = rules

    def submit(self, event: RawEvent) -> None:
        """Record `event` now."""
        write_now(self.sessions, [event], self.rules)

    def flush(self) -> None:
        """Nothing waits: every event is already recorded."""

    def close(self) -> None:
        """Nothing to stop."""


class BufferedWriter(BatchWriter[RawEvent]):
    """Gathers events in memory; a background thread records them in batches."""

    def __init__(self, sessions: sessionmaker[Session], rules: MachineRules, flush_ms: int) -> None:
        super().__init__(
            lambda batch: write_now(sessions, batch, rules), flush_ms, "tracking-writer"
        )
