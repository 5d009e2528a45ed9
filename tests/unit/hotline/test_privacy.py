"""hotline.privacy: phone and ID numbers never reach logs in full; call ids stay readable."""

from __future__ import annotations

import logging

import pytest

from hotline.privacy import MaskingFilter, mask_phone, mask_text

PHONES = {
    7: "6543217",
    8: "65432178",
    9: "037965432",
    10: "0379654321",
    11: "13812345678",
    12: "037965432178",
}


@pytest.mark.parametrize("length", sorted(PHONES))
def test_phones_of_7_to_12_digits_are_masked(length: int) -> None:
    number = PHONES[length]
    masked = mask_text(f"caller {number} waiting")

    assert number not in masked
    hidden = masked.removeprefix("caller ").removesuffix(" waiting")
    assert len(hidden) == length
    assert "*" in hidden
    assert hidden.endswith(number[-4:])


def test_mobile_number_keeps_prefix_and_last_four() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_text("from 13812345678.") == "from 138****5678."


def test_numbers_inside_chinese_text_and_with_country_code() -> None:
    assert mask_text("来电13812345678，请回电") == "来电138****5678，请回电"
    assert "13812345678" not in mask_text("sip:+8613812345678@carrier")


def test_short_numbers_are_left_alone() -> None:
    # Extensions, queue positions, causes: not personal data.
    assert mask_phone("8001") == "8001"
    assert mask_text("seat 8001 cause 16 position 123456") == "seat 8001 cause 16 position 123456"


@pytest.mark.parametrize(("text", "expected"), [
    ("id 41030319800101123X", "id 410303********123X"),
    ("id 41030319800101123x.", "id 410303********123x."),
    ("id 410303198001011234", "id 410303********1234"),
])
def test_id_numbers_are_masked(text: str, expected: str) -> None:
    assert mask_text(text) == expected


@pytest.mark.parametrize("text", [
    "call 1764200000.12 ended",
    "linkedid=1795747054.0 uniqueid=1795747060.13",
    "recording 2026/11/27/1795747054.0.wav",
])
def test_call_ids_are_untouched(text: str) -> None:
    assert mask_text(text) == text


def test_mixed_line() -> None:
    text = "call 1764200000.12 from 13812345678 id 41030319800101123X"
    assert mask_text(text) == "call 1764200000.12 from 138****5678 id 410303********123X"


def test_filter_masks_message_and_args() -> None:
    record = logging.LogRecord("ivr", logging.INFO, __file__, 1,
                               "call %s from %s about %s", ("1764200000.12", "13812345678",
                                                            "41030319800101123X"), None)
    assert MaskingFilter().filter(record) is True

    assert record.getMessage() == "call 1764200000.12 from 138****5678 about 410303********123X"
    assert record.args is None


def test_filter_on_a_handler_masks_what_is_written(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("tests.privacy")
    caplog.handler.addFilter(MaskingFilter())
    try:
        with caplog.at_level(logging.INFO, logger="tests.privacy"):
            logger.info("caller %s", "13812345678")
    finally:
        caplog.handler.removeFilter(caplog.handler.filters[-1])

    assert caplog.messages == ["caller 138****5678"]
    assert "13812345678" not in caplog.text
