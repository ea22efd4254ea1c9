"""Journey API entry: enroll named contacts through a published journey's API entry step."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from flask import Response, jsonify
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from campaign_engine.api import api_blueprint, json_body, requires_scope
from campaign_engine.db import transaction
from campaign_engine.errors import InvalidInput
from campaign_engine.ingest.batch import problems_of
from campaign_engine.journeys.entries import MAX_API_CONTACTS, enroll_by_api
from campaign_engine.web import current_runtime


class EnrollBody(BaseModel):
    """Contacts to enroll, by id or external id; `entry_id` picks one of several API entries."""

    model_config = ConfigDict(extra="forbid")

    contact_ids: Annotated[list[int], Field(max_length=MAX_API_CONTACTS)] = []
    external_ids: Annotated[list[str], Field(max_length=MAX_API_CONTACTS)] = []
    entry_id: str | None = None

    @model_validator(mode="after")
    def _names_someone(self) -> EnrollBody:
        if not self.contact_ids and not self.external_ids:
            raise ValueError("give contact_ids or external_ids")
        return self


@api_blueprint.post("/journeys/<int:journey_id>/enroll")
@requires_scope("campaigns")
def enroll_in_journey(journey_id: int) -> tuple[Response, int]:
    """Enroll contacts now; re-entry rules and the holdout apply as for any entry."""
    try:
        body = EnrollBody.model_validate(json_body())
    except ValidationError as error:
        raise InvalidInput("the request body is invalid", problems_of(error)) from None
    with transaction(current_runtime().sessions) as session:
        result = enroll_by_api(
            session,
            journey_id,
            contact_ids=body.contact_ids,
            external_ids=body.external_ids,
            entry_id=body.entry_id,
            now=datetime.now(UTC),
        )
    return jsonify(entered=result.entered, refused=result.refused, unknown=result.unknown), 200
