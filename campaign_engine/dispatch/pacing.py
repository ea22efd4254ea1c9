"""Per-channel rate limits: a token bucket the sender waits on before each provider call."""

from __future__ import annotations

import threading
import time


class Pace:
    """Allow at most `rate` messages per second on average (0 = unlimited), bursts of one second."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def wait(self, count: int) -> float:
        """Block until `count` messages may go; return how long it waited."""
        if self.rate <= 0:
            return 0.0
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            self.tokens -= count
            delay = -self.tokens / self.rate if self.tokens < 0 else 0.0
        if delay > 0:
            time.sleep(delay)
        return delay
