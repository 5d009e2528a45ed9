"""hotline.waiting: what Asterisk says to callers waiting in the seats queue."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hotline import waiting
from hotline.prompts import manifest
from hotline.settings import CallsSettings, Settings
from ivr import say

SOUNDS = Path("/srv/hotline/abc/sounds/zh")


def test_number_words_say_quantities_as_the_voice_menu_does() -> None:
    for n in range(waiting.MAX_NUMBER + 1):
        assert waiting.number_words(n) == say.quantity(n), n


def test_the_queue_says_two_minutes_and_two_callers_as_liang() -> None:
    """Issue 18: 二分钟. app_queue says the position and the hold time through one rule,
    so both sentences are counts before a measure word: 两分钟, 共有两位."""
    prompts = manifest()
    rule = dict(re.findall(r"^num:(\d+) => (.*)$", waiting.site_say_conf(SOUNDS), re.M))
    assert rule["2"] == str(SOUNDS / "number-2-liang")
    assert prompts[waiting.QUEUE_SOUNDS["queue-minutes"]].startswith("分钟")
    position = prompts["queue-thereare"] + "两" + prompts["queue-callswaiting"]
    assert position == "您和您前面的来电共有两位。" and "第" not in position


@pytest.mark.parametrize("n", [-1, 100])
def test_number_words_refuse_what_the_rules_do_not_cover(n: int) -> None:
    with pytest.raises(ValueError, match=str(n)):
        waiting.number_words(n)


def test_say_rules_name_one_rule_per_number_with_existing_prompts() -> None:
    text = waiting.site_say_conf(SOUNDS)
    rules = dict(re.findall(r"^num:(\d+) => (.*)$", text, re.M))

    assert text.splitlines()[1] == "[zh]"
    assert sorted(int(n) for n in rules) == list(range(waiting.MAX_NUMBER + 1))
    assert rules["21"] == ", ".join(str(SOUNDS / w) for w in ("digit-2", "number-10",
                                                              "number-1"))
    files = {Path(f).name for value in rules.values() for f in value.split(", ")}
    assert files <= set(manifest())
    # app_playback copies each file name into 128 bytes and splits rules on ':'
    assert all(len(f) < 128 and ":" not in f for v in rules.values() for f in v.split(", "))


def test_queue_site_file_has_the_frequency_and_every_sound() -> None:
    settings = Settings(calls=CallsSettings(queue_announce_seconds=30))
    text = waiting.site_queues_conf(settings, SOUNDS)
    options = dict(re.findall(r"^([\w-]+) = (.*)$", text, re.M))

    assert options.pop("announce-frequency") == "30"
    assert set(options) == set(waiting.QUEUE_SOUNDS)
    assert {Path(p).name for p in options.values()} <= set(manifest())
    assert all(Path(p).parent == SOUNDS for p in options.values())


def test_site_files_are_written_where_queues_and_say_conf_include_them(
        tmp_path: Path) -> None:
    waiting.write_site_files(Settings(), tmp_path / "site", SOUNDS)

    assert sorted(p.name for p in (tmp_path / "site").iterdir()) == ["queues.conf", "say.conf"]
    conf = Path(__file__).parents[3] / "asterisk-conf"
    assert '#include "site/queues.conf"' in (conf / "queues.conf").read_text()
    assert '#include "site/say.conf"' in (conf / "say.conf").read_text()
