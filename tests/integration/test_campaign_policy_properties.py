"""Policy properties end to end: whatever the consent and suppression, only the allowed are sent."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from campaign_engine.channels.memory import MemoryChannel
from campaign_engine.db import Base
from campaign_engine.models import Suppression
from campaign_engine.runtime import Runtime
from tests.campaign_support import (
    NOON,
    Clock,
    campaign_body,
    in_session,
    launch,
    make_runner,
    segment,
    template_id,
)
from tests.factories import make_consent, make_contact

STATES = st.sampled_from(["opted_in", "opted_in", "opted_out", "unknown", None])
PEOPLE = st.lists(
    st.tuples(STATES, st.sampled_from([None, None, "email", "domain"])), min_size=1, max_size=12
)


def _clear(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(delete(table))


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(people=PEOPLE, allow_unknown=st.booleans())
def test_only_consenting_unsuppressed_contacts_are_ever_sent(
    runtime: Runtime,
    engine: Engine,
    people: list[tuple[str | None, str | None]],
    allow_unknown: bool,
) -> None:
    _clear(engine)

    def set_up(session: Session) -> set[str]:
        allowed: set[str] = set()
        for i, (state, suppression) in enumerate(people):
            domain = f"d{i}.example.com"
            contact = make_contact(session, email=f"p{i}@{domain}")
            if state is not None:
                make_consent(session, contact.id, "email", (state, NOON - timedelta(days=1), None))
            if suppression == "email":
                session.add(Suppression(kind="email", value=f"p{i}@{domain}", reason="bounce"))
            elif suppression == "domain":
                session.add(Suppression(kind="domain", value=domain, reason="complaint"))
            consented = state == "opted_in" or (allow_unknown and state == "unknown")
            if consented and suppression is None:
                allowed.add(f"p{i}@{domain}")
        launch(session, campaign_body(session, segment(session)))
        return allowed

    allowed = in_session(runtime, set_up)
    runner, channels = make_runner(runtime, Clock(), allow_unknown_consent=allow_unknown)
    runner.tick()
    email = channels["email"]
    assert isinstance(email, MemoryChannel)
    sent = Counter(m.to for m in email.accepted())
    assert set(sent) == allowed
    assert set(sent.values()) <= {1}


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)  # SQLite serialises writers
def test_caps_hold_when_campaigns_are_sent_at_the_same_time(runtime: Runtime) -> None:
    def set_up(session: Session) -> None:
        for _ in range(40):
            contact = make_contact(session)
            make_consent(session, contact.id, "email", ("opted_in", NOON - timedelta(days=1), None))
        seg = segment(session)
        for name in ("welcome", "cross_sell", "win_back", "up_sell"):
            message = {"channel": "email", "template_id": template_id(session, name)}
            launch(
                session, campaign_body(session, seg, name=name, variants=[{"messages": [message]}])
            )

    in_session(runtime, set_up)
    email = MemoryChannel("email")
    runners = [
        make_runner(runtime, Clock(), {"email": email}, cap_total=2, send_batch=5)[0]
        for _ in range(3)
    ]
    threads = [threading.Thread(target=r.tick) for r in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    per_contact = Counter(m.to for m in email.accepted())
    assert len(per_contact) == 40
    assert set(per_contact.values()) == {2}
