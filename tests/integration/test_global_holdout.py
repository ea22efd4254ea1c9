"""The global holdout: the same contacts get no marketing from any campaign, only transactional."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from campaign_engine.campaigns.explain import explain_contact
from campaign_engine.campaigns.lifecycle import send_now
from campaign_engine.campaigns.service import save_campaign
from campaign_engine.campaigns.trial import dry_run
from campaign_engine.dispatch.holdout import (
    GlobalHoldout,
    global_holdout_group,
    global_holdout_members,
)
from campaign_engine.dispatch.prepare import load_plan, prepare_batch, start_run
from campaign_engine.dispatch.settings import DispatchSettings
from campaign_engine.models import (
    Campaign,
    CampaignMember,
    CampaignRun,
    Consent,
    Contact,
    Delivery,
    MessageTemplate,
    PolicyDecision,
)
from campaign_engine.runtime import Runtime
from tests.campaign_support import NOON, Clock, campaign_body, in_session, launch, make_runner
from tests.campaign_support import segment as make_segment


def people(session: Session, count: int, opted_in: bool = True) -> list[int]:
    """Add `count` contacts in one statement (opted in to email marketing); return their ids."""
    first = session.scalar(select(Contact.id).order_by(Contact.id.desc()).limit(1)) or 0
    rows = [
        {"external_id": f"G{first + i:06d}", "email": f"g{first + i}@example.com"}
        for i in range(1, count + 1)
    ]
    session.execute(insert(Contact), [r | {"time_zone": "Europe/London"} for r in rows])
    ids = list(session.scalars(select(Contact.id).where(Contact.id > first).order_by(Contact.id)))
    if opted_in:
        session.execute(
            insert(Consent),
            [
                {
                    "contact_id": c,
                    "channel": "email",
                    "purpose": "marketing",
                    "state": "opted_in",
                    "updated_at": NOON - timedelta(days=30),
                }
                for c in ids
            ],
        )
    return ids


def members(session: Session, campaign_id: int) -> dict[int, str]:
    """Return a campaign's members and their groups."""
    return {
        contact: group
        for contact, group in session.execute(
            select(CampaignMember.contact_id, CampaignMember.group).where(
                CampaignMember.campaign_id == campaign_id
            )
        )
    }


def held_decisions(session: Session, campaign_id: int) -> set[int]:
    """Return the contacts a campaign recorded as in the global holdout."""
    return set(
        session.scalars(
            select(PolicyDecision.contact_id).where(
                PolicyDecision.campaign_id == campaign_id,
                PolicyDecision.reason == "global_holdout",
            )
        )
    )


def test_the_same_share_is_held_out_of_every_marketing_campaign(runtime: Runtime) -> None:
    def set_up(session: Session) -> tuple[list[int], list[int]]:
        ids = people(session, 2000, opted_in=False)  # nobody consents: nothing is rendered
        segment = make_segment(session)
        campaigns = [
            launch(
                session, campaign_body(session, segment, name=name, code=name, audience=audience)
            )
            for name, audience in (
                ("SPRING", {"segments": [segment], "holdout_percent": 20}),
                ("SUMMER", {"segments": [segment], "holdout_percent": 0}),
            )
        ]
        return ids, campaigns

    ids, campaigns = in_session(runtime, set_up)
    runner, _ = make_runner(runtime, Clock(), global_holdout_percent=10)
    assert runner.tick() == 2
    holdout = GlobalHoldout(10)
    expected = {c for c in ids if holdout.contains(c)}
    assert 140 <= len(expected) <= 260  # 10% of 2,000, give or take chance

    def check(session: Session) -> None:
        assert set(session.scalars(global_holdout_members(holdout))) == expected
        for campaign_id in campaigns:
            groups = members(session, campaign_id)
            assert set(groups) == set(ids) - expected  # neither treated nor control
            assert held_decisions(session, campaign_id) == expected
        assert "control" in members(session, campaigns[0]).values()
        someone = min(expected)
        why = explain_contact(session, campaigns[0], someone)
        assert [d["reason"] for d in why["decisions"]] == ["global_holdout"]
        assert len(why["explanation"]) == 1 and "global holdout" in why["explanation"][0]
        sides = dict(
            session.execute(
                select(Contact.id, global_holdout_group(Contact.id, holdout)).where(
                    Contact.id.in_([someone, max(set(ids) - expected)])
                )
            ).all()
        )
        assert sorted(sides.values()) == ["everyone_else", "global_holdout"]

    in_session(runtime, check)


