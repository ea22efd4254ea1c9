"""Conditions on the messages contacts were sent: received, opened, clicked; left unopened."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from campaign_engine.segments.nodes import Counted, Node

MessageChannel = Literal["email", "sms", "social"]
MessageAction = Literal["received", "opened", "clicked"]
MAX_UNOPENED = 100


class MessageCondition(Counted):
    """Received, opened or clicked messages (of one campaign, on one channel) N times."""

    type: Literal["message"]
    action: MessageAction
    campaign_id: Annotated[int, Field(ge=1)] | None = None
    campaign_code: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    channel: MessageChannel | None = None

    @model_validator(mode="after")
    def _one_campaign(self) -> MessageCondition:
        if self.campaign_id is not None and self.campaign_code is not None:
            raise ValueError("give a campaign_id or a campaign_code, not both")
        return self


class UnopenedCondition(Node):
    """Was sent at least N messages (on one channel) and opened none of the latest N."""

    type: Literal["unopened"]
    last: Annotated[int, Field(ge=1, le=MAX_UNOPENED)]
    channel: MessageChannel | None = None
