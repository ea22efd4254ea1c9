"""Journey problems: what validation reports about a definition, and the error parse raises."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

ProblemCode = Literal[
    "invalid",
    "version",
    "too_many_steps",
    "duplicate_id",
    "dangling_reference",
    "entry_target",
    "no_entry",
    "no_next",
    "unreachable",
    "cycle_without_wait",
    "branch_count",
    "percentages",
    "control",
    "duplicate_name",
    "send_template",
    "missing_timeout",
    "engagement_target",
    "unknown_template",
    "unknown_segment",
    "settings",
]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a journey: the step (node id), the field, and a plain sentence.

    `node_id` is None for problems with the journey as a whole (its name, settings, or the
    node list); `code` says which kind of problem it is, for the canvas and for tests.
    """

    node_id: str | None
    field: str | None
    message: str
    code: ProblemCode = "invalid"

    def __str__(self) -> str:
        where = " ".join(
            part
            for part in (
                f"step {self.node_id!r}" if self.node_id else "",
                f"({self.field})" if self.field else "",
            )
            if part
        )
        return f"{where}: {self.message}" if where else self.message

    def as_dict(self) -> dict[str, str | None]:
        """Return the JSON shape the API and the canvas use."""
        return {
            "node_id": self.node_id,
            "field": self.field,
            "message": self.message,
            "code": self.code,
        }


class JourneyError(ValueError):
    """A journey definition that cannot be used; carries every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(self._describe())

    def _describe(self) -> str:
        if len(self.problems) == 1:
            return f"journey problem: {self.problems[0]}"
        lines = "\n".join(f"- {problem}" for problem in self.problems)
        return f"{len(self.problems)} journey problems:\n{lines}"
