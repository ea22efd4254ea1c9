"""The uplift registry: train from a past campaign, evaluate, promote, roll back, score, retrain."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campaign_engine.campaigns.service import save_campaign
from campaign_engine.db import transaction
from campaign_engine.demo import seed_demo
from campaign_engine.demo.campaign import CAMPAIGN_CODE
from campaign_engine.errors import Conflict, InvalidInput
from campaign_engine.journeys.facts import Pending, gather
from campaign_engine.ml_data import scoring_frame
from campaign_engine.models import (
    Campaign,
    CampaignMember,
    Contact,
    UpliftModel,
    UpliftScore,
    UpliftScoringRun,
)
from campaign_engine.models.types import utcnow
from campaign_engine.runtime import Runtime
from campaign_engine.uplift_models import jobs, registry, scoring
from journeys import parse, start
from tests.campaign_support import NOON, campaign_body, in_session
from tests.campaign_support import segment as make_segment


@pytest.fixture
def demo(runtime: Runtime) -> int:
    """Seed a small demo store and define model 'offer' on its past campaign; return its id."""
    seed_demo(runtime.engine, contacts=3_000, seed=7, today=date(2026, 5, 1))

    def define(session: Session) -> int:
        campaign = session.scalar(select(Campaign.id).where(Campaign.code == CAMPAIGN_CODE))
        spec = {"name": "offer", "learner": "t", "training": {"campaigns": [campaign]}}
        registry.save_model_spec(session, registry.parse_model_spec(spec))
        return int(campaign or 0)

    return int(in_session(runtime, define))


def test_training_stores_a_candidate_with_held_out_metrics_and_a_loadable_model(
    runtime: Runtime, demo: int
) -> None:
    trained = jobs.train(runtime, "offer", trained_by="ana@example.com")
    assert (trained.version, trained.learner, trained.promoted) == (1, "t", False)
    metrics = trained.metrics
    members = in_session(
        runtime,
        lambda s: s.scalar(select(func.count()).where(CampaignMember.campaign_id == demo)),
    )
    assert metrics["train_rows"] + metrics["test_rows"] == members
    assert set(metrics["normalised_qini"]) == {"model", "propensity", "random"}
    curves = metrics["curves"]
    assert len(curves["share"]) == len(curves["model"]) == len(curves["propensity"]) == 51
    assert curves["model"][0] == 0 and curves["random"][0] == 0
    assert [d["bin"] for d in metrics["deciles"]] == list(range(1, 11))
    assert sum(d["rows"] for d in metrics["deciles"]) == metrics["test_rows"]

    def load(session: Session) -> None:
        version = registry.get_version(session, registry.get_model(session, "offer"), 1)
        assert (version.status, version.trained_by, version.campaign_ids) == (
            "candidate",
            "ana@example.com",
            [demo],
        )
        assert version.library_versions["causalml"] and "recency_days" in version.features
        model = registry.load_version(version).model
        some = session.scalars(select(Contact.id).order_by(Contact.id).limit(20)).all()
        uplift = model.predict(scoring_frame(session, some, NOON))
        assert uplift.shape == (20,) and np.isfinite(uplift).all()

    in_session(runtime, load)


def test_promote_and_roll_back_keep_one_promoted_version(runtime: Runtime, demo: int) -> None:
    jobs.train(runtime, "offer", promote=True)
    jobs.train(runtime, "offer", promote=True)

    def statuses(session: Session) -> dict[int, str]:
        model = registry.get_model(session, "offer")
        return {v.version: v.status for v in registry.versions_of(session, model.id)}

    assert in_session(runtime, statuses) == {2: "promoted", 1: "retired"}
    back = in_session(
        runtime, lambda s: registry.rollback(s, registry.get_model(s, "offer"), utcnow()).version
    )
    assert back == 1
    assert in_session(runtime, statuses) == {2: "retired", 1: "promoted"}
    with pytest.raises(Conflict, match="already promoted"):
        in_session(
            runtime,
            lambda s: registry.promote(
                s, registry.get_version(s, registry.get_model(s, "offer"), 1), utcnow()
            ),
        )


def test_scoring_ranks_every_contact_and_a_repeated_batch_changes_nothing(
    runtime: Runtime, demo: int
) -> None:
    jobs.train(runtime, "offer", promote=True)
    seen: list[tuple[int, int]] = []
    run = jobs.score(runtime, "offer", on_batch=lambda d, n: seen.append((d, n)), batch_size=1000)
    assert (run.status, run.scored, run.batches_done) == ("done", 3_000, 3)
    assert seen == [(1, 3), (2, 3), (3, 3)]

    def check(session: Session) -> None:
        rows = session.execute(
            select(UpliftScore.score, UpliftScore.percentile).order_by(UpliftScore.score.desc())
        ).all()
        assert len(rows) == 3_000
        percentiles = [p for _, p in rows]
        assert percentiles[0] == 0 and all(0 <= p < 1 for p in percentiles)
        assert percentiles == sorted(percentiles)  # higher score, better rank
        low = session.scalar(select(func.min(Contact.id)))
        assert scoring.score_batch(session, run.id, low, low + 100) == 0  # the run is over

    in_session(runtime, check)


def test_a_second_run_of_the_same_version_waits_for_the_first(runtime: Runtime, demo: int) -> None:
    trained = jobs.train(runtime, "offer", promote=True)

    def start_two(session: Session) -> None:
        version = registry.get_version(session, registry.get_model(session, "offer"))
        scoring.start_run(session, version, utcnow(), 1)
        with pytest.raises(Conflict, match="already being scored"):
            scoring.start_run(session, version, utcnow(), 1)

    in_session(runtime, start_two)
    assert trained.version_id


def test_campaigns_without_a_holdout_cannot_train_a_model(runtime: Runtime) -> None:
    def set_up(session: Session) -> None:
        campaign = save_campaign(session, campaign_body(session, make_segment(session)))
        campaign.started_at = NOON
        spec = {"name": "bad", "training": {"campaigns": [campaign.id]}}
        registry.save_model_spec(session, registry.parse_model_spec(spec))

    in_session(runtime, set_up)
    with pytest.raises(InvalidInput) as raised:
        jobs.train(runtime, "bad")
    assert "has no holdout members" in str(raised.value)
    assert in_session(runtime, lambda s: registry.versions_of(s, 1)) == []


@pytest.mark.parametrize(
    ("spec", "where"),
    [
        ({"name": "x", "learner": "magic", "training": {"campaigns": [1]}}, "unknown learner"),
        ({"name": "x", "training": {}}, "either campaigns"),
        ({"name": "Bad Name", "training": {"campaigns": [1]}}, "name"),
        ({"name": "x", "outcome": "likes", "training": {"campaigns": [1]}}, "outcome"),
    ],
)
def test_a_bad_model_definition_names_its_problem(spec: dict[str, object], where: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        registry.parse_model_spec(spec)
    assert where in str(raised.value)


def test_the_scheduled_job_trains_requested_models_and_scores_promoted_ones(
    runtime: Runtime, demo: int
) -> None:
    def ask(session: Session) -> None:
        model = registry.get_model(session, "offer")
        model.auto_promote = True
        registry.request_training(session, model, "ana@example.com", utcnow())

    in_session(runtime, ask)
    jobs.maintain(runtime)

    def check(session: Session) -> tuple[str, str | None, int, int]:
        model = registry.get_model(session, "offer")
        version = registry.versions_of(session, model.id)[0]
        runs = session.scalar(select(func.count()).select_from(UpliftScoringRun))
        scored = session.scalar(select(func.count()).select_from(UpliftScore))
        assert model.train_requested_at is None
        return version.status, version.trained_by, int(runs or 0), int(scored or 0)

    status, by, runs, scored = in_session(runtime, check)
    assert by == "ana@example.com"
    if status == "promoted":  # it beat propensity targeting on its held-out members
        assert (runs, scored) == (1, 3_000)
    else:
        assert (runs, scored) == (0, 0)
    jobs.maintain(runtime)  # nothing due now: no second version, no second run
    assert in_session(runtime, check)[2] == runs


def test_journey_uplift_splits_read_the_stored_scores(runtime: Runtime, demo: int) -> None:
    jobs.train(runtime, "offer", promote=True)
    jobs.score(runtime, "offer")
    definition = parse(
        {
            "version": 1,
            "name": "split",
            "nodes": [
                {"id": "in", "type": "entry_api", "next": "u"},
                {
                    "id": "u",
                    "type": "uplift_split",
                    "model": "offer",
                    "mode": "top_share",
                    "value": 10,
                    "send": "v",
                    "skip": "b",
                },
                {
                    "id": "v",
                    "type": "uplift_split",
                    "mode": "threshold",
                    "value": 0,
                    "send": "a",
                    "skip": "b",
                },
                {"id": "a", "type": "exit"},
                {"id": "b", "type": "exit"},
            ],
        }
    )
    with transaction(runtime.sessions) as session:
        stored = dict(
            session.execute(select(UpliftScore.contact_id, UpliftScore.percentile).limit(5)).all()
        )
        batch = [
            Pending(n, contact, definition, start(definition, "in", NOON))
            for n, contact in enumerate(stored, start=1)
        ]
        facts = gather(session, batch, NOON)
    for pending in batch:
        got = facts[pending.enrollment_id]
        assert got.uplift_by_model["offer"][1] == pytest.approx(stored[pending.contact_id])
        assert got.uplift_percentile == pytest.approx(stored[pending.contact_id])  # the default


def test_an_unknown_model_is_not_found(runtime: Runtime) -> None:
    from campaign_engine.errors import NotFound

    with pytest.raises(NotFound, match="'ghost' does not exist"):
        in_session(runtime, lambda s: registry.get_model(s, "ghost"))
    assert (
        in_session(runtime, lambda s: s.scalar(select(func.count()).select_from(UpliftModel))) == 0
    )


def test_a_journey_split_naming_an_unknown_model_is_a_problem_on_its_step(
    runtime: Runtime,
) -> None:
    from campaign_engine.journeys.service import check_draft

    definition = {
        "version": 1,
        "name": "split",
        "nodes": [
            {"id": "in", "type": "entry_api", "next": "u"},
            {
                "id": "u",
                "type": "uplift_split",
                "model": "ghost",
                "mode": "threshold",
                "value": 0.01,
                "send": "a",
                "skip": "a",
            },
            {"id": "a", "type": "exit"},
        ],
    }
    problems = in_session(runtime, lambda s: check_draft(s, definition))
    assert [(p.node_id, p.field, p.code) for p in problems] == [
        ("u", "model", "dangling_reference")
    ]
    assert "'ghost' does not exist" in problems[0].message
