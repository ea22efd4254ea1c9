"""`campaign-engine demo`: migrate, seed once, print a working login, serve web + scheduler."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

from campaign_engine.accounts import authenticate_user
from campaign_engine.cli import DEMO_ADMIN
from campaign_engine.config import Settings
from campaign_engine.db import transaction
from campaign_engine.runtime import build_runtime
from tests.net import fetch_when_up, free_port


def demo(instance: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CE_")} | {
        "CE_INSTANCE_PATH": str(instance)
    }
    return subprocess.Popen(
        [sys.executable, "-m", "campaign_engine", "demo", "--contacts", "1000", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_until_password(process: subprocess.Popen[str]) -> tuple[str, str]:
    assert process.stdout is not None
    seen = ""
    for line in process.stdout:
        seen += line
        if "password:" in line:
            return seen, line.split("password:")[1].strip()
    raise AssertionError(f"demo printed no password; output:\n{seen}")


def test_demo_seeds_once_prints_a_working_login_and_serves(tmp_path: Path) -> None:
    port = free_port()
    first = demo(tmp_path, "--port", str(port))
    try:
        output, password = read_until_password(first)
        assert f"http://127.0.0.1:{port}/admin/" in output
        assert re.search(r"seeded: DemoSummary\(contacts=1000,", output)
        health = fetch_when_up(f"http://127.0.0.1:{port}/healthz")
        assert b'"status":"ok"' in health
        login_page = (
            urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/login", timeout=10)
            .read()
            .decode()
        )
        assert "password" in login_page.lower()
    finally:
        first.terminate()
        first.communicate(timeout=30)

    second = demo(tmp_path, "--no-serve")
    output, new_password = read_until_password(second)
    second.communicate(timeout=60)
    assert second.returncode == 0
    assert "demo data already present: reusing it" in output
    assert new_password != password

    runtime = build_runtime(Settings(instance_path=tmp_path))
    with transaction(runtime.sessions) as session:
        assert authenticate_user(session, DEMO_ADMIN, new_password) is not None
        assert authenticate_user(session, DEMO_ADMIN, password) is None
    runtime.engine.dispose()
    assert (tmp_path / "campaign_engine.sqlite3").exists()
