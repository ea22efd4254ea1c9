"""Mail headers a message carries: List-Unsubscribe (RFC 2369) with one-click (RFC 8058)."""

from __future__ import annotations

_UNSAFE = frozenset("\r\n<>, \t")


def list_unsubscribe_headers(
    unsubscribe_url: str | None, mailto: str | None = None
) -> dict[str, str]:
    """Return List-Unsubscribe and List-Unsubscribe-Post for a marketing email.

    The mailto entry comes first and only when a mailbox is given; one-click (the Post header)
    needs the web link. Values that could break the header are refused.
    """
    entries: list[str] = []
    if mailto:
        address = mailto if mailto.lower().startswith("mailto:") else f"mailto:{mailto}"
        entries.append(f"<{_checked(address)}>")
    if unsubscribe_url:
        entries.append(f"<{_checked(unsubscribe_url)}>")
    headers: dict[str, str] = {}
    if entries:
        headers["List-Unsubscribe"] = ", ".join(entries)
    if unsubscribe_url:
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return headers


def _checked(uri: str) -> str:
    if not _UNSAFE.isdisjoint(uri):
        raise ValueError(f"{uri!r} cannot go into a List-Unsubscribe header")
    return uri
