"""Dispatch settings: contact policy, sender identity and links, batch sizes and leases."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time, timedelta

from campaign_engine.dispatch.policy import PolicyRules


@dataclass(frozen=True)
class DispatchSettings:
    """How campaigns are sent; built by `config.load_settings` from CE_* variables."""

    public_url: str = "http://127.0.0.1:8000"
    sender_name: str = "Campaign Engine Demo Store"
    sender_postal_address: str = "1 Market Street, Springfield, 01101, US"
    unsubscribe_mailbox: str = ""
    allow_unknown_consent: bool = False
    cap_total: int = 3
    cap_window_days: int = 7
    channel_caps: dict[str, int] = field(default_factory=dict)
    quiet_start: time = time(21)
    quiet_end: time = time(8)
    send_batch: int = 1000
    parallel_batches: int = 2
    lease_seconds: int = 120
    max_attempts: int = 6
    global_holdout_percent: float = 0.0
    global_holdout_salt: str = "global"

    @property
    def rules(self) -> PolicyRules:
        """Return the contact policy these settings describe."""
        return PolicyRules(
            allow_unknown_consent=self.allow_unknown_consent,
            cap_total=self.cap_total,
            channel_caps=self.channel_caps,
            cap_window=timedelta(days=self.cap_window_days),
            quiet_start=self.quiet_start,
            quiet_end=self.quiet_end,
            global_holdout_percent=self.global_holdout_percent,
            global_holdout_salt=self.global_holdout_salt,
        )

    @property
    def lease(self) -> timedelta:
        """Return how long a claimed batch may stay unsettled before it counts as abandoned."""
        return timedelta(seconds=self.lease_seconds)
