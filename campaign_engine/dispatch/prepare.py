"""Turn a campaign run's audience into ledger rows: snapshot, holdout and variants, then policy."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import case, exists, insert, literal, null, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from campaign_engine.bulk import write_rows
from campaign_engine.dispatch.facts import gather_facts, load_recipients
from campaign_engine.dispatch.holdout import NO_HOLDOUT, GlobalHoldout, record_global_holdout
from campaign_engine.dispatch.holdout import REASON as GLOBAL_HOLDOUT
from campaign_engine.dispatch.policy import Decision, PolicyRules, decide, next_local_hour
from campaign_engine.models import (
    Campaign,
    CampaignMember,
    CampaignMessage,
    CampaignRun,
    CampaignSegment,
    CampaignVariant,
    Delivery,
    PolicyDecision,
    PolicyLock,
    TargetListMember,
)
from campaign_engine.segments.sql import BUCKETS, bucket_expr
from campaign_engine.segments.target_lists import snapshot_definition
from campaign_engine.uplift_models.targeting import UpliftSelection, record_left_out
from campaign_engine.uplift_models.targeting import selection as uplift_selection

BATCH = 20_000
EXAMPLES = 50
MEMBER_ID = TargetListMember.__table__.c.contact_id


@dataclass(frozen=True)
class Plan:
    """What a campaign sends, read once per run: variants, their templates, holdout, timing."""

    campaign_id: int
    code: str
    purpose: str
    holdout_percent: float
    local_hour: int | None
    ab_test_percent: float | None  # the share that gets the A/B test; the rest waits
    variants: list[tuple[str, float]]
    templates: dict[tuple[str, str], int]  # (variant, channel) → template id
    uplift_mode: bool = False  # contact only whom the campaign's uplift model selects

    @property
    def channels(self) -> list[str]:
        """Return the channels any variant sends on, in a fixed order."""
        return sorted({channel for _, channel in self.templates})


@dataclass
class Tally:
    """How many contacts a batch or a dry run queued, deferred and skipped, by reason."""

    queued: Counter[str] = field(default_factory=Counter)  # by channel
    deferred: Counter[str] = field(default_factory=Counter)  # by reason
    skipped: Counter[str] = field(default_factory=Counter)  # by reason
    contacts: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)  # who gets what, a sample

    def note(self, contact_id: int, channel: str | None, outcome: str, detail: str) -> None:
        """Keep one decision as an example, up to `EXAMPLES` of them."""
        if len(self.examples) < EXAMPLES:
            self.examples.append(
                {"contact_id": contact_id, "channel": channel, "outcome": outcome, "detail": detail}
            )

    def add(self, other: Tally) -> None:
        """Add another tally's counts to this one."""
        self.queued.update(other.queued)
        self.deferred.update(other.deferred)
        self.skipped.update(other.skipped)
        self.contacts += other.contacts
        self.examples.extend(other.examples[: EXAMPLES - len(self.examples)])


def load_plan(session: Session, campaign: Campaign) -> Plan:
    """Read a campaign's variants and messages."""
    variants = session.execute(
        select(CampaignVariant.id, CampaignVariant.name, CampaignVariant.share)
        .where(CampaignVariant.campaign_id == campaign.id)
        .order_by(CampaignVariant.name)
    ).all()
    names = {variant_id: name for variant_id, name, _ in variants}
    messages = session.execute(
        select(
            CampaignMessage.variant_id, CampaignMessage.channel, CampaignMessage.template_id
        ).where(key_in_ids(CampaignMessage.variant_id, list(names)))
    )
    return Plan(
        campaign_id=campaign.id,
        code=campaign.code,
        purpose=campaign.purpose,
        holdout_percent=campaign.holdout_percent,
        local_hour=campaign.local_hour if campaign.schedule == "local_time" else None,
        ab_test_percent=campaign.ab_test_percent if campaign.ab_test_hours else None,
        variants=[(name, share) for _, name, share in variants],
        templates={(names[v], channel): t for v, channel, t in messages},
        uplift_mode=campaign.targeting is not None,
    )


def key_in_ids(column: Any, ids: list[int]) -> Any:
    """Return `column IN ids` for a short list of ids."""
    return column.in_(ids or [-1])


def audience_definition(session: Session, campaign_id: int) -> dict[str, Any]:
    """Return the segment definition of a campaign's audience: any included, none excluded."""
    rows = session.execute(
        select(CampaignSegment.segment_id, CampaignSegment.exclude)
        .where(CampaignSegment.campaign_id == campaign_id)
        .order_by(CampaignSegment.segment_id)
    ).all()
    include = [{"type": "segment", "segment_id": s} for s, exclude in rows if not exclude]
    exclude = [{"type": "segment", "segment_id": s, "exclude": True} for s, ex in rows if ex]
    root: dict[str, Any] = {"type": "any", "children": include}
    if exclude:
        root = {"type": "all", "children": [root, *exclude]}
    return {"version": 1, "root": root}


