"""The random-bucket hash: uniform, stable, and independent between salts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from campaign_engine.segments.sql import BUCKETS, bucket_of

IDS = range(1, 100_001)


def test_a_ten_percent_bucket_holds_about_ten_percent() -> None:
    for salt in ("", "spring", "holdout-2026"):
        share = sum(bucket_of(i, salt) < 1_000 for i in IDS) / len(IDS)
        assert 0.095 < share < 0.105, (salt, share)


def test_different_salts_draw_independent_samples() -> None:
    first = {i for i in IDS if bucket_of(i, "campaign-a") < 1_000}
    second = {i for i in IDS if bucket_of(i, "campaign-b") < 1_000}
    overlap = len(first & second) / len(IDS)
    assert 0.008 < overlap < 0.012  # independent 10% samples share about 1%


def test_buckets_are_spread_over_every_value() -> None:
    counts = [0] * 100
    for i in IDS:
        counts[bucket_of(i, "") // 100] += 1
    expected = len(IDS) / 100
    chi_square = sum((c - expected) ** 2 / expected for c in counts)
    assert chi_square < 150  # 99 degrees of freedom; 150 is beyond the 99.9th percentile


@given(st.integers(min_value=1, max_value=2**62), st.text(max_size=20))
def test_a_bucket_is_always_in_range_and_the_same_twice(contact_id: int, salt: str) -> None:
    bucket = bucket_of(contact_id, salt)
    assert 0 <= bucket < BUCKETS
    assert bucket_of(contact_id, salt) == bucket
