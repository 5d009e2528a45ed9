"""Masking of personal data (callers' phone and ID numbers) for logs and for roles that do
not need to see them.

>>> mask_phone("13812345678")
'138****5678'
>>> mask_text("call 1764200000.12 from 13812345678 id 41030319800101123X")
'call 1764200000.12 from 138****5678 id 410303********123X'
"""

from __future__ import annotations

import logging
import re

# Runs of 7+ digits are phone numbers (with or without area code); 18-character resident
# ID numbers may end in X. Call ids ("1764200000.12") look like numbers but are not personal
# data and must stay readable in logs, so a run followed by ".digit" is left alone.
_ID_RE = re.compile(r"(?<![0-9])(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9])")
_PHONE_RE = re.compile(r"(?<![0-9*.])(\d{3})\d{0,8}(\d{4})(?![0-9]|\.\d)")


def mask_phone(number: str) -> str:
    """Keep the last 4 digits, and the first 3 of a mobile number (11 digits or more)."""
    if len(number) < 7:
        return number
    head = 3 if len(number) >= 11 else 0
    return number[:head] + "*" * (len(number) - head - 4) + number[-4:]


def mask_text(text: str) -> str:
    text = _ID_RE.sub(lambda m: m.group(1) + "*" * 8 + m.group(2), text)
    return _PHONE_RE.sub(lambda m: mask_phone(m.group(0)), text)


class MaskingFilter(logging.Filter):
    """Masks phone and ID numbers in every record that passes through a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_text(record.getMessage())
        record.args = None
        return True