def start_run(
    session: Session,
    run: CampaignRun,
    campaign: Campaign,
    now: datetime,
    global_holdout: GlobalHoldout = NO_HOLDOUT,
) -> int:
    """Freeze the audience into a target list and assign new members to holdout and variants.

    A run that already has its list (an A/B winner's run) keeps it. Returns how many contacts
    of the list the global holdout kept out of the campaign.
    """
    run.status = "preparing"
    if run.target_list_id is not None:
        session.flush()
        return 0
    target = snapshot_definition(
        session,
        audience_definition(session, campaign.id),
        segment_id=None,
        name=f"{campaign.code} run {run.id}",
        now=now,
    )
    run.target_list_id = target.id
    plan = load_plan(session, campaign)
    chosen = None
    if campaign.targeting is not None:
        chosen = uplift_selection(session, campaign.targeting, target.id)
    assign_members(session, plan, target.id, now, global_holdout, chosen)
    held = record_global_holdout(session, run, plan.purpose, target.id, global_holdout, now)
    if campaign.targeting is not None:
        record_left_out(session, run, target.id, chosen, now)
    session.flush()
    return held


def assign_members(
    session: Session,
    plan: Plan,
    list_id: int,
    now: datetime,
    global_holdout: GlobalHoldout = NO_HOLDOUT,
    chosen: UpliftSelection | None = None,
) -> None:
    """Give every list member not yet in the campaign a stable group and variant.

    A marketing campaign leaves out the contacts in the `global_holdout`: they are in neither
    its treatment nor its control group. An uplift-mode run (`chosen`) takes only the members
    its model selects, into both groups, and keeps each one's score as `predicted_uplift`.
    """
    holdout = bucket_expr(MEMBER_ID, f"holdout:{plan.code}")
    split = bucket_expr(MEMBER_ID, f"variant:{plan.code}")
    bounds: list[tuple[Any, str]] = []
    total = 0.0
    for name, share in plan.variants:
        total += share
        bounds.append((split < round(total * BUCKETS / 100), name))
    variant: Any = case(*bounds, else_=plan.variants[-1][0])
    if plan.ab_test_percent is not None:  # outside the test share: no variant until a winner
        tested = bucket_expr(MEMBER_ID, f"abtest:{plan.code}")
        variant = case((tested < round(plan.ab_test_percent * BUCKETS / 100), variant))
    is_control = holdout < round(plan.holdout_percent * BUCKETS / 100)
    members = (
        select(
            literal(plan.campaign_id),
            TargetListMember.contact_id,
            case((is_control, "control"), else_="treatment"),
            case((is_control, None), else_=variant),
            literal(now, CampaignMember.assigned_at.type),
            chosen.score_of(TargetListMember.contact_id) if chosen else null(),
        )
        .where(TargetListMember.list_id == list_id)
        .where(
            ~exists().where(
                CampaignMember.campaign_id == plan.campaign_id,
                CampaignMember.contact_id == TargetListMember.contact_id,
            )
        )
    )
    if global_holdout.applies_to(plan.purpose):
        members = members.where(~global_holdout.contains_expr(TargetListMember.contact_id))
    if chosen is not None:
        members = members.where(chosen.selected(TargetListMember.contact_id))
    elif plan.uplift_mode:  # its model is gone: nobody is worth contacting by it
        members = members.where(literal(False))
    session.execute(
        insert(CampaignMember).from_select(
            ["campaign_id", "contact_id", "group", "variant", "assigned_at", "predicted_uplift"],
            members,
        )
    )


def take_policy_lock(session: Session) -> None:
    """Serialise policy batches across processes until this transaction ends."""
    taken = session.execute(
        update(PolicyLock).where(PolicyLock.name == "policy").values(taken=PolicyLock.taken + 1)
    )
    if taken.rowcount == 0:  # type: ignore[attr-defined]
        try:
            with session.begin_nested():
                session.execute(insert(PolicyLock).values(name="policy", taken=1))
        except IntegrityError:
            take_policy_lock(session)


def next_members(
    session: Session, run: CampaignRun, limit: int
) -> list[tuple[int, str, str | None]]:
    """Return the next members of the run's list by contact id: (contact, group, variant)."""
    return [
        (contact_id, group, variant)
        for contact_id, group, variant in session.execute(
            select(CampaignMember.contact_id, CampaignMember.group, CampaignMember.variant)
            .join(
                TargetListMember,
                (TargetListMember.contact_id == CampaignMember.contact_id)
                & (TargetListMember.list_id == run.target_list_id),
            )
            .where(CampaignMember.campaign_id == run.campaign_id)
            .where(CampaignMember.contact_id > run.prepared_through)
            .order_by(CampaignMember.contact_id)
            .limit(limit)
        )
    ]


