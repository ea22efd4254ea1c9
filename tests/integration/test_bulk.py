"""Bulk writes on SQLite and PostgreSQL: defaults, upserts, skips, and a stale `all_new`."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from campaign_engine.bulk import key_in, write_rows
from campaign_engine.db import transaction
from campaign_engine.models import Contact, Event
from campaign_engine.runtime import Runtime

AT = datetime(2024, 6, 1, 8, 30, tzinfo=UTC)


def contacts(runtime: Runtime) -> dict[str, Contact]:
    with transaction(runtime.sessions) as session:
        return {c.external_id: c for c in session.scalars(select(Contact))}


def test_rows_get_column_defaults_and_keep_types(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        write_rows(
            session,
            Contact,
            [{"external_id": "A", "birth_date": date(1990, 5, 1), "attributes": {"k": [1, 2]}}],
        )
    stored = contacts(runtime)["A"]
    assert (stored.lifecycle_stage, stored.birth_date, stored.attributes) == (
        "prospect",
        date(1990, 5, 1),
        {"k": [1, 2]},
    )
    assert stored.created_at.tzinfo is not None


def test_upsert_updates_only_the_named_columns(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        write_rows(session, Contact, [{"external_id": "A", "city": "Leeds", "email": "a@x.com"}])
        write_rows(
            session,
            Contact,
            [{"external_id": "A", "city": "York", "email": "new@x.com"}],
            conflict=["external_id"],
            update=["city"],
        )
    stored = contacts(runtime)["A"]
    assert (stored.city, stored.email) == ("York", "a@x.com")


def test_a_stale_all_new_falls_back_to_the_upsert(runtime: Runtime) -> None:
    """A concurrent writer may add a key after the caller looked: nothing fails or doubles."""
    with transaction(runtime.sessions) as session:
        write_rows(session, Contact, [{"external_id": "A", "city": "Leeds"}])
    with transaction(runtime.sessions) as session:
        rows = [{"external_id": "A", "city": "York"}, {"external_id": "B", "city": "Hull"}]
        write_rows(session, Contact, rows, conflict=["external_id"], update=["city"], all_new=True)
        session.add(Contact(external_id="C"))  # the transaction is still usable afterwards
    assert {k: c.city for k, c in contacts(runtime).items()} == {
        "A": "York",
        "B": "Hull",
        "C": None,
    }


def test_conflict_without_update_skips_existing_rows(runtime: Runtime) -> None:
    event = {"dedupe_key": "k1", "type": "page_view", "occurred_at": AT, "properties": {}}
    with transaction(runtime.sessions) as session:
        write_rows(session, Event, [event])
        write_rows(
            session,
            Event,
            [event | {"type": "changed"}, event | {"dedupe_key": "k2"}],
            conflict=["dedupe_key"],
        )
    with transaction(runtime.sessions) as session:
        stored = {key: kind for key, kind in session.execute(select(Event.dedupe_key, Event.type))}
        assert stored == {"k1": "page_view", "k2": "page_view"}
        assert session.scalar(select(Event.occurred_at).where(Event.dedupe_key == "k2")) == AT


def test_key_in_matches_many_keys(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        write_rows(session, Contact, [{"external_id": f"K{i}"} for i in range(3000)])
        wanted = [f"K{i}" for i in range(0, 6000, 2)]
        found = set(
            session.scalars(
                select(Contact.external_id).where(key_in(session, Contact.external_id, wanted))
            )
        )
    assert found == {f"K{i}" for i in range(0, 3000, 2)}
