"""Campaign batches sent by real Celery workers over RabbitMQ: exactly once, spread over workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import time as clock_time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign_engine.config import Settings
from campaign_engine.dispatch.wiring import build_runner
from campaign_engine.fakes.sendgrid_server import FakeSendGrid
from campaign_engine.models import Campaign, Delivery
from campaign_engine.models.types import utcnow
from campaign_engine.runtime import Runtime
from campaign_engine.tasks import make_celery
from tests.campaign_support import campaign_body, in_session, launch, segment
from tests.conftest import require_service
from tests.factories import make_consent, make_contact
from tests.integration.test_workers import BROKER, reachable

BACKEND = "redis://127.0.0.1:6379/14"
REPO = Path(__file__).resolve().parents[2]
READY_SECONDS = 60


class Workers:
    """`campaign-engine worker` subprocesses, each sending as its own From address.

    They run through tests/worker_process.py, which only gives each its own Celery node name.
    """

    def __init__(self, settings: Settings, fake: FakeSendGrid, logs: Path) -> None:
        self.settings, self.fake, self.logs = settings, fake, logs
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> str:
        """Start one more worker and wait until it consumes; return its From address."""
        number = len(self.processes) + 1
        sender = f"worker{number}@shop.example"
        log = self.logs / f"worker{number}.log"
        env = os.environ | {
            "CE_DATABASE_URL": self.settings.database_url,
            "CE_INSTANCE_PATH": str(self.logs / "instance"),
            "CE_SECRET_KEY": "test-secret",
            "CE_BROKER_URL": BROKER,
            "CE_RESULT_BACKEND": BACKEND,
            "CE_EMAIL_TRANSPORT": "sendgrid",
            "CE_EMAIL_FROM": sender,
            "CE_SENDGRID_HOST": self.fake.url,
            "CE_SENDGRID_API_KEY": self.fake.api_key,
            "CE_PROVIDER_TIMEOUT": "5",
        }
        command = [sys.executable, "-m", "tests.worker_process", f"w{number}-{os.getpid()}"]
        with log.open("wb") as output:
            process = subprocess.Popen(
                [*command, "--concurrency", "1"],
                cwd=REPO,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: the pool children die with it
            )
        self.processes.append(process)
        deadline = time.monotonic() + READY_SECONDS
        while b" ready." not in log.read_bytes():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"worker {number} did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        return sender

    def stop(self) -> None:
        """Stop every worker: TERM the process group, KILL it if it lingers."""
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


@pytest.fixture
def services() -> None:
    reachable(5672)
    reachable(6379)


@pytest.fixture
def fake_sendgrid() -> Iterator[FakeSendGrid]:
    with FakeSendGrid(delay=0.05) as fake:  # slow enough that two batches overlap
        yield fake


@pytest.fixture
def celery_runtime(runtime: Runtime, fake_sendgrid: FakeSendGrid) -> Runtime:
    """The test process's runtime: batches go to Celery; the fake is used for lookups."""
    s = runtime.settings
    settings = replace(
        s,
        broker_url=BROKER,
        result_backend=BACKEND,
        channels=replace(
            s.channels,
            email_transport="sendgrid",
            sendgrid_host=fake_sendgrid.url,
            sendgrid_api_key=fake_sendgrid.api_key,
        ),
        dispatch=replace(
            s.dispatch,
            send_batch=10,
            parallel_batches=2,
            quiet_start=clock_time(0),  # no quiet hours whatever the wall clock says
            quiet_end=clock_time(0),
        ),
    )
    try:
        make_celery(settings).control.purge()  # leftovers of an aborted run would go first
    except OSError as exc:
        require_service("RabbitMQ", exc)
    return replace(runtime, settings=settings)


@pytest.fixture
def workers(
    settings: Settings, fake_sendgrid: FakeSendGrid, tmp_path: Path, services: None
) -> Iterator[Workers]:
    pool = Workers(settings, fake_sendgrid, tmp_path)
    try:
        yield pool
    finally:
        pool.stop()


def launch_campaign(runtime: Runtime, contacts: int, name: str) -> int:
    def set_up(session: Session) -> int:
        now = utcnow()
        for _ in range(contacts):
            contact = make_contact(session)
            make_consent(session, contact.id, "email", ("opted_in", now - timedelta(days=9), "t"))
        return launch(session, campaign_body(session, segment(session, name=name), name=name), now)

    campaign_id: int = in_session(runtime, set_up)
    return campaign_id


def sent_by(fake: FakeSendGrid, runtime: Runtime, campaign_id: int) -> Counter[str]:
    """Check the campaign went out exactly once; return how many messages each worker sent."""

    def ledger(session: Session) -> dict[int, str]:
        found = session.execute(
            select(Delivery.id, Delivery.status).where(Delivery.campaign_id == campaign_id)
        )
        return {row.id: row.status for row in found}

    rows: dict[int, str] = in_session(runtime, ledger)
    records = [r for r in fake.received() if int(r["delivery_id"]) in rows]
    per_id = Counter(int(r["delivery_id"]) for r in records)
    assert set(per_id.values()) == {1}, "a message reached SendGrid twice"
    assert set(per_id) == set(rows)
    assert set(rows.values()) == {"accepted"}
    status = in_session(runtime, lambda s: s.get_one(Campaign, campaign_id).status)
    assert status == "completed"
    return Counter(r["from"] for r in records)


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_celery_workers_send_each_message_once_and_share_the_batches(
    celery_runtime: Runtime, workers: Workers, fake_sendgrid: FakeSendGrid
) -> None:
    first = workers.start()
    one = launch_campaign(celery_runtime, 60, "With one worker")
    assert build_runner(celery_runtime).tick() == 1
    assert sent_by(fake_sendgrid, celery_runtime, one) == {first: 60}

    second = workers.start()
    two = launch_campaign(celery_runtime, 200, "With two workers")
    assert build_runner(celery_runtime).tick() == 1
    shares = sent_by(fake_sendgrid, celery_runtime, two)
    assert set(shares) == {first, second}, f"one worker sent everything: {shares}"
    assert sum(shares.values()) == 200
