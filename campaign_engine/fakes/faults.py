"""Fault injection for the fake providers: which request gets a 429, a 5xx, a hang or garbage."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from enum import Enum


class Fault(Enum):
    """What a fake does to one request instead of (or after) handling it."""

    NONE = "none"
    RATE_LIMIT = "429"  # 429 with Retry-After; not recorded
    SERVER_ERROR = "5xx"  # 500 or 503; not recorded
    TIMEOUT = "timeout"  # no reply for `timeout_seconds`, then the connection closes
    MALFORMED = "malformed"  # a success status with a truncated body; not recorded
    LOST_REPLY = "lost_reply"  # handled and recorded, then the connection drops unanswered


@dataclass(frozen=True)
class FaultPlan:
    """Per-request fault probabilities; the rest of the requests are handled normally.

    `rate_lost_reply` is the one fault after which the request IS recorded: the provider
    accepted the message but the client never hears so, as when a reply is lost in transit.
    """

    rate_429: float = 0.0
    retry_after: int = 1
    rate_5xx: float = 0.0
    rate_timeout: float = 0.0
    timeout_seconds: float = 30.0
    rate_malformed: float = 0.0
    rate_lost_reply: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        rates = (
            self.rate_429,
            self.rate_5xx,
            self.rate_timeout,
            self.rate_malformed,
            self.rate_lost_reply,
        )
        if any(r < 0 for r in rates) or sum(rates) > 1:
            raise ValueError("fault rates must be non-negative and add up to at most 1")


class FaultDice:
    """Draw a fault per request from a plan, thread-safely and repeatably for a given seed."""

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self._rng = random.Random(plan.seed)
        self._lock = threading.Lock()

    def roll(self) -> Fault:
        """Return the fault for the next request."""
        p = self.plan
        with self._lock:
            draw = self._rng.random()
        for fault, rate in (
            (Fault.RATE_LIMIT, p.rate_429),
            (Fault.SERVER_ERROR, p.rate_5xx),
            (Fault.TIMEOUT, p.rate_timeout),
            (Fault.MALFORMED, p.rate_malformed),
            (Fault.LOST_REPLY, p.rate_lost_reply),
        ):
            if draw < rate:
                return fault
            draw -= rate
        return Fault.NONE

    def pick_5xx(self) -> int:
        """Return 500 or 503."""
        with self._lock:
            return self._rng.choice((500, 503))
