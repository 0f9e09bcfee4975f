"""Regenerate the fixtures of the formats real sound libraries hold beyond
the common ones: Sony Wave64, Sun AU, Ogg Opus, WavPack, GSM 6.10 in WAV,
and WAV files whose data chunk holds an Ogg Vorbis or MP3 stream (format
tags 0x674F and 0x0055, as LMMS ships some of its samples).

Each is 0.5 s of a 440 Hz sine at half full scale, like the sine440_*
fixtures of make_fixtures.py, so the decoding tests check them alike.

    python3 assets/test/make_format_fixtures.py
    # needs sox (with libsox-fmt-all), opusenc (opus-tools), oggenc
    # (vorbis-tools), lame and wavpack on PATH
"""

import struct
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SECONDS = "0.5"


def run(*args: str) -> None:
    subprocess.run(args, check=True)


def tone(path: Path, rate: int, channels: int, *encoding: str) -> None:
    """The sine with sox, undithered, in the format `path`'s name and
    `encoding` (sox output options) say."""
    run("sox", "-D", "-n", "-r", str(rate), "-c", str(channels), *encoding,
        str(path), "synth", SECONDS, "sine", "440", "vol", "0.5")


def chunk(cid: bytes, body: bytes) -> bytes:
    return cid + struct.pack("<I", len(body)) + body + (b"\0" if len(body) % 2 else b"")


def wrapped_wav(stream: bytes, tag: int, rate: int, channels: int, frames: int) -> bytes:
    """A RIFF/WAVE file with `stream` (a whole Ogg or MP3 stream) as its data
    chunk, laid out as LMMS's files are: a WAVEFORMATEX with `tag`, 16 bits
    and 8 bytes of codec-specific extra data, then a `fact` chunk with the
    frame count."""
    fmt = struct.pack("<HHIIHHH", tag, channels, rate, 16000, 1, 16, 8) + bytes(8)
    body = b"WAVE" + chunk(b"fmt ", fmt) + chunk(b"fact", struct.pack("<I", frames))
    body += chunk(b"data", stream)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def main() -> None:
    tone(HERE / "sine440_22k05_stereo.w64", 22050, 2, "-b", "16")
    tone(HERE / "sine440_16k_mono.au", 16000, 1, "-b", "16")
    tone(HERE / "sine440_8k_mono_ulaw.au", 8000, 1, "-e", "mu-law")
    tone(HERE / "sine440_8k_mono_gsm.wav", 8000, 1, "-e", "gsm-full-rate")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        tone(tmp / "48k.wav", 48000, 2, "-b", "16")
        run("opusenc", "--quiet", "--bitrate", "64", str(tmp / "48k.wav"),
            str(HERE / "sine440_48k_stereo.opus"))
        tone(tmp / "44k1.wav", 44100, 1, "-b", "16")
        run("wavpack", "-q", "-y", str(tmp / "44k1.wav"),
            "-o", str(HERE / "sine440_44k1_mono.wv"))
        run("oggenc", "--quiet", "-q", "6", str(tmp / "44k1.wav"), "-o", str(tmp / "v.ogg"))
        (HERE / "sine440_44k1_mono_vorbis.wav").write_bytes(
            wrapped_wav((tmp / "v.ogg").read_bytes(), 0x674F, 44100, 1, 22050))
        run("lame", "--quiet", "-b", "128", str(tmp / "44k1.wav"), str(tmp / "m.mp3"))
        (HERE / "sine440_44k1_mono_mp3.wav").write_bytes(
            wrapped_wav((tmp / "m.mp3").read_bytes(), 0x0055, 44100, 1, 22050))


if __name__ == "__main__":
    main()
