"""CE_RULES_* and CE_PERSONALISATION_* settings, and the personalisation holdout draw."""

from __future__ import annotations

import pytest

from campaign_engine.config import ConfigError, load_settings
from campaign_engine.personalisation import in_holdout
from campaign_engine.recommend.settings import RecommendSettings


def test_defaults_and_overrides_are_read() -> None:
    assert load_settings({}).recommend == RecommendSettings()
    recommend = load_settings(
        {
            "CE_RULES_PER": "customer",
            "CE_RULES_MIN_SUPPORT": "25",
            "CE_RULES_MIN_CONFIDENCE": "0.2",
            "CE_RULES_REFRESH_HOURS": "0",
            "CE_PERSONALISATION_HOLDOUT_PERCENT": "10",
            "CE_API_KEY_CACHE_SECONDS": "0",
        }
    ).recommend
    assert (recommend.per, recommend.min_support, recommend.min_confidence) == ("customer", 25, 0.2)
    assert (recommend.refresh_hours, recommend.holdout_percent) == (0, 10.0)
    assert recommend.key_cache_seconds == 0


def test_a_whole_number_of_support_is_a_count_and_a_decimal_a_fraction() -> None:
    count = load_settings({"CE_RULES_MIN_SUPPORT": "10"}).recommend.min_support
    fraction = load_settings({"CE_RULES_MIN_SUPPORT": "0.1"}).recommend.min_support
    assert (count, type(count)) == (10, int)
    assert (fraction, type(fraction)) == (0.1, float)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CE_RULES_MIN_SUPPORT", "0"),
        ("CE_RULES_MIN_SUPPORT", "1.5"),
        ("CE_RULES_MIN_SUPPORT", "ten"),
        ("CE_RULES_PER", "week"),
        ("CE_RULES_MAX_LEN", "9"),
        ("CE_RULES_MIN_CONFIDENCE", "2"),
        ("CE_RULES_KEEP", "0"),
        ("CE_RULES_REFRESH_HOURS", "-1"),
        ("CE_PERSONALISATION_HOLDOUT_PERCENT", "60"),
    ],
)
def test_bad_values_name_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        load_settings({variable: value})


def test_the_holdout_is_a_stable_share_of_contacts_and_visitors() -> None:
    ten = RecommendSettings(holdout_percent=10)
    contacts = [in_holdout(ten, n, None) for n in range(1, 20_001)]
    visitors = [in_holdout(ten, None, f"visitor-{n}") for n in range(20_000)]
    assert 0.09 < sum(contacts) / len(contacts) < 0.11
    assert 0.09 < sum(visitors) / len(visitors) < 0.11
    assert contacts == [in_holdout(ten, n, None) for n in range(1, 20_001)]  # stable
    assert not any(in_holdout(RecommendSettings(), n, None) for n in range(1, 1_000))
    assert not in_holdout(ten, None, None)  # nobody to draw
    other = RecommendSettings(holdout_percent=10, holdout_salt="spring")
    overlap = sum(a and in_holdout(other, n, None) for n, a in enumerate(contacts, 1))
    assert overlap < sum(contacts) * 0.2  # another salt draws another sample
