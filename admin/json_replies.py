"""JSON answers of the admin's script endpoints: bodies in, domain errors out."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from admin.pages import MAX_ID
from campaign_engine.errors import DomainError, InvalidInput, Problem


def json_error(error: DomainError) -> ResponseReturnValue:
    """Answer a domain error as {"error": {code, message, problems}} with its status."""
    body = {
        "error": {
            "code": error.code,
            "message": error.message,
            "problems": [p.as_dict() for p in error.problems],
        }
    }
    return jsonify(body), error.status


def json_object() -> dict[str, Any]:
    """Return the request's JSON object body, or raise InvalidInput."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("the request body is not a JSON object", [Problem("", "send JSON")])
    return body


def optional_id(value: Any, location: str) -> int | None:
    """Return a positive whole number given as a number or text, None when blank."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_ID or isinstance(value, bool):
        raise InvalidInput("the request is invalid", [Problem(location, "give a contact id")])
    return number
