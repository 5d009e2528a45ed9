"""Benchmark: storage per recorded hour (kept format vs WAV) and post-processing speed as
multiples of real time on one core.

    taskset -c 0 .venv/bin/python bench/recordings.py [--minutes 10]

The audio is a real-looking call: the SIPp test speech (A-law, 8 kHz) looped, with gaps,
decoded to the 16-bit 8 kHz WAV MixMonitor writes. Each measure runs in this process, pinned
to one core (ffmpeg with -threads 1), beside a baseline: copying the WAV (what keeping the
original costs) and decoding it (the floor of any transcode through pydub).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recordings import audio

SPEECH = Path("/usr/share/sip-tester/g711a.pcap")


def call_audio(minutes: float, workdir: Path) -> Path:
    """A WAV of `minutes` of speech with pauses, as MixMonitor would write it."""
    raw = workdir / "speech.alaw"
    data, offset, samples = SPEECH.read_bytes(), 24, bytearray()
    while offset < len(data):
        length = int.from_bytes(data[offset + 8:offset + 12], "little")
        samples += data[offset + 16 + 54:offset + 16 + length]
        offset += 16 + length
    silence = b"\xd5" * 8000 * 2  # two seconds of the listener's turn
    block = bytes(samples) + silence
    repeats = int(minutes * 60 * 8000 / len(block)) + 1
    raw.write_bytes((block * repeats)[: int(minutes * 60 * 8000)])
    wav = workdir / "call.wav"
    os.system(f"ffmpeg -loglevel error -y -f alaw -ar 8000 -ac 1 -i {raw} {wav}")
    return wav


def timed(work: object) -> float:
    # Wall time on one pinned core: ffmpeg runs as a child process, whose CPU this
    # process's own clock would miss.
    started = time.perf_counter()
    work()  # type: ignore[operator]
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--bitrate", default="16k")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        wav = call_audio(args.minutes, work)
        seconds = args.minutes * 60
        per_hour = 3600 / seconds
        print(f"audio: {args.minutes:.0f} min, WAV {wav.stat().st_size / 1e6:.1f} MB; "
              f"cores allowed: {sorted(os.sched_getaffinity(0))}")
        print(f"{'step':34} {'seconds':>8} {'× real time':>12} {'MB per hour':>12}")
        copy_s = timed(lambda: shutil.copyfile(wav, work / "copy.wav"))
        print(f"{'baseline: copy WAV':34} {copy_s:8.2f} {seconds / copy_s:12.0f} "
              f"{wav.stat().st_size * per_hour / 1e6:12.1f}")
        decoded: list[audio.AudioSegment] = []
        decode_s = timed(lambda: decoded.append(audio.load(wav)))
        print(f"{'baseline: decode WAV (pydub)':34} {decode_s:8.2f} {seconds / decode_s:12.0f}")
        for fmt in ("opus", "mp3"):
            target = work / f"call.{audio.CONTAINERS[fmt]}"
            encode_s = timed(lambda fmt=fmt, target=target: audio.transcode(
                decoded[0], target, fmt, args.bitrate))
            verify_s = timed(lambda target=target: audio.load(target))
            size = target.stat().st_size
            print(f"{fmt + ' ' + args.bitrate + ': transcode':34} {encode_s:8.2f} "
                  f"{seconds / encode_s:12.0f} {size * per_hour / 1e6:12.1f}")
            print(f"{fmt + ': decode to verify length':34} {verify_s:8.2f} "
                  f"{seconds / verify_s:12.0f}")
            total = decode_s + encode_s + verify_s
            print(f"{fmt + ': whole post-processing':34} {total:8.2f} {seconds / total:12.0f}"
                  f"   (WAV/kept = {wav.stat().st_size / size:.0f}×)")
        peaks_s = timed(lambda: audio.peaks(decoded[0]))
        print(f"{'peaks (2000 buckets)':34} {peaks_s:8.2f} {seconds / peaks_s:12.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
