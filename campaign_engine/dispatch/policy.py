"""The contact policy: may this contact get this message on this channel now, and if not, why."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")

# Why a contact was not sent a message; stored in policy_decisions.reason, never renamed.
REASONS = {
    "holdout": "held out as the campaign's random control group",
    "invalid_address": "has no valid address for the channel",
    "no_consent": "has not opted in to marketing on the channel",
    "opted_out": "opted out of marketing on the channel",
    "suppressed": "is on the suppression list",
    "duplicate": "already has this message from an overlapping campaign",
    "frequency_cap": "reached the cap on marketing messages across all channels",
    "channel_cap": "reached the cap on marketing messages on the channel",
    "topic_opt_out": "opted out of the topic of the campaign's type",
    "global_holdout": "is in the global holdout, which gets no marketing at all",
    "journey_holdout": "is in the journey's holdout, which walks the journey but gets no sends",
    "uplift": "was left out by the campaign's uplift targeting: contacting them is not worth it",
}

# The preference-page topic each campaign type belongs to; opting out of it skips the campaign.
TOPIC_OF_TYPE = {
    "newsletter": "newsletter",
    "acquisition": "offers",
    "retention": "offers",
    "cross_sell": "offers",
    "up_sell": "offers",
    "win_back": "offers",
}


def topic_purpose(topic: str) -> str:
    """Return the consent purpose under which a contact's choice about `topic` is kept."""
    return f"topic:{topic}"


@dataclass(frozen=True)
class PolicyRules:
    """The contact policy's settings (defaults from the CRM reference's decision 4)."""

    allow_unknown_consent: bool = False
    cap_total: int = 3
    channel_caps: Mapping[str, int] = field(default_factory=dict)
    cap_window: timedelta = timedelta(days=7)
    quiet_start: time = time(21)
    quiet_end: time = time(8)
    # The share of contacts kept out of all marketing, and the salt that draws them
    # (dispatch/holdout.py applies it; docs/dispatch.md#global-holdout).
    global_holdout_percent: float = 0.0
    global_holdout_salt: str = "global"


@dataclass(frozen=True)
class Facts:
    """What the policy needs to know about one contact, gathered in bulk by the caller.

    `planned` holds the contact's counted marketing deliveries (queued or sent, any campaign)
    near the planned time, as (planned_at, channel); `templates` the templates other campaigns
    queued or sent them within the same window (a second copy would be a duplicate);
    `topic_opt_out` the campaign's topic when the contact opted out of it on the channel.
    """

    contact_id: int
    address: str | None
    time_zone: str | None
    consent: str | None
    suppressed: str | None = None
    planned: Sequence[tuple[datetime, str]] = ()
    templates: frozenset[int] = frozenset()
    topic_opt_out: str | None = None


@dataclass(frozen=True)
class Decision:
    """The outcome for one contact: send (at `send_at`, maybe deferred) or skip for `reason`."""

    send: bool
    reason: str
    detail: str = ""
    send_at: datetime | None = None
    deferred: str | None = None


def zone(name: str | None) -> ZoneInfo:
    """Return the contact's time zone, UTC when it is missing or unknown."""
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def valid_address(channel: str, address: str | None) -> bool:
    """Return whether `address` can be sent to on `channel`."""
    if not address:
        return False
    if channel == "email":
        return EMAIL.match(address) is not None
    if channel == "sms":
        return E164.match(address) is not None
    return True


def next_local_hour(moment: datetime, time_zone: str | None, hour: int) -> datetime:
    """Return the first instant at or after `moment` when the contact's clock shows `hour`:00."""
    tz = zone(time_zone)
    local = moment.astimezone(tz)
    candidate = datetime.combine(local.date(), time(hour), tzinfo=tz)
    if candidate < local:
        candidate = datetime.combine(local.date() + timedelta(days=1), time(hour), tzinfo=tz)
    return candidate.astimezone(moment.tzinfo)


def outside_quiet_hours(moment: datetime, time_zone: str | None, rules: PolicyRules) -> datetime:
    """Return `moment`, or the end of the contact's quiet hours when `moment` falls inside them."""
    if rules.quiet_start == rules.quiet_end:
        return moment
    tz = zone(time_zone)
    local = moment.astimezone(tz)
    clock = local.time()
    start, end = rules.quiet_start, rules.quiet_end
    quiet = (start <= clock or clock < end) if start > end else (start <= clock < end)
    if not quiet:
        return moment
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=tz).astimezone(moment.tzinfo)


def decide(
    facts: Facts,
    *,
    channel: str,
    purpose: str,
    template_id: int,
    planned_at: datetime,
    rules: PolicyRules,
) -> Decision:
    """Decide for one contact; checks run in a fixed order and the first failure is the reason."""
    if not valid_address(channel, facts.address):
        return Decision(False, "invalid_address", f"no valid {channel} address")
    if facts.suppressed:
        return Decision(False, "suppressed", facts.suppressed)
    if purpose == "transactional":  # consent, caps and quiet hours govern marketing only
        return Decision(True, "ok", send_at=planned_at)
    if facts.consent == "opted_out":
        return Decision(False, "opted_out", f"opted out of {channel} marketing")
    if facts.consent != "opted_in" and not (rules.allow_unknown_consent and facts.consent):
        return Decision(False, "no_consent", f"{channel} marketing consent is {facts.consent}")
    if facts.topic_opt_out:
        return Decision(False, "topic_opt_out", f"opted out of {facts.topic_opt_out} messages")
    if template_id in facts.templates:
        return Decision(False, "duplicate", f"template {template_id} already planned")
    send_at = outside_quiet_hours(planned_at, facts.time_zone, rules)
    near = [c for at, c in facts.planned if abs(at - send_at) < rules.cap_window]
    if len(near) >= rules.cap_total:
        return Decision(
            False,
            "frequency_cap",
            f"{len(near)} marketing messages within {rules.cap_window.days} days",
        )
    channel_cap = rules.channel_caps.get(channel)
    if channel_cap is not None and sum(c == channel for c in near) >= channel_cap:
        return Decision(False, "channel_cap", f"{channel_cap} {channel} messages already")
    deferred = "quiet_hours" if send_at != planned_at else None
    return Decision(True, "ok", send_at=send_at, deferred=deferred)
