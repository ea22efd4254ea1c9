"""Background work: an in-process executor by default, Celery workers when CE_BROKER_URL is set."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

from celery import Celery

from campaign_engine.config import Settings


class Executor(Protocol):
    """Runs a named task somewhere: in this process or on a worker machine."""

    def submit(self, name: str, *args: Any) -> Any:
        """Start task `name` with `args`; return a handle with `.get()` or `.result()`."""


# Task name → function. Batch tasks (sending, scoring) register here in later capabilities.
TASKS: dict[str, Callable[..., Any]] = {}


def task(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register `function` under `name` for both executors."""

    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        TASKS[name] = function
        return function

    return register


@task("ce.ping")
def ping(value: str = "pong") -> str:
    """Answer with `value`: shows a worker is alive and reachable."""
    return value


class InlineExecutor:
    """Run tasks on a thread pool inside this process (the embedded default)."""

    def __init__(self, workers: int = 2) -> None:
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ce-worker")

    def submit(self, name: str, *args: Any) -> Future[Any]:
        """Run task `name` on the pool."""
        return self.pool.submit(TASKS[name], *args)

    def shutdown(self) -> None:
        """Wait for running tasks, then stop."""
        self.pool.shutdown(wait=True)


def make_celery(settings: Settings) -> Celery:
    """Return a Celery app on the configured broker with every registered task."""
    # Importing them registers the send and scoring tasks.
    import campaign_engine.dispatch.wiring
    import campaign_engine.uplift_models.jobs  # noqa: F401

    app = Celery(
        "campaign_engine", broker=settings.broker_url, backend=settings.result_backend or None
    )
    app.conf.update(
        task_acks_late=True,  # a task lost with its worker is redelivered; the ledger dedupes
        worker_prefetch_multiplier=1,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
    )
    for name, function in TASKS.items():
        app.task(name=name)(function)
    return app


class CeleryExecutor:
    """Send tasks to Celery workers through the broker."""

    def __init__(self, app: Celery) -> None:
        self.app = app

    def submit(self, name: str, *args: Any) -> Any:
        """Queue task `name`; the handle's `.get()` waits for the result."""
        return self.app.send_task(name, args=list(args))


def make_executor(settings: Settings) -> InlineExecutor | CeleryExecutor:
    """Return the executor the settings ask for."""
    return CeleryExecutor(make_celery(settings)) if settings.broker_url else InlineExecutor()
