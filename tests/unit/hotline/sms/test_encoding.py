"""Splitting texts into UCS-2 SMS parts with a concatenation header, and reading them."""

from __future__ import annotations

import pytest

from hotline.sms.encoding import decode_short_message, parts_needed, split_ucs2


def _join(parts: list[bytes]) -> str:
    return b"".join(p[6:] if len(parts) > 1 else p for p in parts).decode("utf-16-be")


@pytest.mark.parametrize(("length", "parts"), [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3)])
def test_parts_by_length(length: int, parts: int) -> None:
    assert parts_needed("案" * length) == parts


def test_a_single_part_has_no_header() -> None:
    [part] = split_ucs2("您的案件已立案。", ref=9)
    assert part.payload == "您的案件已立案。".encode("utf-16-be")
    assert not part.has_udh and (part.index, part.total) == (1, 1)


def test_long_text_parts_carry_the_concatenation_header() -> None:
    text = "洛阳市中级人民法院12368热线：" + "您反映的事项已转相关部门办理。" * 10
    parts = split_ucs2(text, ref=300)
    assert len(parts) == 3
    for i, part in enumerate(parts, start=1):
        assert part.payload[:6] == bytes([5, 0, 3, 300 % 256, 3, i])
        assert len(part.payload) <= 140
    assert _join([p.payload for p in parts]) == text


def test_a_character_outside_the_bmp_is_never_cut() -> None:
    # 66 BMP characters, then an emoji (2 UTF-16 units) straddling the 67-unit boundary.
    text = "法" * 66 + "😀" + "院" * 10
    parts = split_ucs2(text, ref=1)
    for part in parts:
        part.payload[6:].decode("utf-16-be")  # raises on a lone surrogate
    assert len(parts[0].payload) == 6 + 66 * 2
    assert _join([p.payload for p in parts]) == text


def test_empty_and_too_long_texts_are_refused() -> None:
    with pytest.raises(ValueError, match="some text"):
        split_ucs2("", ref=1)
    with pytest.raises(ValueError, match="too long"):
        split_ucs2("字" * (67 * 255 + 1), ref=1)


def test_decoding_received_messages() -> None:
    ucs2 = "查询案件".encode("utf-16-be")
    assert decode_short_message(ucs2, 8, udhi=False) == "查询案件"
    assert decode_short_message(bytes([5, 0, 3, 1, 2, 1]) + ucs2, 8, udhi=True) == "查询案件"
    assert decode_short_message(b"TD", 0, udhi=False) == "TD"
    assert decode_short_message("é".encode("latin-1"), 3, udhi=False) == "é"
