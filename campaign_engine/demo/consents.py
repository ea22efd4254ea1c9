"""Draw marketing consent per contact and channel, its history, and the suppression list."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from campaign_engine.demo.population import DAY, EMAIL_VALID, Population

# Index order follows campaign_engine.models.CONSENT_STATES.
OPTED_IN, OPTED_OUT, UNKNOWN = 0, 1, 2
EMAIL_STATE_WEIGHTS = (0.72, 0.10, 0.18)
SMS_STATE_WEIGHTS = (0.50, 0.08, 0.42)
HARD_BOUNCE_SHARE = 0.008
SPAM_COMPLAINT_SHARE = 0.002
NOT_SUPPRESSED, HARD_BOUNCE, SPAM_COMPLAINT = 0, 1, 2
SUPPRESSION_REASONS = ("", "hard_bounce", "spam_complaint")


@dataclass(frozen=True)
class ChannelConsent:
    """One channel's consent per contact: state, when it was first recorded, when it changed."""

    state: npt.NDArray[np.int64]
    recorded: npt.NDArray[np.int64]
    changed: npt.NDArray[np.int64]

    def state_at(self, time: int) -> npt.NDArray[np.int64]:
        """Return each contact's state at epoch second `time` (opt-outs are the only changes)."""
        return np.where((self.state == OPTED_OUT) & (self.changed > time), OPTED_IN, self.state)


@dataclass(frozen=True)
class Consents:
    """Email and SMS consent for every contact, and why an address is suppressed (if it is)."""

    email: ChannelConsent
    sms: ChannelConsent
    suppression: npt.NDArray[np.int64]
    suppressed_at: npt.NDArray[np.int64]


def _states(
    rng: np.random.Generator, reachable: npt.NDArray[np.bool_], weights: tuple[float, ...]
) -> npt.NDArray[np.int64]:
    state = rng.choice(len(weights), size=len(reachable), p=weights)
    return np.where(reachable, state, UNKNOWN)


def _between(
    rng: np.random.Generator, low: npt.NDArray[np.int64], horizon: int
) -> npt.NDArray[np.int64]:
    return low + (rng.random(len(low)) * (horizon - low)).astype(np.int64)


def _channel(
    rng: np.random.Generator,
    population: Population,
    reachable: npt.NDArray[np.bool_],
    weights: tuple[float, ...],
    horizon: int,
) -> ChannelConsent:
    state = _states(rng, reachable, weights)
    opted_out_at = _between(rng, population.created + DAY, horizon)
    changed = np.where(state == OPTED_OUT, opted_out_at, population.created)
    return ChannelConsent(state, population.created, np.minimum(changed, horizon - 1))


def _suppressions(
    rng: np.random.Generator, population: Population, horizon: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    valid = (population.email_kind == EMAIL_VALID) & ~population.email_suppressed_by_domain()
    draw = rng.random(population.size)
    reason = np.where(draw < HARD_BOUNCE_SHARE, HARD_BOUNCE, NOT_SUPPRESSED)
    reason[(draw >= HARD_BOUNCE_SHARE) & (draw < HARD_BOUNCE_SHARE + SPAM_COMPLAINT_SHARE)] = (
        SPAM_COMPLAINT
    )
    reason[~valid] = NOT_SUPPRESSED
    at = np.minimum(_between(rng, population.created + DAY, horizon), horizon - 1)
    return reason, at


def generate_consents(rng: np.random.Generator, population: Population, horizon: int) -> Consents:
    """Draw consents and suppressions; a spam complaint also opts the contact out of email."""
    email = _channel(
        rng, population, population.email_kind == EMAIL_VALID, EMAIL_STATE_WEIGHTS, horizon
    )
    sms = _channel(rng, population, population.has_phone, SMS_STATE_WEIGHTS, horizon)
    suppression, suppressed_at = _suppressions(rng, population, horizon)
    complained = suppression == SPAM_COMPLAINT
    email = ChannelConsent(
        np.where(complained, OPTED_OUT, email.state),
        email.recorded,
        np.where(complained, suppressed_at, email.changed),
    )
    return Consents(email, sms, suppression, suppressed_at)
