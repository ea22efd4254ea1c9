"""A sender killed at random moments sends every message exactly once: SendGrid reconciliation."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from python_http_client.exceptions import HTTPError  # type: ignore[import-untyped]
from sendgrid import SendGridAPIClient  # type: ignore[import-untyped]
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from campaign_engine.channels.sendgrid_email import LookupTrouble, SendGridEmail
from campaign_engine.config import Settings
from campaign_engine.dispatch.ledger import recover_stale
from campaign_engine.dispatch.wiring import build_runner, lookups_of
from campaign_engine.fakes.sendgrid_server import FakeSendGrid
from campaign_engine.models import Campaign, CampaignRun, Delivery
from campaign_engine.models.types import utcnow
from campaign_engine.runtime import Runtime
from tests.campaign_support import campaign_body, in_session, launch, segment
from tests.factories import make_consent, make_contact
from tests.fakes_fixtures import email_message

REPO = Path(__file__).resolve().parents[2]
KILLS = 18


@pytest.fixture
def fake_sendgrid() -> Iterator[FakeSendGrid]:
    with FakeSendGrid() as fake:
        yield fake


def sendgrid(fake: FakeSendGrid, timeout: float = 5.0) -> SendGridEmail:
    return SendGridEmail(fake.api_key, "news@shop.example", host=fake.url, timeout=timeout)


def audience(session: Session, size: int) -> int:
    """Add `size` opted-in contacts and launch an email campaign to them; return its id."""
    now = utcnow()
    for _ in range(size):
        contact = make_contact(session)
        make_consent(session, contact.id, "email", ("opted_in", now - timedelta(days=30), "t"))
    return launch(session, campaign_body(session, segment(session)), now)


def ledger(runtime: Runtime) -> dict[int, str]:
    def rows(session: Session) -> dict[int, str]:
        return dict(session.execute(select(Delivery.id, Delivery.status)).all())

    result: dict[int, str] = in_session(runtime, rows)
    return result


def received_ids(fake: FakeSendGrid) -> Counter[int]:
    return Counter(int(r["delivery_id"]) for r in fake.received())


# Reconciliation: the lookup itself.


def test_lookup_names_exactly_the_deliveries_sendgrid_received(
    fake_sendgrid: FakeSendGrid,
) -> None:
    channel = sendgrid(fake_sendgrid)
    sent = [email_message(i) for i in (3, 5, 8, 13, 21, 34)]
    results = channel.send(sent)
    asked = list(range(1, 60))

    found = channel.lookup(asked)

    assert found == {r.delivery_id: r.provider_id for r in results}
    assert fake_sendgrid.activity_requests > 1  # chunks that matched are asked id by id


def test_lookup_of_deliveries_never_sent_is_one_query_per_chunk(
    fake_sendgrid: FakeSendGrid,
) -> None:
    assert sendgrid(fake_sendgrid).lookup(range(1, 26)) == {}
    assert fake_sendgrid.activity_requests == 1


@pytest.mark.parametrize("status", [403, 429, 500])
def test_lookup_raises_when_email_activity_cannot_answer(
    fake_sendgrid: FakeSendGrid, status: int
) -> None:
    fake_sendgrid.activity_status = status
    with pytest.raises(LookupTrouble, match=str(status)):
        sendgrid(fake_sendgrid).lookup([1, 2])


def test_lookup_raises_when_sendgrid_is_unreachable() -> None:
    with FakeSendGrid() as fake:
        channel = sendgrid(fake, timeout=1)
    with pytest.raises(LookupTrouble, match="lookup failed"):
        channel.lookup([1])


def test_fake_rejects_an_activity_query_it_cannot_parse(fake_sendgrid: FakeSendGrid) -> None:
    client = SendGridAPIClient(fake_sendgrid.api_key, host=fake_sendgrid.url)
    with pytest.raises(HTTPError) as caught:
        client.client.messages.get(query_params={"query": "subject LIKE 'x'", "limit": 10})
    assert caught.value.status_code == 400
    assert json.loads(caught.value.body)["errors"][0]["field"] == "query"


# Reconciliation: recover_stale with the SendGrid lookup, both backends.


def _stale_claims(runtime: Runtime, contacts: int) -> list[int]:
    """Launch a campaign, prepare its ledger and mark every row claimed long ago."""

    def set_up(session: Session) -> int:
        return audience(session, contacts)

    campaign_id = in_session(runtime, set_up)
    build_runner(runtime).prepare(_run_of(runtime, campaign_id))

    def claim(session: Session) -> list[int]:
        session.execute(
            update(Delivery).values(status="sending", claimed_at=utcnow() - timedelta(hours=1))
        )
        return list(session.scalars(select(Delivery.id).order_by(Delivery.id)))

    ids: list[int] = in_session(runtime, claim)
    return ids


def _run_of(runtime: Runtime, campaign_id: int) -> int:
    def find(session: Session) -> int:

        run_id = session.scalar(
            select(CampaignRun.id).where(CampaignRun.campaign_id == campaign_id)
        )
        assert run_id is not None
        return run_id

    found: int = in_session(runtime, find)
    return found


def test_stale_claims_sendgrid_received_are_accepted_and_the_rest_requeued(
    runtime: Runtime, fake_sendgrid: FakeSendGrid
) -> None:
    ids = _stale_claims(runtime, 6)
    channel = sendgrid(fake_sendgrid)
    received = channel.send([email_message(i) for i in ids[:4]])  # the dead sender got this far

    settled = in_session(
        runtime, lambda s: recover_stale(s, utcnow(), lookups_of({"email": channel}))
    )

    assert settled == {"accepted": 4, "queued": 2}
    assert ledger(runtime) == {i: "accepted" if i in ids[:4] else "queued" for i in ids}

    def providers(session: Session) -> dict[int, str | None]:
        return dict(session.execute(select(Delivery.id, Delivery.provider_id)).all())

    assert {i: p for i, p in in_session(runtime, providers).items() if p} == {
        r.delivery_id: r.provider_id for r in received
    }


def test_stale_claims_stay_sending_while_the_lookup_fails(
    runtime: Runtime, fake_sendgrid: FakeSendGrid
) -> None:
    ids = _stale_claims(runtime, 3)
    channel = sendgrid(fake_sendgrid)
    channel.send([email_message(ids[0])])
    fake_sendgrid.activity_status = 503

    settled = in_session(
        runtime, lambda s: recover_stale(s, utcnow(), lookups_of({"email": channel}))
    )

    assert settled == {"unsettled": 3}
    assert set(ledger(runtime).values()) == {"sending"}  # neither accepted blind nor resent
    fake_sendgrid.activity_status = None
    settled = in_session(
        runtime, lambda s: recover_stale(s, utcnow(), lookups_of({"email": channel}))
    )
    assert settled == {"accepted": 1, "queued": 2}


# The crash test: a real sender process, SIGKILLed again and again.


def _sender_env(settings: Settings, fake: FakeSendGrid, tmp_path: Path) -> dict[str, str]:
    return os.environ | {
        "CE_DATABASE_URL": settings.database_url,
        "CE_INSTANCE_PATH": str(tmp_path / "instance"),
        "CE_SECRET_KEY": "test-secret",
        "CE_BROKER_URL": "",
        "CE_EMAIL_TRANSPORT": "sendgrid",
        "CE_SENDGRID_HOST": fake.url,
        "CE_SENDGRID_API_KEY": fake.api_key,
        "CE_PROVIDER_TIMEOUT": "5",
        "CE_SEND_BATCH": "5",
        "CE_SEND_PARALLEL": "1",
        "CE_SEND_LEASE_SECONDS": "1",
        "CE_QUIET_START": "00:00",  # equal start and end: no quiet hours at any wall-clock time
        "CE_QUIET_END": "00:00",
        "CE_LOG_LEVEL": "WARNING",
    }


def _start(campaign_id: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.dispatch_process", str(campaign_id), "--seconds", "60"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):  # it may have finished on its own
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    if process.stderr is not None:
        process.stderr.close()


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_sender_killed_at_random_moments_sends_every_message_exactly_once(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    contacts = 400
    campaign_id = in_session(runtime, lambda s: audience(s, contacts))
    dice = random.Random()
    seed = dice.randrange(1 << 30)
    dice.seed(seed)
    kills = 0
    with FakeSendGrid(delay=0.05) as fake:  # slow replies, so kills land mid-request
        env = _sender_env(settings, fake, tmp_path)
        while kills < KILLS:
            served = fake.requests_served
            process = _start(campaign_id, env)
            try:
                deadline = time.monotonic() + 15
                while fake.requests_served == served and process.poll() is None:
                    assert time.monotonic() < deadline, "the sender process never sent anything"
                    time.sleep(0.01)
                time.sleep(dice.uniform(0.0, 0.3))
            finally:
                finished = process.poll() == 0
                _kill(process)
            if finished:
                break
            kills += 1
        process = _start(campaign_id, env)
        try:
            _, errors = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                _kill(process)
        assert process.returncode == 0, errors.decode()[-3000:]
        received = received_ids(fake)
        reconciled = fake.activity_requests

    assert kills >= 10, f"the campaign finished after only {kills} kills (seed {seed})"
    assert reconciled, "no kill left claimed deliveries behind to look up"
    rows = ledger(runtime)
    assert len(rows) == contacts
    duplicates = {i: n for i, n in received.items() if n > 1}
    assert not duplicates, f"sent more than once (seed {seed}): {duplicates}"
    assert set(received) == set(rows), f"seed {seed}"
    assert Counter(rows.values()) == {"accepted": contacts}
    status = in_session(runtime, lambda s: s.get_one(Campaign, campaign_id).status)
    assert status == "completed"
