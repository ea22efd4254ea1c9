"""Evaluate segment definitions in plain Python, from docs/segments.md alone, to check the compiler.

This module deliberately shares no code with `campaign_engine.segments`: it reads the definition
as JSON (dicts and lists) and the data as plain dicts, and spells out every rule of the section
"Semantics, exactly" in the most literal way, one contact at a time.
"""

from __future__ import annotations

import calendar
import hashlib
import string
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

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

_TEXT_FIELDS = (
    "external_id email phone first_name last_name city region country postal_code "
    "time_zone locale education_level source"
)
_NUMBER_TRAITS = (
    "recency_days frequency monetary avg_order_value orders_total revenue_total r_score "
    "f_score m_score clv p_alive expected_purchases"
)
PROFILE_KINDS = {
    **{name: "string" for name in _TEXT_FIELDS.split()},
    "gender": "enum",
    "lifecycle_stage": "enum",
    "household_income": "number",
    "age": "number",
    "birth_date": "date",
    "created_at": "datetime",
}
TRAIT_KINDS = {
    **{name: "number" for name in _NUMBER_TRAITS.split()},
    "first_order_at": "datetime",
    "last_order_at": "datetime",
    "rfm_cell": "string",
    "rfm_group": "enum",
    "churn_risk": "enum",
}
CUSTOM_PREFIX = "attributes."
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


@dataclass
class Dataset:
    """Everything a segment can look at, as plain dicts keyed like the database columns.

    `orders` carry their lines under "lines" (dicts with product_id, quantity, unit_price).
    `campaigns` need only id and code; `deliveries` are rows of the delivery ledger.
    `uplift_models` need only id and name; `uplift_scores` are the stored scores.
    """

    contacts: list[dict[str, Any]] = field(default_factory=list)
    consents: list[dict[str, Any]] = field(default_factory=list)
    suppressions: list[dict[str, Any]] = field(default_factory=list)
    products: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    traits: list[dict[str, Any]] = field(default_factory=list)
    campaigns: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    uplift_models: list[dict[str, Any]] = field(default_factory=list)
    uplift_scores: list[dict[str, Any]] = field(default_factory=list)


def read_dataset(conn: Connection) -> Dataset:
    """Read every table a segment can look at into a Dataset."""

    def rows(table: Any) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in conn.execute(select(table).order_by(*table.primary_key))]

    orders = rows(Order.__table__)
    lines = defaultdict(list)
    for line in rows(OrderLine.__table__):
        lines[line["order_id"]].append(line)
    for order in orders:
        order["lines"] = lines[order["id"]]
    return Dataset(
        contacts=rows(Contact.__table__),
        consents=rows(Consent.__table__),
        suppressions=rows(Suppression.__table__),
        products=rows(Product.__table__),
        orders=orders,
        events=rows(Event.__table__),
        traits=rows(ContactTraits.__table__),
        campaigns=rows(Campaign.__table__),
        deliveries=rows(Delivery.__table__),
        uplift_models=rows(UpliftModel.__table__),
        uplift_scores=rows(UpliftScore.__table__),
    )


def evaluate(
    data: Dataset,
    definition: dict[str, Any],
    now: datetime,
    segments: dict[int, dict[str, Any]] | None = None,
) -> set[int]:
    """Return the ids of the contacts in `data` matching the JSON `definition` at `now`."""
    return Reference(data, now, segments or {}).members(definition)


def bucket(contact_id: int, salt: str) -> int:
    """Return the contact's random bucket (0-9,999) for `salt`, by the documented hash."""
    p, q = 2_147_483_647, 2_147_483_629
    s = int.from_bytes(hashlib.sha256(salt.encode("utf-8")).digest()[:4], "big") & 0x7FFFFFFF
    h = ((contact_id % p) * 48_271 + s) % p
    h = (h * h + 1_013_904_223) % p
    h = (h * 69_621 + 12_345) % q
    h = (h * h + 743_852_824) % q
    return h * 10_000 // q


def age_on(birth: date, today: date) -> int:
    """Return whole years from `birth` to `today` (29 February birthdays turn on 1 March)."""
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def anniversary_within(day: date, today: date, days: int) -> bool:
    """Say whether the month and day of `day` fall between today and today + days, inclusive."""
    end = today + timedelta(days=days)
    for year in range(today.year, end.year + 1):
        if (day.month, day.day) == (2, 29) and not calendar.isleap(year):
            anniversary = date(year, 2, 28)
        else:
            anniversary = date(year, day.month, day.day)
        if today <= anniversary <= end:
            return True
    return False


