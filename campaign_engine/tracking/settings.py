"""Tracking settings: link lifetime, machine-event rules, webhook keys, retention, writes."""

from __future__ import annotations

from dataclasses import dataclass

from campaign_engine.tracking.machine import MachineRules

WRITE_MODES = ("direct", "buffered")


@dataclass(frozen=True)
class TrackingSettings:
    """How responses are tracked; built by `config.load_settings` from CE_* variables."""

    link_days: int = 365  # open and click tokens older than this are not counted
    machine_open_seconds: float = 2.0
    machine_click_seconds: float = 5.0
    count_machine_events: bool = False  # engagement metrics leave machine events out by default
    sendgrid_webhook_key: str = ""  # the Event Webhook's ECDSA public key (base64 DER or PEM)
    webhook_max_age_seconds: int = 600  # a signed webhook older than this is refused
    retention_days: int = 90  # raw events older than this are rolled up into daily counts
    writes: str = "buffered"  # opens and clicks in batches per process; "direct": one by one
    flush_ms: int = 200
    topics: tuple[str, ...] = ("newsletter", "offers", "product_news")

    @property
    def machine_rules(self) -> MachineRules:
        """Return the rules that flag machine opens and clicks."""
        return MachineRules(self.machine_open_seconds, self.machine_click_seconds)
