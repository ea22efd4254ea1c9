"""Uplift models for tests: the demo store's randomised campaign, and versions trained on it once.

Fitting takes seconds, so one candidate is fitted per test session (on the first backend that
asks) and stored as a new version wherever a test needs one, through the registry's own
`store_version`. The demo data are the same for a given seed, so the candidate fits them all.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign_engine.db import transaction
from campaign_engine.demo import seed_demo
from campaign_engine.demo.campaign import CAMPAIGN_CODE
from campaign_engine.models import Campaign, UpliftModel
from campaign_engine.models.types import utcnow
from campaign_engine.runtime import Runtime
from campaign_engine.uplift_models import registry, training

MODEL = "offer"
DEMO_CONTACTS = 3_000
_CANDIDATES: dict[str, training.Candidate] = {}


def seed_store(runtime: Runtime) -> int:
    """Seed the demo store (3,000 contacts); return the id of its past randomised campaign."""
    seed_demo(runtime.engine, contacts=DEMO_CONTACTS, seed=7, today=date(2026, 5, 1))
    with transaction(runtime.sessions) as session:
        return int(session.scalars(select(Campaign.id).where(Campaign.code == CAMPAIGN_CODE)).one())


def definition(campaign_id: int, **fields: object) -> dict[str, object]:
    """Return a model definition training the T-learner on `campaign_id`."""
    return {"name": MODEL, "learner": "t", "training": {"campaigns": [campaign_id]}} | fields


def define_model(session: Session, campaign_id: int, **fields: object) -> int:
    """Save the test model's definition; return its id."""
    spec = registry.parse_model_spec(definition(campaign_id, **fields))
    return registry.save_model_spec(session, spec).id


def _candidate(session: Session, model_id: int, campaign_id: int) -> training.Candidate:
    if "t" not in _CANDIDATES:
        model = registry.get_model(session, model_id)
        data, ids = training.gather(session, model, [campaign_id], utcnow())
        _CANDIDATES["t"] = training.fit_candidate(
            data, outcome="conversion", learner="t", campaign_ids=ids
        )
    return replace(_CANDIDATES["t"], campaign_ids=[campaign_id])


def add_versions(
    runtime: Runtime, campaign_id: int, count: int = 1, promote: int | None = 1
) -> int:
    """Store `count` versions of the test model (defining it if needed); promote one of them.

    Returns the model id.
    """
    with transaction(runtime.sessions) as session:
        stored = session.scalar(select(UpliftModel.id).where(UpliftModel.name == MODEL))
        model_id = stored or define_model(session, campaign_id)
        candidate = _candidate(session, model_id, campaign_id)
        model = registry.get_model(session, model_id)
        versions = [
            training.store_version(session, model, candidate, utcnow(), "tester")
            for _ in range(count)
        ]
        if promote is not None:
            registry.promote(session, versions[promote - 1], utcnow())
        return model_id
