"""The process-wide runtime: settings, engine and session factory, built once per process."""

from __future__ import annotations

from dataclasses import dataclass

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


def build_runtime(settings: Settings) -> Runtime:
    """Create the engine and session factory for `settings`."""
    if not settings.database_url:
        settings.instance_path.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.effective_database_url)
    return Runtime(settings=settings, engine=engine, sessions=make_session_factory(engine))
