"""Build the dispatch runner for a process: channels, sender, executor and the Celery send task."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from functools import cache

from campaign_engine.channels.base import Channel
from campaign_engine.channels.registry import make_channels
from campaign_engine.config import Settings, load_settings
from campaign_engine.dispatch.ledger import Lookup
from campaign_engine.dispatch.runner import Runner
from campaign_engine.dispatch.sender import Sender
from campaign_engine.runtime import Runtime, build_runtime
from campaign_engine.tasks import CeleryExecutor, make_celery, task

log = logging.getLogger(__name__)
TASK_TIMEOUT = 600  # seconds a runner waits for one batch on a worker


def paces(settings: Settings) -> dict[str, float]:
    """Return each channel's rate limit in messages per second (0 = none)."""
    channels = settings.channels
    return {"email": channels.rate_email, "sms": channels.rate_sms, "social": channels.rate_social}


def unit_costs(settings: Settings) -> dict[str, float]:
    """Return the cost of one message (one SMS segment) per channel, for estimates."""
    channels = settings.channels
    return {
        "email": channels.cost_email,
        "sms": channels.cost_sms_segment,
        "social": channels.cost_social,
    }


def make_sender(runtime: Runtime, channels: Mapping[str, Channel] | None = None) -> Sender:
    """Return a sender over the configured (or given) channels."""
    settings = runtime.settings
    return Sender(
        runtime.sessions,
        channels if channels is not None else make_channels(settings),
        settings.dispatch,
        settings.secret_key,
        paces(settings),
    )


def lookups_of(channels: Mapping[str, Channel]) -> dict[str, Lookup]:
    """Return the channels that can say whether they received a message (for crash recovery)."""
    return {
        name: channel.lookup  # type: ignore[attr-defined]
        for name, channel in channels.items()
        if callable(getattr(channel, "lookup", None))
    }


def build_runner(runtime: Runtime, channels: Mapping[str, Channel] | None = None) -> Runner:
    """Return a runner: batches go to Celery workers when a broker is set, else run here."""
    sender = make_sender(runtime, channels)
    runner = Runner(
        runtime.sessions, runtime.settings.dispatch, sender, lookups_of(sender.channels)
    )
    if runtime.settings.broker_url:
        executor = CeleryExecutor(make_celery(runtime.settings))

        def submit(ids: list[int], claimed_at: datetime) -> Counter[str]:
            task = executor.submit("ce.send_batch", ids, claimed_at.isoformat())
            return Counter(task.get(timeout=TASK_TIMEOUT))

        runner.submit = submit
    return runner


@cache
def _process_sender() -> Sender:
    """Return this worker process's sender, built once from its environment."""
    return make_sender(build_runtime(load_settings()))


@task("ce.send_batch")
def send_batch(delivery_ids: list[int], claimed_at: str | None = None) -> dict[str, int]:
    """Send one claimed batch on a worker; the claim time makes a repeated task harmless."""
    claim = datetime.fromisoformat(claimed_at) if claimed_at else None
    return dict(_process_sender().send(delivery_ids, claim))
