"""A contact's uplift scores by recommendation kind, for ranking storefront recommendations.

A model speaks for the kinds of campaign it was trained on: `cross_sell` and `up_sell`, named
in its `campaign_types` or being the types of its listed training campaigns. When a contact
has a score under such a model, the storefront ranks that kind's items by uplift x margin.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from campaign_engine.models import Campaign, UpliftModel, UpliftScore

KINDS = frozenset({"cross_sell", "up_sell"})


def kind_scores(db: Any, contact_id: int) -> Mapping[str, float] | None:
    """Return the contact's best uplift score per kind; None when it has none that apply."""
    rows = db.execute(
        select(UpliftModel.training, UpliftScore.score)
        .join(UpliftScore, UpliftScore.model_id == UpliftModel.id)
        .where(UpliftScore.contact_id == contact_id)
    ).all()
    if not rows:
        return None
    listed = {int(c) for training, _ in rows for c in (training or {}).get("campaigns") or ()}
    types = (
        dict(db.execute(select(Campaign.id, Campaign.type).where(Campaign.id.in_(listed))).all())
        if listed
        else {}
    )
    found: dict[str, float] = {}
    for training, score in rows:
        training = training or {}
        kinds = set(training.get("campaign_types") or ())
        kinds |= {types.get(int(c)) for c in training.get("campaigns") or ()} - {None}
        for kind in kinds & KINDS:
            found[kind] = max(found.get(kind, float("-inf")), float(score))
    return found or None
