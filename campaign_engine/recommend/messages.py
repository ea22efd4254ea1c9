"""What `recommendations(kind, k)` returns in message templates: per recipient, per send batch.

The answers come from the active rule snapshot (the storefront's, see snapshot.py) and each
recipient's purchase history, through the same `recommend()` the personalisation API uses,
so an email shows what the storefront shows the contact for that kind. Nothing is mined or
fitted here. A batch reads nothing until a template first calls the helper; then it reads the
histories and consents of every recipient of the batch in two queries, so rendering a batch
costs the same few queries whatever its size.

Like the storefront, the helper uses purchase history only for contacts who opted in to
personalisation (`web`/`personalisation`); others get empty lists.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from campaign_engine.models import Consent, Order, OrderLine, Product
from campaign_engine.personalisation_store import CONSENT_CHANNEL, CONSENT_PURPOSE, HISTORY_ORDERS
from campaign_engine.recommend.service import Context, Recommendation, recommend
from campaign_engine.recommend.snapshot import RuleSnapshot, SnapshotCache
from templates.recommendations import RecommendationSource

CHUNK = 1000  # contact ids per IN list
Links = tuple[str | None, str | None]  # a product's page and image, from its attributes


class MessageRecommendations:
    """One process's source of template recommendations: the snapshot cache and product links.

    Build one per long-lived renderer; `seconds` is how often it checks for a new rule set
    (0: on every batch, for one-off previews).
    """

    def __init__(self, seconds: float = 5.0) -> None:
        self.seconds = seconds
        self._cache: SnapshotCache | None = None
        self._links: tuple[tuple[Any, ...], dict[int, Links]] | None = None
        self._lock = threading.Lock()

    def batch(
        self,
        session: Session,
        contact_ids: Iterable[int],
        snapshot: RuleSnapshot | None = None,
    ) -> BatchRecommendations:
        """Return the recommendations of one batch of recipients; nothing is read yet.

        `snapshot` fixes the rules to use (a preview of a set that is not active); by default
        the active set's snapshot is read on first use.
        """
        return BatchRecommendations(self, session, contact_ids, snapshot)

    def snapshot(self, session: Session) -> RuleSnapshot:
        """Return the current rule snapshot of the session's database."""
        with self._lock:
            if self._cache is None:
                bind = session.get_bind()
                engine = bind if isinstance(bind, Engine) else bind.engine
                self._cache = SnapshotCache(engine, self.seconds)
            cache = self._cache
        return cache.get()

    def links(self, session: Session, snapshot: RuleSnapshot) -> dict[int, Links]:
        """Return the page and image URL of every product that has one, once per catalogue."""
        held = self._links
        stamp = snapshot.catalogue_stamp
        if held is not None and stamp and held[0] == stamp:
            return held[1]
        found: dict[int, Links] = {}
        for product_id, attributes in session.execute(select(Product.id, Product.attributes)):
            url, image = _link(attributes, "url"), _link(attributes, "image_url")
            if url or image:
                found[int(product_id)] = (url, image)
        self._links = (stamp, found)
        return found


def _link(attributes: Any, key: str) -> str | None:
    value = attributes.get(key) if isinstance(attributes, Mapping) else None
    return value if isinstance(value, str) and value.startswith(("https://", "http://")) else None


