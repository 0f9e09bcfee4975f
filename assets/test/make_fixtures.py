"""Regenerate the compressed test fixtures of hark-audio.

WAV and AIFF fixtures are written by the Rust tests themselves; FLAC, MP3 and
Ogg Vorbis need an encoder, so they are made once with this script and
committed. Each is a 0.5 s, 440 Hz sine at half full scale.

    python assets/test/make_fixtures.py   # needs numpy and soundfile (libsndfile >= 1.1)
"""

from pathlib import Path

import numpy as np
import soundfile as sf

HERE = Path(__file__).resolve().parent
DURATION_S = 0.5
FREQ_HZ = 440.0
AMPLITUDE = 0.5


def sine(rate: int, channels: int) -> np.ndarray:
    t = np.arange(int(rate * DURATION_S)) / rate
    mono = AMPLITUDE * np.sin(2 * np.pi * FREQ_HZ * t)
    return np.repeat(mono[:, None], channels, axis=1).astype(np.float32)


# (file name, rate, channels, format, subtype)
FIXTURES = [
    ("sine440_44k1_mono_16bit.flac", 44100, 1, "FLAC", "PCM_16"),
    ("sine440_44k1_mono.mp3", 44100, 1, "MP3", "MPEG_LAYER_III"),
    ("sine440_48k_stereo.ogg", 48000, 2, "OGG", "VORBIS"),
]

for name, rate, channels, fmt, subtype in FIXTURES:
    sf.write(HERE / name, sine(rate, channels), rate, format=fmt, subtype=subtype)
    print(f"{name}: {(HERE / name).stat().st_size} bytes")
