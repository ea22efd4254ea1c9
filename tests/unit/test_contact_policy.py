"""The contact policy: consent and suppression win, caps hold, quiet hours defer."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaign_engine.dispatch.policy import (
    Decision,
    Facts,
    PolicyRules,
    decide,
    next_local_hour,
    outside_quiet_hours,
    valid_address,
)

START = datetime(2026, 3, 1, tzinfo=UTC)
ZONES = (
    "UTC",
    "Europe/London",
    "America/New_York",
    "Asia/Tokyo",
    "Australia/Sydney",
    None,
    "Nowhere/Bogus",
)
CHANNELS = ("email", "sms", "social")
ADDRESSES = {"email": "ann@example.com", "sms": "+447700900123", "social": "C1"}

moments = st.integers(min_value=0, max_value=60 * 24 * 30).map(
    lambda m: START + timedelta(minutes=m)
)


@st.composite
def facts(draw: st.DrawFn, channel: str) -> Facts:
    return Facts(
        contact_id=1,
        address=draw(st.sampled_from([ADDRESSES[channel], None, "not an address"])),
        time_zone=draw(st.sampled_from(ZONES)),
        consent=draw(st.sampled_from(["opted_in", "opted_out", "unknown", None])),
        suppressed=draw(st.sampled_from([None, None, "email ann@example.com suppressed: bounce"])),
        planned=draw(st.lists(st.tuples(moments, st.sampled_from(CHANNELS)), max_size=6)),
        templates=frozenset(draw(st.sets(st.integers(1, 3), max_size=2))),
    )


rules_strategy = st.builds(
    PolicyRules,
    allow_unknown_consent=st.booleans(),
    cap_total=st.integers(1, 5),
    channel_caps=st.dictionaries(st.sampled_from(CHANNELS), st.integers(1, 3), max_size=3),
    quiet_start=st.sampled_from([time(21), time(22), time(0)]),
    quiet_end=st.sampled_from([time(8), time(7), time(6)]),
)


@given(data=st.data(), channel=st.sampled_from(CHANNELS), rules=rules_strategy, at=moments)
@settings(max_examples=400)
def test_no_consent_or_suppression_is_never_sent_marketing(
    data: st.DataObject, channel: str, rules: PolicyRules, at: datetime
) -> None:
    known = data.draw(facts(channel))
    verdict = decide(
        known, channel=channel, purpose="marketing", template_id=1, planned_at=at, rules=rules
    )
    if verdict.send:
        assert known.suppressed is None
        assert known.consent == "opted_in" or (
            rules.allow_unknown_consent and known.consent == "unknown"
        )
        assert valid_address(channel, known.address)
        assert 1 not in known.templates


@given(data=st.data(), rules=rules_strategy, arrivals=st.lists(moments, min_size=1, max_size=25))
@settings(max_examples=200)
def test_caps_are_never_exceeded_in_any_window(
    data: st.DataObject, rules: PolicyRules, arrivals: list[datetime]
) -> None:
    """Feed one contact message after message; every rolling window keeps within the caps."""
    planned: list[tuple[datetime, str]] = []
    for at in arrivals:
        channel = data.draw(st.sampled_from(CHANNELS))
        verdict = decide(
            Facts(1, ADDRESSES[channel], "Europe/London", "opted_in", planned=list(planned)),
            channel=channel,
            purpose="marketing",
            template_id=data.draw(st.integers(1, 1000)),
            planned_at=at,
            rules=rules,
        )
        if verdict.send:
            assert verdict.send_at is not None
            planned.append((verdict.send_at, channel))
    for start, _ in planned:  # windows starting at each send cover every worst case
        inside = [c for at, c in planned if start <= at < start + rules.cap_window]
        assert len(inside) <= rules.cap_total
        for channel, cap in rules.channel_caps.items():
            assert sum(c == channel for c in inside) <= cap


@given(at=moments, zone=st.sampled_from(ZONES), rules=rules_strategy)
def test_quiet_hours_defer_to_the_first_allowed_moment(
    at: datetime, zone: str | None, rules: PolicyRules
) -> None:
    moved = outside_quiet_hours(at, zone, rules)
    assert moved >= at
    assert moved - at <= timedelta(hours=25)
    assert outside_quiet_hours(moved, zone, rules) == moved  # already allowed: stays put


def test_transactional_messages_skip_consent_caps_and_quiet_hours_but_not_suppression() -> None:
    rules = PolicyRules(cap_total=1)
    busy = Facts(1, "ann@example.com", "Asia/Tokyo", None, planned=[(START, "email")] * 3)
    late = datetime(2026, 3, 1, 14, tzinfo=UTC)  # 23:00 in Tokyo
    ok = decide(
        busy, channel="email", purpose="transactional", template_id=1, planned_at=late, rules=rules
    )
    assert ok == Decision(True, "ok", send_at=late)
    blocked = Facts(1, "ann@example.com", "UTC", "opted_in", suppressed="domain suppressed")
    no = decide(
        blocked,
        channel="email",
        purpose="transactional",
        template_id=1,
        planned_at=late,
        rules=rules,
    )
    assert (no.send, no.reason) == (False, "suppressed")


@pytest.mark.parametrize(
    ("zone", "utc_now", "hour", "expected"),
    [
        (
            "Europe/London",
            datetime(2026, 6, 10, 8, tzinfo=UTC),
            10,
            datetime(2026, 6, 10, 9, tzinfo=UTC),
        ),
        (
            "America/New_York",
            datetime(2026, 6, 10, 20, tzinfo=UTC),
            9,
            datetime(2026, 6, 11, 13, tzinfo=UTC),
        ),
        (
            "Asia/Tokyo",
            datetime(2026, 6, 10, 0, 1, tzinfo=UTC),
            9,
            datetime(2026, 6, 11, 0, tzinfo=UTC),
        ),
        (None, datetime(2026, 6, 10, 9, tzinfo=UTC), 9, datetime(2026, 6, 10, 9, tzinfo=UTC)),
    ],
)
def test_local_hour_is_the_next_time_the_contacts_clock_shows_it(
    zone: str | None, utc_now: datetime, hour: int, expected: datetime
) -> None:
    assert next_local_hour(utc_now, zone, hour) == expected


@pytest.mark.parametrize(
    ("address", "channel", "reason"),
    [
        ("not-an-email", "email", "invalid_address"),
        ("07700 900123", "sms", "invalid_address"),
        ("+447700900123", "sms", "ok"),
    ],
)
def test_invalid_addresses_are_skipped(address: str, channel: str, reason: str) -> None:
    verdict = decide(
        Facts(1, address, "UTC", "opted_in"),
        channel=channel,
        purpose="marketing",
        template_id=1,
        planned_at=datetime(2026, 6, 10, 12, tzinfo=UTC),
        rules=PolicyRules(),
    )
    assert verdict.reason == reason
