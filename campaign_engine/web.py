"""Request-time access for views: the runtime of the app serving the request."""

from __future__ import annotations

from flask import current_app

from campaign_engine.runtime import Runtime

EXTENSION = "campaign_engine"


def current_runtime() -> Runtime:
    """Return the runtime of the app handling the current request."""
    runtime: Runtime = current_app.extensions[EXTENSION]
    return runtime
