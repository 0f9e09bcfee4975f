#!/usr/bin/env python3
"""hark's model against transformers/PyTorch, in one run (`just bench-model`).

Alternates the two benchmarks ROUNDS times on the same checkpoint (this
machine is a VM whose speed drifts, so only ratios measured side by side
mean anything), then prints each metric's medians and the hark/PyTorch
ratio of the medians, as a Markdown table.

    python scripts/bench_model.py [MODEL_DIR] [--rounds 3]
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", nargs="?", default=str(ROOT / "target" / "clap-full-random"))
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    subprocess.run(["cargo", "bench", "-p", "hark-model", "--bench", "clap", "--no-run"], cwd=ROOT, check=True)
    hark, torch = [], []
    for r in range(args.rounds):
        out = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_reference.py"), args.model],
                             capture_output=True, text=True, check=True, cwd=ROOT)
        torch.append(json.loads(out.stdout.strip().splitlines()[-1]))
        out = subprocess.run(["cargo", "bench", "-q", "-p", "hark-model", "--bench", "clap", "--", args.model],
                             capture_output=True, text=True, check=True, cwd=ROOT)
        hark.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"round {r + 1}: hark {hark[-1]}\n         torch {torch[-1]}", file=sys.stderr)
    med = lambda runs, k: statistics.median(run[k] for run in runs)
    print("| metric | hark ms | PyTorch ms | hark / PyTorch |")
    print("| --- | ---: | ---: | ---: |")
    for key in ["mel_10s_ms", "audio_10s_ms", "audio_batch4_per_clip_ms", "text_8_tokens_ms", "text_16_tokens_ms"]:
        h, t = med(hark, key), med(torch, key)
        print(f"| {key} | {h:.1f} | {t:.1f} | {h / t:.2f} |")
    for key in ["audio_10s_linear_layers_ms", "audio_10s_window_attention_ms", "audio_10s_rest_ms",
                "load_to_first_text_ms", "first_audio_ms_incl_tower_load"]:
        print(f"| {key} | {med(hark, key):.1f} | | |")
    print(f"| load_ms (PyTorch from_pretrained) | | {med(torch, 'load_ms'):.1f} | |")


if __name__ == "__main__":
    main()
