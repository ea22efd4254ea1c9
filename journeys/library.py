"""Ready-to-copy journeys: definitions with named placeholders for templates and segments.

A library journey names the templates and segments it needs (`requires`); its JSON holds
`"template:<name>"` and `"segment:<name>"` where ids go. `install` swaps in the ids the
installer chose and returns a definition that validates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from journeys.problems import JourneyError, Problem
from journeys.recipes import RECIPES, Stage

PlaceholderKind = Literal["template", "segment"]
ID_KEYS: dict[str, PlaceholderKind] = {
    "template_id": "template",
    "segment_id": "segment",
    "segment_ids": "segment",
}


@dataclass(frozen=True, slots=True)
class Requirement:
    """A template or segment a library journey needs, by placeholder name."""

    kind: PlaceholderKind
    name: str


@dataclass(frozen=True, slots=True)
class LibraryJourney:
    """A ready-made journey to copy, tagged with the lifecycle stage it serves."""

    key: str
    title: str
    description: str
    stage: Stage
    definition: Mapping[str, Any]

    @property
    def requires(self) -> tuple[Requirement, ...]:
        """Return the templates and segments to choose before installing, in order of use."""
        return tuple(dict.fromkeys(_requirements(self.definition)))

    def install(
        self, *, templates: Mapping[str, int], segments: Mapping[str, int]
    ) -> dict[str, Any]:
        """Return the definition with every placeholder replaced by the chosen id.

        Raise JourneyError naming each placeholder left without an id.
        """
        chosen = {"template": templates, "segment": segments}
        missing = [r for r in self.requires if r.name not in chosen[r.kind]]
        if missing:
            raise JourneyError(
                [
                    Problem(
                        None,
                        None,
                        f"Choose the {r.kind} to use as {r.name!r}.",
                        "unknown_template" if r.kind == "template" else "unknown_segment",
                    )
                    for r in missing
                ]
            )
        filled = _filled(self.definition, chosen, None)
        assert isinstance(filled, dict)
        return filled


def placeholder(kind: PlaceholderKind, name: str) -> str:
    """Return the placeholder text for a template or segment name."""
    return f"{kind}:{name}"


def _placeholder(value: Any, key: str | None) -> Requirement | None:
    kind = ID_KEYS.get(key or "")
    if kind is not None and isinstance(value, str) and value.startswith(f"{kind}:"):
        return Requirement(kind, value.split(":", 1)[1])
    return None


def _requirements(data: Any, key: str | None = None) -> list[Requirement]:
    if isinstance(data, Mapping):
        return [r for k, value in data.items() for r in _requirements(value, k)]
    if isinstance(data, list):
        return [r for item in data for r in _requirements(item, key)]
    found = _placeholder(data, key)
    return [] if found is None else [found]


def _filled(data: Any, chosen: Mapping[str, Mapping[str, int]], key: str | None) -> Any:
    if isinstance(data, Mapping):
        return {k: _filled(value, chosen, k) for k, value in data.items()}
    if isinstance(data, list):
        return [_filled(item, chosen, key) for item in data]
    found = _placeholder(data, key)
    return data if found is None else chosen[found.kind][found.name]


def library() -> dict[str, LibraryJourney]:
    """Return the library journeys by key."""
    return {
        recipe["key"]: LibraryJourney(
            key=recipe["key"],
            title=recipe["title"],
            description=recipe["description"],
            stage=recipe["stage"],
            definition=recipe["definition"],
        )
        for recipe in RECIPES
    }
