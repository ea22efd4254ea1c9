"""What advancing a contact produces: effects for the runner to carry out, and the step result.

The engine only describes; the runner acts. A `Send` becomes a delivery-ledger row (and goes
through the contact policy), the others become profile, consent or list writes, a webhook
task, or counters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeAlias

from journeys.parts import Scalar
from journeys.state import EnrollmentState

Status = Literal["active", "waiting", "completed", "exited", "converted"]
ExitReason = Literal["exit_node", "end_of_path", "goal_step", "exit_criteria", "unknown_step"]


@dataclass(frozen=True, slots=True)
class Send:
    """Send a template (the variant's, when the step has variants) over a channel."""

    node_id: str
    channel: Literal["email", "sms", "social"]
    template_id: int
    variant: str | None = None


@dataclass(frozen=True, slots=True)
class UpdateProfile:
    """Set custom attributes on the contact (None removes one)."""

    node_id: str
    attributes: Mapping[str, Scalar]


@dataclass(frozen=True, slots=True)
class UpdateConsent:
    """Record a consent state for a channel and purpose."""

    node_id: str
    channel: Literal["email", "sms", "social", "web"]
    purpose: str
    state: Literal["opted_in", "opted_out"]


@dataclass(frozen=True, slots=True)
class UpdateList:
    """Add the contact to, or remove it from, a static list (`attributes.lists`)."""

    node_id: str
    list_name: str
    action: Literal["add", "remove"]


@dataclass(frozen=True, slots=True)
class CallWebhook:
    """Post a signed payload; save the response on the profile when `save_response_to` is set.

    The runner queues it (timeout in seconds, retries) and never waits for it: the contact
    moves on at once.
    """

    node_id: str
    url: str
    payload: Mapping[str, Any]
    save_response_to: str | None
    timeout: int
    retries: int


@dataclass(frozen=True, slots=True)
class Converted:
    """The contact reached a goal: it leaves the journey, counted as converted."""

    node_id: str
    event_type: str


@dataclass(frozen=True, slots=True)
class Exited:
    """The contact left the journey at `node_id`, for `reason` (`detail` says more)."""

    node_id: str
    reason: ExitReason
    detail: str = ""


Effect: TypeAlias = (
    Send | UpdateProfile | UpdateConsent | UpdateList | CallWebhook | Converted | Exited
)


@dataclass(frozen=True, slots=True)
class Transition:
    """The contact left `from_node` by `branch` at `at`, for `to_node` (None: the journey ended).

    Branches are `next`, `matched`, `timed_out`, `missing`, `else`, `send`, `skip`, a split
    branch's name, `goal` (a goal met anywhere) and `exit_criteria`.
    """

    from_node: str
    branch: str
    to_node: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class Step:
    """The result of `advance`: the new state, effects to carry out, status and next wake-up.

    `status`: `waiting` (advance again at `wake_at`, or earlier when a watched fact changes),
    `completed` (an exit step or the end of a path), `exited` (exit criteria), `converted`
    (a goal). `active` is the status of an enrollment not yet advanced; advance never returns
    it. `wake_at` is None unless waiting.
    """

    state: EnrollmentState
    effects: list[Effect]
    status: Status
    wake_at: datetime | None
    transitions: list[Transition] = field(default_factory=list)
