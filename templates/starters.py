"""Starter templates shipped with the engine: messages to copy, and the layout they extend.

Each starter is a TOML file in `templates/starters/`; every `.html` file there is a layout or
partial, named by its file name without the extension.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from templates.source import CHANNELS, PURPOSES, Channel, MessageSource, Purpose

FOLDER = "starters"  # beside this module; package data, not a package


@dataclass(frozen=True, slots=True)
class StarterTemplate:
    """A ready-made message a marketer can start from, with the campaign type it suits."""

    name: str
    title: str
    description: str
    channel: Channel
    purpose: Purpose
    subject: str
    html: str
    text: str
    campaign_type: str

    @property
    def source(self) -> MessageSource:
        """Return the message source, to validate, compile or save."""
        return MessageSource(self.channel, self.purpose, self.subject, self.html, self.text)


def starter_templates() -> dict[str, StarterTemplate]:
    """Return the starter messages by name."""
    return dict(_starters())


def starter_library() -> dict[str, str]:
    """Return the shipped layouts and partials (such as `base_email`) by name."""
    return dict(_library())


def _folder() -> resources.abc.Traversable:
    return resources.files("templates") / FOLDER


@cache
def _starters() -> tuple[tuple[str, StarterTemplate], ...]:
    found: list[tuple[str, StarterTemplate]] = []
    for entry in sorted(_folder().iterdir(), key=lambda item: item.name):
        if entry.name.endswith(".toml"):
            name = entry.name.removesuffix(".toml")
            found.append((name, _starter(name, tomllib.loads(entry.read_text(encoding="utf-8")))))
    return tuple(found)


@cache
def _library() -> tuple[tuple[str, str], ...]:
    return tuple(
        (entry.name.removesuffix(".html"), entry.read_text(encoding="utf-8"))
        for entry in sorted(_folder().iterdir(), key=lambda item: item.name)
        if entry.name.endswith(".html")
    )


def _starter(name: str, data: dict[str, object]) -> StarterTemplate:
    channel = data.get("channel")
    purpose = data.get("purpose")
    if channel not in CHANNELS or purpose not in PURPOSES:
        raise ValueError(f"starter {name}: unknown channel {channel!r} or purpose {purpose!r}")
    return StarterTemplate(
        name=name,
        title=str(data["title"]),
        description=str(data["description"]),
        channel=channel,
        purpose=purpose,
        subject=str(data.get("subject", "")).strip(),
        html=str(data.get("html", "")).strip(),
        text=str(data.get("text", "")).strip(),
        campaign_type=str(data["campaign_type"]),
    )
