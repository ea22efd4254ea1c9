"""SMS length: GSM-7 and UCS-2 characters and segments."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from templates import SmsInfo, sms_segments


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", SmsInfo("GSM-7", 0, 0)),
        ("a" * 160, SmsInfo("GSM-7", 160, 1)),
        ("a" * 161, SmsInfo("GSM-7", 161, 2)),
        ("a" * 306, SmsInfo("GSM-7", 306, 2)),
        ("a" * 307, SmsInfo("GSM-7", 307, 3)),
        ("€" * 80, SmsInfo("GSM-7", 160, 1)),  # extension characters count two
        ("a" * 159 + "{", SmsInfo("GSM-7", 161, 2)),
        ("Ça coûte 5€", SmsInfo("UCS-2", 11, 1)),  # û is not GSM
        ("é" * 160, SmsInfo("GSM-7", 160, 1)),  # é is
        ("a" * 70, SmsInfo("GSM-7", 70, 1)),
        ("ä" * 69 + "😀", SmsInfo("UCS-2", 71, 2)),  # an emoji is two UTF-16 units
        ("😀" * 35, SmsInfo("UCS-2", 70, 1)),
        ("ç" * 70, SmsInfo("UCS-2", 70, 1)),
        ("ç" * 71, SmsInfo("UCS-2", 71, 2)),
        ("ç" * 134, SmsInfo("UCS-2", 134, 2)),
        ("ç" * 135, SmsInfo("UCS-2", 135, 3)),
    ],
)
def test_sms_segments_count_gsm_and_ucs2(text: str, expected: SmsInfo) -> None:
    assert sms_segments(text) == expected


@given(st.text(), st.text(min_size=1))
def test_sms_segments_never_shrink_as_text_grows(text: str, more: str) -> None:
    shorter, longer = sms_segments(text), sms_segments(text + more)
    assert longer.segments >= shorter.segments
    assert longer.characters > shorter.characters or longer.encoding != shorter.encoding
