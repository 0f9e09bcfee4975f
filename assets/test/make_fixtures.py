"""Regenerate the compressed and tagged test fixtures of hark-audio.

WAV and AIFF fixtures are written by the Rust tests themselves; FLAC, MP3,
Ogg Vorbis and AAC need an encoder, and tags written by an independent tagger
(mutagen) check hark's readers against more than its own writer, so these
are made once with this script and committed.

- sine440_*: 0.5 s, 440 Hz sine at half full scale, untagged (decoding tests).
- tagged_*: 0.1 s of the same sine, carrying the tags in TAGS below in each
  format's native tag type (metadata tests; keep them in step with
  crates/audio/tests/metadata.rs).

    python assets/test/make_fixtures.py
    # needs numpy, soundfile (libsndfile >= 1.1), mutagen, and av (PyAV, for AAC in MP4)
"""

from pathlib import Path

import av
import mutagen.flac
import mutagen.id3 as id3
import mutagen.mp4
import mutagen.oggvorbis
import mutagen.wave
import numpy as np
import soundfile as sf

HERE = Path(__file__).resolve().parent
FREQ_HZ = 440.0
AMPLITUDE = 0.5


def sine(rate: int, channels: int, duration_s: float) -> np.ndarray:
    t = np.arange(int(rate * duration_s)) / rate
    mono = AMPLITUDE * np.sin(2 * np.pi * FREQ_HZ * t)
    return np.repeat(mono[:, None], channels, axis=1).astype(np.float32)


# (file name, rate, channels, format, subtype)
UNTAGGED = [
    ("sine440_44k1_mono_16bit.flac", 44100, 1, "FLAC", "PCM_16"),
    ("sine440_44k1_mono.mp3", 44100, 1, "MP3", "MPEG_LAYER_III"),
    ("sine440_48k_stereo.ogg", 48000, 2, "OGG", "VORBIS"),
]

# The tag values every tagged fixture carries, in its own vocabulary.
TITLE = "Door Creak"
ARTIST = "Jane Doe"
ALBUM = "Doors Vol. 1"
COMMENT = "Old wooden door, slow creak – close"
CATEGORY = "DOORS"
SUBCATEGORY = "WOOD"
CATID = "DOORWood"
DATE = "2024-05-01"


def tag_id3(tags: id3.ID3) -> None:
    tags.add(id3.TIT2(encoding=3, text=TITLE))
    tags.add(id3.TPE1(encoding=3, text=ARTIST))
    tags.add(id3.TALB(encoding=3, text=ALBUM))
    tags.add(id3.TDRC(encoding=3, text=DATE))
    tags.add(id3.COMM(encoding=3, lang="eng", desc="", text=COMMENT))
    tags.add(id3.TXXX(encoding=3, desc="CATEGORY", text=CATEGORY))
    tags.add(id3.TXXX(encoding=3, desc="SUBCATEGORY", text=SUBCATEGORY))
    tags.add(id3.TXXX(encoding=3, desc="CATID", text=CATID))
    tags.add(id3.TXXX(encoding=3, desc="Foo", text="Bar"))


def tag_vorbis(tags) -> None:
    tags["TITLE"] = TITLE
    tags["ARTIST"] = ARTIST
    tags["ALBUM"] = ALBUM
    tags["DATE"] = DATE
    tags["COMMENT"] = COMMENT
    tags["CATEGORY"] = CATEGORY
    tags["SUBCATEGORY"] = SUBCATEGORY
    tags["CATID"] = CATID
    tags["Foo"] = "Bar"


def tagged_mp3(path: Path) -> None:
    sf.write(path, sine(44100, 1, 0.1), 44100, format="MP3", subtype="MPEG_LAYER_III")
    tags = id3.ID3()
    tag_id3(tags)
    tags.save(path, v2_version=4)


def tagged_flac(path: Path) -> None:
    sf.write(path, sine(44100, 1, 0.1), 44100, format="FLAC", subtype="PCM_16")
    audio = mutagen.flac.FLAC(path)
    audio.delete()
    tag_vorbis(audio)
    audio.save()


def tagged_ogg(path: Path) -> None:
    sf.write(path, sine(48000, 1, 0.1), 48000, format="OGG", subtype="VORBIS")
    audio = mutagen.oggvorbis.OggVorbis(path)
    audio.delete()
    tag_vorbis(audio)
    audio.save()


def tagged_wav(path: Path) -> None:
    """A 16-bit WAV with an `id3 ` chunk, as mutagen and many taggers write it."""
    sf.write(path, sine(8000, 1, 0.1), 8000, format="WAV", subtype="PCM_16")
    audio = mutagen.wave.WAVE(path)
    audio.add_tags()
    tag_id3(audio.tags)
    audio.save()


def tagged_m4a(path: Path) -> None:
    rate = 44100
    with av.open(str(path), "w", format="ipod") as container:
        stream = container.add_stream("aac", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(sine(rate, 1, 0.1).T.copy(), format="flt", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    audio = mutagen.mp4.MP4(path)
    audio.delete()
    audio["\xa9nam"] = TITLE
    audio["\xa9ART"] = ARTIST
    audio["\xa9alb"] = ALBUM
    audio["\xa9day"] = DATE
    audio["\xa9cmt"] = COMMENT
    audio["----:com.apple.iTunes:CATEGORY"] = mutagen.mp4.MP4FreeForm(CATEGORY.encode())
    audio["----:com.apple.iTunes:Foo"] = mutagen.mp4.MP4FreeForm(b"Bar")
    audio.save()


TAGGED = [
    ("tagged_id3v24.mp3", tagged_mp3),
    ("tagged_vorbis.flac", tagged_flac),
    ("tagged_vorbis.ogg", tagged_ogg),
    ("tagged_id3.wav", tagged_wav),
    ("tagged_ilst.m4a", tagged_m4a),
]


def main() -> None:
    for name, rate, channels, fmt, subtype in UNTAGGED:
        sf.write(HERE / name, sine(rate, channels, 0.5), rate, format=fmt, subtype=subtype)
        print(f"{name}: {(HERE / name).stat().st_size} bytes")
    for name, make in TAGGED:
        make(HERE / name)
        print(f"{name}: {(HERE / name).stat().st_size} bytes")


if __name__ == "__main__":
    main()
