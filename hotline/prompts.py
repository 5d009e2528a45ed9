"""Mandarin prompts: the manifest (prompt id → sentence) and the placeholder synthesis.

Placeholder audio: Chinese text → pinyin with tone numbers (pypinyin) → espeak-ng voice
``cmn-latn-pinyin`` (the plain ``cmn`` voice reads tone digits aloud in English) → 8 kHz
mono 16-bit WAV, which Asterisk plays without transcoding. A human recording with the same
id in data_dir/prompts/zh/ (WAV, MP3, M4A, OGG or FLAC, any rate) wins over the placeholder
and is converted to that format with pydub and ffmpeg.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import threading
import tomllib
import warnings
import wave
from pathlib import Path

from pypinyin import Style, lazy_pinyin

MANIFEST = Path(__file__).parent / "resources" / "prompts_zh.toml"
VOICE = "cmn-latn-pinyin"
# Part of every cache key: a change to how placeholders are made remakes them all.
SYNTH_VERSION = "2"
_PUNCTUATION = str.maketrans({"，": ", ", "。": ". ", "、": ", ", "？": "? ", "！": "! ",
                              "；": "; ", "：": ": "})


class PromptError(RuntimeError):
    pass


def manifest(path: Path = MANIFEST) -> dict[str, str]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    prompts = data.get("prompts", {})
    if not prompts or not all(isinstance(v, str) and v for v in prompts.values()):
        raise PromptError(f"{path}: [prompts] must map every id to a non-empty sentence")
    return dict(prompts)


def to_pinyin(text: str) -> str:
    """>>> to_pinyin("您好，幺二三六八")
    'nin2 hao3 , yao1 er4 san1 liu4 ba1'
    """
    syllables = lazy_pinyin(text.translate(_PUNCTUATION), style=Style.TONE3,
                            neutral_tone_with_five=True)
    return " ".join(s.strip() for s in syllables)


def synthesize(text: str, out: Path) -> None:
    """Speak one sentence into an 8 kHz mono WAV file."""
    if not shutil.which("espeak-ng") or not shutil.which("sox"):
        raise PromptError("espeak-ng and sox are needed for placeholder prompts (make setup)")
    raw = out.with_suffix(".espeak.wav")
    subprocess.run(["espeak-ng", "-v", VOICE, "-s", "150", "-w", str(raw), to_pinyin(text)],
                   check=True, capture_output=True)
    # espeak pads every sentence with silence; trimmed, a number read from digit files
    # sounds like one word, not a list.
    subprocess.run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(out),
                    "silence", "1", "0.02", "0.5%", "reverse", "silence", "1", "0.02", "0.5%",
                    "reverse", "pad", "0", "0.08"], check=True, capture_output=True)
    raw.unlink()


_SPOKEN_DIGITS = str.maketrans("0123456789", "零幺二三四五六七八九")


def synthesized_path(text: str, folder: Path) -> Path:
    """Where synthesize_cached keeps the sound of `text` (there or not yet)."""
    return folder / f"{_cache_key(text.translate(_SPOKEN_DIGITS))}.wav"


def synthesize_cached(text: str, folder: Path) -> Path:
    """Speak data at call time (a case number, a judge's name, an answer), once per text.

    Digits are read one by one, as codes are. Safe when two calls ask for the same text
    at once: each writes its own file and the last rename wins.
    """
    spoken = text.translate(_SPOKEN_DIGITS)
    out = synthesized_path(text, folder)
    if not out.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{out.stem}.{os.getpid()}.{threading.get_ident()}.wav"
        synthesize(spoken, tmp)
        tmp.replace(out)
    return out


def joined_cached(sources: list[Path], folder: Path) -> Path:
    """Prompt files played as one (a list read out with its keys, which a key can stop
    where a run of files in Playback cannot), made once per list and per version of its
    files. The prompts share one format (build() converts human recordings to it).
    Safe when two calls ask at once, as synthesize_cached is."""
    stamps = "|".join(f"{p.name}:{p.stat().st_mtime_ns}:{p.stat().st_size}" for p in sources)
    out = folder / f"joined-{_cache_key(stamps)}.wav"
    if not out.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{out.stem}.{os.getpid()}.{threading.get_ident()}.wav"
        with wave.open(str(tmp), "wb") as joined:
            for number, source in enumerate(sources):
                with wave.open(str(source), "rb") as part:
                    if number == 0:
                        joined.setparams(part.getparams())
                    joined.writeframes(part.readframes(part.getnframes()))
        tmp.replace(out)
    return out


def _cache_key(text: str) -> str:
    return hashlib.sha1(f"{SYNTH_VERSION}:{VOICE}:{text}".encode()).hexdigest()[:16]


def build(cache: Path, custom: Path, target: Path) -> list[str]:
    """Put every prompt of the manifest into target/<id>.wav; return the ids synthesized.

    Placeholders are cached by the hash of their sentence, so set-up is fast after the
    first run and a changed sentence is spoken again.
    """
    cache.mkdir(parents=True, exist_ok=True)
    target.mkdir(parents=True, exist_ok=True)
    made = []
    for prompt_id, text in manifest().items():
        human = human_recording(custom, prompt_id)
        if human is not None:
            convert_recording(human, target / f"{prompt_id}.wav")
            continue
        cached = cache / f"{prompt_id}-{_cache_key(text)[:10]}.wav"
        if not cached.exists():
            synthesize(text, cached)
            made.append(prompt_id)
        shutil.copyfile(cached, target / f"{prompt_id}.wav")
    return made


HUMAN_FORMATS = (".wav", ".mp3", ".m4a", ".ogg", ".flac")


def human_recording(folder: Path, prompt_id: str) -> Path | None:
    """A recording a person made for this prompt, in any common format."""
    return next((folder / f"{prompt_id}{ext}" for ext in HUMAN_FORMATS
                 if (folder / f"{prompt_id}{ext}").exists()), None)


def convert_recording(source: Path, out: Path) -> None:
    """Any audio file → 8 kHz mono 16-bit WAV, the format Asterisk plays as it is."""
    with warnings.catch_warnings():
        # pydub imports audioop, deprecated since Python 3.11; pydub works regardless.
        warnings.filterwarnings("ignore", message="'audioop' is deprecated",
                                category=DeprecationWarning)
        from pydub import AudioSegment

    with source.open("rb") as handle:  # pydub leaves files it opens itself open
        audio = AudioSegment.from_file(handle, format=source.suffix.lstrip("."))
    converted = audio.set_frame_rate(8000).set_channels(1).set_sample_width(2)
    converted.export(out, format="wav").close()


def build_tones(target: Path) -> None:
    """The beep before a recording: Asterisk's own lives in its sound packages, which a
    minimal install (the sandbox) does not have."""
    out = target / "beep.wav"
    if not out.exists():
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(out), "synth",
                        "0.25", "sine", "1000", "vol", "0.3"], check=True, capture_output=True)


def build_hold_music(target: Path) -> None:
    """A quiet, slow chime for callers waiting in the queue (replace with licensed music)."""
    out = target / "chime.wav"
    if out.exists():
        return
    target.mkdir(parents=True, exist_ok=True)
    notes = ["523.25", "659.25", "783.99", "659.25"]
    parts: list[str] = []
    for i, freq in enumerate(notes):
        part = str(target / f".note{i}.wav")
        subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", part, "synth",
                        "1.5", "sine", freq, "fade", "q", "0.05", "1.5", "1.2", "vol", "0.2"],
                       check=True, capture_output=True)
        parts.append(part)
    subprocess.run(["sox", *parts, str(out)], check=True, capture_output=True)
    for part in parts:
        Path(part).unlink()
