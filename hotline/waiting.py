"""What callers hear while they wait in the seats queue: Asterisk's own position and
hold-time announcements (app_queue), spoken with our Mandarin prompts.

app_queue plays its announcement files by name and says numbers through Asterisk's say
engine, which looks for digit files in Asterisk's shared data folder; a minimal install
has none, and the sandbox's data folder is shared by every instance. So both are named
by absolute path in two files rendered per instance: site/queues.conf (the sound names,
included in [seats]) and site/say.conf (app_playback's rule-based say engine, "new" mode,
with one rule per number).

"您和您前面的来电共有三位" and "预计等待时间约为五分钟" are made from the prompts
queue-thereare + number + queue-callswaiting and queue-holdtime + number + queue-minutes.
app_queue says both numbers through the one say.conf rule num:N, so N is worded as a count
before a measure word in both (两分钟, 两位): an ordinal (第二位) would need 二 where the
hold time needs 两, and no rule can tell the two apart.
"""

from __future__ import annotations

from pathlib import Path

from hotline.settings import Settings

# app_queue's sound options → our prompt ids (hotline/resources/prompts_zh.toml).
QUEUE_SOUNDS = {
    "queue-youarenext": "queue-youarenext",
    "queue-thereare": "queue-thereare",
    "queue-callswaiting": "queue-callswaiting",
    "queue-quantity1": "queue-quantity1",
    "queue-quantity2": "queue-quantity2",
    "queue-holdtime": "queue-holdtime",
    "queue-minute": "queue-minutes",
    "queue-minutes": "queue-minutes",
    "queue-seconds": "queue-seconds",
    "queue-thankyou": "queue-thankyou",
}
# Beyond this many callers ahead the caller hears "超过二十位" instead of the number.
POSITION_LIMIT = 20
# The say rules cover the numbers app_queue can say: positions up to the limit and
# hold times in minutes.
MAX_NUMBER = 99


def number_words(n: int) -> list[str]:
    """0-99 as prompt ids, the way a count before a measure word is said: 两, 七, 十五,
    二十一 (ivr/say.py quantity() for the voice menu; a unit test keeps them equal)."""
    if not 0 <= n <= MAX_NUMBER:
        raise ValueError(f"cannot say {n}: 0 to {MAX_NUMBER} only")
    if n == 2:
        return ["number-2-liang"]
    tens, ones = divmod(n, 10)
    ones_word = ["number-1" if ones == 1 else f"digit-{ones}"] if ones else []
    if tens == 0:
        return ones_word or ["digit-0"]
    return ([] if tens == 1 else [f"digit-{tens}"]) + ["number-10"] + ones_word


def site_queues_conf(settings: Settings, sounds: Path) -> str:
    """Lines included in queues.conf [seats]: announcement timing and sound files.
    `sounds` is the Mandarin prompt folder as Asterisk sees it."""
    lines = ["; Rendered from hotline.toml by `hotline pbx up`. Do not edit.",
             f"announce-frequency = {settings.calls.queue_announce_seconds}"]
    lines += [f"{option} = {sounds / prompt}" for option, prompt in QUEUE_SOUNDS.items()]
    return "\n".join(lines) + "\n"


def site_say_conf(sounds: Path) -> str:
    """say.conf rules for language zh: "num:N" → the files that say N."""
    lines = ["; Rendered by `hotline pbx up`. Do not edit.", "[zh]"]
    for n in range(MAX_NUMBER + 1):
        lines.append(f"num:{n} => " + ", ".join(str(sounds / w) for w in number_words(n)))
    return "\n".join(lines) + "\n"


def write_site_files(settings: Settings, etc_site: Path, sounds: Path) -> None:
    etc_site.mkdir(parents=True, exist_ok=True)
    for name, text in (("queues.conf", site_queues_conf(settings, sounds)),
                       ("say.conf", site_say_conf(sounds))):
        tmp = etc_site / f".{name}.tmp"
        tmp.write_text(text)
        tmp.replace(etc_site / name)
