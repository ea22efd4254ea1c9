"""Test support for campaigns: an audience, a campaign over the starters, a runner with twins."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign_engine.campaigns.lifecycle import send_now
from campaign_engine.campaigns.service import save_campaign
from campaign_engine.channels.base import Channel
from campaign_engine.channels.memory import MemoryChannel
from campaign_engine.db import transaction
from campaign_engine.dispatch.runner import Runner
from campaign_engine.dispatch.sender import Sender
from campaign_engine.dispatch.settings import DispatchSettings
from campaign_engine.message_templates import install_starters
from campaign_engine.models import MessageTemplate, Segment
from campaign_engine.runtime import Runtime

NOON = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # midday in London: outside quiet hours
EVERYONE = {"version": 1, "root": {"type": "attribute", "field": "external_id", "op": "is_set"}}


@dataclass
class Clock:
    """A clock the runner reads and that moves forward when the runner sleeps."""

    now: datetime = NOON
    slept: list[float] = field(default_factory=list)

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


def segment(session: Session, definition: dict[str, Any] | None = None, name: str = "all") -> int:
    """Store a segment (everyone by default) and return its id."""
    row = Segment(name=name, description="", definition=definition or EVERYONE)
    session.add(row)
    session.flush()
    return row.id


def template_id(session: Session, name: str) -> int:
    """Return a starter template's id, installing the starters first when needed."""
    if session.scalar(select(MessageTemplate.id).where(MessageTemplate.name == name)) is None:
        install_starters(session)
    found = session.scalar(select(MessageTemplate.id).where(MessageTemplate.name == name))
    assert found is not None
    return found


def campaign_body(session: Session, segment_id: int, **overrides: Any) -> dict[str, Any]:
    """Return a one-variant email campaign over `segment_id`; `overrides` replace fields."""
    body: dict[str, Any] = {
        "name": f"Campaign over segment {segment_id}",
        "type": "cross_sell",
        "audience": {"segments": [segment_id], "holdout_percent": 0},
        "variants": [
            {
                "name": "A",
                "messages": [{"channel": "email", "template_id": template_id(session, "welcome")}],
            }
        ],
    }
    body.update(overrides)
    return body


def launch(session: Session, body: dict[str, Any], now: datetime = NOON) -> int:
    """Save and launch a campaign now; return its id."""
    campaign = save_campaign(session, body)
    send_now(session, campaign.id, now)
    return campaign.id


def make_runner(
    runtime: Runtime,
    clock: Clock,
    channels: Mapping[str, Channel] | None = None,
    **dispatch: Any,
) -> tuple[Runner, dict[str, Channel]]:
    """Return a runner over in-memory twins (or `channels`) with a fake clock."""
    chosen: dict[str, Channel] = dict(
        channels or {name: MemoryChannel(name) for name in ("email", "sms", "social")}  # type: ignore[arg-type]
    )
    settings = replace(DispatchSettings(), **dispatch)
    sender = Sender(runtime.sessions, chosen, settings, "test-secret", clock=clock)
    runner = Runner(runtime.sessions, settings, sender, clock=clock, sleep=clock.sleep)
    return runner, chosen


def in_session(runtime: Runtime, work: Callable[[Session], Any]) -> Any:
    """Run `work` in one committed transaction and return what it returns."""
    with transaction(runtime.sessions) as session:
        return work(session)
