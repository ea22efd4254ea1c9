"""Channel building blocks without servers: segments, signing, hashing, twin, registry, config."""

from __future__ import annotations

import csv
import hashlib
import hmac
from datetime import UTC, datetime
from pathlib import Path

import pytest

from campaign_engine.channels.audience import (
    AudienceMember,
    export_audience,
    hashed_member,
    normalise_email,
    normalise_phone,
)
from campaign_engine.channels.memory import MemoryChannel
from campaign_engine.channels.registry import make_channels
from campaign_engine.channels.retry_after import parse_retry_after
from campaign_engine.channels.sendgrid_email import SendGridEmail
from campaign_engine.channels.smtp_email import SmtpEmail
from campaign_engine.channels.social import SocialWebhook
from campaign_engine.channels.twilio_sms import TwilioSms, is_e164, status_callback_url
from campaign_engine.channels.webhook_signing import signature, signed_headers, verify
from campaign_engine.config import ConfigError, load_settings
from templates.sms import sms_segments
from tests.fakes_fixtures import email_message, sms_message


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 0),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # extension characters count two septets
        ("€" * 81, 2),
        ("a" * 152 + "€", 1),
        ("a" * 159 + "€", 2),  # 161 septets; the escape pair is not split
        ("ü" * 160, 1),  # ü is in the GSM basic set
        ("☀" * 70, 1),
        ("☀" * 71, 2),
        ("☀" * 134, 2),
        ("☀" * 135, 3),
        ("😀" * 35, 1),  # a surrogate pair is two UCS-2 units
        ("😀" * 36, 2),
    ],
)
def test_sms_segments_follow_gsm7_and_ucs2_rules(text: str, segments: int) -> None:
    assert sms_segments(text).segments == segments


@pytest.mark.parametrize(
    ("number", "valid"),
    [("+14155550100", True), ("+447700900123", True), ("14155550100", False), ("+0123", False),
     ("+1 415 555 0100", False), ("+1234567890123456", False)],
)  # fmt: skip
def test_e164_validation(number: str, valid: bool) -> None:
    assert is_e164(number) is valid


def test_status_callback_keeps_its_query_and_adds_the_delivery_id() -> None:
    url = status_callback_url("https://h.example/cb?x=1", 9)
    assert url == "https://h.example/cb?x=1&delivery_id=9"


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = "sha256=" + hmac.new(b"k", b"123.{}", hashlib.sha256).hexdigest()
    assert signature("k", "123", b"{}") == expected
    headers = signed_headers("k", b"{}", now=123)
    assert headers == {"X-CE-Timestamp": "123", "X-CE-Signature": expected}
    assert verify("k", "123", expected, b"{}", now=200)
    assert not verify("k", "123", expected, b"{ }", now=200)
    assert not verify("other", "123", expected, b"{}", now=200)
    assert not verify("k", "123", expected, b"{}", now=1000)  # older than 300 s
    assert not verify("k", None, expected, b"{}")


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("30") == 30.0
    assert parse_retry_after("Mon, 01 Jan 2024 12:00:45 GMT", now=now) == 45.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None


def test_audience_values_are_normalised_then_sha256_hashed() -> None:
    assert normalise_email(" John.Doe@Example.COM ") == "john.doe@example.com"
    assert normalise_phone("+1 (415) 555-0100") == "14155550100"
    hashed = hashed_member(AudienceMember(" John.Doe@Example.COM ", "+1 (415) 555-0100"))
    assert hashed == {
        "email_sha256": "836f82db99121b3481011f16b49dfa5fbc714a0d1b1b9f784a1ebbbf5b39577f",
        "phone_sha256": hashlib.sha256(b"14155550100").hexdigest(),
    }
    assert hashed["email_sha256"] == hashlib.sha256(b"john.doe@example.com").hexdigest()


def test_audience_export_writes_a_csv_of_hashes(tmp_path: Path) -> None:
    path = tmp_path / "audience.csv"
    rows = [AudienceMember("A@x.io"), AudienceMember(phone="+447700900123"), AudienceMember()]
    assert export_audience(rows, path) == 2  # a member with nothing to hash is skipped
    lines = path.read_text().splitlines()
    assert lines[0] == "email_sha256,phone_sha256"
    parsed = list(csv.DictReader(lines))
    assert parsed[0] == {"email_sha256": hashlib.sha256(b"a@x.io").hexdigest(), "phone_sha256": ""}
    assert parsed[1]["phone_sha256"] == hashlib.sha256(b"447700900123").hexdigest()


