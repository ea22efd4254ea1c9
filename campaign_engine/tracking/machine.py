"""Tell machine opens and clicks (privacy proxies, link scanners) from people's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# User-agent fragments of mail-security scanners, prefetchers and HTTP libraries (lower case).
SCANNER_AGENTS = (
    "barracuda",
    "mimecast",
    "proofpoint",
    "safelinks",
    "symantec",
    "messagelabs",
    "trendmicro",
    "forcepoint",
    "sophos",
    "fortinet",
    "cisco",
    "ironport",
    "zscaler",
    "bot",
    "crawler",
    "spider",
    "python-requests",
    "python-urllib",
    "curl/",
    "wget/",
    "go-http-client",
    "java/",
    "okhttp",
    "headlesschrome",
    "preview",
)
# Apple Mail Privacy Protection fetches every image through a proxy that sends this agent.
APPLE_PROXY_AGENT = "mozilla/5.0"


@dataclass(frozen=True)
class MachineRules:
    """How soon after sending an open or a click is too fast to be a person."""

    open_seconds: float = 2.0
    click_seconds: float = 5.0


DEFAULT_RULES = MachineRules()


def machine_reason(
    kind: str,
    user_agent: str,
    method: str,
    occurred_at: datetime,
    sent_at: datetime | None,
    provider_hint: str | None = None,
    rules: MachineRules = DEFAULT_RULES,
) -> str | None:
    """Return why an open or click looks automated, or None when it looks like a person."""
    if kind not in ("open", "click"):
        return None
    if provider_hint:
        return provider_hint
    if method.upper() == "HEAD":
        return "head_request"
    agent = user_agent.strip().lower()
    if not agent:
        return "no_user_agent"
    if any(fragment in agent for fragment in SCANNER_AGENTS):
        return "scanner_agent"
    if kind == "open" and agent == APPLE_PROXY_AGENT:
        return "privacy_proxy"
    if sent_at is not None:
        seconds = (occurred_at - sent_at).total_seconds()
        limit = rules.open_seconds if kind == "open" else rules.click_seconds
        if seconds < limit:
            return "too_fast"
    return None
