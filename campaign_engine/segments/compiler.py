"""Compile a segment definition into one SQLAlchemy Core select of contact ids."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, assert_never

from sqlalchemy import Select, and_, func, not_, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from campaign_engine.errors import InvalidInput, Problem
from campaign_engine.models import (
    Campaign,
    Consent,
    Contact,
    ContactTraits,
    Delivery,
    Event,
    Order,
    OrderLine,
    Product,
    Suppression,
    UpliftModel,
    UpliftScore,
)
from campaign_engine.segments.comparisons import compare, compare_age, midnight
from campaign_engine.segments.definition import (
    AllGroup,
    AnyGroup,
    AttributeCondition,
    ConsentCondition,
    EventCondition,
    EventTimeCondition,
    LastPurchaseCondition,
    NotGroup,
    PropertyFilter,
    PurchaseCondition,
    RandomBucketCondition,
    SegmentCondition,
    SegmentDefinition,
    SuppressedCondition,
    TraitCondition,
)
from campaign_engine.segments.fields import CUSTOM_PREFIX, TRAIT_FIELDS, Kind
from campaign_engine.segments.messages import MessageCondition, UnopenedCondition
from campaign_engine.segments.nodes import Counted, Moment, Window
from campaign_engine.segments.sql import (
    JsonKind,
    bucket_expr,
    email_domain,
    json_is_set,
    json_value,
)
from campaign_engine.segments.uplift import UpliftCondition

Node = Any  # a SegmentNode: one of the tagged group or condition models


@dataclass(frozen=True)
class Context:
    """What compiling needs besides the definition: the clock and other segments."""

    now: datetime
    load_segment: Callable[[int], SegmentDefinition]
    within: tuple[int, ...] = ()  # segments being expanded, outermost first

    def entering(self, segment_id: int) -> Context:
        """Return the context for expanding `segment_id`, refusing a reference cycle."""
        if segment_id in self.within:
            chain = " -> ".join(str(i) for i in (*self.within, segment_id))
            raise InvalidInput(
                "segments may not refer to each other in a cycle",
                [Problem("definition", f"segment references form a cycle: {chain}")],
            )
        return Context(self.now, self.load_segment, (*self.within, segment_id))


def compile_definition(definition: SegmentDefinition, ctx: Context) -> Select[Any]:
    """Return `SELECT contacts.id WHERE <definition>`; values only as bound parameters."""
    return select(Contact.id).where(condition(definition.root, ctx))


def condition(node: Node, ctx: Context) -> ColumnElement[bool]:
    """Return a never-NULL boolean over a `contacts` row for one node of a definition."""
    match node:
        case AllGroup():
            return and_(*(condition(child, ctx) for child in node.children))
        case AnyGroup():
            return or_(*(condition(child, ctx) for child in node.children))
        case NotGroup():
            return not_(condition(node.child, ctx))
        case AttributeCondition():
            return _attribute(node, ctx)
        case TraitCondition():
            return _trait(node, ctx)
        case PurchaseCondition():
            return _purchase(node, ctx)
        case LastPurchaseCondition():
            last = func.max(Order.ordered_at)
            at = _moment(node.when, ctx)
            ordered = select(Order.contact_id).group_by(Order.contact_id)
            test = last < at if node.op == "before" else last >= at
            return Contact.id.in_(ordered.having(test))
        case EventCondition():
            return _event(node, ctx)
        case EventTimeCondition():
            edge = (
                func.min(Event.occurred_at)
                if node.which == "first"
                else func.max(Event.occurred_at)
            )
            at = _moment(node.when, ctx)
            matching = select(Event.contact_id).where(*_event_filters(node.event_type, node.where))
            test = edge < at if node.op == "before" else edge >= at
            return Contact.id.in_(matching.group_by(Event.contact_id).having(test))
        case ConsentCondition():
            return _consent(node)
        case SuppressedCondition():
            return _suppressed(node)
        case SegmentCondition():
            inner = ctx.entering(node.segment_id)
            member = condition(ctx.load_segment(node.segment_id).root, inner)
            return not_(member) if node.exclude else member
        case RandomBucketCondition():
            return bucket_expr(Contact.__table__.c.id, node.salt) < round(node.percent * 100)
        case MessageCondition():
            return _message(node, ctx)
        case UnopenedCondition():
            return _unopened(node)
        case UpliftCondition():
            return _uplift(node, ctx)
        case _:
            assert_never(node)


def _attribute(node: AttributeCondition, ctx: Context) -> ColumnElement[bool]:
    if node.field == "age":
        today = ctx.now.astimezone(UTC).date()
        return compare_age(Contact.__table__.c.birth_date, node.op, node.value, today)
    if node.field.startswith(CUSTOM_PREFIX):
        key = node.field.removeprefix(CUSTOM_PREFIX)
        if node.op == "is_set":
            return json_is_set(Contact.attributes, key)
        if node.op == "is_not_set":
            return not_(json_is_set(Contact.attributes, key))
        kind = node.value_kind() or "string"
        json_kind: JsonKind = (
            "number" if kind == "number" else "boolean" if kind == "boolean" else "string"
        )
        column = json_value(Contact.attributes, key, json_kind)
        value = _json_comparable(node.value)
        return compare(column, kind, node.op, value, node.days, ctx.now)
    field = node.catalogue_field()
    column = getattr(Contact, node.field)
    return compare(column, field.kind, node.op, node.value, node.days, ctx.now)


def _json_comparable(value: Any) -> Any:
    """Booleans extracted from JSON compare as 1 / 0 on both databases."""
    if isinstance(value, list):
        return [_json_comparable(v) for v in value]
    return int(value) if isinstance(value, bool) else value


def _trait(node: TraitCondition, ctx: Context) -> ColumnElement[bool]:
    column = getattr(ContactTraits, node.field)
    kind: Kind = TRAIT_FIELDS[node.field].kind
    if node.op == "is_not_set":
        return Contact.id.not_in(select(ContactTraits.contact_id).where(column.is_not(None)))
    test = compare(column, kind, node.op, node.value, node.days, ctx.now)
    return Contact.id.in_(select(ContactTraits.contact_id).where(test))


def _window(window: Window | None, column: Any, ctx: Context) -> list[ColumnElement[bool]]:
    if window is None:
        return []
    if window.last_days is not None:
        return [column >= ctx.now - timedelta(days=window.last_days), column <= ctx.now]
    tests = []
    if window.since is not None:
        tests.append(column >= midnight(window.since))
    if window.until is not None:
        tests.append(column < midnight(window.until + timedelta(days=1)))
    return tests


def _moment(moment: Moment, ctx: Context) -> datetime:
    if moment.date is not None:
        return midnight(moment.date)
    assert moment.days_ago is not None
    return ctx.now - timedelta(days=moment.days_ago)


def _counted(
    node: Counted,
    present: Any,
    rows: Any,
    spend: Any = None,
    min_spend: float | None = None,
) -> ColumnElement[bool]:
    """Apply at_least / at_most and a minimum spend to the contacts of matching rows.

    `present` selects the contact id of every matching row; `rows` one row per counted thing
    (order, event), contact id first; `spend` (contact id, amount) rows. "At least once" and
    "never" need no counting: a plain semi- or anti-join on `present` does.
    """
    at_least = node.at_least
    if at_least is None and node.at_most is None and min_spend is None:
        at_least = 1
    counted = rows.subquery()
    contact = counted.c[0]

    def having(test: Any) -> Select[Any]:
        return select(contact).group_by(contact).having(test)

    tests: list[ColumnElement[bool]] = []
    if at_least == 1:
        tests.append(Contact.id.in_(present))
    elif at_least is not None:
        tests.append(Contact.id.in_(having(func.count() >= at_least)))
    if node.at_most == 0:
        tests.append(Contact.id.not_in(present))
    elif node.at_most is not None:
        tests.append(Contact.id.not_in(having(func.count() > node.at_most)))
    if spend is not None and min_spend is not None:
        spent = spend.subquery()
        tests.append(
            Contact.id.in_(
                select(spent.c[0]).group_by(spent.c[0]).having(func.sum(spent.c[1]) >= min_spend)
            )
        )
    return and_(*tests) if tests else true()


def _purchase(node: PurchaseCondition, ctx: Context) -> ColumnElement[bool]:
    window = _window(node.window, Order.ordered_at, ctx)
    if node.product is None and node.category is None:
        present = select(Order.contact_id).where(*window)
        orders = select(Order.contact_id, Order.id).where(*window)
        spend = select(Order.contact_id, Order.revenue).where(*window)
        return _counted(node, present, orders, spend, node.min_spend)
    target = Product.sku == node.product if node.product else Product.category == node.category
    lines = (
        select(Order.contact_id)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(target, *window)
    )
    # Count orders, not lines: one row per (contact, order) that holds a matching line.
    orders = lines.add_columns(Order.id).distinct()
    spend = lines.add_columns(OrderLine.quantity * OrderLine.unit_price)
    return _counted(node, lines, orders, spend, node.min_spend)


def _event_filters(event_type: str, where: list[PropertyFilter]) -> list[ColumnElement[bool]]:
    tests = [Event.contact_id.is_not(None), Event.type == event_type]
    for f in where:
        if f.op in ("is_set", "is_not_set"):
            present = json_is_set(Event.properties, f.property)
            tests.append(present if f.op == "is_set" else not_(present))
            continue
        sample = f.value[0] if isinstance(f.value, list) else f.value
        kind: Kind = (
            "boolean" if isinstance(sample, bool) else "number" if not isinstance(sample, str)
            else "string"
        )  # fmt: skip
        column = json_value(Event.properties, f.property, kind)  # type: ignore[arg-type]
        tests.append(compare(column, kind, f.op, _json_comparable(f.value), None, _EPOCH))
    return tests


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # property filters never use relative dates


def _event(node: EventCondition, ctx: Context) -> ColumnElement[bool]:
    filters = [
        *_event_filters(node.event_type, node.where),
        *_window(node.window, Event.occurred_at, ctx),
    ]
    return _counted(
        node,
        select(Event.contact_id).where(*filters),
        select(Event.contact_id, Event.id).where(*filters),
    )


def _consent(node: ConsentCondition) -> ColumnElement[bool]:
    scope = [Consent.channel == node.channel, Consent.purpose == node.purpose]
    if node.state == "unknown":
        known = select(Consent.contact_id).where(*scope, Consent.state != "unknown")
        return Contact.id.not_in(known)
    return Contact.id.in_(select(Consent.contact_id).where(*scope, Consent.state == node.state))


def _suppressed(node: SuppressedCondition) -> ColumnElement[bool]:
    def values(kind: str) -> Select[Any]:
        return select(Suppression.value).where(Suppression.kind == kind)

    email = and_(
        Contact.email.is_not(None),
        or_(
            Contact.email.in_(values("email")),
            and_(
                email_domain(Contact.email).is_not(None),
                email_domain(Contact.email).in_(values("domain")),
            ),
        ),
    )
    phone = and_(Contact.phone.is_not(None), Contact.phone.in_(values("phone")))
    match node.channel:
        case "email":
            return email
        case "sms":
            return phone
        case "any":
            return or_(email, phone)


def _message(node: MessageCondition, ctx: Context) -> ColumnElement[bool]:
    moment: Any
    match node.action:
        case "received":
            moment = Delivery.sent_at
            tests = [Delivery.status == "accepted", moment.is_not(None)]
        case "opened":
            moment = Delivery.opened_at
            tests = [moment.is_not(None)]
        case "clicked":
            moment = Delivery.clicked_at
            tests = [moment.is_not(None)]
        case _:
            assert_never(node.action)
    if node.campaign_id is not None:
        tests.append(Delivery.campaign_id == node.campaign_id)
    if node.campaign_code is not None:
        coded = select(Campaign.id).where(Campaign.code == node.campaign_code)
        tests.append(Delivery.campaign_id.in_(coded))
    if node.channel is not None:
        tests.append(Delivery.channel == node.channel)
    tests += _window(node.window, moment, ctx)
    return _counted(
        node,
        select(Delivery.contact_id).where(*tests),
        select(Delivery.contact_id, Delivery.id).where(*tests),
    )


def _unopened(node: UnopenedCondition) -> ColumnElement[bool]:
    """Number each contact's sent messages from the latest; keep full, unopened top-N sets.

    One pass of a window function over sent deliveries: the same SQL on SQLite (3.25 and
    later) and PostgreSQL, where a `position <= N` filter lets the window stop early per contact.
    """
    tests = [Delivery.status == "accepted", Delivery.sent_at.is_not(None)]
    if node.channel is not None:
        tests.append(Delivery.channel == node.channel)
    position = func.row_number().over(
        partition_by=Delivery.contact_id,
        order_by=(Delivery.sent_at.desc(), Delivery.id.desc()),  # ties: the later id is newer
    )
    numbered = (
        select(Delivery.contact_id, Delivery.opened_at, position.label("position"))
        .where(*tests)
        .subquery()
    )
    latest = (
        select(numbered.c.contact_id)
        .where(numbered.c.position <= node.last)
        .group_by(numbered.c.contact_id)
        .having(func.count() == node.last, func.count(numbered.c.opened_at) == 0)
    )
    return Contact.id.in_(latest)


def _uplift(node: UpliftCondition, ctx: Context) -> ColumnElement[bool]:
    """Keep contacts with a stored score passing the tests (or, unscored, without one).

    The model is found by name when the segment runs, as one scalar subquery: the
    `(model_id, score)` index then serves a score range. A name no model has matches no score.
    """
    model_id = select(UpliftModel.id).where(UpliftModel.name == node.model).scalar_subquery()
    tests = [UpliftScore.model_id == model_id]
    columns = UpliftScore.__table__.c
    measures = ((columns.score, node.score), (columns.percentile, node.percentile))
    for column, test in measures:
        if test is not None:
            tests.append(compare(column, "number", test.op, test.value, None, ctx.now))
    scored = select(UpliftScore.contact_id).where(*tests)
    return Contact.id.in_(scored) if node.scored else Contact.id.not_in(scored)
