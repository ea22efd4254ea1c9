"""HTML to plain text for the text part of an email: fast, stdlib only, good enough for mail.

A handful of regular-expression passes rather than a parser, because it runs once per
recipient: scripts, styles, the head and comments are dropped; links become "text (url)";
paragraphs, headings, rows and breaks become line breaks and list items bullets; entities are
unescaped last, so escaped markup in the content never turns into tags.
"""

from __future__ import annotations

import re
from html import unescape

_UPPER_TAG = re.compile(r"</?[a-z0-9]*[A-Z]")
_TAG_NAME = re.compile(r"</?[A-Za-z][A-Za-z0-9]*")
_DROPPED = re.compile(
    r"<!--.*?-->|<(script|style|head|title|template)\b[^>]*>.*?</\1\s*>", re.DOTALL
)
_LINK = re.compile(r"<a\b([^>]*)>(.*?)</a\s*>", re.DOTALL)
_HREF = re.compile(r"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_ALT = re.compile(r"""\balt\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
_BREAK = re.compile(r"<br\b[^>]*>")
_ITEM = re.compile(r"<li\b[^>]*>")
_PARAGRAPH = re.compile(r"</?(?:p|h[1-6]|ul|ol|table|blockquote|hr|pre|dl)\b[^>]*>")
_LINE = re.compile(
    r"</?(?:div|tr|section|header|footer|article|aside|nav|main|center|dt|dd|caption|"
    r"tbody|thead|tfoot|address|figure|figcaption|form)\b[^>]*>"
)
_CELL = re.compile(r"</t[dh]\s*>")
_TAG = re.compile(r"<[^>]*>")
# Marks at the start of a line: a paragraph asks for a blank line, and so does a <br> that
# ends an empty line; block elements such as <div> and <tr> only break the line.
_PARAGRAPH_MARK = "\x01"
_BR_MARK = "\x03"
_PARAGRAPH_BREAK = f"\n{_PARAGRAPH_MARK}\n"
_BR = f"\n{_BR_MARK}"
_MARKS = _PARAGRAPH_MARK + _BR_MARK


def html_to_text(html: str) -> str:
    """Return a readable plain-text version of an HTML email body."""
    text = html
    if _UPPER_TAG.search(text):
        text = _TAG_NAME.sub(_lower, text)
    text = _DROPPED.sub("", text)
    text = " ".join(text.split())
    if "<a" in text:
        text = _LINK.sub(_link, text)
    text = _BREAK.sub(_BR, text)
    text = _ITEM.sub("\n- ", text)
    text = _PARAGRAPH.sub(_PARAGRAPH_BREAK, text)
    text = _LINE.sub("\n", text)
    text = _CELL.sub(" ", text)
    text = _TAG.sub("", text)
    if "&" in text:
        text = unescape(text)
    return _tidy_lines(text)


def _lower(match: re.Match[str]) -> str:
    return match.group(0).lower()


def _tidy_lines(text: str) -> str:
    """Strip each line, turn the marks into at most one blank line, end with one newline."""
    lines: list[str] = []
    blank = False
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        if line[0] in _MARKS:
            line = line.lstrip(_MARKS).strip()
            if not line:
                blank = bool(lines)
                continue
        if blank:
            lines.append("")
            blank = False
        lines.append(line)
    return "\n".join(lines) + "\n" if lines else ""


def _link(match: re.Match[str]) -> str:
    """Render one link as its text followed by its web or mail address in brackets."""
    inner = match.group(2)
    label = _TAG.sub("", inner).strip() if "<" in inner else inner.strip()
    if not label and "<img" in inner:
        alt = _ALT.search(inner)
        label = (alt.group(1) or alt.group(2) or "").strip() if alt else ""
        if not label:
            return ""  # an image link without words says nothing in plain text
    found = _HREF.search(match.group(1))
    if found is None:
        return label
    href = (found.group(1) or found.group(2) or found.group(3) or "").strip()
    if "&" in href:
        href = unescape(href)
    scheme = href[:8].lower()
    if scheme.startswith("mailto:"):
        address = href[7:].split("?", 1)[0]
        return label if unescape(label) == address else f"{label} ({address})"
    if not scheme.startswith(("http://", "https://")):
        return label
    # The text is unescaped as a whole afterwards: keep an ampersand in the URL escaped.
    shown = href.replace("&", "&amp;")
    if not label or unescape(label) == href:
        return shown
    return f"{label} ({shown})"
