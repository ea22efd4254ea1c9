"""Storefront decisions from stored rules and scores: what each slot shows, and why.

Three answers, by what may be used:

- personal: a consenting contact: purchase history, basket, page, the offers of the
  cross-sell and up-sell campaigns recently sent to it (first, so every channel agrees), and
  uplift scores when there are any;
- contextual: an anonymous visitor: the basket and the page only;
- non_personal: best sellers (of the page's category). For contacts without consent, when
  the storefront asks for it, and for the personalisation holdout, a stable hash-chosen share
  of contacts and visitors kept aside so the lift of personalisation can be measured.

Never fits a model and never mines: everything comes from the rule snapshot in memory and
the contact's stored data.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from campaign_engine.errors import InvalidInput, Problem
from campaign_engine.personalisation_events import impression_row
from campaign_engine.personalisation_requests import LookupQuery, PersonaliseRequest, Slot
from campaign_engine.personalisation_store import (
    CONSENT_CHANNEL,
    CONSENT_PURPOSE,
    ContactData,
    Profile,
    Reader,
    ScoreLookup,
    read_contact,
)
from campaign_engine.recommend.service import (
    Context,
    Recommendation,
    candidates,
    popular,
    rank,
    recommend,
)
from campaign_engine.recommend.settings import RecommendSettings
from campaign_engine.recommend.snapshot import RuleSnapshot
from campaign_engine.segments.sql import BUCKETS, bucket_of

PERSONAL, CONTEXTUAL, NON_PERSONAL = "personal", "contextual", "non_personal"
CAMPAIGN_PRODUCTS = 3  # what a campaign offer shows: the message helper's default k
SLOT_KINDS = {"cross_sell": "cross_sell", "up_sell": "up_sell", "category_gap": "category_gap"}


@dataclass(frozen=True)
class Decision:
    """Who is asking and which answer they get, with the sentence that says why."""

    mode: str
    why: str
    holdout: bool
    contact: ContactData | None
    visitor_id: str | None

    @property
    def profile(self) -> Profile:
        """Return what may be used of the contact: its profile when personal, else nothing."""
        if self.mode == PERSONAL and self.contact is not None:
            return self.contact.profile
        return Profile()


def in_holdout(settings: RecommendSettings, contact_id: int | None, visitor: str | None) -> bool:
    """Say whether a contact (by id) or else an anonymous visitor is in the holdout."""
    threshold = round(settings.holdout_percent * BUCKETS / 100)
    if threshold <= 0:
        return False
    salt = f"personalisation:{settings.holdout_salt}"
    if contact_id is not None:
        return bucket_of(contact_id, salt) < threshold
    if visitor is None:
        return False
    digest = hashlib.sha256(f"{salt}:{visitor}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS < threshold


def find_contact(
    db: Reader | None, contact_id: str | None, now: datetime, settings: RecommendSettings
) -> ContactData | None:
    """Read the contact with external id `contact_id` (None: anonymous); 422 if unknown."""
    if contact_id is None:
        return None
    found = None if db is None else read_contact(db, contact_id, now, settings.campaign_days)
    if found is None:
        raise InvalidInput(
            "unknown contact", [Problem("contact_id", "no contact has this external id")]
        )
    return found


def decide(
    settings: RecommendSettings,
    contact: ContactData | None,
    visitor_id: str | None,
    allowed: bool,
) -> Decision:
    """Pick the answer the contact's consent, the storefront's wish and the holdout allow."""
    held = in_holdout(settings, contact.id if contact else None, visitor_id)
    share = f"{settings.holdout_percent:g}%"
    if contact is not None and not contact.consented:
        why = (
            f"no consent to personalisation on record ({CONSENT_CHANNEL}/{CONSENT_PURPOSE}):"
            " non-personal answer"
        )
        return Decision(NON_PERSONAL, why, False, contact, visitor_id)
    if not allowed:
        why = "the storefront asked for no personalisation: non-personal answer"
        return Decision(NON_PERSONAL, why, False, contact, visitor_id)
    if held:
        why = (
            f"in the personalisation holdout ({share} of visitors get the non-personal answer,"
            " so the lift of personalisation can be measured)"
        )
        return Decision(NON_PERSONAL, why, True, contact, visitor_id)
    if contact is not None:
        why = "personalised from purchase history, basket, page and recent campaign offers"
        return Decision(PERSONAL, why, False, contact, visitor_id)
    why = "anonymous visitor: recommendations from the basket and page only"
    return Decision(CONTEXTUAL, why, False, None, visitor_id)


def resolve_products(snapshot: RuleSnapshot, request: PersonaliseRequest) -> tuple[int, ...]:
    """Return the basket's product ids; 422 naming every unknown SKU or category."""
    problems = [
        Problem(f"basket[{i}]", f"no product with SKU {sku!r}")
        for i, sku in enumerate(request.basket)
        if sku not in snapshot.by_sku
    ]
    page = request.page
    if page.sku is not None and page.sku not in snapshot.by_sku:
        problems.append(Problem("page.sku", f"no product with SKU {page.sku!r}"))
    if page.category is not None and page.category not in snapshot.categories:
        problems.append(Problem("page.category", f"no product in category {page.category!r}"))
    if problems:
        raise InvalidInput("unknown products", problems)
    return tuple(dict.fromkeys(snapshot.by_sku[sku] for sku in request.basket))


