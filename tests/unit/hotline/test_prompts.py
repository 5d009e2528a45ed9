"""hotline.prompts: the manifest, pinyin with tone numbers, one real synthesis."""

from __future__ import annotations

import re
import subprocess
import wave
from pathlib import Path

import pytest

from hotline import prompts
from hotline.prompts import PromptError, build, manifest, synthesize, to_pinyin
from hotline.settings import REPO_ROOT

SYLLABLE = re.compile(r"[a-zü]+[1-5]")
PUNCTUATION = {",", ".", "?", "!", ";", ":"}


def test_to_pinyin_gives_tone_numbers() -> None:
    assert to_pinyin("您好，幺二三六八") == "nin2 hao3 , yao1 er4 san1 liu4 ba1"


def test_yao_is_the_spoken_one() -> None:
    assert to_pinyin("幺") == "yao1"


def test_neutral_tone_is_five() -> None:
    assert to_pinyin("我们的") == "wo3 men5 de5"


def test_every_prompt_reads_as_syllables_with_tones() -> None:
    for prompt_id, sentence in manifest().items():
        tokens = to_pinyin(sentence).split()
        odd = [t for t in tokens if not SYLLABLE.fullmatch(t) and t not in PUNCTUATION]
        assert tokens and not odd, f"{prompt_id}: {odd}"


def test_manifest_ids_and_sentences_are_all_non_empty() -> None:
    prompts_ = manifest()

    assert prompts_
    assert all(prompt_id.strip() and sentence.strip() for prompt_id, sentence in prompts_.items())


def test_manifest_has_every_prompt_the_dialplan_and_the_bridge_play() -> None:
    dialplan = "".join(p.read_text() for p in (REPO_ROOT / "dialplan").glob("*.conf"))
    in_dialplan = set(re.findall(r"\$\{HOTLINE_SOUNDS\}/([\w-]+)", dialplan))
    code = "".join(p.read_text() for p in (REPO_ROOT / "ivr").rglob("*.py"))
    in_code = set(re.findall(r'(?:play|choose|ask_number)\(\[?"([\w-]+)"', code))

    assert in_dialplan >= {"closed-leave-message", "goodbye"}
    assert in_code >= {"transfer-seat", "case-found", "record-playback", "kb-intro"}
    assert (in_dialplan | in_code) <= set(manifest())


@pytest.mark.parametrize("body", ['[prompts]\nwelcome = ""\n', "[other]\nx = 'y'\n",
                                  "[prompts]\nwelcome = 3\n"])
def test_manifest_refuses_empty_or_missing_sentences(tmp_path: Path, body: str) -> None:
    path = tmp_path / "prompts.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(PromptError, match="non-empty sentence"):
        manifest(path)


def test_synthesize_makes_an_8khz_mono_16bit_wav(tmp_path: Path) -> None:
    out = tmp_path / "goodbye.wav"
    synthesize("再见。", out)

    with wave.open(str(out), "rb") as audio:
        assert (audio.getframerate(), audio.getnchannels(), audio.getsampwidth()) == (8000, 1, 2)
        assert audio.getnframes() > 8000 * 0.2  # some speech, not an empty file
    assert [p.name for p in tmp_path.iterdir()] == ["goodbye.wav"]  # espeak's file removed


def test_a_sentence_is_synthesized_where_the_bridge_looks_for_it_and_only_once(
        tmp_path: Path) -> None:
    """The voice menu plays a sentence it finds at synthesized_path without a worker
    thread (ivr.callflow): synthesize_cached must put it exactly there."""
    text = "案号二〇二六，请按1"
    expected = prompts.synthesized_path(text, tmp_path)
    assert not expected.exists()

    made = prompts.synthesize_cached(text, tmp_path)

    assert made == expected and made.stat().st_size > 44
    stamp = made.stat().st_mtime_ns
    assert prompts.synthesize_cached(text, tmp_path) == made
    assert made.stat().st_mtime_ns == stamp  # not made again
    assert prompts.synthesized_path("案号二〇二六，请按2", tmp_path) != expected


def test_build_prefers_the_human_recording(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    spoken: list[str] = []

    def fake_synthesize(text: str, out: Path) -> None:
        spoken.append(text)
        out.write_bytes(b"placeholder:" + text.encode())

    monkeypatch.setattr(prompts, "synthesize", fake_synthesize)
    custom = tmp_path / "custom"
    custom.mkdir()
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(custom / "welcome.wav"),
                    "synth", "0.5", "sine", "440"], check=True)
    target, cache = tmp_path / "target", tmp_path / "cache"

    made = prompts.build(cache, custom, target)
    again = prompts.build(cache, custom, target)

    everything = manifest()
    assert sorted(made) == sorted(set(everything) - {"welcome"})
    assert again == []  # cached
    with wave.open(str(target / "welcome.wav"), "rb") as human:
        assert human.getnframes() == 4000  # the person's 0.5 s, not a placeholder
    assert (target / "goodbye.wav").read_bytes() == b"placeholder:" + everything["goodbye"].encode()
    assert len(spoken) == len(everything) - 1


def test_a_human_recording_in_any_format_replaces_the_placeholder(tmp_path: Path) -> None:
    custom, target = tmp_path / "custom", tmp_path / "sounds"
    custom.mkdir()
    # A studio recording: 44.1 kHz stereo MP3, 1.5 s.
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i",
                    "sine=frequency=440:duration=1.5:sample_rate=44100", "-ac", "2",
                    str(custom / "goodbye.mp3")], check=True)

    made = build(tmp_path / "cache", custom, target)

    assert "goodbye" not in made and "welcome" in made
    with wave.open(str(target / "goodbye.wav"), "rb") as audio:
        assert (audio.getframerate(), audio.getnchannels(), audio.getsampwidth()) == (8000, 1, 2)
        assert audio.getnframes() / 8000 == pytest.approx(1.5, abs=0.1)
