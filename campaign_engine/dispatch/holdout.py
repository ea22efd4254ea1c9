"""The global holdout: a stable random share of contacts that gets no marketing at all."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, case, exists, insert, literal, select
from sqlalchemy.orm import Session

from campaign_engine.dispatch.policy import PolicyRules
from campaign_engine.models import CampaignMember, CampaignRun, Contact, PolicyDecision
from campaign_engine.models import TargetListMember as Member
from campaign_engine.segments.sql import BUCKETS, bucket_expr, bucket_of

REASON = "global_holdout"


@dataclass(frozen=True)
class GlobalHoldout:
    """Contacts whose bucket under `global:<salt>` falls below `percent` of the buckets.

    The same contacts are held out of every marketing campaign, so comparing them with everyone
    else measures what marketing as a whole adds. Transactional messages ignore the holdout.
    """

    percent: float = 0.0
    salt: str = "global"

    @classmethod
    def of(cls, rules: PolicyRules) -> GlobalHoldout:
        """Return the global holdout a contact policy describes."""
        return cls(rules.global_holdout_percent, rules.global_holdout_salt)

    @property
    def threshold(self) -> int:
        """Return how many of the `BUCKETS` buckets are held out."""
        return round(self.percent * BUCKETS / 100)

    def applies_to(self, purpose: str) -> bool:
        """Say whether messages of `purpose` leave the holdout out (marketing, when it is on)."""
        return self.threshold > 0 and purpose == "marketing"

    def contains(self, contact_id: int) -> bool:
        """Say whether a contact is in the holdout (the Python twin of `contains_expr`)."""
        return bucket_of(contact_id, f"global:{self.salt}") < self.threshold

    def contains_expr(self, contact_id: ColumnElement[int] | Any) -> ColumnElement[bool]:
        """Return SQL that is true when the contact id in `contact_id` is in the holdout."""
        if self.threshold <= 0:
            return literal(False)
        return bucket_expr(contact_id, f"global:{self.salt}") < self.threshold

    def detail(self) -> str:
        """Return the sentence stored with a contact's `global_holdout` decision."""
        return f"in the global holdout ({self.percent:g}% of contacts get no marketing)"


NO_HOLDOUT = GlobalHoldout()


def global_holdout_group(contact_id: ColumnElement[int] | Any, holdout: GlobalHoldout) -> Any:
    """Return SQL naming a contact's side: 'global_holdout' or 'everyone_else' (for reports)."""
    return case((holdout.contains_expr(contact_id), REASON), else_="everyone_else")


def global_holdout_members(holdout: GlobalHoldout) -> Select[int]:
    """Return a select of the ids of every contact in the holdout (use it with IN or a join)."""
    return select(Contact.id).where(holdout.contains_expr(Contact.id))


def record_global_holdout(
    session: Session,
    run: CampaignRun,
    purpose: str,
    list_id: int,
    holdout: GlobalHoldout,
    now: datetime,
) -> int:
    """Store a decision for every list member the holdout keeps out; return how many.

    Members assigned before the holdout covered them are left to `prepare_batch`, which skips
    their messages with the same reason.
    """
    if not holdout.applies_to(purpose):
        return 0
    kept_out = holdout.contains_expr(Member.contact_id)
    return record_unassigned(session, run, list_id, REASON, holdout.detail(), now, kept_out)


def record_unassigned(
    session: Session,
    run: CampaignRun,
    list_id: int,
    reason: str,
    detail: str,
    now: datetime,
    *where: Any,
) -> int:
    """Store a `reason` decision for each list member (matching `where`) not in the campaign.

    Members that already have a decision of this run are left alone. Returns how many.
    """
    left = (
        select(
            literal(run.id),
            literal(run.campaign_id),
            Member.contact_id,
            literal(reason),
            literal(detail),
            literal(now, PolicyDecision.decided_at.type),
        )
        .where(Member.list_id == list_id, *where)
        .where(
            ~exists().where(
                CampaignMember.campaign_id == run.campaign_id,
                CampaignMember.contact_id == Member.contact_id,
            )
        )
        .where(
            ~exists().where(
                PolicyDecision.run_id == run.id, PolicyDecision.contact_id == Member.contact_id
            )
        )
    )
    result = session.execute(
        insert(PolicyDecision).from_select(
            ["run_id", "campaign_id", "contact_id", "reason", "detail", "decided_at"], left
        ),
        execution_options={"preserve_rowcount": True},  # INSERT ... SELECT: not kept otherwise
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
