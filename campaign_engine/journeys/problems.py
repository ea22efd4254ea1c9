"""Journey errors for the one error handler: a draft's problems by step, and unusable bodies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from campaign_engine.errors import DomainError, InvalidInput
from campaign_engine.errors import Problem as ErrorProblem
from campaign_engine.ingest.batch import problems_of
from journeys import Problem


@dataclass(frozen=True)
class StepProblem(ErrorProblem):
    """A journey problem in the API's error shape, keeping its step id, field and code."""

    node_id: str | None = None
    field: str | None = None
    code: str = "invalid"

    def as_dict(self) -> dict[str, str]:
        """Return location and message (as every error) plus node_id, field and code."""
        return {
            "location": self.location,
            "message": self.message,
            "node_id": self.node_id,  # type: ignore[dict-item]  # null for the whole journey
            "field": self.field,  # type: ignore[dict-item]
            "code": self.code,
        }


def step_problem(problem: Problem) -> StepProblem:
    """Return a journey problem as an error problem located at its step and field."""
    location = ".".join(part for part in (problem.node_id, problem.field) if part)
    return StepProblem(location, problem.message, problem.node_id, problem.field, str(problem.code))


class JourneyInvalid(InvalidInput):
    """The journey cannot be published (or run) as it stands; every problem is listed."""

    code = "journey_invalid"

    def __init__(self, message: str, problems: Sequence[Problem]) -> None:
        super().__init__(message, [step_problem(p) for p in problems])
        self.journey_problems = list(problems)


class BadBody(DomainError):
    """A request body that does not have the expected shape (HTTP 400, with field paths)."""

    status = 400
    code = "bad_request"


def bad_body(error: ValidationError, message: str = "the request body is invalid") -> BadBody:
    """Return a BadBody naming every field pydantic rejected."""
    return BadBody(message, problems_of(error))


def problems_json(problems: Sequence[Problem]) -> list[dict[str, Any]]:
    """Return problems in the shape the API and the canvas use."""
    return [problem.as_dict() for problem in problems]