def prepare_batch(
    session: Session,
    run: CampaignRun,
    plan: Plan,
    rules: PolicyRules,
    now: datetime,
    batch: int = BATCH,
    write: bool = True,
) -> Tally:
    """Decide the next batch of the run's members; write deliveries and decisions.

    With `write` False nothing is stored (a dry run): the tally says what would happen.
    Returns an empty tally when every member has been decided.
    """
    members = next_members(session, run, batch)
    tally = Tally(contacts=len(members))
    if not members:
        return tally
    if write:
        take_policy_lock(session)
    base = max(run.due_at, now)
    decisions: list[dict[str, Any]] = []
    treated: dict[str, list[int]] = defaultdict(list)
    holdout = GlobalHoldout.of(rules)
    held_out = holdout.applies_to(plan.purpose)
    for contact_id, group, variant in members:
        if held_out and group == "treatment" and holdout.contains(contact_id):
            # Assigned before the global holdout covered them: still no marketing.
            tally.skipped[GLOBAL_HOLDOUT] += 1
            tally.note(contact_id, None, GLOBAL_HOLDOUT, holdout.detail())
            decisions.append(
                _decision(run, contact_id, None, GLOBAL_HOLDOUT, holdout.detail(), now)
            )
        elif group == "control":
            tally.skipped["holdout"] += 1
            tally.note(contact_id, None, "holdout", "control group")
            decisions.append(_decision(run, contact_id, None, "holdout", "control group", now))
        elif variant is not None:
            treated[variant].append(contact_id)
    recipients = load_recipients(session, [c for ids in treated.values() for c in ids])
    unwritten: dict[int, list[tuple[datetime, str]]] = defaultdict(list)  # a dry run's sends
    for channel in plan.channels:
        deliveries: list[dict[str, Any]] = []
        for variant, ids in treated.items():
            template_id = plan.templates.get((variant, channel))
            if template_id is None:
                continue
            people = [recipients[c] for c in ids if c in recipients]
            facts = gather_facts(
                session,
                people,
                channel=channel,
                purpose="marketing",
                campaign_id=plan.campaign_id,
                template_ids=[template_id],
                around=base,
                window=rules.cap_window * 2,
            )
            for person in people:
                planned = base
                if plan.local_hour is not None:
                    planned = next_local_hour(base, person.time_zone, plan.local_hour)
                known = facts[person.contact_id]
                if unwritten[person.contact_id]:
                    known = replace(known, planned=[*known.planned, *unwritten[person.contact_id]])
                verdict = decide(
                    known,
                    channel=channel,
                    purpose=plan.purpose,
                    template_id=template_id,
                    planned_at=planned,
                    rules=rules,
                )
                if not verdict.send:
                    tally.skipped[verdict.reason] += 1
                    tally.note(person.contact_id, channel, verdict.reason, verdict.detail)
                    decisions.append(
                        _decision(
                            run, person.contact_id, channel, verdict.reason, verdict.detail, now
                        )
                    )
                    continue
                tally.queued[channel] += 1
                tally.note(person.contact_id, channel, "send", f"variant {variant}")
                if not write:
                    unwritten[person.contact_id].append((verdict.send_at or planned, channel))
                if verdict.deferred:
                    tally.deferred[verdict.deferred] += 1
                deliveries.append(
                    _delivery(run, plan, person.contact_id, channel, variant, template_id, verdict)
                    | {"address": person.address(channel) or ""}
                )
        if write:
            # Keys name this run, so they are new: COPY straight in (ON CONFLICT if a racer won).
            write_rows(session, Delivery, deliveries, conflict=["key"], all_new=True)
    if write:
        write_rows(session, PolicyDecision, decisions, all_new=True)
        run.prepared_through = members[-1][0]
        session.flush()
    else:
        run.prepared_through = members[-1][0]  # the caller rolls back or expunges the run
    return tally


def _decision(
    run: CampaignRun, contact_id: int, channel: str | None, reason: str, detail: str, now: datetime
) -> dict[str, Any]:
    return {
        "run_id": run.id,
        "campaign_id": run.campaign_id,
        "contact_id": contact_id,
        "channel": channel,
        "reason": reason,
        "detail": detail,
        "decided_at": now,
    }


def _delivery(
    run: CampaignRun,
    plan: Plan,
    contact_id: int,
    channel: str,
    variant: str,
    template_id: int,
    verdict: Decision,
) -> dict[str, Any]:
    assert verdict.send_at is not None
    return {
        "key": f"{plan.campaign_id}:{run.id}:{contact_id}:{channel}:{variant}",
        "run_id": run.id,
        "campaign_id": plan.campaign_id,
        "contact_id": contact_id,
        "channel": channel,
        "variant": variant,
        "template_id": template_id,
        "purpose": plan.purpose,
        "status": "queued",
        "planned_at": verdict.send_at,
        "not_before": verdict.send_at,
        "deferred_reason": verdict.deferred,
        "attempts": 0,
        "cost": 0,
    }
