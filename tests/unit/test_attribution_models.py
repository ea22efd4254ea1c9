"""The attribution models without a database: qualifying touches, credits, money to the cent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaign_engine.config import ConfigError, load_settings
from campaign_engine.dispatch.holdout import GlobalHoldout
from campaign_engine.tracking.attribution_models import (
    Sent,
    Touch,
    Windows,
    credit_touches,
    split_money,
    touches_of,
)

ORDERED = datetime(2026, 6, 10, 12, tzinfo=UTC)
DEFAULT = Windows.of_days(7, 3, 1)
HOUR = timedelta(hours=1)


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        (Sent(1, 1, ORDERED - 7 * 24 * HOUR, clicked_at=ORDERED - 7 * 24 * HOUR), ["click"]),
        (Sent(1, 1, ORDERED - 200 * HOUR, clicked_at=ORDERED - 7 * 24 * HOUR - HOUR), []),
        (Sent(1, 1, ORDERED - 2 * HOUR, opened_at=ORDERED - HOUR), ["open", "delivery"]),
        (Sent(1, 1, ORDERED - 2 * HOUR, bounced_at=ORDERED - HOUR), []),
        (Sent(1, 1, ORDERED - 2 * HOUR, delivered_at=ORDERED - HOUR), ["delivery"]),
        (Sent(1, 1, ORDERED, delivered_at=ORDERED), []),  # at the very moment: not before
    ],
)
def test_touches_within_their_windows_qualify(sent: Sent, expected: list[str]) -> None:
    assert [t.kind for t in touches_of(sent, DEFAULT, ORDERED)] == expected


def test_no_touches_give_no_credit() -> None:
    assert credit_touches([]) == []


TOUCHES = st.lists(
    st.builds(
        Touch,
        kind=st.sampled_from(["click", "open", "delivery"]),
        campaign_id=st.integers(1, 4),
        delivery_id=st.integers(1, 20),
        at=st.integers(1, 240).map(lambda h: ORDERED - timedelta(hours=h)),
    ),
    min_size=1,
    max_size=12,
)


@given(TOUCHES)
def test_each_model_credits_the_whole_order(touches: list[Touch]) -> None:
    credits = credit_touches(touches)
    by_model: dict[str, list[float]] = {}
    for credit in credits:
        by_model.setdefault(credit.model, []).append(credit.weight)
    assert by_model.keys() == {"last_touch", "first_touch", "linear"}
    assert all(sum(w) == pytest.approx(1.0) for w in by_model.values())
    assert len(by_model["last_touch"]) == len(by_model["first_touch"]) == 1
    assert len(by_model["linear"]) == len({t.campaign_id for t in touches})
    last = next(c.touch for c in credits if c.model == "last_touch")
    first = next(c.touch for c in credits if c.model == "first_touch")
    assert last.at == max(t.at for t in touches if t.at)
    assert first.at == min(t.at for t in touches if t.at)


@given(
    st.integers(-(10**7), 10**7).map(lambda cents: cents / 100),
    st.integers(1, 7),
)
def test_split_money_adds_up_to_the_cent(amount: float, parts: int) -> None:
    shares = split_money(amount, [1 / parts] * parts)
    assert round(sum(shares) * 100) == round(amount * 100)
    assert max(shares) - min(shares) <= 0.02 + 1e-9


def test_global_holdout_settings_are_read_and_checked() -> None:
    settings = load_settings({"CE_GLOBAL_HOLDOUT_PERCENT": "12.5", "CE_GLOBAL_HOLDOUT_SALT": "y"})
    assert GlobalHoldout.of(settings.dispatch.rules) == GlobalHoldout(12.5, "y")
    assert GlobalHoldout.of(load_settings({}).dispatch.rules) == GlobalHoldout(0, "global")
    for bad in ("51", "-1", "ten"):
        with pytest.raises(ConfigError, match="CE_GLOBAL_HOLDOUT_PERCENT"):
            load_settings({"CE_GLOBAL_HOLDOUT_PERCENT": bad})


def test_a_new_salt_draws_a_new_global_holdout() -> None:
    first, second = GlobalHoldout(10, "2026"), GlobalHoldout(10, "2027")
    drawn = [{c for c in range(1, 5001) if h.contains(c)} for h in (first, second)]
    assert all(400 <= len(d) <= 600 for d in drawn)
    assert len(drawn[0] & drawn[1]) < 100  # about 10% of 500 by chance, not the same sample
    assert not GlobalHoldout(0).applies_to("marketing")
    assert not first.applies_to("transactional")
