"""Turn consents, suppressions and the past campaign into insert-ready row dicts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np

from campaign_engine.demo.campaign import (
    CAMPAIGN_CODE,
    CAMPAIGN_NAME,
    FIXED_COST,
    TREATED_SHARE,
    WINDOW_DAYS,
)
from campaign_engine.demo.consents import (
    NOT_SUPPRESSED,
    OPTED_IN,
    OPTED_OUT,
    SPAM_COMPLAINT,
    SUPPRESSION_REASONS,
    UNKNOWN,
    ChannelConsent,
)
from campaign_engine.demo.names import SUPPRESSED_DOMAINS
from campaign_engine.demo.population import DAY
from campaign_engine.demo.rows import Row, TableRows, aware_times, contact_email, spans
from campaign_engine.demo.store import DemoStore

CAMPAIGN_ID = 1
PURPOSE = "marketing"
STATES = ("opted_in", "opted_out", "unknown")
SIGN_UP_SOURCE = "signup_form"
UNKNOWN_SOURCE = "import"
OPT_OUT_SOURCE = {"email": "unsubscribe_link", "sms": "sms_stop"}
SUPPRESSION_SOURCE = "email_provider"


def _consents(store: DemoStore) -> dict[str, ChannelConsent]:
    consents = store.consents
    return {"email": consents.email, "sms": consents.sms}


def _current_source(channel: str, state: int, complained: bool) -> str:
    if state == OPTED_IN:
        return SIGN_UP_SOURCE
    if state == OPTED_OUT:
        return "spam_complaint" if complained else OPT_OUT_SOURCE[channel]
    return UNKNOWN_SOURCE


def consent_rows(store: DemoStore) -> TableRows:
    """Return each contact's current marketing consent for email and SMS."""
    n = store.population.size
    complained = store.consents.suppression == SPAM_COMPLAINT

    def chunks(size: int) -> Iterator[list[Row]]:
        for span in spans(n, size):
            rows: list[Row] = []
            for channel, consent in _consents(store).items():
                states = consent.state[span].tolist()
                at = aware_times(consent.changed[span])
                flags = complained[span].tolist() if channel == "email" else [False] * len(at)
                rows += [
                    {
                        "contact_id": span.start + j + 1,
                        "channel": channel,
                        "purpose": PURPOSE,
                        "state": STATES[state],
                        "source": _current_source(channel, state, flag),
                        "updated_at": at[j],
                    }
                    for j, (state, flag) in enumerate(zip(states, flags, strict=True))
                ]
            yield rows

    return TableRows("consents", 2 * n, chunks)


History = tuple[int, str, str, str, datetime]


def _history(
    channel: str, consent: ChannelConsent, span: slice, complained: list[bool]
) -> Iterator[History]:
    recorded, changed = aware_times(consent.recorded[span]), aware_times(consent.changed[span])
    for j, state in enumerate(consent.state[span].tolist()):
        if state == UNKNOWN:
            continue
        contact_id = span.start + j + 1
        yield (contact_id, channel, STATES[OPTED_IN], SIGN_UP_SOURCE, recorded[j])
        if state == OPTED_OUT:
            source = _current_source(channel, state, complained[j])
            yield (contact_id, channel, STATES[state], source, changed[j])


def consent_event_rows(store: DemoStore) -> TableRows:
    """Return the consent history: the opt-in, then the opt-out if any; unknown has none."""
    n = store.population.size
    complained = store.consents.suppression == SPAM_COMPLAINT
    total = sum(
        int((c.state == OPTED_IN).sum()) + 2 * int((c.state == OPTED_OUT).sum())
        for c in _consents(store).values()
    )

    def chunks(size: int) -> Iterator[list[Row]]:
        for span in spans(n, size):
            flags = complained[span].tolist()
            yield [
                {
                    "contact_id": contact_id,
                    "channel": channel,
                    "purpose": PURPOSE,
                    "state": state,
                    "source": source,
                    "occurred_at": at,
                }
                for name, consent in _consents(store).items()
                for contact_id, channel, state, source, at in _history(name, consent, span, flags)
            ]

    return TableRows("consent_events", total, chunks)


def suppression_rows(store: DemoStore) -> TableRows:
    """Return the suppressed addresses (bounces, complaints) and the suppressed domains."""
    consents, population = store.consents, store.population
    who = np.flatnonzero(consents.suppression != NOT_SUPPRESSED)
    at = aware_times(consents.suppressed_at[who])
    rows: list[Row] = [
        {
            "kind": "email",
            "value": contact_email(population, int(i)),
            "reason": SUPPRESSION_REASONS[consents.suppression[i]],
            "source": SUPPRESSION_SOURCE,
            "created_at": at[j],
        }
        for j, i in enumerate(who.tolist())
    ]
    listed = datetime.fromtimestamp(store.horizon - 2 * 365 * DAY, UTC)
    rows += [
        {
            "kind": "domain",
            "value": domain,
            "reason": reason,
            "source": "admin",
            "created_at": listed,
        }
        for domain, reason in SUPPRESSED_DOMAINS
    ]
    return TableRows("suppressions", len(rows), lambda size: iter([rows]))


def campaign_rows(store: DemoStore) -> TableRows:
    """Return the one past campaign, with id 1."""
    truth = store.campaign
    started = datetime.fromtimestamp(truth.start, UTC)
    row: Row = {
        "id": CAMPAIGN_ID,
        "code": CAMPAIGN_CODE,
        "name": CAMPAIGN_NAME,
        "channel": "email",
        "purpose": PURPOSE,
        "status": "completed",
        "started_at": started,
        "ended_at": datetime.fromtimestamp(truth.end, UTC),
        "cost": FIXED_COST,  # each delivery carries its own $0.03
        "created_at": datetime.fromtimestamp(truth.start - 7 * DAY, UTC),
        "holdout_percent": round(100 * (1 - TREATED_SHARE), 2),
        "outcome_days": WINDOW_DAYS,  # purchases over the whole window count as its outcome
    }
    return TableRows("campaigns", 1, lambda size: iter([[row]]))


def campaign_member_rows(store: DemoStore) -> TableRows:
    """Return the members with their group, baseline probability and true effect."""
    truth = store.campaign
    assigned = datetime.fromtimestamp(truth.start - 3600, UTC)

    def chunks(size: int) -> Iterator[list[Row]]:
        for span in spans(len(truth.member), size):
            yield [
                {
                    "campaign_id": CAMPAIGN_ID,
                    "contact_id": contact + 1,
                    "group": "treatment" if treated else "control",
                    "assigned_at": assigned,
                    "baseline_probability": round(baseline, 6),
                    "true_effect": round(effect, 6),
                }
                for contact, treated, baseline, effect in zip(
                    truth.member[span].tolist(),
                    truth.treated[span].tolist(),
                    truth.baseline[span].tolist(),
                    truth.effect[span].tolist(),
                    strict=True,
                )
            ]

    return TableRows("campaign_members", len(truth.member), chunks)
