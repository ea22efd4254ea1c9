"""read_ahead keeps order, hands over producer errors, and stops its thread early."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaign_engine.ingest.pipeline import read_ahead


@given(st.lists(st.integers()), st.integers(1, 4))
def test_yields_every_item_in_order(items: list[int], depth: int) -> None:
    assert list(read_ahead(iter(items), depth)) == items


def test_producer_error_is_raised_in_the_consumer() -> None:
    def broken() -> Iterator[int]:
        yield 1
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")

    consumed = []
    with pytest.raises(UnicodeDecodeError):
        for item in read_ahead(broken()):
            consumed.append(item)
    assert consumed == [1]


def test_consumer_stopping_early_stops_the_producer() -> None:
    produced: list[int] = []

    def endless() -> Iterator[int]:
        n = 0
        while True:
            produced.append(n)
            yield n
            n += 1

    for item in read_ahead(endless(), depth=2):
        if item == 3:
            break
    assert not any(t.name == "ce-read-ahead" for t in threading.enumerate())
    assert len(produced) <= 3 + 1 + 2 + 1  # what was consumed, buffered and in hand