def test_memory_channel_records_and_answers_as_scripted() -> None:
    channel = MemoryChannel("email", price=0.5, scripted={2: "failed", 3: "retry"})
    results = channel.send([email_message(1), email_message(2), email_message(3)])
    assert [r.outcome for r in results] == ["accepted", "failed", "retry"]
    assert [m.delivery_id for m in channel.messages] == [1, 2, 3]
    assert [m.delivery_id for m in channel.accepted()] == [1]
    assert channel.cost(email_message(1)) == 0.5


def test_memory_channel_faults_repeat_with_the_same_seed() -> None:
    def outcomes(seed: int) -> list[str]:
        channel = MemoryChannel("sms", fault_rate=0.3, seed=seed)
        return [r.outcome for r in channel.send([sms_message(i) for i in range(50)])]

    assert outcomes(7) == outcomes(7)
    assert "retry" in outcomes(7) and "accepted" in outcomes(7)


def test_memory_sms_costs_per_segment() -> None:
    assert MemoryChannel("sms", price=0.01).cost(sms_message(1, text="a" * 200)) == 0.02


def test_registry_defaults_to_in_memory_twins() -> None:
    channels = make_channels(load_settings({}))
    assert {name: type(c) for name, c in channels.items()} == {
        "email": MemoryChannel,
        "sms": MemoryChannel,
        "social": MemoryChannel,
    }
    assert [c.name for c in channels.values()] == ["email", "sms", "social"]


def test_registry_builds_the_configured_providers() -> None:
    env = {
        "CE_EMAIL_TRANSPORT": "sendgrid",
        "CE_SENDGRID_API_KEY": "SG.x",
        "CE_SENDGRID_HOST": "http://127.0.0.1:1",
        "CE_SMS_TRANSPORT": "twilio",
        "CE_TWILIO_ACCOUNT_SID": "AC1",
        "CE_TWILIO_AUTH_TOKEN": "t",
        "CE_TWILIO_FROM": "+15005550006",
        "CE_SOCIAL_TRANSPORT": "webhook",
        "CE_SOCIAL_WEBHOOK_URL": "http://127.0.0.1:1/hook",
        "CE_SOCIAL_WEBHOOK_SECRET": "s",
        "CE_COST_EMAIL": "0.001",
        "CE_COST_SMS_SEGMENT": "0.0075",
    }
    channels = make_channels(load_settings(env))
    assert isinstance(channels["email"], SendGridEmail)
    assert isinstance(channels["sms"], TwilioSms)
    assert isinstance(channels["social"], SocialWebhook)
    assert channels["email"].cost(email_message(1)) == 0.001
    assert channels["sms"].cost(sms_message(1, text="a" * 161)) == pytest.approx(0.015)
    for channel in channels.values():
        channel.close()
    smtp = make_channels(load_settings({"CE_EMAIL_TRANSPORT": "SMTP", "CE_SMTP_PORT": "2525"}))
    assert isinstance(smtp["email"], SmtpEmail)


def test_channel_settings_are_read_from_the_environment() -> None:
    c = load_settings(
        {"CE_SMTP_STARTTLS": "yes", "CE_PROVIDER_TIMEOUT": "2.5", "CE_RATE_SMS": "10"}
    ).channels
    assert (c.smtp_starttls, c.provider_timeout, c.rate_sms, c.rate_email) == (True, 2.5, 10, 0)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"CE_EMAIL_TRANSPORT": "pigeon"}, "CE_EMAIL_TRANSPORT"),
        ({"CE_SMS_TRANSPORT": "fax"}, "CE_SMS_TRANSPORT"),
        ({"CE_SOCIAL_TRANSPORT": "x"}, "CE_SOCIAL_TRANSPORT"),
        ({"CE_SMTP_PORT": "twenty-five"}, "CE_SMTP_PORT"),
        ({"CE_SMTP_STARTTLS": "maybe"}, "CE_SMTP_STARTTLS"),
        ({"CE_COST_EMAIL": "cheap"}, "CE_COST_EMAIL"),
        ({"CE_COST_SMS_SEGMENT": "-1"}, "CE_COST_SMS_SEGMENT"),
        ({"CE_RATE_EMAIL": "fast"}, "CE_RATE_EMAIL"),
        ({"CE_PROVIDER_TIMEOUT": "0"}, "CE_PROVIDER_TIMEOUT"),
        ({"CE_EMAIL_TRANSPORT": "sendgrid"}, "CE_SENDGRID_API_KEY"),
        ({"CE_SMS_TRANSPORT": "twilio"}, "CE_TWILIO_ACCOUNT_SID"),
        ({"CE_SOCIAL_TRANSPORT": "webhook"}, "CE_SOCIAL_WEBHOOK_URL"),
    ],
)
def test_bad_channel_settings_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        load_settings(env)
