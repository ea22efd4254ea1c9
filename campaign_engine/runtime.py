"""The process-wide runtime: settings, engine and session factory, built once per process."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from campaign_engine.config import Settings
from campaign_engine.db import make_engine, make_session_factory


@dataclass(frozen=True)
class Runtime:
    """What every entry point (web, CLI, scheduler, worker) needs to do its work."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]

    def check_database(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))


def resolve_secret_key(settings: Settings) -> str:
    """Return the configured secret, or the embedded default's key kept in the instance folder.

    The web app (sessions, tracking links) and the sender (signing links) must share it.
    """
    if settings.secret_key:
        return settings.secret_key
    if settings.testing:
        return secrets.token_hex(32)
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    path = settings.instance_path / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def build_runtime(settings: Settings) -> Runtime:
    """Create the engine and session factory for `settings`, with its secret key resolved."""
    settings = replace(settings, secret_key=resolve_secret_key(settings))
    if not settings.database_url:
        settings.instance_path.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.effective_database_url)
    return Runtime(settings=settings, engine=engine, sessions=make_session_factory(engine))
