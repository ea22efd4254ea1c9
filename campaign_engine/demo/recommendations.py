"""Make the demo storefront answer: personalisation consents and a first mined rule set.

Demo contacts who opted in to email marketing also consent to web personalisation (a
synthetic choice, see docs/recommendations.md); the others get the non-personal answer. The
rule set is mined from the demo orders of the year up to `today`, as the scheduler would.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import text
from sqlalchemy.engine import Engine

from campaign_engine.db import make_session_factory, transaction
from campaign_engine.errors import InvalidInput
from campaign_engine.models.types import utcnow
from campaign_engine.personalisation_store import CONSENT_CHANNEL, CONSENT_PURPOSE
from campaign_engine.recommend.ruleset import refresh_rule_set
from campaign_engine.recommend.settings import RecommendSettings

SOURCE = "demo_signup"
# Copies each email opt-in (its time and history) as a web personalisation consent.
COPY_CONSENTS = text(
    "INSERT INTO consents (contact_id, channel, purpose, state, source, updated_at)"
    " SELECT contact_id, :channel, :purpose, state, :source, updated_at FROM consents"
    " WHERE channel = 'email' AND purpose = 'marketing' AND state = 'opted_in'"
)
COPY_EVENTS = text(
    "INSERT INTO consent_events (contact_id, channel, purpose, state, source, occurred_at)"
    " SELECT contact_id, :channel, :purpose, state, :source, updated_at FROM consents"
    " WHERE channel = 'email' AND purpose = 'marketing' AND state = 'opted_in'"
)


def seed_recommendations(
    engine: Engine, today: date, settings: RecommendSettings | None = None
) -> int:
    """Add personalisation consents and mine the first active rule set; return the consents."""
    values = {"channel": CONSENT_CHANNEL, "purpose": CONSENT_PURPOSE, "source": SOURCE}
    with engine.begin() as connection:
        connection.execute(COPY_EVENTS, values)
        consents = connection.execute(COPY_CONSENTS, values).rowcount
    until = datetime.combine(today + timedelta(days=1), time(), tzinfo=UTC)
    try:
        with transaction(make_session_factory(engine)) as session:
            refresh_rule_set(
                session, settings or RecommendSettings(), utcnow(), until=until, created_by="demo"
            )
    except InvalidInput:  # a store too small to have orders in the window: no rules yet
        pass
    return int(consents)
