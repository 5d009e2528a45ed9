"""Splitting a text into SMS parts, UCS-2 (data_coding 8) with a concatenation header.

Every message goes out as UCS-2: the hotline's texts are Chinese, and one encoding keeps
the arithmetic simple. One part carries 140 octets: 70 UTF-16 code units alone, or 67 when
a 6-octet concatenation header (UDH, IEI 0x00) shares the part. A character outside the
BMP takes two code units and is never cut between parts.

>>> [len(p.payload) for p in split_ucs2("法" * 70, ref=1)]
[140]
>>> [(p.index, p.total, len(p.payload)) for p in split_ucs2("法" * 71, ref=1)]
[(1, 2, 140), (2, 2, 14)]
"""

from __future__ import annotations

from dataclasses import dataclass

UCS2 = 8  # SMPP data_coding
ESM_UDHI = 0x40  # esm_class bit: short_message starts with a user data header
SINGLE_UNITS = 70
PART_UNITS = 67
MAX_PARTS = 255


@dataclass(frozen=True)
class Part:
    payload: bytes  # the short_message: UDH (if any) + UTF-16BE text
    index: int  # 1-based
    total: int

    @property
    def has_udh(self) -> bool:
        return self.total > 1


def split_ucs2(text: str, ref: int) -> list[Part]:
    """The parts of `text`; `ref` (0-255) ties the parts of one message together."""
    if not text:
        raise ValueError("an SMS needs some text")
    units = text.encode("utf-16-be")
    if len(units) <= SINGLE_UNITS * 2:
        return [Part(units, 1, 1)]
    chunks = _chunks(units, PART_UNITS * 2)
    if len(chunks) > MAX_PARTS:
        raise ValueError(f"text too long for one SMS ({len(text)} characters)")
    total = len(chunks)
    return [Part(bytes([5, 0, 3, ref & 0xFF, total, i]) + chunk, i, total)
            for i, chunk in enumerate(chunks, start=1)]


def _chunks(units: bytes, size: int) -> list[bytes]:
    chunks, start = [], 0
    while start < len(units):
        end = min(start + size, len(units))
        # A high surrogate (D800-DBFF) at the end would split a character: leave it for the
        # next part.
        if end < len(units) and 0xD8 <= units[end - 2] <= 0xDB:
            end -= 2
        chunks.append(units[start:end])
        start = end
    return chunks


def parts_needed(text: str) -> int:
    """How many SMS a text costs (what the console shows next to a reply)."""
    return len(split_ucs2(text, 0)) if text else 0


def decode_short_message(payload: bytes, data_coding: int, udhi: bool) -> str:
    """The text of a received short_message (inbound SMS), its UDH dropped."""
    if udhi and payload:
        payload = payload[payload[0] + 1:]
    if data_coding == UCS2:
        return payload.decode("utf-16-be", errors="replace")
    if data_coding == 3:  # Latin-1
        return payload.decode("latin-1")
    # 0 (SMSC default) and 1 (IA5): ASCII on every SMSC we meet; keep anything else readable.
    return payload.decode("ascii", errors="replace")
