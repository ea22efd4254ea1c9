"""Public tracking endpoints under /t: open pixel, click redirect, unsubscribe, preferences, view.

No sign-in: the signed token in the URL is the only credential. A bad token gets a short 404
page (the pixel still gets its GIF); nothing here redirects to a URL we did not sign.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Response, current_app, request, url_for
from flask.blueprints import BlueprintSetupState
from werkzeug.wrappers import Response as BaseResponse

from campaign_engine.db import transaction
from campaign_engine.dispatch.rendering import Renderer
from campaign_engine.errors import DomainError, NotFound
from campaign_engine.links import sign, verify
from campaign_engine.models.types import utcnow
from campaign_engine.runtime import Runtime
from campaign_engine.tracking.browser_view import browser_copy
from campaign_engine.tracking.fastpath import TrackingFastPath
from campaign_engine.tracking.hits import LinkTracker
from campaign_engine.tracking.pages import channel_words, render_page
from campaign_engine.tracking.preferences import (
    Preferences,
    find_subscriber,
    load_preferences,
    parse_choice,
    save_preferences,
    unsubscribe,
)
from campaign_engine.tracking.writer import BufferedWriter, DirectWriter, EventWriter
from campaign_engine.web import EXTENSION, current_runtime

tracking = Blueprint("tracking", __name__, url_prefix="/t")
STATE = "campaign_engine.tracking"

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex",
    "Referrer-Policy": "no-referrer",
}
# A browser copy is our own template's output; it has no business running scripts.
VIEW_HEADERS = PAGE_HEADERS | {
    "Content-Security-Policy": "script-src 'none'; frame-ancestors 'none'"
}


@dataclass(frozen=True)
class TrackingState:
    """What the endpoints share in one app: the signing secret, link tracker and renderer."""

    secret: str
    links: LinkTracker
    renderer: Renderer


@tracking.record_once
def _install(setup: BlueprintSetupState) -> None:
    app = setup.app
    runtime: Runtime = app.extensions[EXTENSION]
    secret = str(app.config["SECRET_KEY"])
    settings = runtime.settings.tracking
    writer: EventWriter
    if settings.writes == "buffered":
        writer = BufferedWriter(runtime.sessions, settings.machine_rules, settings.flush_ms)
    else:
        writer = DirectWriter(runtime.sessions, settings.machine_rules)
    links = LinkTracker(secret, settings.link_days, writer)
    app.wsgi_app = TrackingFastPath(app.wsgi_app, links)  # type: ignore[attr-defined]
    app.extensions[STATE] = TrackingState(
        secret, links, Renderer(runtime.settings.dispatch, secret)
    )


# The fast path (fastpath.py) answers every pixel and every genuine click before Flask; a
# click reaches this route only when its token did not verify.
@tracking.get("/c/<token>")
def click(token: str) -> BaseResponse:
    """Answer a click link that does not verify with a 404 page, never a redirect."""
    raise NotFound("This link is not valid. Please check you copied all of it.")


@tracking.get("/unsubscribe/<token>")
def confirm_unsubscribe(token: str) -> Response:
    """Ask before unsubscribing: link scanners follow every GET."""
    delivery_id = _delivery_id("unsubscribe", token)
    with transaction(current_runtime().sessions) as session:
        subscriber = find_subscriber(session, delivery_id)
    return _page(
        "unsubscribe",
        channel_words=channel_words(subscriber.channel),
        preferences_url=_preferences_url(delivery_id),
    )


@tracking.post("/unsubscribe/<token>")
def unsubscribe_now(token: str) -> Response:
    """Unsubscribe from the message's channel: RFC 8058 one-click and the page's form alike."""
    delivery_id = _delivery_id("unsubscribe", token)
    with transaction(current_runtime().sessions) as session:
        subscriber = unsubscribe(session, delivery_id, utcnow())
    return _page(
        "unsubscribed",
        channel_words=channel_words(subscriber.channel),
        preferences_url=_preferences_url(delivery_id),
    )


@tracking.get("/preferences/<token>")
def preferences(token: str) -> Response:
    """Show the contact's channel and topic choices."""
    delivery_id = _delivery_id("preferences", token)
    topics = current_runtime().settings.tracking.topics
    with transaction(current_runtime().sessions) as session:
        shown = load_preferences(session, delivery_id, topics)
    return _preferences_page(shown, saved=False)


@tracking.post("/preferences/<token>")
def save(token: str) -> Response:
    """Save the contact's channel and topic choices."""
    delivery_id = _delivery_id("preferences", token)
    topics = current_runtime().settings.tracking.topics
    choice = parse_choice(request.form.getlist("channel"), request.form.getlist("topic"), topics)
    with transaction(current_runtime().sessions) as session:
        shown = save_preferences(session, delivery_id, choice, topics, utcnow())
    return _preferences_page(shown, saved=True)


@tracking.get("/view/<token>")
def view(token: str) -> Response:
    """Show the message in the browser, rendered as it was sent."""
    delivery_id = _delivery_id("view", token)
    with transaction(current_runtime().sessions) as session:
        copy = browser_copy(session, _state().renderer, delivery_id)
    if copy.html:
        return Response(copy.html, mimetype="text/html", headers=VIEW_HEADERS)
    return _page("text_message", subject=copy.subject, text=copy.text)


@tracking.errorhandler(DomainError)
def domain_error(error: DomainError) -> Response:
    """Answer a bad link or form with a short page, never a stack trace."""
    heading = "Link not found" if error.status == 404 else "Something is not right"
    page = _page("error", heading=heading, message=error.message)
    page.status_code = error.status
    return page


def _state() -> TrackingState:
    state: TrackingState = current_app.extensions[STATE]
    return state


def _delivery_id(kind: str, token: str) -> int:
    delivery_id = verify(_state().secret, kind, token)
    if delivery_id is None:
        raise NotFound("This link is not valid. Please check you copied all of it.")
    return delivery_id


def _preferences_url(delivery_id: int) -> str:
    return url_for("tracking.preferences", token=sign(_state().secret, "preferences", delivery_id))


def _preferences_page(shown: Preferences, *, saved: bool) -> Response:
    return _page("preferences", channels=shown.channels, topics=shown.topics, saved=saved)


def _page(name: str, **context: object) -> Response:
    sender = current_runtime().settings.dispatch.sender_name
    return Response(
        render_page(name, sender, **context), mimetype="text/html", headers=PAGE_HEADERS
    )
