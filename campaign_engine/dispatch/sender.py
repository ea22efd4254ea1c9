"""Send one claimed batch: check it may still go, render, hand to providers, record the results."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, true
from sqlalchemy.orm import Session, sessionmaker

from campaign_engine.bulk import write_rows
from campaign_engine.channels.base import Channel, OutboundMessage, SendResult
from campaign_engine.db import transaction
from campaign_engine.dispatch.facts import Recipient, suppression_reasons
from campaign_engine.dispatch.ledger import record_results, release
from campaign_engine.dispatch.pacing import Pace
from campaign_engine.dispatch.rendering import Renderer, Row, row_of, row_select
from campaign_engine.dispatch.settings import DispatchSettings
from campaign_engine.models import (
    Consent,
    Delivery,
    PolicyDecision,
)
from campaign_engine.models.types import utcnow

STOPPED = {"paused": "queued", "cancelled": "cancelled"}  # run state → what claimed rows become


class Sender:
    """Sends claimed batches through the configured channels; safe to share between threads."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        channels: Mapping[str, Channel],
        settings: DispatchSettings,
        secret: str,
        paces: Mapping[str, float] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self.channels = channels
        self.settings = settings
        self.renderer = Renderer(settings, secret)
        self.paces = {name: Pace(rate) for name, rate in (paces or {}).items()}
        self.clock = clock

    def send(self, delivery_ids: Sequence[int], claimed_at: datetime | None = None) -> Counter[str]:
        """Send the claimed deliveries `delivery_ids`; return how many ended in each outcome.

        With `claimed_at`, only rows still held by that claim are sent: a batch whose lease ran
        out and was claimed again elsewhere (a redelivered task, say) sends nothing.
        """
        outcomes: Counter[str] = Counter()
        with transaction(self.sessions) as session:
            rows = self._load(session, delivery_ids, claimed_at, outcomes)
            rows = self._recheck(session, rows, outcomes)
            messages, failures = self.renderer.render(session, rows)
        results = list(failures)
        by_channel: dict[str, list[OutboundMessage]] = defaultdict(list)
        for message in messages:
            by_channel[message.channel].append(message)
        costs: dict[int, float] = {}
        for name, batch in by_channel.items():
            channel = self.channels.get(name)
            if channel is None:
                results += [
                    SendResult(m.delivery_id, "failed", reason=f"no {name} channel is configured")
                    for m in batch
                ]
                continue
            for start in range(0, len(batch), channel.max_batch):
                chunk = batch[start : start + channel.max_batch]
                if pace := self.paces.get(name):
                    pace.wait(len(chunk))
                results += channel.send(chunk)
                costs.update((m.delivery_id, channel.cost(m)) for m in chunk)
        if results:
            with transaction(self.sessions) as session:
                outcomes.update(
                    record_results(
                        session, results, costs, self.clock(), self.settings.max_attempts
                    )
                )
        return outcomes

    def _load(
        self,
        session: Session,
        ids: Sequence[int],
        claimed_at: datetime | None,
        outcomes: Counter[str],
    ) -> list[Row]:
        """Read the claimed rows; put back those whose run was paused or cancelled meanwhile."""
        found = session.execute(
            row_select()
            .where(Delivery.id.in_(list(ids)), Delivery.status == "sending")
            .where(true() if claimed_at is None else Delivery.claimed_at == claimed_at)
            .order_by(Delivery.id)
        ).all()
        stopped: dict[str, list[int]] = defaultdict(list)
        rows: list[Row] = []
        for record in found:
            run_status, row = row_of(record)
            if run_status in STOPPED:
                stopped[STOPPED[run_status]].append(row.delivery_id)
                continue
            rows.append(row)
        for status, stopped_ids in stopped.items():
            release(
                session, stopped_ids, status, None if status == "queued" else "campaign cancelled"
            )
            outcomes[status] += len(stopped_ids)
        return rows

    def _recheck(self, session: Session, rows: list[Row], outcomes: Counter[str]) -> list[Row]:
        """Check suppression and consent again at send time: either may have changed since."""
        blocked: dict[tuple[int, str], tuple[str, str]] = {}
        by_channel: dict[str, list[Row]] = defaultdict(list)
        for row in rows:
            by_channel[row.channel].append(row)
        allowed = ("opted_in", "unknown") if self.settings.allow_unknown_consent else ("opted_in",)
        for channel, group in by_channel.items():
            people = [
                Recipient(r.contact["id"], r.address, r.address, r.contact["external_id"], None)
                for r in group
            ]
            for contact_id, reason in suppression_reasons(session, people, channel).items():
                blocked[(contact_id, channel)] = ("suppressed", reason)
            marketing = [r.contact["id"] for r in group if r.purpose == "marketing"]
            states = dict(
                session.execute(
                    select(Consent.contact_id, Consent.state).where(
                        Consent.contact_id.in_(marketing),
                        Consent.channel == channel,
                        Consent.purpose == "marketing",
                    )
                ).all()
            )
            for contact_id in marketing:
                state = states.get(contact_id)
                if state not in allowed:
                    reason = "opted_out" if state == "opted_out" else "no_consent"
                    blocked.setdefault(
                        (contact_id, channel), (reason, "consent changed before sending")
                    )
        kept = [r for r in rows if (r.contact["id"], r.channel) not in blocked]
        dropped = [r for r in rows if (r.contact["id"], r.channel) in blocked]
        if dropped:
            now = self.clock()
            release(
                session,
                [r.delivery_id for r in dropped],
                "cancelled",
                "contact policy at send time",
            )
            decisions: list[dict[str, Any]] = []
            for row in dropped:
                reason, detail = blocked[(row.contact["id"], row.channel)]
                decisions.append(
                    {
                        "run_id": row.run_id,
                        "campaign_id": row.campaign_id,
                        "contact_id": row.contact["id"],
                        "channel": row.channel,
                        "reason": reason,
                        "detail": detail,
                        "decided_at": now,
                    }
                )
            write_rows(session, PolicyDecision, decisions, all_new=True)
            outcomes["cancelled"] += len(dropped)
        return kept