def test_transactional_messages_still_reach_the_global_holdout(runtime: Runtime) -> None:
    def set_up(session: Session) -> tuple[list[int], int, int]:
        ids = people(session, 60)
        segment = make_segment(session)
        receipt = MessageTemplate(
            name="receipt",
            channel="email",
            purpose="transactional",
            subject="Your receipt",
            html="<p>Thanks, {{ contact.first_name }}.</p>",
            text="Thanks.",
        )
        session.add(receipt)
        session.flush()
        marketing = launch(session, campaign_body(session, segment, code="OFFER"))
        message = {"channel": "email", "template_id": receipt.id}
        transactional = launch(
            session,
            campaign_body(
                session,
                segment,
                code="RECEIPT",
                purpose="transactional",
                variants=[{"messages": [message]}],
            ),
        )
        return ids, marketing, transactional

    ids, marketing, transactional = in_session(runtime, set_up)
    runner, _ = make_runner(runtime, Clock(), global_holdout_percent=30)
    runner.tick()
    held = {c for c in ids if GlobalHoldout(30).contains(c)}
    assert held and held != set(ids)

    def sent_to(session: Session, campaign_id: int) -> set[int]:
        return set(
            session.scalars(
                select(Delivery.contact_id).where(
                    Delivery.campaign_id == campaign_id, Delivery.status == "accepted"
                )
            )
        )

    assert in_session(runtime, lambda s: sent_to(s, marketing)) == set(ids) - held
    assert in_session(runtime, lambda s: sent_to(s, transactional)) == set(ids)
    assert in_session(runtime, lambda s: held_decisions(s, transactional)) == set()


def test_members_assigned_before_the_holdout_get_no_more_marketing(runtime: Runtime) -> None:
    rules = DispatchSettings(global_holdout_percent=30).rules
    holdout = GlobalHoldout.of(rules)

    def run_twice(session: Session) -> tuple[list[int], dict[str, int], set[int]]:
        ids = people(session, 40)
        campaign = save_campaign(session, campaign_body(session, make_segment(session)))
        first = send_now(session, campaign.id, NOON)
        start_run(session, first, campaign, NOON)  # before the holdout: everyone is a member
        again = another_run(session, campaign)
        assert start_run(session, again, campaign, NOON, holdout) == 0  # no one new
        tally = prepare_batch(session, again, load_plan(session, campaign), rules, NOON)
        deliveries = set(
            session.scalars(select(Delivery.contact_id).where(Delivery.run_id == again.id))
        )
        return ids, dict(tally.skipped), deliveries

    ids, skipped, deliveries = in_session(runtime, run_twice)
    held = {c for c in ids if holdout.contains(c)}
    assert skipped == {"global_holdout": len(held)}
    assert deliveries == set(ids) - held


def another_run(session: Session, campaign: Campaign) -> CampaignRun:
    """Add another run of a running campaign, as a recurring schedule would."""
    run = CampaignRun(campaign_id=campaign.id, due_at=NOON + timedelta(days=1), status="due")
    session.add(run)
    session.flush()
    return run


def test_a_dry_run_counts_the_global_holdout(runtime: Runtime) -> None:
    rules = DispatchSettings(global_holdout_percent=25).rules

    def try_it(session: Session) -> tuple[list[int], dict[str, object]]:
        ids = people(session, 80)
        campaign = save_campaign(session, campaign_body(session, make_segment(session)))
        return ids, dry_run(session, campaign.id, NOON, rules, {"email": 0.001})

    ids, report = in_session(runtime, try_it)
    held = {c for c in ids if GlobalHoldout(25).contains(c)}
    assert report["audience"] == 80
    assert report["skipped"] == {"global_holdout": len(held)}
    assert report["messages"] == {"email": 80 - len(held)}
    assert in_session(runtime, lambda s: s.scalars(select(PolicyDecision.id)).all()) == []
