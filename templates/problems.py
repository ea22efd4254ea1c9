"""Template problems: what validation reports and the one exception rendering raises."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Part = Literal["subject", "html", "text"]
ProblemKind = Literal[
    "syntax",
    "unknown_variable",
    "argument",
    "unsafe",
    "missing_template",
    "render",
    "compliance",
    "channel",
]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a message, in a sentence a marketer understands."""

    part: Part
    message: str
    line: int | None = None
    kind: ProblemKind = "render"

    def __str__(self) -> str:
        where = self.part if self.line is None else f"{self.part}, line {self.line}"
        return f"{where}: {self.message}"


class TemplateError(Exception):
    """A message template that cannot be compiled or rendered; carries every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(self._describe())

    def _describe(self) -> str:
        if len(self.problems) == 1:
            return f"template problem: {self.problems[0]}"
        lines = "\n".join(f"- {problem}" for problem in self.problems)
        return f"{len(self.problems)} template problems:\n{lines}"
