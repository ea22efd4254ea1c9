"""The only bridge from the database to DataFrames for `uplift/`: training and scoring frames.

A training frame has one row per member of one or more past randomised campaigns: features as
of the campaign's start (nothing at or after it), the treatment (1 treated, 0 held out) and
the outcome over the campaign's window [start, start + outcome_days), counting every order of
the member, attributed or not, as the holdout comparison in `reporting` does. See
docs/uplift.md, "Training data".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campaign_engine.errors import InvalidInput, NotFound, Problem
from campaign_engine.ml_data_features import FEATURE_COLUMNS, feature_frame
from campaign_engine.models import CampaignMember, Contact
from campaign_engine.reporting.scope import CampaignFacts, campaign_facts

Outcome = Literal["conversion", "revenue", "margin"]
OUTCOME_COLUMNS = {"conversion": "converted", "revenue": "revenue", "margin": "margin"}
SCORING_CHUNK = 5_000  # contact ids per IN list

__all__ = [
    "FEATURE_COLUMNS",
    "TrainingData",
    "id_range_frame",
    "scoring_frame",
    "training_frame",
]


@dataclass(frozen=True)
class TrainingData:
    """Features, outcome and assignment of past campaigns' members, one row each, aligned.

    `true_effect` is the known per-member effect of synthetic (demo) campaigns, else None.
    """

    X: pd.DataFrame
    y: pd.Series
    treatment: pd.Series
    contact_id: pd.Series
    campaign_id: pd.Series
    true_effect: pd.Series | None


def training_frame(
    session: Session, campaign_ids: Sequence[int], *, outcome: Outcome = "conversion"
) -> TrainingData:
    """Return the training data of the given campaigns' treated and holdout members.

    Raises `NotFound` for an unknown campaign and `InvalidInput` when the outcome is unknown,
    no campaign is given, or a campaign has not started or lacks treated or holdout members.
    """
    if outcome not in OUTCOME_COLUMNS:
        raise InvalidInput(f"unknown outcome {outcome!r}; use one of {', '.join(OUTCOME_COLUMNS)}")
    if not campaign_ids:
        raise InvalidInput("no campaigns given")
    facts = campaign_facts(session, list(dict.fromkeys(campaign_ids)))
    _check(session, facts)
    parts = []
    for campaign in facts:
        assert campaign.start is not None  # checked above
        members = select(
            CampaignMember.contact_id.label("contact_id"),
            CampaignMember.group.label("group"),
            CampaignMember.true_effect.label("true_effect"),
        ).where(CampaignMember.campaign_id == campaign.id)
        end = campaign.start + timedelta(days=campaign.outcome_days)
        part = feature_frame(session, members, campaign.start, end, ("group", "true_effect"))
        parts.append(part.assign(campaign_id=campaign.id))
    frame = pd.concat(parts, ignore_index=True)
    effect = frame["true_effect"].astype(float)
    return TrainingData(
        X=frame[list(FEATURE_COLUMNS)],
        y=frame[OUTCOME_COLUMNS[outcome]].rename(outcome),
        treatment=(frame["group"] == "treatment").astype("int64").rename("treatment"),
        contact_id=frame["contact_id"],
        campaign_id=frame["campaign_id"].astype("int64"),
        true_effect=effect.rename("true_effect") if effect.notna().all() else None,
    )


def scoring_frame(session: Session, contact_ids: Sequence[int], as_of: datetime) -> pd.DataFrame:
    """Return the feature columns of the given contacts as of `as_of`, indexed by contact id.

    Rows follow the order of `contact_ids` (duplicates once); `NotFound` names a missing one.
    """
    if as_of.tzinfo is None:
        raise InvalidInput("as_of must be an aware datetime")
    as_of = as_of.astimezone(UTC)
    wanted = list(dict.fromkeys(int(i) for i in contact_ids))
    parts = [
        feature_frame(
            session,
            select(Contact.id.label("contact_id")).where(
                Contact.id.in_(wanted[i : i + SCORING_CHUNK])
            ),
            as_of,
        )
        for i in range(0, len(wanted), SCORING_CHUNK)
    ]
    if not parts:
        return pd.DataFrame(columns=list(FEATURE_COLUMNS), index=pd.Index([], name="contact_id"))
    frame = pd.concat(parts).set_index("contact_id")
    missing = [i for i in wanted if i not in frame.index]
    if missing:
        raise NotFound(f"contact {missing[0]} does not exist")
    return frame.loc[wanted, list(FEATURE_COLUMNS)]


def id_range_frame(session: Session, low: int, high: int, as_of: datetime) -> pd.DataFrame:
    """Return the feature columns of every contact with low <= id < high as of `as_of`.

    Indexed by contact id in ascending order; the batch scoring job walks contacts this way.
    """
    if as_of.tzinfo is None:
        raise InvalidInput("as_of must be an aware datetime")
    people = select(Contact.id.label("contact_id")).where(Contact.id >= low, Contact.id < high)
    frame = feature_frame(session, people, as_of.astimezone(UTC))
    return frame.set_index("contact_id").sort_index()[list(FEATURE_COLUMNS)]


def _check(session: Session, facts: list[CampaignFacts]) -> None:
    counts = session.execute(
        select(CampaignMember.campaign_id, CampaignMember.group, func.count())
        .where(CampaignMember.campaign_id.in_([f.id for f in facts]))
        .group_by(CampaignMember.campaign_id, CampaignMember.group)
    ).all()
    members = {(int(c), str(g)): int(n) for c, g, n in counts}
    problems = []
    for f in facts:
        where = f"campaign {f.id} ({f.code})"
        if f.start is None:
            problems.append(Problem(where, "has not started: no start to take features as of"))
        if not members.get((f.id, "control")):
            problems.append(Problem(where, "has no holdout members"))
        if not members.get((f.id, "treatment")):
            problems.append(Problem(where, "has no treated members"))
    if problems:
        raise InvalidInput("campaigns cannot be used for training", problems)
