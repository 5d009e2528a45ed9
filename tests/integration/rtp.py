"""The caller's media as a real phone sends it: one RTP stream, one SSRC, sequence numbers
and timestamps that never go back, audio every 20 ms and RFC 4733 key presses in between.

SIPp plays media from pcap files. Its stock files each start their own numbering, so
replaying them (a second press of the same digit, speech after a key) makes the stream
jump back; Asterisk then takes presses for retransmissions and drops audio it thinks it
already had. Here each step of a call gets its own file, cut from one continuous stream.
"""

from __future__ import annotations

import itertools
import struct
from pathlib import Path

SPEECH_SOURCE = Path("/usr/share/sip-tester/g711a.pcap")  # 7 s of A-law speech
EVENTS = {**{str(d): d for d in range(10)}, "*": 10, "#": 11}
PCMA, TELEPHONE_EVENT = 8, 101
SSRC = 0x4C0A11E5
FRAME = 160  # samples in 20 ms at 8 kHz
PRESS_PACKETS = 8  # a 160 ms press
ALAW_SILENCE = b"\xd5" * FRAME


def _speech_frames() -> list[bytes]:
    """The speech, cut again into 20 ms frames (the source sends 30 ms packets)."""
    data, offset, samples = SPEECH_SOURCE.read_bytes(), 24, b""
    while offset < len(data):
        length = struct.unpack("<I", data[offset + 8:offset + 12])[0]
        samples += data[offset + 16 + 14 + 20 + 8 + 12:offset + 16 + length]
        offset += 16 + length
    return [samples[i:i + FRAME] for i in range(0, len(samples) - FRAME + 1, FRAME)]


class CallerMedia:
    """Cuts one continuous RTP stream into a pcap file per step of a call."""

    def __init__(self, folder: Path, prefix: str) -> None:
        self.folder, self.prefix = folder, prefix
        self.seq, self.timestamp, self.files = 1000, 160000, 0
        self._speech = itertools.cycle(_speech_frames())

    def speech(self, seconds: float) -> Path:
        return self._audio(seconds, lambda: next(self._speech))

    def quiet(self, seconds: float) -> Path:
        return self._audio(seconds, lambda: ALAW_SILENCE)

    def press(self, key: str) -> Path:
        packets = []
        for n in range(PRESS_PACKETS):
            end = n == PRESS_PACKETS - 1
            payload = struct.pack("!BBH", EVENTS[key], (0x80 if end else 0) | 10, (n + 1) * FRAME)
            header = self._header(TELEPHONE_EVENT, self.timestamp, marker=n == 0)
            packets += [(n * 0.02, header + payload)] * (3 if end else 1)
            self.seq += 1
        self.timestamp += PRESS_PACKETS * FRAME
        return self._write(packets)

    def _audio(self, seconds: float, frame: object) -> Path:
        packets = []
        for n in range(max(1, round(seconds / 0.02))):
            packets.append((n * 0.02, self._header(PCMA, self.timestamp) + frame()))  # type: ignore[operator]
            self.seq += 1
            self.timestamp += FRAME
        return self._write(packets)

    def _header(self, payload_type: int, timestamp: int, marker: bool = False) -> bytes:
        return struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | payload_type,
                           self.seq & 0xFFFF, timestamp & 0xFFFFFFFF, SSRC)

    def _write(self, packets: list[tuple[float, bytes]]) -> Path:
        self.files += 1
        path = self.folder / f"{self.prefix}-{self.files}.pcap"
        path.write_bytes(_pcap(packets))
        return path


def _pcap(packets: list[tuple[float, bytes]]) -> bytes:
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for at, rtp in packets:
        frame = _ethernet(_ipv4(_udp(rtp)))
        seconds, micros = divmod(round(at * 1_000_000), 1_000_000)
        out.append(struct.pack("<IIII", seconds, micros, len(frame), len(frame)) + frame)
    return b"".join(out)


def _udp(payload: bytes) -> bytes:
    return struct.pack("!HHHH", 49176, 10000, 8 + len(payload), 0) + payload


def _ipv4(payload: bytes) -> bytes:
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0, 64, 17, 0,
                         bytes([192, 168, 0, 3]), bytes([192, 168, 0, 2]))
    return header[:10] + struct.pack("!H", _checksum(header)) + header[12:] + payload


def _checksum(data: bytes) -> int:
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _ethernet(payload: bytes) -> bytes:
    return b"\x00" * 12 + b"\x08\x00" + payload
