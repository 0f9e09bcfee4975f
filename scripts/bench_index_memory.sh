#!/usr/bin/env bash
# Peak memory of `hark index` on a library holding a two-hour 96 kHz stereo
# WAV (a sparse file: silence, no disk needed) and a few 10 s clips, against
# the peak of `hark embed` on one clip: the model alone, loaded and run.
# Usage: scripts/bench_index_memory.sh [MODEL_DIR]   (needs target/release/hark)
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-target/clap-full-random}
hark=target/release/hark
test -x "$hark" || { echo "build first: cargo build --release" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/lib"
python3 - "$tmp/lib" <<'PY'
import math, struct, sys, os
lib = sys.argv[1]
def header(rate, ch, data_len):
    return (b"RIFF" + struct.pack("<I", 36 + data_len) + b"WAVEfmt " +
            struct.pack("<IHHIIHH", 16, 1, ch, rate, rate * ch * 2, ch * 2, 16) +
            b"data" + struct.pack("<I", data_len))
frames = 2 * 3600 * 96000
with open(os.path.join(lib, "two hours.wav"), "wb") as f:
    f.write(header(96000, 2, frames * 4))
    f.truncate(44 + frames * 4)
for i in range(3):
    n = 441000
    data = b"".join(struct.pack("<h", int(8000 * math.sin(i + k * 0.05))) for k in range(n))
    with open(os.path.join(lib, f"clip {i}.wav"), "wb") as f:
        f.write(header(44100, 1, len(data)) + data)
PY
peak() { /usr/bin/time -f "%M %e" "$@" 2>&1 >/dev/null | tail -1; }
read -r model_kb model_s < <(peak "$hark" --model "$model" embed --audio "$tmp/lib/clip 0.wav")
read -r index_kb index_s < <(peak "$hark" --index "$tmp/index" --model "$model" index --quiet "$tmp/lib")
files=$(ls "$tmp/lib" | wc -l)
echo "{\"model_alone_peak_mb\": $((model_kb / 1024)), \"index_peak_mb\": $((index_kb / 1024)), \"index_minus_model_mb\": $(((index_kb - model_kb) / 1024)), \"index_seconds\": $index_s, \"files\": $files}"
