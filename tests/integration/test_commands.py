"""The operator commands: db, users, apikeys, serve (gunicorn) — run as an operator would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask.testing import FlaskClient
from sqlalchemy import select

from campaign_engine.accounts import authenticate_user
from campaign_engine.cli import main
from campaign_engine.config import Settings
from campaign_engine.db import transaction
from campaign_engine.models import ApiKey
from campaign_engine.runtime import Runtime
from campaign_engine.schema import head_revision
from tests.net import fetch_when_up, free_port


def run(settings: Settings, *args: str, stdin: str | None = None) -> Result:
    env = {
        "CE_DATABASE_URL": settings.database_url,
        "CE_INSTANCE_PATH": str(settings.instance_path),
    }
    return CliRunner().invoke(main, list(args), env=env, input=stdin)


def test_db_upgrade_creates_the_schema_on_an_empty_database(tmp_path: Path) -> None:
    env = {"CE_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}
    assert "database: empty" in CliRunner().invoke(main, ["db", "current"], env=env).output
    upgraded = CliRunner().invoke(main, ["db", "upgrade"], env=env)
    assert upgraded.exit_code == 0, upgraded.output
    assert (
        f"database: {head_revision()}"
        in CliRunner().invoke(main, ["db", "current"], env=env).output
    )


def test_users_create_makes_a_login(settings: Settings, runtime: Runtime) -> None:
    result = run(
        settings,
        "users",
        "create",
        "--email",
        "Mia@Example.com",
        "--role",
        "analyst",
        "--password",
        "long enough pw",
    )
    assert result.exit_code == 0, result.output
    with transaction(runtime.sessions) as session:
        user = authenticate_user(session, "mia@example.com", "long enough pw")
        assert user is not None and user.role == "analyst"


def test_users_create_refuses_weak_password_and_duplicates(settings: Settings) -> None:
    weak = run(settings, "users", "create", "--email", "a@example.com", "--password", "short")
    assert weak.exit_code == 1 and "at least 10 characters" in weak.output
    assert (
        run(
            settings, "users", "create", "--email", "a@example.com", "--password", "long enough pw"
        ).exit_code
        == 0
    )
    again = run(
        settings, "users", "create", "--email", "a@example.com", "--password", "long enough pw"
    )
    assert again.exit_code == 1 and "already exists" in again.output


def test_apikeys_create_prints_a_working_key_once(
    settings: Settings, client: FlaskClient, runtime: Runtime
) -> None:
    result = run(settings, "apikeys", "create", "--name", "shop", "--scope", "ingest")
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    response = client.post(
        "/api/v1/contacts",
        json={"records": [{"external_id": "C1"}]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    with transaction(runtime.sessions) as session:
        assert token.split("_")[2] not in session.scalars(select(ApiKey.key_hash)).one()


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_serve_runs_gunicorn_workers_that_answer_health(settings: Settings) -> None:
    port = free_port()
    env = os.environ | {
        "CE_DATABASE_URL": settings.database_url,
        "CE_PORT": str(port),
        "CE_SECRET_KEY": "s",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "campaign_engine", "serve", "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        body = fetch_when_up(f"http://127.0.0.1:{port}/healthz")
        assert body == b'{"database":"ok","status":"ok"}\n'
    finally:
        server.terminate()
        server.communicate(timeout=30)


def test_revoked_key_stops_working(settings: Settings, client: FlaskClient) -> None:
    token = (
        run(settings, "apikeys", "create", "--name", "shop", "--scope", "ingest")
        .output.strip()
        .splitlines()[-1]
    )
    prefix = token.split("_")[1]
    listed = run(settings, "apikeys", "list").output
    assert prefix in listed and "active" in listed
    assert run(settings, "apikeys", "revoke", prefix).exit_code == 0
    assert "revoked" in run(settings, "apikeys", "list").output
    response = client.post(
        "/api/v1/contacts", json={"records": []}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401
    assert run(settings, "apikeys", "revoke", "nope").exit_code == 1
