"""Answer open pixels and click redirects in front of Flask: the hottest, simplest requests.

A pixel or click needs no session, template or routing table: verify the token, queue the
event, answer. Doing that before Flask builds its request context roughly doubles what one
worker serves. Anything else, and a click whose token does not verify (it gets Flask's 404
page), goes on to the app. These requests skip the per-request log line and request metrics;
the events themselves are their record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.urls import iri_to_uri

from campaign_engine.models.types import utcnow
from campaign_engine.tracking.hits import Hit, LinkTracker

WSGIApp = Callable[[dict[str, Any], Any], Iterable[bytes]]
# The smallest transparent GIF: one pixel, 43 bytes.
GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
NO_CACHE = [
    ("Cache-Control", "no-store, no-cache, must-revalidate, private, max-age=0"),
    ("Pragma", "no-cache"),
    ("Expires", "0"),
]
GIF_HEADERS = [("Content-Type", "image/gif"), ("Content-Length", str(len(GIF))), *NO_CACHE]


class TrackingFastPath:
    """WSGI middleware: pixels and genuine clicks are answered here, the rest by `app`."""

    def __init__(self, app: WSGIApp, links: LinkTracker) -> None:
        self.app = app
        self.links = links

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "")
        path: str = environ.get("PATH_INFO", "")
        if method in ("GET", "HEAD") and path.startswith("/t/"):
            if path.startswith("/t/o/") and path.endswith(".gif") and "/" not in path[5:]:
                self.links.open(self._hit(environ, path[5:-4], method))
                start_response("200 OK", GIF_HEADERS)
                return [GIF] if method == "GET" else []
            if path.startswith("/t/c/") and "/" not in path[5:]:
                target = self.links.click(self._hit(environ, path[5:], method))
                if target is not None:
                    location = iri_to_uri(target)
                    start_response(
                        "302 Found", [("Location", location), ("Content-Length", "0"), *NO_CACHE]
                    )
                    return []
        return self.app(environ, start_response)

    @staticmethod
    def _hit(environ: dict[str, Any], token: str, method: str) -> Hit:
        return Hit(token, environ.get("HTTP_USER_AGENT", ""), method, utcnow())
