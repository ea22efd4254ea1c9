"""Conditions on stored uplift scores: a contact's predicted uplift, or its rank, under a model."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, model_validator

from campaign_engine.segments.nodes import Node

# A predicted uplift is continuous: it is compared by order, never for equality.
ScoreOp = Literal["lt", "lte", "gt", "gte", "between"]
SCORE_OPS: tuple[str, ...] = get_args(ScoreOp)
# Checked by hand below for plain messages; published in the JSON Schema as what it accepts.
NUMBER_OR_PAIR: dict[str, Any] = {
    "anyOf": [
        {"type": "number"},
        {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
    ]
}


class ScoreTest(Node):
    """Compare a number by order: `{"op": "gte", "value": 0.02}`, or `between` `[low, high]`."""

    op: ScoreOp
    value: Annotated[Any, Field(json_schema_extra=NUMBER_OR_PAIR)]

    def bounds(self) -> list[float]:
        """Return the value(s) compared with: one, or [low, high] for `between`."""
        return list(self.value) if isinstance(self.value, list) else [self.value]

    @model_validator(mode="after")
    def _numbers(self) -> ScoreTest:
        if self.op == "between" and not (isinstance(self.value, list) and len(self.value) == 2):
            raise ValueError("'between' takes a list of two numbers: [low, high]")
        for value in self.bounds():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{self.op!r} needs a number, got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"{self.op!r} needs a finite number, got {value!r}")
        if self.op == "between" and self.value[0] > self.value[1]:
            low, high = self.value
            raise ValueError(f"'between' runs from low to high; {low} is after {high}")
        return self


class PercentileTest(ScoreTest):
    """Compare a rank: the share of scored contacts ranked above, from 0 (the best) to 1."""

    @model_validator(mode="after")
    def _share(self) -> PercentileTest:
        for value in self.bounds():
            if not 0 <= value <= 1:
                raise ValueError(
                    f"a percentile is a share from 0 to 1 (0.2 is the top 20%), got {value}"
                )
        return self


class UpliftCondition(Node):
    """A contact's stored score under a named uplift model: above a score, in a top share.

    With neither `score` nor `percentile` the contact merely has a score; with both, both
    hold. `scored: false` keeps the contacts the model has not scored.
    """

    type: Literal["uplift"]
    model: Annotated[str, Field(min_length=1, max_length=64)]
    score: ScoreTest | None = None
    percentile: PercentileTest | None = None
    scored: bool = True

    @model_validator(mode="after")
    def _unscored_alone(self) -> UpliftCondition:
        if not self.scored and (self.score is not None or self.percentile is not None):
            raise ValueError(
                "'scored': false keeps contacts without a score, so it takes no 'score' "
                "or 'percentile'"
            )
        return self
