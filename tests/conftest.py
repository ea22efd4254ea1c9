"""Shared fixtures: a migrated database per backend (SQLite, PostgreSQL), the app and a client."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.engine import Engine

from campaign_engine.app import create_app
from campaign_engine.config import Settings
from campaign_engine.db import Base, make_engine, make_session_factory
from campaign_engine.runtime import Runtime
from campaign_engine.schema import upgrade
from campaign_engine.tracking.settings import TrackingSettings

PG_URL = os.environ.get("CE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"


def require_service(name: str, error: Exception) -> None:
    """Fail in CI, skip elsewhere, when a service the test needs is not running."""
    message = f"{name} is not reachable: {error}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def _sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def _postgresql_engine() -> Iterator[Engine]:
    schema = f"ce_test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception as exc:
        admin.dispose()
        require_service("PostgreSQL", exc)
    engine = make_engine(f"{PG_URL}?options=-csearch_path%3D{schema}")
    upgrade(engine)
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def _empty_tables(engine: Engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A migrated, empty database on each backend; emptied again after the test."""
    engine: Engine = request.getfixturevalue(f"_{request.param}_engine")
    _empty_tables(engine)
    yield engine
    _empty_tables(engine)


@pytest.fixture
def settings(engine: Engine, tmp_path: Path) -> Settings:
    return Settings(
        instance_path=tmp_path / "instance",
        database_url=engine.url.render_as_string(hide_password=False),
        secret_key="test-secret",
        testing=True,
        tracking=TrackingSettings(writes="direct"),  # tests read events right after a request
    )


@pytest.fixture
def runtime(settings: Settings, engine: Engine) -> Runtime:
    return Runtime(settings=settings, engine=engine, sessions=make_session_factory(engine))


@pytest.fixture
def app(runtime: Runtime) -> Flask:
    return create_app(runtime=runtime)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
