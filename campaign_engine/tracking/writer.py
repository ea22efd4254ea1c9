"""Hand tracked events to the database: at once (direct) or in batches per process (buffered).

Opens and clicks are the bulk of tracking traffic and each one is tiny, so the buffered writer
gathers them in memory and records a batch every `flush_ms` (or at `BATCH` events) from one
background thread: one transaction per batch instead of one per request. It flushes on a
clean shutdown (gunicorn's worker exit, interpreter exit); a worker killed with SIGKILL loses at
most the last `flush_ms` of opens and clicks. Unsubscribes and provider webhooks never go
through it: they are written before the response.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from campaign_engine.db import transaction
from campaign_engine.tracking.machine import MachineRules
from campaign_engine.tracking.record import RawEvent, RecordResult, record_events

BATCH = 2000
log = logging.getLogger(__name__)


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


class BufferedWriter:
    """Gathers events in memory; a background thread records them in batches."""

    def __init__(self, sessions: sessionmaker[Session], rules: MachineRules, flush_ms: int) -> None:
        self.sessions = sessions
        self.rules = rules
        self.interval = flush_ms / 1000
        self.pending: list[RawEvent] = []
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.idle = threading.Condition(self.lock)
        self.writing = 0
        self.stopped = False
        self.thread: threading.Thread | None = None
        atexit.register(self.close)

    def submit(self, event: RawEvent) -> None:
        """Queue `event`; start the background thread on first use (after any fork)."""
        with self.lock:
            self.pending.append(event)
            full = len(self.pending) >= BATCH
            if self.thread is None:
                self.thread = threading.Thread(
                    target=self._run, name="tracking-writer", daemon=True
                )
                self.thread.start()
        if full:
            self.wake.set()

    def _take(self) -> list[RawEvent]:
        with self.lock:
            batch, self.pending = self.pending, []
            self.writing += bool(batch)
            return batch

    def _write(self, batch: list[RawEvent]) -> None:
        try:
            write_now(self.sessions, batch, self.rules)
        except Exception:  # keep the thread alive; the batch is retried once, then dropped
            log.exception("recording %d tracking events failed; retrying once", len(batch))
            try:
                write_now(self.sessions, batch, self.rules)
            except Exception:
                log.exception("dropped %d tracking events", len(batch))
        finally:
            with self.lock:
                self.writing -= 1
                self.idle.notify_all()

    def _run(self) -> None:
        while not self.stopped:
            self.wake.wait(self.interval)
            self.wake.clear()
            batch = self._take()
            if batch:
                self._write(batch)

    def flush(self) -> None:
        """Record everything queued so far (here, in the caller's thread)."""
        batch = self._take()
        if batch:
            self._write(batch)
        with self.lock:
            while self.writing:
                self.idle.wait(1)

    def close(self) -> None:
        """Flush and stop the background thread."""
        self.stopped = True
        self.wake.set()
        self.flush()
