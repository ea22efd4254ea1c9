"""Marketer UI: Flask blueprints and server-rendered pages, plugged into the app."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the admin blueprints on `app`."""
