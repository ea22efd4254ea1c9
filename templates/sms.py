"""SMS length: GSM 03.38 or UCS-2 encoding, characters and segments, for cost estimates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# GSM 03.38 basic character set (one septet each).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table: an escape septet plus one, so each counts two.
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")
SINGLE = {"GSM-7": 160, "UCS-2": 70}
MULTIPART = {"GSM-7": 153, "UCS-2": 67}


@dataclass(frozen=True, slots=True)
class SmsInfo:
    """How an SMS text travels: its encoding, length in that encoding's units, and segments."""

    encoding: Literal["GSM-7", "UCS-2"]
    characters: int
    segments: int


def sms_segments(text: str) -> SmsInfo:
    """Count the characters and segments `text` takes as an SMS.

    GSM-7 when every character is in the GSM 03.38 tables (extension characters count two),
    else UCS-2, counted in UTF-16 code units (an emoji counts two). One segment holds 160 or
    70; a multipart message 153 or 67 per segment. Empty text takes no segment.
    """
    septets = 0
    for char in text:
        if char in GSM_BASIC:
            septets += 1
        elif char in GSM_EXTENSION:
            septets += 2
        else:
            units = len(text.encode("utf-16-le")) // 2
            return SmsInfo("UCS-2", units, _segments(units, "UCS-2"))
    return SmsInfo("GSM-7", septets, _segments(septets, "GSM-7"))


def _segments(length: int, encoding: Literal["GSM-7", "UCS-2"]) -> int:
    if length == 0:
        return 0
    if length <= SINGLE[encoding]:
        return 1
    per_part = MULTIPART[encoding]
    return -(-length // per_part)
