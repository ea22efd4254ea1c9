"""What a fake received: a thread-safe in-memory list, optionally mirrored to a JSONL file."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

Record = dict[str, Any]


class Recorder:
    """Keep every received record; append each request's records to `log_path` and flush.

    A test in another process can read the JSONL log while the fake runs.
    """

    def __init__(self, log_path: Path | None = None) -> None:
        self.log_path = log_path
        self._records: list[Record] = []
        self._lock = threading.Lock()

    def add(self, records: Sequence[Record]) -> None:
        """Record what one request brought, all at once."""
        lines = (
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
            if self.log_path
            else ""
        )
        with self._lock:
            self._records.extend(records)
            if self.log_path is not None:
                with self.log_path.open("a", encoding="utf-8") as log:
                    log.write(lines)
                    log.flush()

    def received(self) -> list[Record]:
        """Return a copy of everything recorded so far, in arrival order."""
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        """Forget what was recorded in memory (the log file is left alone)."""
        with self._lock:
            self._records.clear()


def read_log(path: Path) -> list[Record]:
    """Return the records of a JSONL log written by a `Recorder`."""
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as log:
        return [json.loads(line) for line in log if line.strip()]
