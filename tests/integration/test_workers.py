"""Background work: Celery workers over the real RabbitMQ and Redis, the in-process executor,
and the scheduler process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from campaign_engine.cli import main
from campaign_engine.config import Settings
from campaign_engine.runtime import Runtime
from campaign_engine.scheduler import Job, build_scheduler
from campaign_engine.tasks import CeleryExecutor, InlineExecutor, make_executor
from tests.conftest import require_service

BROKER = "amqp://guest:guest@127.0.0.1:5672//"
BACKEND = "redis://127.0.0.1:6379/15"


def reachable(port: int) -> None:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError as exc:
        require_service(f"service on port {port}", exc)


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_worker_command_runs_registered_tasks_over_rabbitmq(settings: Settings) -> None:
    reachable(5672)
    reachable(6379)
    env = os.environ | {
        "CE_DATABASE_URL": settings.database_url,
        "CE_BROKER_URL": BROKER,
        "CE_RESULT_BACKEND": BACKEND,
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "campaign_engine", "worker", "--concurrency", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        executor = make_executor(replace(settings, broker_url=BROKER, result_backend=BACKEND))
        assert isinstance(executor, CeleryExecutor)
        assert executor.submit("ce.ping", "hello").get(timeout=60) == "hello"
    finally:
        worker.send_signal(signal.SIGTERM)
        _, errors = worker.communicate(timeout=60)
    assert worker.returncode == 0, errors.decode()[-2000:]


def test_worker_command_needs_a_broker(settings: Settings) -> None:
    result = CliRunner().invoke(
        main, ["worker"], env={"CE_DATABASE_URL": settings.database_url, "CE_BROKER_URL": ""}
    )
    assert result.exit_code == 1
    assert "CE_BROKER_URL is not set" in result.output


def test_without_a_broker_tasks_run_in_process() -> None:
    executor = make_executor(Settings(testing=True))
    assert isinstance(executor, InlineExecutor)
    assert executor.submit("ce.ping", "here").result(timeout=5) == "here"
    executor.shutdown()


def test_scheduler_runs_each_registered_job(runtime: Runtime) -> None:
    ran = threading.Event()
    seen: list[Runtime] = []

    def job(rt: Runtime) -> None:
        seen.append(rt)
        ran.set()

    scheduler = build_scheduler(runtime, blocking=False, jobs=[Job("probe", 3600, job)])
    scheduler.start()
    try:
        scheduler.get_job("probe").modify(next_run_time=datetime.now(UTC))
        assert ran.wait(timeout=10)
    finally:
        scheduler.shutdown(wait=True)
    assert seen == [runtime]
