"""The social webhook channel and audience sync against the fake webhook receiver."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import pytest
import requests

from campaign_engine.channels.audience import AudienceMember, sha256_hex, sync_audience
from campaign_engine.channels.social import SocialWebhook
from campaign_engine.channels.webhook_signing import signed_headers
from campaign_engine.fakes.faults import FaultPlan
from campaign_engine.fakes.social_server import FakeSocialWebhook
from tests.fakes_fixtures import social_message


@pytest.fixture
def fake_social() -> Iterator[FakeSocialWebhook]:
    with FakeSocialWebhook(secret="s3cret") as fake:
        yield fake


@pytest.fixture
def channel(fake_social: FakeSocialWebhook) -> Iterator[SocialWebhook]:
    channel = SocialWebhook(f"{fake_social.url}/hook", "s3cret", timeout=5, max_batch=10)
    yield channel
    channel.close()


def test_posts_go_signed_in_batches_of_max_batch(
    channel: SocialWebhook, fake_social: FakeSocialWebhook
) -> None:
    results = channel.send([social_message(i) for i in range(1, 26)])

    assert [r.delivery_id for r in results] == list(range(1, 26))
    assert {r.outcome for r in results} == {"accepted"}
    assert fake_social.requests_served == 3
    received = fake_social.received()
    assert [r["delivery_id"] for r in received] == list(range(1, 26))
    assert received[0]["to"] == "ext-1" and received[0]["campaign_code"] == "SPRING"
    assert received[0]["idempotency_key"] == ",".join(str(i) for i in range(1, 11))
    assert results[0].provider_id == received[0]["id"]


def test_a_wrong_secret_is_rejected_and_fails(fake_social: FakeSocialWebhook) -> None:
    channel = SocialWebhook(fake_social.url, "wrong", timeout=5)
    [result] = channel.send([social_message(1)])
    channel.close()
    assert result.outcome == "failed"
    assert "401" in (result.reason or "")
    assert fake_social.rejected == 1 and fake_social.received() == []


def test_a_tampered_body_is_rejected(fake_social: FakeSocialWebhook) -> None:
    body = json.dumps([{"delivery_id": 1, "to": "ext-1", "text": "hi"}]).encode()
    headers = signed_headers("s3cret", body)
    tampered = body.replace(b"hi", b"ha")
    reply = requests.post(fake_social.url, data=tampered, headers=headers, timeout=5)
    assert reply.status_code == 401
    genuine = requests.post(fake_social.url, data=body, headers=headers, timeout=5)
    assert genuine.status_code == 200


def test_a_stale_timestamp_is_rejected(fake_social: FakeSocialWebhook) -> None:
    body = b"[]"
    headers = signed_headers("s3cret", body, now=1_000_000)
    assert requests.post(fake_social.url, data=body, headers=headers, timeout=5).status_code == 401


def test_a_429_becomes_retry_with_retry_after(
    channel: SocialWebhook, fake_social: FakeSocialWebhook
) -> None:
    fake_social.set_faults(FaultPlan(rate_429=1.0, retry_after=3))
    results = channel.send([social_message(1), social_message(2)])
    assert [(r.outcome, r.retry_after) for r in results] == [("retry", 3.0), ("retry", 3.0)]


@pytest.mark.parametrize(
    "plan",
    [FaultPlan(rate_5xx=1.0), FaultPlan(rate_malformed=1.0), FaultPlan(rate_timeout=1.0)],
    ids=["5xx", "malformed", "timeout"],
)
def test_server_errors_timeouts_and_malformed_replies_become_retry(
    fake_social: FakeSocialWebhook, plan: FaultPlan
) -> None:
    fake_social.set_faults(plan)
    channel = SocialWebhook(fake_social.url, "s3cret", timeout=0.3)
    [result] = channel.send([social_message(1)])
    channel.close()
    assert result.outcome == "retry"
    assert fake_social.received() == []


def test_audience_sync_sends_hashed_chunks_and_replace_swaps_the_audience(
    fake_social: FakeSocialWebhook,
) -> None:
    old = [AudienceMember(email=f"old{i}@example.com") for i in range(3)]
    sync_audience(old, "vip", fake_social.url, "s3cret", chunk_size=2)
    rows = [
        AudienceMember(email=f"User{i}@Example.com ", phone=f"+44 7700 9{i:05d}") for i in range(5)
    ]

    sync = sync_audience(rows, "vip", fake_social.url, "s3cret", mode="replace", chunk_size=2)

    assert (sync.outcome, sync.members, sync.chunks, sync.chunks_sent) == ("accepted", 5, 3, 3)
    expected = {
        (sha256_hex(f"user{i}@example.com"), sha256_hex(f"4477009{i:05d}")) for i in range(5)
    }
    assert fake_social.audiences["vip"] == expected
    chunks = [r for r in fake_social.received() if r["kind"] == "audience"]
    assert [(c["mode"], c["chunk"], c["members"]) for c in chunks[-3:]] == [
        ("replace", 0, 2),
        ("replace", 1, 2),
        ("replace", 2, 1),
    ]
    assert hashlib.sha256(b"user0@example.com").hexdigest() in {e for e, _ in expected}


def test_audience_sync_stops_at_the_first_refused_chunk(fake_social: FakeSocialWebhook) -> None:
    rows = [AudienceMember(email=f"a{i}@example.com") for i in range(4)]
    sync = sync_audience(rows, "vip", fake_social.url, "wrong", chunk_size=2)
    assert (sync.outcome, sync.chunks_sent) == ("failed", 0)
