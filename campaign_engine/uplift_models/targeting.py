"""Uplift mode: which audience members a campaign contacts, by their stored uplift scores.

Every rule becomes a score cut-off over the model's current scores: `threshold` (score >= t),
`net_value` (score x value - cost > 0) and `top_share` (the best share of the audience among
positive scores). Members without a score are left out. The cut-off applies before the holdout
draw, so the campaign's control group is drawn from the same selected contacts and the
incremental effect it reports is the effect on the people the model chose.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session, aliased

from campaign_engine.dispatch.holdout import record_unassigned
from campaign_engine.errors import Problem
from campaign_engine.models import (
    CampaignRun,
    TargetListMember,
    UpliftModel,
    UpliftModelVersion,
    UpliftScore,
)
from campaign_engine.uplift_models.registry import promoted_version

REASON = "uplift"


def targeting_problems(session: Session, model_name: str) -> list[Problem]:
    """Return a problem when the named model does not exist."""
    if session.scalar(select(UpliftModel.id).where(UpliftModel.name == model_name)) is None:
        return [Problem("targeting.model", f"uplift model {model_name!r} does not exist")]
    return []


def uplift_choices(session: Session) -> list[dict[str, Any]]:
    """Return the models a campaign can target by, by name, and whether each is usable."""
    promoted = set(
        session.scalars(
            select(UpliftModelVersion.model_id).where(UpliftModelVersion.status == "promoted")
        )
    )
    return [
        {"name": name, "promoted": model_id in promoted}
        for model_id, name in session.execute(
            select(UpliftModel.id, UpliftModel.name).order_by(UpliftModel.name)
        )
    ]


def readiness_problems(session: Session, targeting: dict[str, Any]) -> list[Problem]:
    """Return why an uplift-mode campaign cannot start: no model, promoted version or scores."""
    name = targeting["model"]
    model = session.scalar(select(UpliftModel).where(UpliftModel.name == name))
    if model is None:
        return [Problem("targeting.model", f"uplift model {name!r} does not exist")]
    if promoted_version(session, model.id) is None:
        return [Problem("targeting.model", f"uplift model {name!r} has no promoted version")]
    scored = session.scalar(
        select(UpliftScore.contact_id).where(UpliftScore.model_id == model.id).limit(1)
    )
    if scored is None:
        return [Problem("targeting.model", f"uplift model {name!r} has not scored anyone yet")]
    return []


@dataclass(frozen=True)
class UpliftSelection:
    """The members an uplift-mode run contacts: a model's scores above a cut-off."""

    model_id: int
    model_name: str
    cutoff: float  # contact when score >= cutoff (or > cutoff when `strict`)
    strict: bool
    rule: str

    def score_of(self, contact_id: Any) -> Any:
        """Return SQL for a contact's current score under the model (NULL when unscored)."""
        return (
            select(UpliftScore.score)
            .where(UpliftScore.model_id == self.model_id, UpliftScore.contact_id == contact_id)
            .scalar_subquery()
        )

    def selected(self, contact_id: Any) -> Any:
        """Return SQL that is true for the contacts the rule selects."""
        score = aliased(UpliftScore)  # so it also correlates with a query over uplift_scores
        passes = score.score > self.cutoff if self.strict else score.score >= self.cutoff
        return exists().where(
            and_(score.model_id == self.model_id, score.contact_id == contact_id, passes)
        )

    def detail(self) -> str:
        """Return the sentence stored with a left-out member's decision."""
        sign = ">" if self.strict else "≥"
        return (
            f"its uplift under model {self.model_name!r} is unknown or not {sign} "
            f"{self.cutoff:.4g} ({self.rule} rule)"
        )


def selection(session: Session, targeting: dict[str, Any], list_id: int) -> UpliftSelection | None:
    """Return the selection of an uplift-mode campaign over target list `list_id`.

    None when the model is gone: the run then contacts nobody in uplift mode (see `prepare`).
    """
    model = session.scalar(select(UpliftModel).where(UpliftModel.name == targeting["model"]))
    if model is None:
        return None
    rule = targeting.get("rule", "net_value")
    cutoff, strict = 0.0, True
    if rule == "threshold":
        cutoff, strict = float(targeting["threshold"]), False
    elif rule == "net_value":
        cutoff = float(targeting.get("cost") or 0) / float(targeting["value"])
    else:
        scores = session.scalars(
            select(UpliftScore.score)
            .join(TargetListMember, TargetListMember.contact_id == UpliftScore.contact_id)
            .where(TargetListMember.list_id == list_id, UpliftScore.model_id == model.id)
            .order_by(UpliftScore.score.desc())
        ).all()
        wanted = math.ceil(len(scores) * float(targeting["top_share"]) / 100)
        if wanted and scores[wanted - 1] > 0:
            cutoff, strict = float(scores[wanted - 1]), False
    return UpliftSelection(model.id, model.name, cutoff, strict, rule)


def record_left_out(
    session: Session,
    run: CampaignRun,
    list_id: int,
    chosen: UpliftSelection | None,
    now: datetime,
) -> int:
    """Store an `uplift` decision for every list member the targeting left out; return how many.

    Members already in the campaign, or kept out by the global holdout, are not recorded again.
    """
    detail = chosen.detail() if chosen else "its uplift model no longer exists"
    return record_unassigned(session, run, list_id, REASON, detail, now)
