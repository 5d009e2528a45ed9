"""Phone numbers as people type them, checked one way everywhere (issue 13): a caller's
contact, a staff mobile, an SMS recipient.

Mainland numbers only. What is accepted, after spaces, dashes, dots and brackets are
dropped and a country prefix (+86, 0086, 86) is taken off:

- mobile: 1[3-9] and 9 more digits (a leading 0, dialled for a mobile of another city,
  is dropped);
- fixed line: area code and local number: 010 and 02x with 8 digits, other 0xxx with 7
  or 8; the local number does not start with 0 or 1; an extension of 1-6 digits may follow
  "-", 转, 分机, ext, x or #;
- service: 95xxx/96xxx (5-6 digits), 400/800 and 7 digits, 12xxx public service lines
  (12368, 12345...).

The normal form is digits only, the extension after one "-": what the database keeps and
what a dial string or an SMS gateway is given (PhoneNumber.dial without the extension).

>>> contact_number(" +86 138-1234-5678 ")
'13812345678'
>>> contact_number("(0571) 8765 4321 转 808")
'057187654321-808'
>>> mobile_number("013812345678")
'13812345678'
>>> parse_phone("400-810-8888").kind
'service'
>>> mobile_number("1381234567")
Traceback (most recent call last):
...
hotline.phonenumbers.PhoneNumberError: 手机号码应为11位，现为10位，请核对。
>>> mobile_number("0379-6511 0002")
Traceback (most recent call last):
...
hotline.phonenumbers.PhoneNumberError: 短信只能发到手机号码（11位，1开头），这是固定电话。
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["mobile", "fixed", "service"]
KIND_LABELS = {"mobile": "手机号码", "fixed": "固定电话", "service": "服务号码"}

# What may separate digits when people type a number; removed before anything else.
_SEPARATORS = re.compile(r"[\s\-－—.·()（）\[\]【】/]")
# What introduces an extension (after the full number): 转, 分机, ext, x, #, or a final "-".
_EXTENSION_MARK = re.compile(r"(?:转|分机|ext\.?|x|#)", re.IGNORECASE)
_FULL_WIDTH = str.maketrans("０１２３４５６７８９＋＃", "0123456789+#")

_MOBILE = re.compile(r"1[3-9]\d{9}")
_SERVICE = re.compile(r"9[56]\d{3,4}|[48]00\d{7}|12\d{3}")
_SHORT_AREA = re.compile(r"010|02\d")  # Beijing and the 02x cities: 8-digit local numbers
_EXTENSION = re.compile(r"\d{1,6}")
_NO_TRUNK_ZERO = re.compile(r"[2-9]\d{9,10}|10\d{8}")


class PhoneNumberError(ValueError):
    """Why a number is refused; the message (str) is Chinese, for the person who typed it.
    reason is a short code (tests, logs)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class PhoneNumber:
    """A checked number: dial is the digits to dial (with the area code), extension the
    digits to ask for after (fixed lines only, "" for none)."""

    kind: Kind
    dial: str
    extension: str = ""

    def __str__(self) -> str:
        return f"{self.dial}-{self.extension}" if self.extension else self.dial

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]


def parse_phone(raw: str) -> PhoneNumber:
    """The number someone typed, checked and normalised; PhoneNumberError saying what is
    wrong when it is not a mainland mobile, fixed line (with area code) or service number."""
    text = raw.strip().translate(_FULL_WIDTH)
    if not text:
        raise PhoneNumberError("empty", "请填写电话号码。")
    number, extension = _split_extension(text)
    digits = _national(number)
    found = _classify(digits)
    if extension:
        if found.kind != "fixed":
            raise PhoneNumberError("extension", f"{found.label}不能带分机号。")
        if not _EXTENSION.fullmatch(extension):
            raise PhoneNumberError("extension", "分机号应为1至6位数字。")
    return PhoneNumber(found.kind, found.dial, extension)


def contact_number(raw: str) -> str:
    """A number we may call back or text (a caller's contact): mobile, fixed line or service
    number, in normal form."""
    return str(parse_phone(raw))


def mobile_number(raw: str) -> str:
    """A mobile we can send SMS to (staff mobiles, SMS recipients), 11 digits."""
    found = parse_phone(raw)
    if found.kind != "mobile":
        raise PhoneNumberError("not_mobile",
                               f"短信只能发到手机号码（11位，1开头），这是{found.label}。")
    return found.dial


