"""Predicted versus realised incremental effect of an uplift-mode campaign, overall and by band.

Each member keeps the score its model gave when it was assigned (`predicted_uplift`). The
prediction is the sum of those scores over the treated members (incremental buyers expected);
the realisation is the treated-versus-holdout difference the ROI report measures. Per band of
predicted uplift (fifths, best first) the observed uplift is the band's treated conversion rate
minus its control rate, so a marketer sees whether the model ranked people well.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from campaign_engine.models import CampaignMember
from campaign_engine.reporting.outcomes import outcome_of, window_outcomes
from campaign_engine.reporting.roi import IncrementalReturn
from campaign_engine.reporting.rows import ReportRow
from campaign_engine.reporting.scope import CampaignFacts

BANDS = 5


@dataclass(frozen=True)
class UpliftBand(ReportRow):
    """One fifth of the members by predicted uplift: predicted against observed."""

    band: int  # 1 = the highest predicted uplift
    treated: int
    control: int
    predicted_uplift: float  # mean score of the band's members
    observed_uplift: float | None  # treated rate - control rate; None when an arm is empty


@dataclass(frozen=True)
class UpliftCheck(ReportRow):
    """An uplift-mode campaign's predicted and realised incremental buyers."""

    model: str
    scored_members: int
    predicted_conversions: float  # sum of predicted uplift over treated members
    realised_conversions: float | None  # the ROI report's incremental buyers
    realised_low: float | None
    realised_high: float | None
    bands: list[UpliftBand]


def uplift_check(
    session: Session, facts: CampaignFacts, model: str, incremental: IncrementalReturn
) -> UpliftCheck | None:
    """Return the check of a campaign whose members carry predicted uplift, else None."""
    scored = (
        select(
            CampaignMember.contact_id.label("contact_id"),
            CampaignMember.group.label("arm"),
            CampaignMember.predicted_uplift.label("score"),
            func.ntile(BANDS)
            .over(order_by=(CampaignMember.predicted_uplift.desc(), CampaignMember.contact_id))
            .label("band"),
        )
        .where(CampaignMember.campaign_id == facts.id, CampaignMember.predicted_uplift.is_not(None))
        .subquery()
    )
    per_band = session.execute(
        select(scored.c.band, scored.c.arm, func.count(), func.avg(scored.c.score)).group_by(
            scored.c.band, scored.c.arm
        )
    ).all()
    if not per_band:
        return None
    predicted_total = session.scalar(
        select(func.coalesce(func.sum(scored.c.score), 0.0)).where(scored.c.arm == "treatment")
    )
    outcomes = {}
    if facts.start is not None:
        groups = select(
            scored.c.contact_id,
            (scored.c.arm + ":" + cast(scored.c.band, String)).label("group"),
        )
        end = facts.start + timedelta(days=facts.outcome_days)
        outcomes = window_outcomes(session, groups, facts.start, end)
    bands = []
    for band in sorted({int(b) for b, *_ in per_band}):
        counts = {arm: int(n) for b, arm, n, _ in per_band if int(b) == band}
        weighted = sum(float(m) * int(n) for b, _, n, m in per_band if int(b) == band)
        treated = outcome_of(outcomes, f"treatment:{band}").conversion_rate
        control = outcome_of(outcomes, f"control:{band}").conversion_rate
        bands.append(
            UpliftBand(
                band=band,
                treated=counts.get("treatment", 0),
                control=counts.get("control", 0),
                predicted_uplift=round(weighted / max(sum(counts.values()), 1), 6),
                observed_uplift=None
                if treated is None or control is None
                else round(treated - control, 6),
            )
        )
    realised = incremental.conversions
    return UpliftCheck(
        model=model,
        scored_members=sum(int(n) for *_, n, _ in per_band),
        predicted_conversions=round(float(predicted_total or 0.0), 2),
        realised_conversions=realised.value if realised else None,
        realised_low=realised.low if realised else None,
        realised_high=realised.high if realised else None,
        bands=bands,
    )
