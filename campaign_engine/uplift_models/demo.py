"""The demo store's uplift model: defined on the past randomised campaign, trained, scored."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from campaign_engine.db import transaction
from campaign_engine.demo.campaign import CAMPAIGN_CODE
from campaign_engine.errors import InvalidInput
from campaign_engine.models import Campaign
from campaign_engine.runtime import Runtime
from campaign_engine.uplift_models import jobs, registry

DEMO_MODEL = "demo-offer"


def train_demo_model(runtime: Runtime, progress: Callable[[str], None]) -> jobs.Trained | None:
    """Define, train, promote and score the demo model; None when there is no past campaign."""
    with transaction(runtime.sessions) as session:
        campaign = session.scalar(select(Campaign).where(Campaign.code == CAMPAIGN_CODE))
        if campaign is None:
            return None
        spec = registry.parse_model_spec(
            {
                "name": DEMO_MODEL,
                "description": f"Who the {campaign.name!r} email persuades to buy.",
                "learner": "auto",
                "training": {"campaigns": [campaign.id]},
                "retrain_days": 30,
                "auto_promote": True,
                "value": 40.0,
                "cost": 0.5,
            }
        )
        registry.save_model_spec(session, spec, "demo")
    try:
        trained = jobs.train(
            runtime, DEMO_MODEL, trained_by="demo", promote=True, progress=progress
        )
    except InvalidInput as error:  # a very small demo store: too few members to learn from
        progress(f"not trained: {error}")
        return None
    jobs.score(runtime, DEMO_MODEL)
    return trained
