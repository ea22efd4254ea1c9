"""Domain errors: what went wrong and where, mapped to HTTP in one handler."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where (line, record, field, node id) and what."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message

    def as_dict(self) -> dict[str, str]:
        """Return the JSON shape used by the API."""
        return {"location": self.location, "message": self.message}


class DomainError(Exception):
    """Base of every error a user can cause; `status` is the HTTP status it maps to."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems or []

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        return self.message + "\n" + "\n".join(f"  {p}" for p in self.problems)


class InvalidInput(DomainError):
    """The input breaks its format; `problems` lists every violation found."""

    status = 422
    code = "invalid_input"


class InvalidQuery(DomainError):
    """A query-string value cannot be used; `problems` names each parameter."""

    status = 400
    code = "invalid_query"


class PayloadTooLarge(DomainError):
    """A batch holds more records than allowed."""

    status = 413
    code = "payload_too_large"


class Unauthorized(DomainError):
    """No valid credentials were given."""

    status = 401
    code = "unauthorized"


class Forbidden(DomainError):
    """The credentials lack the role or scope this needs."""

    status = 403
    code = "forbidden"


class NotFound(DomainError):
    """The named thing does not exist."""

    status = 404
    code = "not_found"


class Conflict(DomainError):
    """The request clashes with what is stored."""

    status = 409
    code = "conflict"
