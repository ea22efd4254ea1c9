"""Carry out what advancing a batch of enrollments produced: sends, profile, consent, webhooks.

`Send` becomes a delivery-ledger row under the version's journey run and the journey's
companion campaign, keyed `journey:<enrollment>:<step>` under the ledger's unique key, so a
send step sends at most once per enrollment however often a batch is retried or raced. The
contact policy (consent, suppression, caps, quiet hours, the global holdout) decides first,
exactly as for campaigns; a refusal is a `PolicyDecision`. Enrollments in the journey holdout
walk the same path but nothing is carried out for them: each send they pass is recorded as a
`journey_holdout` decision. Nothing here commits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from campaign_engine.bulk import key_in, write_rows
from campaign_engine.dispatch.facts import gather_facts, load_recipients
from campaign_engine.dispatch.holdout import REASON as GLOBAL_HOLDOUT
from campaign_engine.dispatch.holdout import GlobalHoldout
from campaign_engine.dispatch.policy import PolicyRules, decide
from campaign_engine.dispatch.prepare import take_policy_lock
from campaign_engine.journeys.facts import delivery_key
from campaign_engine.models import (
    CampaignRun,
    Contact,
    Delivery,
    JourneyWebhookCall,
    PolicyDecision,
)
from campaign_engine.tracking.record import change_consent
from journeys import (
    CallWebhook,
    EnrollmentState,
    Send,
    Step,
    UpdateConsent,
    UpdateList,
    UpdateProfile,
)

HOLDOUT_REASON = "journey_holdout"
CONTACTS = cast(Table, Contact.__table__)


class NotPublished(RuntimeError):
    """A version has no companion campaign or journey run to send under."""


@dataclass(frozen=True, slots=True)
class Route:
    """Where one journey version's sends go: its companion campaign and its journey run."""

    journey_id: int
    version_id: int
    campaign_id: int | None
    run_id: int | None
    purpose: str = "marketing"


@dataclass(frozen=True, slots=True)
class Moved:
    """One enrollment advanced by `advance`: where it was, and the step it took."""

    enrollment_id: int
    contact_id: int
    holdout: bool
    route: Route
    before: EnrollmentState
    step: Step


def carry_out(
    session: Session, moved: Sequence[Moved], rules: PolicyRules, now: datetime
) -> set[int]:
    """Apply every effect of `moved`; return the journey runs that got new deliveries.

    Sends go first: they take the policy lock before any contact row is locked, the order
    every runner and campaign batch uses, so two of them never wait on each other in a cycle.
    """
    runs = queue_sends(session, moved, rules, now)
    live = [m for m in moved if not m.holdout]
    update_profiles(session, live, now)
    update_consents(session, live, now)
    queue_webhooks(session, live, now)
    return runs


def _require_run(route: Route) -> None:
    if route.run_id is None or route.campaign_id is None:
        raise NotPublished(f"journey version {route.version_id} has no journey run; republish it")


def _decision(
    route: Route, contact_id: int, channel: str | None, reason: str, detail: str, now: datetime
) -> dict[str, Any]:
    _require_run(route)
    return {
        "run_id": route.run_id,
        "campaign_id": route.campaign_id,
        "contact_id": contact_id,
        "channel": channel,
        "reason": reason,
        "detail": detail,
        "decided_at": now,
    }


def queue_sends(
    session: Session, moved: Sequence[Moved], rules: PolicyRules, now: datetime
) -> set[int]:
    """Decide each send under the contact policy; write deliveries and decisions."""
    sends = [(m, e) for m in moved for e in m.step.effects if isinstance(e, Send)]
    if not sends:
        return set()
    decisions: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    treated: dict[tuple[int, str, str], list[tuple[Moved, Send]]] = defaultdict(list)
    for m, send in sends:
        if m.holdout:
            detail = f"journey holdout: step {send.node_id} sends nothing"
            decisions.append(
                _decision(m.route, m.contact_id, send.channel, HOLDOUT_REASON, detail, now)
            )
        else:
            _require_run(m.route)
            treated[(cast(int, m.route.campaign_id), send.channel, m.route.purpose)].append(
                (m, send)
            )
    if treated:
        take_policy_lock(session)
    holdout = GlobalHoldout.of(rules)
    planned: dict[int, list[tuple[datetime, str]]] = defaultdict(list)  # this batch's sends
    for (campaign_id, channel, purpose), group in sorted(treated.items()):
        people = load_recipients(session, sorted({m.contact_id for m, _ in group}))
        facts = gather_facts(
            session,
            list(people.values()),
            channel=channel,
            purpose="marketing",
            campaign_id=campaign_id,
            template_ids=sorted({send.template_id for _, send in group}),
            around=now,
            window=rules.cap_window * 2,
        )
        for m, send in group:
            person = people.get(m.contact_id)
            if person is None:  # the contact was deleted while its enrollment was claimed
                continue
            if holdout.applies_to(purpose) and holdout.contains(m.contact_id):
                decisions.append(
                    _decision(m.route, m.contact_id, None, GLOBAL_HOLDOUT, holdout.detail(), now)
                )
                continue
            known = facts[m.contact_id]
            if planned[m.contact_id]:  # count this batch's earlier sends toward the caps
                known = replace(known, planned=[*known.planned, *planned[m.contact_id]])
            verdict = decide(
                known,
                channel=channel,
                purpose=purpose,
                template_id=send.template_id,
                planned_at=now,
                rules=rules,
            )
            if not verdict.send or verdict.send_at is None:
                decisions.append(
                    _decision(m.route, m.contact_id, channel, verdict.reason, verdict.detail, now)
                )
                continue
            planned[m.contact_id].append((verdict.send_at, channel))
            deliveries.append(
                {
                    "key": delivery_key(m.enrollment_id, send.node_id),
                    "run_id": m.route.run_id,
                    "campaign_id": campaign_id,
                    "contact_id": m.contact_id,
                    "channel": channel,
                    "variant": send.node_id,
                    "template_id": send.template_id,
                    "purpose": purpose,
                    "address": person.address(channel) or "",
                    "status": "queued",
                    "planned_at": verdict.send_at,
                    "not_before": verdict.send_at,
                    "deferred_reason": verdict.deferred,
                    "attempts": 0,
                    "cost": 0,
                }
            )
    # The keys name enrollments this transaction holds, so they are new: COPY straight in
    # (with ON CONFLICT should a stale runner have written one anyway).
    write_rows(session, Delivery, deliveries, conflict=["key"], all_new=True)
    write_rows(session, PolicyDecision, decisions)
    runs = {cast(int, row["run_id"]) for row in deliveries}
    if runs:  # the campaign dispatcher picks an unclaimed run up within seconds
        session.execute(
            update(CampaignRun)
            .where(CampaignRun.id.in_(sorted(runs)), CampaignRun.status == "sending")
            .values(claimed_at=None)
            .execution_options(synchronize_session=False)
        )
    return runs


