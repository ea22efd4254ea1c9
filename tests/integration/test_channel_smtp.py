"""The SMTP channel against a real aiosmtpd server on loopback."""

from __future__ import annotations

import email
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest

from campaign_engine.channels.smtp_email import DELIVERY_ID_HEADER, SmtpEmail
from campaign_engine.fakes.smtp_sink import SmtpSink, free_port
from tests.fakes_fixtures import UNSUBSCRIBE, email_message


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink(reject={"gone@example.com"}, defer={"busy@example.com"}) as sink:
        yield sink


def make_channel(sink: SmtpSink, timeout: float = 5.0) -> SmtpEmail:
    return SmtpEmail(sink.host, sink.port, "news@shop.example", "Shöp", timeout=timeout)


def parsed(raw: str) -> EmailMessage:
    message = email.message_from_bytes(raw.encode(), policy=default_policy)
    assert isinstance(message, EmailMessage)
    return message


def test_a_message_is_multipart_alternative_with_text_then_html_and_list_headers(
    sink: SmtpSink,
) -> None:
    channel = make_channel(sink)
    message = email_message(7, subject="Ofertas de primavera ☀ für dich", html="<p>¡Hola!</p>")

    results = channel.send([message])
    channel.close()

    assert results[0].outcome == "accepted"
    [received] = sink.received()
    assert received["rcpt_tos"] == ["contact7@example.com"]
    mime = parsed(received["raw"])
    assert mime.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in mime.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    html = mime.get_body(("html",))
    assert html is not None and html.get_content_charset() == "utf-8"
    assert html.get_content().strip() == "<p>¡Hola!</p>"
    assert mime["Subject"] == "Ofertas de primavera ☀ für dich"
    assert "=?utf-8?" in received["raw"].lower()  # the subject travels RFC 2047-encoded
    assert mime["List-Unsubscribe"] == UNSUBSCRIBE
    assert mime["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mime[DELIVERY_ID_HEADER] == "7"
    assert mime["To"] == "Contact 7 <contact7@example.com>"
    assert mime["Date"] and mime["Message-ID"] == results[0].provider_id


def test_one_connection_carries_many_messages_across_batches(sink: SmtpSink) -> None:
    channel = make_channel(sink)
    first = channel.send([email_message(i) for i in range(1, 21)])
    second = channel.send([email_message(i) for i in range(21, 41)])
    channel.close()

    assert {r.outcome for r in first + second} == {"accepted"}
    assert len(sink.received()) == 40
    assert sink.connections == 1


def test_a_connection_dropped_by_the_server_is_reopened() -> None:
    with SmtpSink(idle_timeout=0.2) as sink:
        channel = make_channel(sink)
        assert channel.send([email_message(1)])[0].outcome == "accepted"
        time.sleep(0.5)  # the server closes the idle connection
        assert channel.send([email_message(2)])[0].outcome == "accepted"
        channel.close()
        assert sink.connections == 2
        assert len(sink.received()) == 2


def test_refused_recipients_fail_deferred_ones_retry_and_the_rest_go(sink: SmtpSink) -> None:
    messages = [
        email_message(1),
        email_message(2, to="gone@example.com"),
        email_message(3, to="busy@example.com"),
        email_message(4),
    ]
    channel = make_channel(sink)
    results = channel.send(messages)
    channel.close()

    assert [r.outcome for r in results] == ["accepted", "failed", "retry", "accepted"]
    assert "550" in (results[1].reason or "")
    assert "451" in (results[2].reason or "")
    assert [r["rcpt_tos"] for r in sink.received()] == [
        ["contact1@example.com"],
        ["contact4@example.com"],
    ]


def test_no_server_turns_the_whole_batch_into_retry() -> None:
    channel = SmtpEmail("127.0.0.1", free_port(), "news@shop.example", timeout=0.5)
    results = channel.send([email_message(1), email_message(2)])
    assert [r.outcome for r in results] == ["retry", "retry"]
    assert "connection" in (results[0].reason or "")
