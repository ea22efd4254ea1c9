"""The admin sections: navigation labels and which roles may open each one."""

from __future__ import annotations

from dataclasses import dataclass

ADMIN = "admin"
MARKETER = "marketer"
ANALYST = "analyst"
EVERYONE = (ADMIN, MARKETER, ANALYST)


@dataclass(frozen=True)
class Section:
    """One entry of the navigation; `ready` is False while its page is a placeholder."""

    endpoint: str
    label: str
    roles: tuple[str, ...]
    ready: bool = True
    summary: str = ""


SECTIONS: tuple[Section, ...] = (
    Section("dashboard", "Dashboard", EVERYONE),
    Section("contacts", "Contacts", EVERYONE),
    Section(
        "segments",
        "Segments",
        EVERYONE,
        summary="Build audiences from contact fields, consents, orders and events.",
    ),
    Section(
        "campaigns",
        "Campaigns",
        EVERYONE,
        summary="Plan, schedule and compare campaigns over email, SMS and social.",
    ),
    Section(
        "journeys",
        "Journeys",
        (ADMIN, MARKETER),
        summary="Design multi-step journeys on a canvas, simulate and publish them.",
    ),
    Section(
        "templates",
        "Templates",
        (ADMIN, MARKETER),
        summary="Write and preview email, SMS and social message templates.",
    ),
    Section(
        "reports",
        "Reports",
        EVERYONE,
        summary="Campaign ROI, attributed and incremental revenue.",
    ),
    Section(
        "models",
        "Models",
        EVERYONE,  # marketers read the policy chart to pick a campaign's uplift rule
        summary="Train and check uplift models.",
    ),
    Section(
        "recommendations",
        "Recommendations",
        EVERYONE,
        summary="Explore association rules; preview what a contact or a basket is shown, and why.",
    ),
    Section(
        "settings",
        "Settings",
        (ADMIN,),
        ready=False,
        summary="Users, API keys and channel providers.",
    ),
)

SECTION_BY_ENDPOINT = {section.endpoint: section for section in SECTIONS}


def roles_for(endpoint: str) -> tuple[str, ...]:
    """Return the roles that may open the section behind `endpoint`."""
    return SECTION_BY_ENDPOINT[endpoint].roles


def sections_for(role: str) -> list[Section]:
    """Return the sections a user with `role` may open, in navigation order."""
    return [section for section in SECTIONS if role in section.roles]
