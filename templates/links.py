"""Tracking hooks on rendered messages: link rewriting in HTML and text, and the open pixel."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from html import escape, unescape

_ANCHOR_HREF = re.compile(
    r"""(<a\b[^>]*?\bhref\s*=\s*)(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE | re.DOTALL
)
_TEXT_URL = re.compile(r"""https?://[^\s<>()"']+""", re.IGNORECASE)
_TRAILING = ".,;:!?"
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class RenderHooks:
    """What tracking adds to a rendered message.

    `rewrite_link` maps each http(s) link (never the unsubscribe link) to its tracked form;
    `open_pixel_url` adds a 1x1 image to the HTML part; `unsubscribe_mailto` adds a mailto
    address to List-Unsubscribe (it wins over the context's `unsubscribe_mailto`).
    """

    rewrite_link: Callable[[str], str] | None = None
    open_pixel_url: str | None = None
    unsubscribe_mailto: str | None = None


class LinkRewriter:
    """Rewrite web links through `rewrite`, once per distinct URL, leaving `keep` untouched."""

    def __init__(self, rewrite: Callable[[str], str], keep: Collection[str] = ()) -> None:
        self._rewrite = rewrite
        self._seen: dict[str, str] = {url: url for url in keep}

    def url(self, url: str) -> str:
        """Return the rewritten form of `url`; the same URL always gets the same answer."""
        rewritten = self._seen.get(url)
        if rewritten is None:
            head = url[:8].lower()
            tracked = head.startswith("https://") or head.startswith("http://")
            rewritten = self._rewrite(url) if tracked else url
            self._seen[url] = rewritten
        return rewritten

    def html(self, html: str) -> str:
        """Rewrite the `href` of every `<a>` tag in `html`."""
        if "href" not in html:
            return html
        return _ANCHOR_HREF.sub(self._anchor, html)

    def text(self, text: str) -> str:
        """Rewrite every web address in plain `text`, leaving trailing punctuation alone."""
        if "http" not in text:
            return text
        return _TEXT_URL.sub(self._text_url, text)

    def _anchor(self, match: re.Match[str]) -> str:
        quoted = match.group(2)
        raw = quoted if quoted is not None else match.group(3)
        url = unescape(raw).strip() if "&" in raw else raw.strip()
        rewritten = self.url(url)
        if rewritten == url:
            return match.group(0)
        return f'{match.group(1)}"{escape(rewritten, quote=True)}"'

    def _text_url(self, match: re.Match[str]) -> str:
        found = match.group(0)
        url = found.rstrip(_TRAILING)
        return self.url(url) + found[len(url) :]


def insert_open_pixel(html: str, pixel_url: str) -> str:
    """Return `html` with a 1x1 tracking image just before `</body>`, or at the end."""
    pixel = (
        f'<img src="{escape(pixel_url, quote=True)}" width="1" height="1" alt="" '
        'style="display:block;width:1px;height:1px;border:0" />'
    )
    ends = [match.start() for match in _BODY_END.finditer(html)]
    if not ends:
        return html + pixel
    return html[: ends[-1]] + pixel + html[ends[-1] :]
