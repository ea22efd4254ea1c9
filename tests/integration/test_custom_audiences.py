"""A segment becomes a custom audience: only social-consenting members, normalised and hashed."""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from campaign_engine.audiences import export_segment_audience, sync_segment_audience
from campaign_engine.channels.audience import sha256_hex
from campaign_engine.channels.settings import ChannelSettings
from campaign_engine.fakes.social_server import FakeSocialWebhook
from campaign_engine.runtime import Runtime
from tests.campaign_support import in_session, segment
from tests.factories import make_consent, make_contact

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _people(session: Session) -> int:
    for i, state in enumerate(["opted_in", "opted_in", "opted_out", None]):
        contact = make_contact(
            session, email=f" Person{i}@Example.COM ", phone=f"+4477009001{i:02d}"
        )
        if state:
            make_consent(session, contact.id, "social", (state, NOW - timedelta(days=1), None))
    return segment(session)


def _expected() -> set[tuple[str, str]]:
    return {
        (sha256_hex(f"person{i}@example.com"), sha256_hex(f"4477009001{i:02d}")) for i in (0, 1)
    }


def test_export_writes_hashes_of_social_consenting_members_only(
    runtime: Runtime, tmp_path: Path
) -> None:
    segment_id = in_session(runtime, _people)
    out = tmp_path / "audience.csv"
    count = in_session(runtime, lambda s: export_segment_audience(s, segment_id, out, NOW))
    with out.open(encoding="utf-8") as handle:
        rows = {(r["email_sha256"], r["phone_sha256"]) for r in csv.DictReader(handle)}
    assert count == 2 and rows == _expected()


def test_sync_replaces_the_audience_at_the_webhook(runtime: Runtime) -> None:
    segment_id = in_session(runtime, _people)
    with FakeSocialWebhook(secret="s3cret") as fake:
        channels = replace(
            ChannelSettings(), social_webhook_url=fake.url, social_webhook_secret="s3cret"
        )
        result = in_session(
            runtime, lambda s: sync_segment_audience(s, segment_id, "vip", channels, NOW)
        )
        assert result.outcome == "accepted" and result.members == 2
        assert fake.audiences["vip"] == _expected()
