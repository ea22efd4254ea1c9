"""WSGI entry point for gunicorn: `gunicorn wsgi:app`."""

from campaign_engine.app import create_app

app = create_app()
