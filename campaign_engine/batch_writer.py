"""Write small records in batches from one background thread per process.

Tracked opens and clicks and storefront impressions are tiny and many: gathered in memory and
written every `flush_ms` (or at `BATCH` records) in one transaction instead of one per request.
A clean shutdown (worker exit, interpreter exit) flushes; a process killed with SIGKILL loses
at most the last `flush_ms` of records. A failed batch is retried once, then dropped and logged,
so the thread stays alive.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

BATCH = 2000
T = TypeVar("T")
log = logging.getLogger(__name__)


class BatchWriter(Generic[T]):
    """Gathers records in memory; a background thread hands them to `write` in batches."""

    def __init__(self, write: Callable[[list[T]], object], flush_ms: int, name: str) -> None:
        self.write = write
        self.name = name  # the thread's name and what the log calls the records
        self.interval = flush_ms / 1000
        self.pending: list[T] = []
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.idle = threading.Condition(self.lock)
        self.writing = 0  # batches taken but not yet written
        self.stopped = False
        self.thread: threading.Thread | None = None
        atexit.register(self.close)

    def submit(self, record: T) -> None:
        """Queue `record`; start the background thread on first use (after any fork)."""
        with self.lock:
            self.pending.append(record)
            full = len(self.pending) >= BATCH
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self.thread.start()
        if full:
            self.wake.set()

    def _take(self) -> list[T]:
        with self.lock:
            batch, self.pending = self.pending, []
            self.writing += bool(batch)
            return batch

    def _write(self, batch: list[T]) -> None:
        if not batch:
            return
        try:
            for attempt in (1, 2):
                try:
                    self.write(batch)
                    return
                except Exception:  # keep the thread alive; retried once, then dropped
                    log.exception(
                        "%s: writing %d records failed (attempt %d of 2)",
                        self.name,
                        len(batch),
                        attempt,
                    )
        finally:
            with self.lock:
                self.writing -= 1
                self.idle.notify_all()

    def _run(self) -> None:
        while not self.stopped:
            self.wake.wait(self.interval)
            self.wake.clear()
            self._write(self._take())

    def flush(self) -> None:
        """Write everything queued so far (here, in the caller's thread) and wait for the rest."""
        self._write(self._take())
        with self.lock:
            while self.writing:
                self.idle.wait(1)

    def close(self) -> None:
        """Flush and stop the background thread."""
        self.stopped = True
        self.wake.set()
        self.flush()
