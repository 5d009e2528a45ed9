"""hotline.caller_sms: the texts callers get about their matter, per kind, the court's own
copy checked at start (a wrong placeholder names its line), the signature from settings."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from hotline import caller_sms
from hotline.settings import CourtSettings, PathsSettings, Settings, SettingsError, load_settings

SAMPLE = {"reference": "2612310001", "department": "审判管理办公室", "date": "12月31日",
          "due": "12月31日",
          # an appointment's: its place and what to bring are the court's own, measured in
          # tests/unit/hotline/test_appointments.py
          "appointment": "预约立案", "half": "上午", "place": "", "bring": "", "reason": ""}


def _settings(data: Path, **court: str) -> Settings:
    return Settings(paths=PathsSettings(data_dir=data), court=CourtSettings(**court))


# What a caller is told about a matter's course (the appointments' texts carry the court's
# own place and list of things to bring, and are measured in their own tests).
MATTER_KINDS = ("forwarded", "answered", "closed", "rating_ask", "progress_received",
                "progress_forwarded", "progress_answered")


def test_every_shipped_text_is_one_sms_with_a_long_signature(tmp_path: Path) -> None:
    texts = caller_sms.load(_settings(tmp_path, name="洛阳市中级人民法院"))
    assert set(texts.texts) == set(caller_sms.KINDS) >= set(MATTER_KINDS)
    for kind in MATTER_KINDS:
        text = texts.render(kind, **SAMPLE)
        assert text is not None and text.startswith("【洛阳市中级人民法院】")
        assert len(text) <= caller_sms.ONE_SMS, (kind, len(text))


@pytest.mark.parametrize(("court", "expected"), [
    ({}, "【12368诉讼服务热线】"),
    ({"name": "洛阳市中级人民法院"}, "【洛阳市中级人民法院】"),
    ({"name": "洛阳市中级人民法院", "sms_signature": "洛阳中院"}, "【洛阳中院】"),
    ({"sms_signature": "【洛阳中院】"}, "【洛阳中院】"),
])
def test_the_signature_comes_from_the_settings(tmp_path: Path, court: dict[str, str],
                                               expected: str) -> None:
    assert caller_sms.signature(_settings(tmp_path, **court)) == expected


def test_the_courts_own_file_changes_a_text_and_turns_one_off(tmp_path: Path) -> None:
    (tmp_path / "sms_texts.toml").write_text(
        '[texts]\nforwarded = "{court}：事项{reference}转{department}，{due}前答复。"\n'
        'closed = ""\n', encoding="utf-8")
    texts = caller_sms.load(_settings(tmp_path, name="某某法院"))
    assert texts.render("forwarded", reference="1", department="立案庭", due="3月2日") == (
        "【某某法院】某某法院：事项1转立案庭，3月2日前答复。")
    assert texts.render("closed", reference="1", department="", date="") is None
    assert texts.render("answered", **SAMPLE) is not None  # left out: the shipped text


@pytest.mark.parametrize(("line", "says"), [
    ('answered = "事项{reference}已于{due}答复"', "answered: unknown placeholder(s) {due}"),
    ('progress_received = "{reference}{department}"', "unknown placeholder(s) {department}"),
    ('answerd = "事项{reference}"', "answerd: not a kind of SMS to callers"),
    ('closed = "事项{reference"', "closed: expected '}'"),
    ('closed = 3', "closed: must be a text in quotes"),
])
def test_a_wrong_text_stops_the_start_naming_its_line(tmp_path: Path, line: str,
                                                      says: str) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "sms_texts.toml").write_text(f'# the court\'s texts\n[texts]\n{line}\n',
                                         encoding="utf-8")
    config = tmp_path / "hotline.toml"
    config.write_text(f'[paths]\ndata_dir = "{data}"\n', encoding="utf-8")
    with pytest.raises(SettingsError) as refused:
        load_settings(env={}, config_path=config)
    assert f"{data / 'sms_texts.toml'} line 3: " in str(refused.value)
    assert says in str(refused.value)


def test_a_file_broken_while_running_keeps_the_last_good_texts(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    custom = tmp_path / "sms_texts.toml"
    custom.write_text('[texts]\nclosed = "已办结{reference}"\n', encoding="utf-8")
    assert caller_sms.texts(settings).texts["closed"] == "已办结{reference}"
    custom.write_text('[texts]\nclosed = "已办结{number}"\n', encoding="utf-8")
    assert caller_sms.texts(settings).texts["closed"] == "已办结{reference}"
    # Never loaded good: nothing to fall back on, the error stands.
    other = tmp_path / "other"
    other.mkdir()
    (other / "sms_texts.toml").write_bytes(custom.read_bytes())
    with pytest.raises(SettingsError):
        caller_sms.texts(dataclasses.replace(settings, paths=PathsSettings(other)))