def known(snapshot: RuleSnapshot, history: dict[int, int]) -> dict[int, int]:
    """Return the purchases of products the snapshot knows (newer ones wait for the next)."""
    return {pid: n for pid, n in history.items() if pid in snapshot.products}


def personalise(
    db: Reader | None,
    snapshot: RuleSnapshot,
    settings: RecommendSettings,
    request: PersonaliseRequest,
    now: datetime,
    scores: ScoreLookup | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Answer one page view; return the answer and the impression event row to record.

    `db` may be None for an anonymous visitor: nothing is read from the database then.
    """
    basket = resolve_products(snapshot, request)
    contact = find_contact(db, request.contact_id, now, settings)
    decision = decide(settings, contact, request.visitor_id, request.personalisation)
    viewing = (snapshot.by_sku[request.page.sku],) if request.page.sku else ()
    profile = _with_scores(db, decision, scores)
    pool = Pool(snapshot, Context(known(snapshot, profile.history), basket, viewing), profile)
    slots = {
        slot.name: _fill(pool, decision, slot, request.page.category) for slot in request.slots
    }
    impression_id = f"{random.getrandbits(128):032x}"  # an id, not a secret: keys guard clicks
    answer = {
        "impression_id": impression_id,
        "rule_set": snapshot.version,
        "mode": decision.mode,
        "personalised": decision.mode != NON_PERSONAL,
        "holdout": decision.holdout,
        "why": decision.why,
        "slots": slots,
    }
    shown = {name: [_shown(item) for item in slot["items"]] for name, slot in slots.items()}
    properties = {
        "mode": decision.mode,
        "holdout": decision.holdout,
        "rule_set": snapshot.version,
        "page": request.page.model_dump(exclude_none=True),
        "basket": list(request.basket),
        "slots": shown,
        "campaigns": [c.code for c in profile.campaigns],
    }
    contact_id = decision.contact.id if decision.contact else None
    return answer, impression_row(impression_id, contact_id, request.visitor_id, properties, now)


def _with_scores(db: Reader | None, decision: Decision, scores: ScoreLookup | None) -> Profile:
    profile = decision.profile
    if scores is None or db is None or decision.mode != PERSONAL or decision.contact is None:
        return profile
    return replace(profile, uplift=scores(db, decision.contact.id))


def _shown(item: dict[str, Any]) -> str:
    return str(item.get("sku") or item.get("campaign", {}).get("code") or item.get("key"))


class Pool:
    """One request's candidates, found once and ranked for each slot that asks."""

    def __init__(self, snapshot: RuleSnapshot, context: Context, profile: Profile) -> None:
        self.snapshot = snapshot
        self.context = context
        self.profile = profile
        self._found: list[Recommendation] | None = None
        self._campaign: dict[str, list[Recommendation]] = {}

    def ranked(self, kind: str | None, k: int) -> list[Recommendation]:
        """Return the best `k` of `kind` (None: every kind)."""
        if self._found is None:
            self._found = candidates(self.snapshot, self.context)
        found = self._found if kind is None else [r for r in self._found if r.kind == kind]
        return rank(self.snapshot, found, k, self.profile.uplift)

    def campaign(self, kind: str) -> list[Recommendation]:
        """Return what a campaign of `kind` offers: from the history only, as its message did."""
        if kind not in self._campaign:
            history = Context(known(self.snapshot, self.profile.history))
            self._campaign[kind] = recommend(
                self.snapshot, history, kind, CAMPAIGN_PRODUCTS, self.profile.uplift
            )
        return self._campaign[kind]


def _fill(pool: Pool, decision: Decision, slot: Slot, category: str | None) -> dict[str, Any]:
    snapshot = pool.snapshot
    if slot.type == "content":
        items = [_content(pool, decision, category)]
    elif decision.mode == NON_PERSONAL:
        recs = (
            []
            if slot.type == "offers"
            else popular(snapshot, category, slot.k, pool.context.present)
        )
        items = [r.as_dict(snapshot) for r in recs]
    elif slot.type == "offers":
        items = _offers(pool, slot.k)
    else:
        kind = SLOT_KINDS.get(slot.type)  # None: the "recommendations" slot mixes every kind
        items = _products(pool, kind, slot.k)
    return {"type": slot.type, "items": items}


def _products(pool: Pool, kind: str | None, k: int) -> list[dict[str, Any]]:
    """Rank the slot's kind, the products of a campaign offer of that kind first."""
    first: list[Recommendation] = []
    present = pool.context.present
    for offer in pool.profile.campaigns:
        if kind is None or offer.type == kind:
            for rec in pool.campaign(offer.type):
                if rec.product_id not in present:
                    first.append(_also_offered(rec, offer.name))
    seen: set[int] = set()
    out = []
    for rec in [*first, *pool.ranked(kind, k + len(first))]:
        if rec.product_id not in seen:
            seen.add(rec.product_id)
            out.append(rec.as_dict(pool.snapshot))
    return out[:k]


def _also_offered(rec: Recommendation, campaign: str) -> Recommendation:
    def explain() -> str:
        return f"{rec.reason}; also offered by campaign {campaign!r}"

    return Recommendation(rec.product_id, rec.kind, rec.score, explain, rec.lift, rec.confidence)


def _offers(pool: Pool, k: int) -> list[dict[str, Any]]:
    """Campaign offers first, then category-gap offers (the "buys X, never Y" bundles)."""
    snapshot = pool.snapshot
    out: list[dict[str, Any]] = []
    for offer in pool.profile.campaigns:
        sent = f" on {offer.sent_at:%Y-%m-%d}" if offer.sent_at else ""
        out.append(
            {
                "kind": "campaign_offer",
                "campaign": {"code": offer.code, "name": offer.name, "type": offer.type},
                "products": [r.as_dict(snapshot) for r in pool.campaign(offer.type)],
                "reason": (
                    f"the {offer.type.replace('_', '-')} offer of campaign {offer.name!r},"
                    f" sent by {offer.channel}{sent}: the same products as the message"
                ),
            }
        )
    out.extend(r.as_dict(snapshot) for r in pool.ranked("category_gap", k))
    return out[:k]


def _content(pool: Pool, decision: Decision, category: str | None) -> dict[str, Any]:
    """Pick a category banner: a category gap, the basket's best cross-sell, or the page's."""
    snapshot = pool.snapshot
    chosen, reason = None, ""
    if decision.mode != NON_PERSONAL:
        gap = pool.ranked("category_gap", 1)
        cross = pool.ranked("cross_sell", 1)
        if gap:
            chosen = snapshot.products[gap[0].product_id].category
            reason = gap[0].reason
        elif cross:
            chosen = snapshot.products[cross[0].product_id].category
            reason = cross[0].reason
    if chosen is None and category is not None:
        chosen, reason = category, f"the page's category ({category.replace('_', ' ')})"
    if chosen is None:
        top = rank(snapshot, popular(snapshot, None, 1), 1)
        if top:
            chosen = snapshot.products[top[0].product_id].category
            reason = f"the best-selling category; {top[0].reason}"
    if chosen is None:
        return {"kind": "content", "key": "default", "category": None, "reason": "no data yet"}
    return {
        "kind": "content",
        "key": f"category:{chosen}",
        "category": chosen,
        "headline": f"More in {chosen.replace('_', ' ')}",
        "reason": reason,
    }


def lookup(
    db: Reader | None,
    snapshot: RuleSnapshot,
    settings: RecommendSettings,
    query: LookupQuery,
    now: datetime,
    scores: ScoreLookup | None = None,
) -> dict[str, Any]:
    """Answer GET /recommendations: products for some SKUs, or for a contact (needs `db`)."""
    problems = [
        Problem(f"sku[{i}]", f"no product with SKU {sku!r}")
        for i, sku in enumerate(query.sku)
        if sku not in snapshot.by_sku
    ]
    if problems:
        raise InvalidInput("unknown products", problems)
    asked = tuple(dict.fromkeys(snapshot.by_sku[s] for s in query.sku))
    contact = find_contact(db, query.contact_id, now, settings)
    decision = decide(settings, contact, None, True)
    if decision.mode == CONTEXTUAL:
        decision = replace(decision, why="recommendations for the products asked about")
    profile = _with_scores(db, decision, scores)
    pool = Pool(snapshot, Context(known(snapshot, profile.history), viewing=asked), profile)
    kind = None if query.kind == "all" else query.kind
    if decision.mode == NON_PERSONAL:
        items = [r.as_dict(snapshot) for r in popular(snapshot, None, query.k, asked)]
    else:
        items = _products(pool, kind, query.k)
    return {
        "rule_set": snapshot.version,
        "mode": decision.mode,
        "personalised": decision.mode != NON_PERSONAL,
        "holdout": decision.holdout,
        "why": decision.why,
        "recommendations": items,
    }
