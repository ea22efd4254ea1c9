"""Uplift mode: a campaign contacts only the members its model selects, and says why not others."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from campaign_engine.campaigns.explain import explain_contact
from campaign_engine.campaigns.lifecycle import send_now
from campaign_engine.campaigns.service import campaign_spec, get_campaign, save_campaign
from campaign_engine.errors import InvalidInput
from campaign_engine.models import (
    CampaignMember,
    Contact,
    Delivery,
    PolicyDecision,
    UpliftModel,
    UpliftModelVersion,
    UpliftScore,
)
from campaign_engine.runtime import Runtime
from tests.campaign_support import NOON, Clock, campaign_body, in_session, launch, make_runner
from tests.campaign_support import segment as make_segment
from tests.factories import make_uplift_model
from tests.integration.test_global_holdout import people


def add_model(session: Session, name: str = "offer", promoted: bool = True) -> int:
    """Store a model with one version (promoted or not); return the model id."""
    return make_uplift_model(session, name, promoted)[0]


def add_scores(session: Session, model_id: int, scores: dict[int, float]) -> None:
    """Store a score per contact, ranked as the scoring job ranks them."""
    version = session.scalar(
        select(UpliftModelVersion.id).where(UpliftModelVersion.model_id == model_id)
    )
    ranked = sorted(scores, key=lambda c: -scores[c])
    rank = {c: sum(1 for o in ranked if scores[o] > scores[c]) for c in ranked}
    session.execute(
        insert(UpliftScore),
        [
            {
                "model_id": model_id,
                "contact_id": c,
                "version_id": version,
                "score": s,
                "percentile": rank[c] / len(scores),
                "scored_at": NOON,
            }
            for c, s in scores.items()
        ],
    )


def uplift_campaign(session: Session, segment_id: int, holdout: float, **targeting: object) -> int:
    body = campaign_body(
        session,
        segment_id,
        audience={"segments": [segment_id], "holdout_percent": holdout},
        targeting={"model": "offer", **targeting},
    )
    return launch(session, body)


def membership(session: Session, campaign_id: int) -> dict[int, tuple[str, float | None]]:
    rows = session.execute(
        select(
            CampaignMember.contact_id, CampaignMember.group, CampaignMember.predicted_uplift
        ).where(CampaignMember.campaign_id == campaign_id)
    )
    return {c: (g, p) for c, g, p in rows}


def left_out(session: Session, campaign_id: int) -> set[int]:
    return set(
        session.scalars(
            select(PolicyDecision.contact_id).where(
                PolicyDecision.campaign_id == campaign_id, PolicyDecision.reason == "uplift"
            )
        )
    )


RULES = [
    ({"rule": "net_value", "value": 50.0, "cost": 1.0}, lambda s: s > 1 / 50),
    ({"rule": "threshold", "threshold": 0.01}, lambda s: s >= 0.01),
]


@pytest.mark.parametrize(("targeting", "selects"), RULES)
def test_an_uplift_campaign_contacts_only_the_members_its_rule_selects(
    runtime: Runtime, targeting: dict[str, object], selects: object
) -> None:
    def set_up(session: Session) -> tuple[int, dict[int, float]]:
        ids = people(session, 400)
        scores = {c: ((c * 37) % 100 - 30) / 1000 for c in ids[:350]}  # 50 unscored
        add_scores(session, add_model(session), scores)
        return uplift_campaign(session, make_segment(session), 20, **targeting), scores

    campaign_id, scores = in_session(runtime, set_up)
    runner, _ = make_runner(runtime, Clock())
    runner.tick()
    chosen = {c for c, s in scores.items() if selects(s)}  # type: ignore[operator]

    def check(session: Session) -> None:
        members = membership(session, campaign_id)
        assert set(members) == chosen
        assert {g for g, _ in members.values()} == {"treatment", "control"}
        assert all(p == pytest.approx(scores[c]) for c, (_, p) in members.items())
        assert left_out(session, campaign_id) == set(people_ids(session)) - chosen
        worst = min(scores, key=scores.__getitem__)
        why = explain_contact(session, campaign_id, worst)
        assert [d["reason"] for d in why["decisions"]] == ["uplift"]
        assert "uplift" in why["explanation"][0]

    in_session(runtime, check)
    treated = in_session(
        runtime,
        lambda s: {c for c, (g, _) in membership(s, campaign_id).items() if g == "treatment"},
    )
    sent = in_session(
        runtime,
        lambda s: set(
            s.scalars(select(Delivery.contact_id).where(Delivery.campaign_id == campaign_id))
        ),
    )
    assert sent == treated


def people_ids(session: Session) -> list[int]:
    return list(session.scalars(select(Contact.id)))


def test_top_share_takes_the_best_positive_scores_of_the_audience(runtime: Runtime) -> None:
    def set_up(session: Session) -> tuple[int, dict[int, float]]:
        ids = people(session, 200)
        scores = {c: (c % 50 - 10) / 1000 for c in ids}  # a fifth are negative
        add_scores(session, add_model(session), scores)
        return uplift_campaign(
            session, make_segment(session), 0, rule="top_share", top_share=25
        ), scores

    campaign_id, scores = in_session(runtime, set_up)
    runner, _ = make_runner(runtime, Clock())
    runner.tick()
    members = in_session(runtime, lambda s: membership(s, campaign_id))
    best = sorted(scores.values(), reverse=True)[math.ceil(0.25 * len(scores)) - 1]
    assert set(members) == {c for c, s in scores.items() if s >= best}
    assert len(members) >= 50 and min(scores[c] for c in members) > 0


def test_sleeping_dogs_are_never_contacted_by_top_share(runtime: Runtime) -> None:
    def set_up(session: Session) -> int:
        ids = people(session, 100)
        add_scores(session, add_model(session), {c: -0.01 if c % 2 else 0.02 for c in ids})
        return uplift_campaign(session, make_segment(session), 0, rule="top_share", top_share=90)

    campaign_id = in_session(runtime, set_up)
    make_runner(runtime, Clock())[0].tick()
    members = in_session(runtime, lambda s: membership(s, campaign_id))
    assert members and all(p is not None and p > 0 for _, p in members.values())


def test_an_uplift_campaign_cannot_launch_before_its_model_has_scores(runtime: Runtime) -> None:
    def attempt(session: Session) -> InvalidInput:
        segment_id = make_segment(session)
        add_model(session, promoted=False)
        body = campaign_body(session, segment_id, targeting={"model": "offer", "threshold": 0.1,
                                                             "rule": "threshold"})  # fmt: skip
        campaign = save_campaign(session, body)
        with pytest.raises(InvalidInput) as raised:
            send_now(session, campaign.id, NOON)
        return raised.value

    error = in_session(runtime, attempt)
    assert "no promoted version" in str(error)


def test_targeting_naming_an_unknown_model_or_missing_its_rule_value_is_refused(
    runtime: Runtime,
) -> None:
    def attempt(session: Session) -> list[str]:
        segment_id = make_segment(session)
        messages = []
        for targeting in ({"model": "nope", "value": 10}, {"model": "offer", "rule": "top_share"}):
            with pytest.raises(InvalidInput) as raised:
                save_campaign(session, campaign_body(session, segment_id, targeting=targeting))
            messages.append(str(raised.value))
        return messages

    unknown, incomplete = in_session(runtime, attempt)
    assert "targeting.model" in unknown and "'nope' does not exist" in unknown
    assert "needs top_share" in incomplete


def test_the_targeting_round_trips_through_the_campaign_format(runtime: Runtime) -> None:
    def round_trip(session: Session) -> dict[str, object] | None:
        add_model(session)
        targeting = {"model": "offer", "rule": "net_value", "value": 30.0, "cost": 0.5}
        campaign = save_campaign(
            session, campaign_body(session, make_segment(session), targeting=targeting)
        )
        spec = campaign_spec(session, get_campaign(session, campaign.id))
        saved = save_campaign(session, spec | {"name": "copy", "code": "COPY"})
        return campaign_spec(session, saved)["targeting"]  # type: ignore[no-any-return]

    assert in_session(runtime, round_trip) == {
        "mode": "uplift",
        "model": "offer",
        "rule": "net_value",
        "threshold": None,
        "top_share": None,
        "value": 30.0,
        "cost": 0.5,
    }


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    scores=st.lists(st.floats(-0.2, 0.2, allow_nan=False), min_size=1, max_size=40),
    value=st.floats(1, 200),
    cost=st.floats(0, 5),
)
def test_net_value_never_selects_a_contact_whose_expected_profit_is_not_positive(
    runtime: Runtime, scores: list[float], value: float, cost: float
) -> None:
    from campaign_engine.uplift_models.targeting import selection

    def check(session: Session) -> None:
        ids = people(session, len(scores))
        model_id = session.scalar(select(UpliftModel.id).where(UpliftModel.name == "offer"))
        model_id = model_id or add_model(session)
        session.execute(UpliftScore.__table__.delete())
        add_scores(session, model_id, dict(zip(ids, scores, strict=True)))
        chosen = selection(session, {"model": "offer", "rule": "net_value", "value": value,
                                     "cost": cost}, 0)  # fmt: skip
        assert chosen is not None
        picked = set(
            session.scalars(
                select(UpliftScore.contact_id).where(chosen.selected(UpliftScore.contact_id))
            )
        )
        assert picked == {c for c, s in zip(ids, scores, strict=True) if s > cost / value}
        assert all(
            s * value - cost > -1e-9 for c, s in zip(ids, scores, strict=True) if c in picked
        )
        session.rollback()

    with runtime.sessions() as session:
        check(session)


def test_the_report_of_an_uplift_campaign_sets_predicted_against_realised(
    runtime: Runtime,
) -> None:
    from campaign_engine.reporting.report import campaign_report
    from tests.factories import make_order, make_product

    def set_up(session: Session) -> tuple[int, dict[int, float]]:
        ids = people(session, 300)
        scores = {c: (c % 100) / 1000 for c in ids}
        add_scores(session, add_model(session), scores)
        return uplift_campaign(session, make_segment(session), 50, rule="threshold",
                               threshold=0.0), scores  # fmt: skip

    campaign_id, scores = in_session(runtime, set_up)
    make_runner(runtime, Clock())[0].tick()

    def buy_and_report(session: Session) -> object:
        arms = membership(session, campaign_id)
        product = make_product(session, "SKU-1", "Pie", 40.0)
        for contact, (arm, predicted) in arms.items():
            if arm == "treatment" and predicted is not None and predicted >= 0.08:
                make_order(session, contact, NOON + timedelta(days=1), [(product, 1)])
        return campaign_report(session, campaign_id, now=NOON + timedelta(days=30)).uplift

    check = in_session(runtime, buy_and_report)
    treated = in_session(
        runtime,
        lambda s: [c for c, (g, _) in membership(s, campaign_id).items() if g == "treatment"],
    )
    assert check is not None and check.model == "offer"
    assert check.scored_members == 300
    assert check.predicted_conversions == pytest.approx(sum(scores[c] for c in treated), abs=0.01)
    assert check.realised_conversions is not None and check.realised_conversions > 0
    assert [b.band for b in check.bands] == [1, 2, 3, 4, 5]
    assert check.bands[0].predicted_uplift > check.bands[-1].predicted_uplift
    assert check.bands[0].observed_uplift > 0 and check.bands[-1].observed_uplift == 0


def test_storefront_scores_come_from_models_trained_on_cross_and_up_sell_campaigns(
    runtime: Runtime,
) -> None:
    from campaign_engine.uplift_models.storefront import kind_scores

    def set_up(session: Session) -> tuple[int, int]:
        ids = people(session, 2)
        cross = add_model(session, "cross")
        session.get_one(UpliftModel, cross).training = {"campaign_types": ["cross_sell"]}
        other = add_model(session, "news")
        session.get_one(UpliftModel, other).training = {"campaign_types": ["newsletter"]}
        add_scores(session, cross, {ids[0]: 0.04})
        add_scores(session, other, {ids[0]: 0.09, ids[1]: 0.02})
        return ids[0], ids[1]

    first, second = in_session(runtime, set_up)
    assert in_session(runtime, lambda s: kind_scores(s, first)) == {"cross_sell": 0.04}
    assert in_session(runtime, lambda s: kind_scores(s, second)) is None
