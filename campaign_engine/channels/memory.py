"""The in-memory twin of every channel: records what it is given, answers as scripted."""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping, Sequence

from campaign_engine.channels.base import ChannelName, OutboundMessage, Outcome, SendResult
from templates.sms import sms_segments


class MemoryChannel:
    """A channel that sends nothing and remembers everything, for tests and the demo.

    `scripted` maps a delivery id to the outcome its message gets (e.g. to make one contact's
    message fail); otherwise a message is retried with probability `fault_rate` (drawn from a
    RNG seeded with `seed`) and accepted the rest of the time. `cost` is the per-message price,
    per segment for SMS.
    """

    def __init__(
        self,
        name: ChannelName,
        price: float = 0.0,
        max_batch: int = 1000,
        scripted: Mapping[int, Outcome] | None = None,
        fault_rate: float = 0.0,
        seed: int | None = None,
    ) -> None:
        self.name: ChannelName = name
        self.max_batch = max_batch
        self.messages: list[OutboundMessage] = []  # every message handed to `send`
        self.results: list[SendResult] = []  # the answer each of them got
        self.batches: list[list[OutboundMessage]] = []
        self._price = price
        self._scripted = dict(scripted or {})
        self._fault_rate = fault_rate
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._next_id = 0
        self.closed = False

    def send(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        """Record the batch and return one result per message, in order."""
        with self._lock:
            self.batches.append(list(messages))
            results = [self._result(m) for m in messages]
            self.messages.extend(messages)
            self.results.extend(results)
            return results

    def accepted(self) -> list[OutboundMessage]:
        """Return the messages that got an `accepted` result, in sending order."""
        with self._lock:
            pairs = zip(self.messages, self.results, strict=True)
            return [m for m, r in pairs if r.outcome == "accepted"]

    def cost(self, message: OutboundMessage) -> float:
        """Return the price of `message` (per segment for SMS)."""
        if self.name == "sms":
            return sms_segments(message.text).segments * self._price
        return self._price

    def close(self) -> None:
        """Mark the channel closed; it still records if used again."""
        self.closed = True

    def _result(self, message: OutboundMessage) -> SendResult:
        outcome = self._scripted.get(message.delivery_id)
        if outcome is None:
            outcome = "retry" if self._rng.random() < self._fault_rate else "accepted"
        if outcome == "accepted":
            self._next_id += 1
            return SendResult(message.delivery_id, "accepted", provider_id=f"mem-{self._next_id}")
        reason = "scripted failure" if outcome == "failed" else "scripted or random fault"
        return SendResult(message.delivery_id, outcome, reason=reason)