class BatchRecommendations:
    """The recommendations of one batch of recipients, read on first use."""

    def __init__(
        self,
        owner: MessageRecommendations,
        session: Session,
        contact_ids: Iterable[int],
        snapshot: RuleSnapshot | None = None,
    ) -> None:
        self.owner = owner
        self.session = session
        self.contact_ids = sorted(set(contact_ids))
        self.snapshot = snapshot
        self._loaded: tuple[RuleSnapshot, dict[int, dict[int, int]], dict[int, Links]] | None = None
        self._answers: dict[tuple[int, str, int], list[dict[str, Any]]] = {}
        self._failure: Exception | None = None

    def source(self, contact_id: int) -> RecommendationSource:
        """Return what answers one recipient's `recommendations(kind, k)` calls."""
        return partial(self.items, contact_id)

    def items(self, contact_id: int, kind: str, k: int) -> list[dict[str, Any]]:
        """Return the best `k` recommendations of `kind` ("all": every kind) for a recipient."""
        key = (contact_id, kind, k)
        if key not in self._answers:
            self._answers[key] = self._items(contact_id, kind, k)
        return self._answers[key]

    def recommendations(self, contact_id: int, kind: str, k: int) -> list[Recommendation]:
        """Return the ranked recommendations behind `items`, as the service gives them."""
        snapshot, histories, _ = self._load()
        history = histories.get(contact_id)
        if not history:
            return []
        return recommend(snapshot, Context(history), None if kind == "all" else kind, k)

    def _items(self, contact_id: int, kind: str, k: int) -> list[dict[str, Any]]:
        snapshot, _, links = self._load()
        return [
            template_item(snapshot, rec, links) for rec in self.recommendations(contact_id, kind, k)
        ]

    def check(self) -> None:
        """Raise what reading the batch's data raised: the database failing is no template bug.

        Inside a template any error fails that one message; the renderer calls this after
        the batch, so the whole batch is retried instead.
        """
        if self._failure is not None:
            raise self._failure

    def _load(self) -> tuple[RuleSnapshot, dict[int, dict[int, int]], dict[int, Links]]:
        if self._failure is not None:
            raise self._failure
        if self._loaded is None:
            try:
                snapshot = self.snapshot or self.owner.snapshot(self.session)
                consenting = consenting_contacts(self.session, self.contact_ids)
                histories = purchase_histories(self.session, consenting, snapshot)
                links = self.owner.links(self.session, snapshot) if histories else {}
            except Exception as error:
                self._failure = error
                raise
            self._loaded = (snapshot, histories, links)
        return self._loaded


def template_item(
    snapshot: RuleSnapshot, rec: Recommendation, links: Mapping[int, Links]
) -> dict[str, Any]:
    """Return one recommendation as templates see it (the documented item fields)."""
    product = snapshot.products[rec.product_id]
    url, image = links.get(rec.product_id, (None, None))
    return {
        "name": product.name,
        "sku": product.sku,
        "category": product.category,
        "price": product.price,
        "url": url,
        "image_url": image,
        "reason": rec.reason,
        "kind": rec.kind,
    }


def consenting_contacts(session: Session, contact_ids: Sequence[int]) -> list[int]:
    """Return those of `contact_ids` who opted in to personalisation."""
    found: list[int] = []
    for start in range(0, len(contact_ids), CHUNK):
        chunk = contact_ids[start : start + CHUNK]
        found.extend(
            session.scalars(
                select(Consent.contact_id).where(
                    Consent.contact_id.in_(chunk),
                    Consent.channel == CONSENT_CHANNEL,
                    Consent.purpose == CONSENT_PURPOSE,
                    Consent.state == "opted_in",
                )
            )
        )
    return sorted(set(found))


def purchase_histories(
    session: Session, contact_ids: Sequence[int], snapshot: RuleSnapshot
) -> dict[int, dict[int, int]]:
    """Return each contact's purchases (product id → order lines) in its latest orders.

    As the storefront reads one contact's profile: the `HISTORY_ORDERS` most recent orders.
    Products the snapshot does not know (added since it was loaded) are left out.
    """
    histories: dict[int, dict[int, int]] = {}
    for start in range(0, len(contact_ids), CHUNK):
        chunk = contact_ids[start : start + CHUNK]
        recent = (
            select(
                Order.id,
                Order.contact_id,
                func.row_number()
                .over(
                    partition_by=Order.contact_id,
                    order_by=(Order.ordered_at.desc(), Order.id.desc()),
                )
                .label("n"),
            )
            .where(Order.contact_id.in_(chunk))
            .subquery()
        )
        rows = session.execute(
            select(recent.c.contact_id, OrderLine.product_id, func.count())
            .join(OrderLine, OrderLine.order_id == recent.c.id)
            .where(recent.c.n <= HISTORY_ORDERS)
            .group_by(recent.c.contact_id, OrderLine.product_id)
        )
        for contact_id, product_id, lines in rows:
            if product_id in snapshot.products:
                histories.setdefault(int(contact_id), {})[int(product_id)] = int(lines)
    return histories


def contact_recommendations(session: Session, contact_id: int) -> RecommendationSource:
    """Return one contact's helper source for a preview, reading the current rule set."""
    return MessageRecommendations(seconds=0).batch(session, [contact_id]).source(contact_id)