def kind_of(value: Any) -> str | None:
    """Return the kind of a JSON value: boolean, number, string, or None for anything else."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return None


def fold(text: str) -> str:
    """Lower-case ASCII letters only; every other character stays as it is."""
    return text.translate(_ASCII_LOWER)


def midnight(day: date) -> datetime:
    """Return midnight UTC starting `day`."""
    return datetime.combine(day, time(0), tzinfo=UTC)


def parse_instant(text: str) -> datetime:
    """Parse an ISO date-time from a definition; naive means UTC."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Reference:
    """Evaluate nodes for one contact at a time over an indexed Dataset."""

    def __init__(self, data: Dataset, now: datetime, segments: dict[int, dict[str, Any]]) -> None:
        self.data = data
        self.now = now.astimezone(UTC)
        self.today = self.now.date()
        self.segments = segments
        self.products = {p["id"]: p for p in data.products}
        self.orders: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for order in data.orders:
            self.orders[order["contact_id"]].append(order)
        self.events: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for event in data.events:
            if event["contact_id"] is not None:
                self.events[event["contact_id"]].append(event)
        self.consents = {(c["contact_id"], c["channel"], c["purpose"]): c for c in data.consents}
        self.traits = {t["contact_id"]: t for t in data.traits}
        self.suppressed = {
            kind: {s["value"] for s in data.suppressions if s["kind"] == kind}
            for kind in ("email", "domain", "phone")
        }
        self.segment_members: dict[int, set[int]] = {}
        self.codes = {c["id"]: c["code"] for c in data.campaigns}
        self.deliveries: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for delivery in data.deliveries:
            self.deliveries[delivery["contact_id"]].append(delivery)
        models = {m["id"]: m["name"] for m in data.uplift_models}
        self.uplift = {(models[s["model_id"]], s["contact_id"]): s for s in data.uplift_scores}

    def members(self, definition: dict[str, Any]) -> set[int]:
        """Return the ids of the contacts the definition's root holds for."""
        return {c["id"] for c in self.data.contacts if self.holds(definition["root"], c)}

    def holds(self, node: dict[str, Any], contact: dict[str, Any]) -> bool:
        """Say whether `node` holds for `contact`."""
        match node["type"]:
            case "all":
                return all(self.holds(child, contact) for child in node["children"])
            case "any":
                return any(self.holds(child, contact) for child in node["children"])
            case "not":
                return not self.holds(node["child"], contact)
            case "attribute":
                return self.attribute(node, contact)
            case "trait":
                row = self.traits.get(contact["id"])
                value = None if row is None else row[node["field"]]
                return self.compare(node, value, TRAIT_KINDS[node["field"]])
            case "purchase":
                return self.purchase(node, contact)
            case "last_purchase":
                times = [o["ordered_at"] for o in self.orders[contact["id"]]]
                return bool(times) and self.before_after(node, max(times))
            case "event":
                window = node.get("window")
                matching = self.matching_events(node, contact)
                count = sum(1 for e in matching if self.in_window(e["occurred_at"], window))
                return self.counted(node, count)
            case "event_time":
                times = [e["occurred_at"] for e in self.matching_events(node, contact)]
                if not times:
                    return False
                chosen = min(times) if node["which"] == "first" else max(times)
                return self.before_after(node, chosen)
            case "consent":
                key = (contact["id"], node["channel"], node.get("purpose", "marketing"))
                record = self.consents.get(key)
                return (record["state"] if record else "unknown") == node["state"]
            case "suppressed":
                return self.is_suppressed(node.get("channel", "any"), contact)
            case "segment":
                inside = contact["id"] in self.segment(node["segment_id"])
                return not inside if node.get("exclude", False) else inside
            case "random_bucket":
                limit = round(node["percent"] * 100)
                return bucket(contact["id"], node.get("salt", "")) < limit
            case "message":
                messages = self.deliveries[contact["id"]]
                return self.counted(node, sum(1 for d in messages if self.message_counts(node, d)))
            case "unopened":
                return self.unopened(node, contact)
            case "uplift":
                return self.uplift_holds(node, contact)
        raise AssertionError(f"unknown node type {node['type']!r}")

    # -- fields -------------------------------------------------------------------------------

    def attribute(self, node: dict[str, Any], contact: dict[str, Any]) -> bool:
        name: str = node["field"]
        if name.startswith(CUSTOM_PREFIX):
            raw = (contact["attributes"] or {}).get(name.removeprefix(CUSTOM_PREFIX))
            if node["op"] in ("is_set", "is_not_set"):
                return self.compare(node, raw, "string")
            value = node["value"]
            wanted = kind_of(value[0] if isinstance(value, list) else value)
            assert wanted is not None
            return self.compare(node, raw if kind_of(raw) == wanted else None, wanted)
        if name == "age":
            birth = contact["birth_date"]
            return self.compare(
                node, None if birth is None else age_on(birth, self.today), "number"
            )
        return self.compare(node, contact[name], PROFILE_KINDS[name])

    def compare(self, node: dict[str, Any], value: Any, kind: str) -> bool:
        """Compare a present-or-None value of `kind` by the node's op, value and days."""
        op = node["op"]
        if op == "is_set":
            return value is not None
        if op == "is_not_set":
            return value is None
        if value is None:
            return False
        if kind in ("date", "datetime"):
            return self.compare_time(op, value, kind, node.get("value"), node.get("days"))
        given = node["value"]
        if op == "eq":
            return bool(value == given)
        if op == "ne":
            return bool(value != given)
        if op == "in":
            return any(value == v for v in given)
        if op == "not_in":
            return all(value != v for v in given)
        if op == "lt":
            return bool(value < given)
        if op == "lte":
            return bool(value <= given)
        if op == "gt":
            return bool(value > given)
        if op == "gte":
            return bool(value >= given)
        if op == "between":
            return bool(given[0] <= value <= given[1])
        if op == "contains":
            return fold(given) in fold(value)
        if op == "starts_with":
            return fold(value).startswith(fold(given))
        if op == "ends_with":
            return fold(value).endswith(fold(given))
        raise AssertionError(f"unknown op {op!r}")

    def compare_time(self, op: str, value: Any, kind: str, given: Any, days: int | None) -> bool:
        """Compare a date (or datetime) field; dates on datetime fields mean whole UTC days."""
        if kind == "datetime":
            value = value.astimezone(UTC)
        if op == "within_last":
            assert days is not None
            if kind == "date":
                return bool(self.today - timedelta(days=days) <= value <= self.today)
            return bool(self.now - timedelta(days=days) <= value <= self.now)
        if op == "more_than_ago":
            assert days is not None
            if kind == "date":
                return bool(value < self.today - timedelta(days=days))
            return bool(value < self.now - timedelta(days=days))
        if op == "in_next":
            assert days is not None
            return anniversary_within(value if kind == "date" else value.date(), self.today, days)
        if op == "between":
            low, high = given
            return self.compare_time("gte", value, kind, low, None) and self.compare_time(
                "lte", value, kind, high, None
            )
        start, end, whole_day = self.span(kind, given)
        if op == "eq":
            return bool(start <= value < end) if whole_day else bool(value == start)
        if op == "ne":
            return not self.compare_time("eq", value, kind, given, None)
        if op == "lt":
            return bool(value < start)
        if op == "gte":
            return bool(value >= start)
        if op == "lte":
            return bool(value < end) if whole_day else bool(value <= start)
        if op == "gt":
            return bool(value >= end) if whole_day else bool(value > start)
        raise AssertionError(f"unknown date op {op!r}")

    def span(self, kind: str, given: str) -> tuple[Any, Any, bool]:
        """Return (start, end, whole_day) of a definition's date or date-time value."""
        if kind == "date":
            day = date.fromisoformat(given)
            return day, day + timedelta(days=1), True
        if "T" in given:
            instant = parse_instant(given)
            return instant, instant, False
        day = date.fromisoformat(given)
        return midnight(day), midnight(day + timedelta(days=1)), True

    # -- time ---------------------------------------------------------------------------------

    def in_window(self, moment: datetime, window: dict[str, Any] | None) -> bool:
        """Say whether `moment` falls in a window (no window: all time)."""
        if window is None:
            return True
        if window.get("last_days") is not None:
            return self.now - timedelta(days=window["last_days"]) <= moment <= self.now
        if window.get("since") is not None and moment < midnight(
            date.fromisoformat(window["since"])
        ):
            return False
        if window.get("until") is not None:
            end = midnight(date.fromisoformat(window["until"]) + timedelta(days=1))
            if moment >= end:
                return False
        return True

    def before_after(self, node: dict[str, Any], moment: datetime) -> bool:
        """Compare with the node's `when`: before is strictly earlier, after is at or later."""
        when = node["when"]
        if when.get("date") is not None:
            point = midnight(date.fromisoformat(when["date"]))
        else:
            point = self.now - timedelta(hours=24 * when["days_ago"])
        return moment < point if node["op"] == "before" else moment >= point

    # -- counted conditions -------------------------------------------------------------------

    def counted(self, node: dict[str, Any], count: int, spend: Decimal | None = None) -> bool:
        at_least, at_most = node.get("at_least"), node.get("at_most")
        min_spend = node.get("min_spend")
        if at_least is None and at_most is None and min_spend is None:
            return count >= 1
        if at_least is not None and count < at_least:
            return False
        if at_most is not None and count > at_most:
            return False
        if min_spend is not None:
            assert spend is not None
            return spend >= Decimal(str(min_spend))
        return True

    def purchase(self, node: dict[str, Any], contact: dict[str, Any]) -> bool:
        count, spend = 0, Decimal(0)
        sku, category = node.get("product"), node.get("category")
        for order in self.orders[contact["id"]]:
            if not self.in_window(order["ordered_at"], node.get("window")):
                continue
            if sku is None and category is None:
                count += 1
                spend += Decimal(str(order["revenue"]))
                continue
            lines = [line for line in order["lines"] if self.line_matches(line, sku, category)]
            if lines:
                count += 1
                spend += sum(
                    (
                        Decimal(line["quantity"]) * Decimal(str(line["unit_price"]))
                        for line in lines
                    ),
                    Decimal(0),
                )
        return self.counted(node, count, spend)

    def line_matches(self, line: dict[str, Any], sku: str | None, category: str | None) -> bool:
        product = self.products[line["product_id"]]
        return product["sku"] == sku if sku is not None else product["category"] == category

    def matching_events(
        self, node: dict[str, Any], contact: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Return the contact's events of the node's type passing every `where` filter."""
        return [
            e
            for e in self.events[contact["id"]]
            if e["type"] == node["event_type"]
            and all(self.property_passes(f, e["properties"] or {}) for f in node.get("where", []))
        ]

    def property_passes(self, test: dict[str, Any], properties: dict[str, Any]) -> bool:
        raw = properties.get(test["property"])
        if test["op"] in ("is_set", "is_not_set"):
            return self.compare(test, raw, "string")
        value = test["value"]
        wanted = kind_of(value[0] if isinstance(value, list) else value)
        return self.compare(test, raw if kind_of(raw) == wanted else None, str(wanted))

    # -- messages -----------------------------------------------------------------------------

    def sent(self, delivery: dict[str, Any]) -> bool:
        """A message was received when it was accepted for sending at a known time."""
        return delivery["status"] == "accepted" and delivery["sent_at"] is not None

    def message_counts(self, node: dict[str, Any], delivery: dict[str, Any]) -> bool:
        """Say whether one delivery counts for a message condition."""
        if node.get("campaign_id") is not None and delivery["campaign_id"] != node["campaign_id"]:
            return False
        code = node.get("campaign_code")
        if code is not None and self.codes.get(delivery["campaign_id"]) != code:
            return False
        if node.get("channel") is not None and delivery["channel"] != node["channel"]:
            return False
        if node["action"] == "received":
            moment = delivery["sent_at"] if self.sent(delivery) else None
        else:
            moment = delivery["opened_at" if node["action"] == "opened" else "clicked_at"]
        return moment is not None and self.in_window(moment, node.get("window"))

    def unopened(self, node: dict[str, Any], contact: dict[str, Any]) -> bool:
        """At least N messages sent, and none of the latest N (ties: higher id is later) opened."""
        channel = node.get("channel")
        sent = [
            d
            for d in self.deliveries[contact["id"]]
            if self.sent(d) and (channel is None or d["channel"] == channel)
        ]
        latest = sorted(sent, key=lambda d: (d["sent_at"], d["id"]), reverse=True)[: node["last"]]
        return len(latest) == node["last"] and all(d["opened_at"] is None for d in latest)

    # -- uplift scores ------------------------------------------------------------------------

    def uplift_holds(self, node: dict[str, Any], contact: dict[str, Any]) -> bool:
        """The contact's score under the named model passes every test; or, unscored, is absent."""
        row = self.uplift.get((node["model"], contact["id"]))
        if not node.get("scored", True):
            return row is None
        if row is None:
            return False
        tests = [(node.get("score"), row["score"]), (node.get("percentile"), row["percentile"])]
        return all(self.compare(test, value, "number") for test, value in tests if test)

    # -- the rest -----------------------------------------------------------------------------

    def is_suppressed(self, channel: str, contact: dict[str, Any]) -> bool:
        email, phone = contact["email"], contact["phone"]
        by_email = email is not None and (
            email in self.suppressed["email"]
            or any(email.endswith("@" + domain) for domain in self.suppressed["domain"])
        )
        by_phone = phone is not None and phone in self.suppressed["phone"]
        if channel == "email":
            return by_email
        if channel == "sms":
            return by_phone
        return by_email or by_phone

    def segment(self, segment_id: int) -> set[int]:
        if segment_id not in self.segment_members:
            self.segment_members[segment_id] = self.members(self.segments[segment_id])
        return self.segment_members[segment_id]
