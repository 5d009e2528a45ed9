"""Audio work on recording files, through pydub and ffmpeg: level, transcoding, length,
peaks for the console's waveform, and merging two legs into one stereo file.

Every function here works on files alone (no database), so tests and the benchmark use
them directly.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

# pydub imports audioop, deprecated in Python 3.11 (removed in 3.13); pydub itself is fine.
warnings.filterwarnings("ignore", message="'audioop' is deprecated",
                        category=DeprecationWarning)
from pydub import AudioSegment  # noqa: E402
from pydub.exceptions import CouldntDecodeError, CouldntEncodeError  # noqa: E402

# ffmpeg's encoder for each kept format ([recordings] format).
CODECS = {"opus": "libopus", "mp3": "libmp3lame"}
CONTAINERS = {"opus": "ogg", "mp3": "mp3"}
# "The same length": the compact copy decodes to the original's duration within 1 %, or
# within 0.1 s for short calls, where the codecs' own framing (Opus pre-skip and 20 ms
# frames, MP3's 1152-sample frames and encoder delay) is more than 1 %.
LENGTH_TOLERANCE = 0.01
LENGTH_FLOOR_SECONDS = 0.1
FLOOR_DBFS = -120.0
PEAK_BUCKETS = 2000


class AudioError(RuntimeError):
    """A file could not be decoded or encoded; the message says which and why."""


@dataclass(frozen=True)
class Level:
    duration_seconds: float
    peak_dbfs: float  # the loudest sample, FLOOR_DBFS for digital silence
    rms_dbfs: float


def load(path: Path) -> AudioSegment:
    # pydub leaves a file it opened by name unclosed; hand it an open file instead.
    try:
        with path.open("rb") as handle:
            return AudioSegment.from_file(handle, format=_format_of(path))
    except (CouldntDecodeError, IndexError, OSError, ValueError) as exc:
        raise AudioError(f"{path.name}: cannot decode: {_short(exc)}") from exc


def _format_of(path: Path) -> str:
    # A file being written is named <kept>.part; its format is the one before that.
    suffixes = [s for s in path.suffixes if s != ".part"]
    return suffixes[-1].lstrip(".").lower() if suffixes else "wav"


def level(audio: AudioSegment) -> Level:
    return Level(len(audio) / 1000.0, _db(audio.max_dBFS), _db(audio.dBFS))


def _db(value: float) -> float:
    return FLOOR_DBFS if math.isinf(value) or value < FLOOR_DBFS else round(value, 1)


def transcode(audio: AudioSegment, target: Path, fmt: str, bitrate: str,
              channels: int = 1) -> None:
    """Write a copy of `audio` in the kept format, mono unless told (one encoder thread).
    The bitrate is per channel: at a mono bitrate for both, Opus folds a stereo copy into
    near-mono, and the two sides of a quality-review recording would bleed into each other."""
    if fmt not in CODECS:
        raise AudioError(f"unknown kept format {fmt!r}")
    bitrate = per_file_bitrate(bitrate, channels)
    mixed = audio.set_channels(channels) if audio.channels != channels else audio
    try:
        # Our own handle: pydub leaves a file it opened by name open when ffmpeg fails.
        with target.open("wb+") as out:
            mixed.export(out, format=CONTAINERS[fmt], codec=CODECS[fmt], bitrate=bitrate,
                         parameters=["-threads", "1"])
    except (CouldntEncodeError, OSError) as exc:
        target.unlink(missing_ok=True)
        raise AudioError(f"{target.name}: cannot encode: {_short(exc)}") from exc


def per_file_bitrate(bitrate: str, channels: int) -> str:
    """"16k" for one channel → "32k" for two."""
    digits = bitrate.rstrip("kK")
    if channels == 1 or not digits.isdigit():
        return bitrate
    return f"{int(digits) * channels}{bitrate[len(digits):]}"


def same_length(original_seconds: float, copy_seconds: float) -> bool:
    allowed = max(original_seconds * LENGTH_TOLERANCE, LENGTH_FLOOR_SECONDS)
    return abs(original_seconds - copy_seconds) <= allowed


def peaks(audio: AudioSegment, buckets: int = PEAK_BUCKETS) -> list[float]:
    """The loudest sample in each of `buckets` equal slices, 0..1 (fewer for short audio)."""
    mono = audio.set_channels(1) if audio.channels > 1 else audio
    samples = mono.get_array_of_samples()
    if not samples:
        return []
    full_scale = float(1 << (8 * mono.sample_width - 1))
    count = min(buckets, len(samples))
    out = []
    for n in range(count):
        chunk = samples[n * len(samples) // count:(n + 1) * len(samples) // count]
        out.append(round(min(1.0, max(max(chunk), -min(chunk)) / full_scale), 3))
    return out


def write_peaks(path: Path, audio: AudioSegment, buckets: int = PEAK_BUCKETS) -> None:
    data = {"version": 1, "duration_seconds": len(audio) / 1000.0,
            "peaks": peaks(audio, buckets)}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, separators=(",", ":")))
    tmp.replace(path)


def read_peaks(path: Path) -> dict[str, object] | None:
    """The peaks file of a kept recording ({"duration_seconds", "peaks": [0..1, ...]}),
    or None when there is none or it is unreadable."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("peaks"), list) else None


def merge_legs(caller: AudioSegment, staff: AudioSegment) -> AudioSegment:
    """One stereo recording from MixMonitor's two legs: the caller left, staff right."""
    length = max(len(caller), len(staff))
    legs = [leg.set_channels(1).set_frame_rate(caller.frame_rate).set_sample_width(2)
            for leg in (caller, staff)]
    padded = [leg + AudioSegment.silent(length - len(leg), frame_rate=leg.frame_rate)
              if len(leg) < length else leg for leg in legs]
    return AudioSegment.from_mono_audiosegments(*padded)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    # ffmpeg's own message is its last lines; the first ones repeat its build options.
    return " ".join(line.strip() for line in text[-3:])[:300] if text else type(exc).__name__
