"""Open and click tokens: they round-trip, carry their day, and refuse any change."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from campaign_engine.dispatch.rendering import Renderer, Row
from campaign_engine.dispatch.settings import DispatchSettings
from campaign_engine.links import (
    click_token,
    click_url,
    message_links,
    open_token,
    verify_click,
    verify_open,
)

SECRET = "s3cret"
NOW = datetime(2026, 6, 10, 12, tzinfo=UTC)
urls = st.builds(
    lambda host, path: f"https://{host}.example/{path}",
    st.text("abcdefghij", min_size=1, max_size=12),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40),
)


def _encode(url: str) -> str:
    return base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


@given(st.integers(1, 10**15), urls)
def test_a_click_token_names_its_delivery_and_url(delivery_id: int, url: str) -> None:
    link = verify_click(SECRET, click_token(SECRET, delivery_id, url, NOW))
    assert link is not None
    assert (link.delivery_id, link.url, link.age_days(NOW + timedelta(days=3))) == (
        delivery_id,
        url,
        3,
    )


@given(st.integers(1, 10**15), urls, urls)
def test_a_click_token_with_a_changed_url_is_refused(
    delivery_id: int, url: str, other: str
) -> None:
    token = click_token(SECRET, delivery_id, url, NOW)
    head, _, _ = token.rpartition(".")
    swapped = verify_click(SECRET, f"{head}.{_encode(other)}")
    assert swapped is None if other != url else swapped is not None


@given(st.integers(1, 10**15), urls, st.data())
def test_any_one_character_change_to_a_click_token_is_refused(
    delivery_id: int, url: str, data: st.DataObject
) -> None:
    token = click_token(SECRET, delivery_id, url, NOW)
    at = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(st.sampled_from("0123456789abcdefABCDEF-_.xyz"))
    changed = token[:at] + replacement + token[at + 1 :]
    link = verify_click(SECRET, changed)
    assert link is None or (link.delivery_id, link.url) == (delivery_id, url)


def test_forged_and_malformed_tokens_are_refused() -> None:
    assert verify_open(SECRET, open_token("other", 7, NOW)) is None
    assert verify_click(SECRET, click_token("other", 7, "https://a.example/", NOW)) is None
    for junk in ("", "7", "7.1", "7.x.y", "a.b.c.d", "7.1.mac.%%%", "1" * 30 + ".1.m.u"):
        assert verify_open(SECRET, junk) is None
        assert verify_click(SECRET, junk) is None
    link = verify_open(SECRET, open_token(SECRET, 7, NOW))
    assert link is not None and link.delivery_id == 7 and link.url is None


def _row(channel: str) -> Row:
    return Row(9, 1, 1, channel, "marketing", 1, "x", {}, None, {"code": "C", "type": "t"})


def test_email_gets_a_pixel_and_every_channel_gets_tracked_links() -> None:
    settings = DispatchSettings(public_url="https://t.example/")
    renderer = Renderer(settings, SECRET)
    own = message_links(settings.public_url, SECRET, 9)["preferences_url"]
    for channel in ("email", "sms", "social"):
        hooks = renderer.hooks(_row(channel), NOW)
        assert (hooks.open_pixel_url is not None) == (channel == "email")
        assert hooks.rewrite_link is not None
        url = "https://shop.example/a"
        assert hooks.rewrite_link(url) == click_url(settings.public_url, SECRET, 9, url, NOW)
        assert hooks.rewrite_link(own) == own
