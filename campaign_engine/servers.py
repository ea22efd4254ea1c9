"""Run the web app: gunicorn for production, or everything in one process for the demo."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from campaign_engine.app import create_app
from campaign_engine.runtime import Runtime
from campaign_engine.scheduler import build_scheduler
from campaign_engine.tasks import InlineExecutor

log = logging.getLogger(__name__)


class GunicornServer(BaseApplication):  # type: ignore[misc]
    """Gunicorn with the app built in each worker after fork (no shared connections)."""

    def __init__(self, runtime_factory: Any, options: dict[str, Any]) -> None:
        self.runtime_factory = runtime_factory
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return create_app(runtime=self.runtime_factory())


def serve_production(
    runtime_factory: Any, host: str, port: int, workers: int, threads: int = 4
) -> None:
    """Serve with gunicorn: `workers` processes of `threads` threads, access log to stdout.

    Threaded workers keep connections alive, which a load balancer (and the tracking pixel's
    traffic) relies on; sync workers close every connection after one request.
    """
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "accesslog": "-",
        "timeout": 60,
    }
    GunicornServer(runtime_factory, options).run()


def serve_all_in_one(runtime: Runtime, host: str, port: int) -> None:
    """Serve web, scheduler and an in-process worker together (the embedded demo)."""
    from waitress import serve

    scheduler = build_scheduler(runtime, blocking=False)
    executor = InlineExecutor()
    scheduler.start()
    try:
        serve(create_app(runtime=runtime), host=host, port=port, threads=8, ident="campaign-engine")
    finally:
        scheduler.shutdown(wait=False)
        executor.shutdown()