def caller_number(raw: str) -> str:
    """A calling number as a carrier or Asterisk hands it over, in the one form every
    record of a call keeps (the call record, the case query, the block list): a mainland
    number in normal form, whatever the carrier's habit — +86, 0086, 86 before a mobile, a
    0 before another city's mobile, an area code without its 0, spaces and dashes. What is
    not a mainland number is kept: a withheld number as spelled ("anonymous",
    "<unknown>": hotline.callid.known_number), a desk phone's extension, a foreign number
    as "+" and digits. Never raises: a call is recorded whatever its number.

    >>> [caller_number(n) for n in ("+8613812345678", "008613812345678", "8613812345678",
    ...                             "013812345678", "+86 379 6511 0002", "37965110002")]
    ['13812345678', '13812345678', '13812345678', '13812345678', '037965110002', \
'037965110002']
    >>> caller_number("8001"), caller_number("+1 415 555 0100"), caller_number("<unknown>")
    ('8001', '+14155550100', '<unknown>')
    """
    text = raw.strip().translate(_FULL_WIDTH)
    compact = _SEPARATORS.sub("", text)
    if not compact.removeprefix("+").isdigit():
        return text
    for candidate in _caller_forms(compact):
        try:
            return _classify(_national(candidate)).dial
        except PhoneNumberError:
            continue
    if compact.startswith(("+", "00")):
        return "+" + compact.removeprefix("+").removeprefix("00")
    return compact


def _caller_forms(compact: str) -> tuple[str, ...]:
    """The number as sent, and — for a national fixed-line number some carriers send
    without its trunk 0 (10 or 11 digits starting 2-9, or Beijing's 10 and 8 digits) —
    with the 0 put back."""
    if _NO_TRUNK_ZERO.fullmatch(compact):
        return compact, "0" + compact
    return (compact,)


def is_mobile(number: str) -> bool:
    """Whether a stored number (normal form) can receive SMS."""
    return bool(_MOBILE.fullmatch(number))


# --- the steps ----------------------------------------------------------------------------

def _split_extension(text: str) -> tuple[str, str]:
    """(number, extension) — split at an extension mark, or at a last "-" when what comes
    before it is already a whole fixed-line number ("0379-65110002-808")."""
    parts = _EXTENSION_MARK.split(text, maxsplit=1)
    if len(parts) == 2:
        return parts[0], _SEPARATORS.sub("", parts[1])
    head, dash, tail = text.rpartition("-")
    if dash and tail.strip().isdigit() and not _is_whole(text) and _is_whole(head):
        return head, tail.strip()
    return text, ""


def _is_whole(text: str) -> bool:
    try:
        return _classify(_national(text)).kind == "fixed"
    except PhoneNumberError:
        return False


def _national(text: str) -> str:
    """Digits as dialled inside the mainland: separators and the country prefix removed."""
    compact = _SEPARATORS.sub("", text)
    international = compact.startswith(("+", "00"))
    digits = compact.removeprefix("+").removeprefix("00") if international else compact
    if not digits.isdigit():
        raise PhoneNumberError("characters",
                               "电话号码只能包含数字、空格、连字符、括号，开头可有“+86”，"
                               "分机号前可写“转”或“-”。")
    if international or (digits.startswith("86") and len(digits) in (12, 13)):
        if not digits.startswith("86"):
            raise PhoneNumberError("country", "只能填写中国大陆的电话号码（+86）。")
        rest = digits[2:]
        digits = rest if _MOBILE.fullmatch(rest) else "0" + rest.removeprefix("0")
    return digits


def _classify(digits: str) -> PhoneNumber:
    if digits.startswith("01") and _MOBILE.fullmatch(digits[1:]):
        return PhoneNumber("mobile", digits[1:])  # 0 dialled before another city's mobile
    if digits.startswith("1") and not _SERVICE.fullmatch(digits):
        return PhoneNumber("mobile", _check_mobile(digits))
    if _SERVICE.fullmatch(digits):
        return PhoneNumber("service", digits)
    if digits.startswith("0"):
        return PhoneNumber("fixed", _check_fixed(digits))
    if len(digits) in (7, 8):
        raise PhoneNumberError("area_code",
                               "固定电话请加区号，如 0379-65110002 或 010-65123456。")
    raise PhoneNumberError("unknown", f"无法识别的号码（{len(digits)}位）：手机号码应为11位，"
                                      "固定电话应为区号加7至8位号码。")


def _check_mobile(digits: str) -> str:
    if len(digits) != 11:
        raise PhoneNumberError("mobile_length", f"手机号码应为11位，现为{len(digits)}位，请核对。")
    if not _MOBILE.fullmatch(digits):
        raise PhoneNumberError("mobile_prefix", "手机号码应以13至19开头，请核对。")
    return digits


def _check_fixed(digits: str) -> str:
    area_length = 3 if _SHORT_AREA.match(digits) else 4
    area, local = digits[:area_length], digits[area_length:]
    if area.startswith("00") or len(area) < area_length:
        raise PhoneNumberError("area_code", "区号不正确：区号以0开头，如 010、021、0571。")
    allowed = (8,) if area_length == 3 else (7, 8)
    if len(local) not in allowed:
        wanted = "8" if allowed == (8,) else "7或8"
        raise PhoneNumberError("fixed_length",
                               f"区号{area}后的号码应为{wanted}位，现为{len(local)}位，请核对。")
    if local[0] in "01":
        raise PhoneNumberError("fixed_local", f"区号{area}后的号码不能以{local[0]}开头，请核对。")
    return digits
