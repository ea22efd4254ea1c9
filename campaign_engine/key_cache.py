"""API-key checks cached in process: a token's hash → its scopes, trusted for a few seconds.

The storefront's endpoints answer thousands of requests a second; checking the key in the
database each time would be most of the work. A key found valid is remembered (by the SHA-256
of the token, never the token) for `seconds`, so revoking it takes effect within that time,
and its `last_used_at` is refreshed at most that often. Unknown keys are never cached: they
are checked every time, and every failure gets the same 401, whatever was wrong.
"""

from __future__ import annotations

import hashlib
import threading
import time

from sqlalchemy.orm import Session, sessionmaker

from campaign_engine.accounts import authenticate_api_key
from campaign_engine.db import transaction
from campaign_engine.errors import Forbidden, Unauthorized

MAX_KEYS = 10_000
UNAUTHORIZED = "missing or unknown API key: send 'Authorization: Bearer <key>'"


class KeyCache:
    """Checks Bearer tokens against `api_keys`, remembering valid ones for `seconds`."""

    def __init__(self, sessions: sessionmaker[Session], seconds: float) -> None:
        self.sessions = sessions
        self.seconds = seconds
        self._keys: dict[str, tuple[frozenset[str], float]] = {}
        self._lock = threading.Lock()

    def check(self, token: str | None, scope: str) -> None:
        """Raise Unauthorized (one message for every failure) or Forbidden; else return."""
        if not token:
            raise Unauthorized(UNAUTHORIZED)
        digest = hashlib.sha256(token.encode()).hexdigest()
        now = time.monotonic()
        found = self._keys.get(digest)
        fresh = found is not None and found[1] > now
        scopes = found[0] if found is not None and fresh else self._look_up(token, digest)
        if scope not in scopes:
            raise Forbidden(f"this API key lacks the {scope!r} scope")

    def _look_up(self, token: str, digest: str) -> frozenset[str]:
        try:
            with transaction(self.sessions) as session:
                scopes = authenticate_api_key(session, token, None).scope_set
        except Unauthorized:
            with self._lock:
                self._keys.pop(digest, None)
            raise Unauthorized(UNAUTHORIZED) from None
        with self._lock:
            if len(self._keys) >= MAX_KEYS:
                self._keys.clear()
            self._keys[digest] = (scopes, time.monotonic() + self.seconds)
        return scopes