def update_profiles(session: Session, moved: Sequence[Moved], now: datetime) -> None:
    """Write custom attributes and static lists (`attributes.lists`), in effect order."""
    changes: dict[int, list[UpdateProfile | UpdateList]] = defaultdict(list)
    for m in moved:
        for effect in m.step.effects:
            if isinstance(effect, UpdateProfile | UpdateList):
                changes[m.contact_id].append(effect)
    if not changes:
        return
    query = (
        select(CONTACTS.c.id, CONTACTS.c.attributes)
        .where(key_in(session, CONTACTS.c.id, sorted(changes)))
        .order_by(CONTACTS.c.id)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()  # an ingest may be writing the same attributes
    rows = []
    for contact_id, attributes in session.execute(query):
        before = dict(attributes or {})
        after = dict(before)
        for effect in changes[contact_id]:
            _apply(after, effect)
        if after != before:
            rows.append({"b_id": contact_id, "b_attributes": after})
    if rows:
        session.connection().execute(
            update(CONTACTS)
            .where(CONTACTS.c.id == bindparam("b_id"))
            .values(attributes=bindparam("b_attributes"), updated_at=now),
            rows,
        )


def _apply(attributes: dict[str, Any], effect: UpdateProfile | UpdateList) -> None:
    if isinstance(effect, UpdateProfile):
        for name, value in effect.attributes.items():
            if value is None:
                attributes.pop(name, None)
            else:
                attributes[name] = value
        return
    lists = attributes.get("lists")
    if lists is None:
        lists = []
    if not isinstance(lists, list):
        raise ValueError(f"the contact's attributes.lists is {type(lists).__name__}, not a list")
    if effect.action == "add" and effect.list_name not in lists:
        lists = [*lists, effect.list_name]
    elif effect.action == "remove":
        lists = [name for name in lists if name != effect.list_name]
    attributes["lists"] = lists


def update_consents(session: Session, moved: Sequence[Moved], now: datetime) -> None:
    """Record consent changes, with history, as coming from the journey."""
    for m in moved:
        for effect in m.step.effects:
            if isinstance(effect, UpdateConsent):
                change_consent(
                    session,
                    m.contact_id,
                    effect.channel,
                    effect.state,
                    f"journey:{m.route.journey_id}",
                    now,
                    effect.purpose,
                )


def queue_webhooks(session: Session, moved: Sequence[Moved], now: datetime) -> None:
    """Queue webhook calls in the outbox; `webhooks.deliver_webhooks` makes them."""
    calls = [(m, e) for m in moved for e in m.step.effects if isinstance(e, CallWebhook)]
    if not calls:
        return
    external = dict(
        session.execute(
            select(CONTACTS.c.id, CONTACTS.c.external_id).where(
                key_in(session, CONTACTS.c.id, sorted({m.contact_id for m, _ in calls}))
            )
        ).all()
    )
    rows = [
        {
            "enrollment_id": m.enrollment_id,
            "node_id": call.node_id,
            "contact_id": m.contact_id,
            "url": call.url,
            "payload": {
                "journey_id": m.route.journey_id,
                "version_id": m.route.version_id,
                "node_id": call.node_id,
                "enrollment_id": m.enrollment_id,
                "contact": {"id": m.contact_id, "external_id": external.get(m.contact_id)},
                "payload": dict(call.payload),
            },
            "save_response_to": call.save_response_to,
            "timeout_seconds": call.timeout,
            "max_attempts": call.retries + 1,
            "attempts": 0,
            "status": "pending",
            "next_attempt_at": now,
            "claimed_at": None,
            "response_status": None,
            "error": None,
        }
        for m, call in calls
    ]
    write_rows(session, JourneyWebhookCall, rows, conflict=["enrollment_id", "node_id"])
