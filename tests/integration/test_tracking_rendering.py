"""Sent messages carry tracked links and an open pixel; unsubscribe and our own pages do not."""

from __future__ import annotations

import re

from campaign_engine.channels.memory import MemoryChannel
from campaign_engine.links import message_links, verify_click, verify_open
from campaign_engine.runtime import Runtime
from tests.campaign_support import Clock, campaign_body, in_session, launch, make_runner, segment
from tests.tracking_support import opted_in_contacts

SECRET = "test-secret"
BASE = "http://127.0.0.1:8000"


def sent_email(runtime: Runtime) -> MemoryChannel:
    in_session(runtime, lambda s: opted_in_contacts(s, 1))
    in_session(runtime, lambda s: launch(s, campaign_body(s, segment(s))))
    runner, channels = make_runner(runtime, Clock())
    runner.tick()
    email = channels["email"]
    assert isinstance(email, MemoryChannel)
    return email


def test_sent_email_has_tracked_links_a_pixel_and_a_plain_unsubscribe_link(
    runtime: Runtime,
) -> None:
    [message] = sent_email(runtime).messages
    assert message.html is not None
    own = message_links(BASE, SECRET, message.delivery_id)
    hrefs = re.findall(r'href="([^"]+)"', message.html)
    tracked = [h for h in hrefs if h.startswith(f"{BASE}/t/c/")]
    assert tracked, hrefs
    for href in tracked:
        link = verify_click(SECRET, href.rsplit("/", 1)[1])
        assert link is not None and link.delivery_id == message.delivery_id
        assert link.url is not None and link.url.startswith("https://")
    assert set(hrefs) - set(tracked) == {own["unsubscribe_url"], own["preferences_url"]} | {
        own["view_in_browser_url"]
    }
    [pixel] = re.findall(rf'<img src="{re.escape(BASE)}/t/o/([^"]+)\.gif"', message.html)
    opened = verify_open(SECRET, pixel)
    assert opened is not None and opened.delivery_id == message.delivery_id
    assert own["unsubscribe_url"] in message.headers["List-Unsubscribe"]
    assert f"{BASE}/t/c/" in message.text and own["unsubscribe_url"] in message.text
