"""Where one enrollment stands in a journey, as a frozen value that round-trips through JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from journeys.clock import as_utc

JsonScalar = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class EnrollmentState:
    """An enrollment's position: its current step and what the engine remembers on the way.

    `entered_at` is when the contact reached the current step (the moment a wait ended or an
    event happened, not when the runner noticed), `enrolled_at` when it joined the journey,
    `hops` the steps moved so far. `data` holds per-step values (a wait's deadline as
    `until`, a random split's `draw`, a send's `variant`); a step's data is cleared each time
    the contact reaches it again. `sent` lists the send steps already sent, so no send step
    ever sends twice to one enrollment.
    """

    node_id: str
    entered_at: datetime
    enrolled_at: datetime
    hops: int = 0
    data: Mapping[str, Mapping[str, JsonScalar]] = field(default_factory=dict)
    sent: frozenset[str] = frozenset()

    def node_data(self, node_id: str) -> Mapping[str, JsonScalar]:
        """Return what the engine stored for a step (empty when nothing)."""
        return self.data.get(node_id, {})

    def to_json(self) -> dict[str, Any]:
        """Return the state as JSON data (times as ISO 8601 in UTC)."""
        return {
            "node_id": self.node_id,
            "entered_at": as_utc(self.entered_at).isoformat(),
            "enrolled_at": as_utc(self.enrolled_at).isoformat(),
            "hops": self.hops,
            "data": {node_id: dict(values) for node_id, values in sorted(self.data.items())},
            "sent": sorted(self.sent),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EnrollmentState:
        """Return the state saved by `to_json`."""
        return cls(
            node_id=str(data["node_id"]),
            entered_at=as_utc(datetime.fromisoformat(data["entered_at"])),
            enrolled_at=as_utc(datetime.fromisoformat(data["enrolled_at"])),
            hops=int(data.get("hops", 0)),
            data={str(k): dict(v) for k, v in (data.get("data") or {}).items()},
            sent=frozenset(str(node_id) for node_id in data.get("sent") or ()),
        )
