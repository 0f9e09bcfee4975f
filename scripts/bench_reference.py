#!/usr/bin/env python3
"""Time transformers/PyTorch on a CLAP checkpoint, as the reference for hark's
model benchmark (`just bench-model`). Prints one JSON object of median
milliseconds.

    python scripts/bench_reference.py [MODEL_DIR] [--threads 2]
"""

import argparse
import json
import statistics
import time

import numpy as np
import torch
from transformers import ClapFeatureExtractor, ClapModel


def median_ms(fn, warmup, runs):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000.0)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", nargs="?", default="target/clap-full-random")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    model = ClapModel.from_pretrained(args.model).eval()
    load_ms = (time.perf_counter() - t0) * 1000.0
    fe = ClapFeatureExtractor.from_pretrained(args.model)
    rng = np.random.default_rng(0)
    wave = (0.1 * rng.standard_normal(480_000)).astype(np.float64)
    out = {"threads": args.threads, "load_ms": load_ms}
    out["mel_10s_ms"] = median_ms(lambda: fe._np_extract_fbank_features(wave, fe.mel_filters), 2, 10)
    feats = torch.tensor(np.stack([fe._np_extract_fbank_features(wave, fe.mel_filters)] * 4)[None].astype(np.float32))
    longer = torch.tensor([[True]])
    with torch.inference_mode():
        out["audio_10s_ms"] = median_ms(lambda: model.get_audio_features(input_features=feats, is_longer=longer), 2, 10)
        batch = feats.repeat(4, 1, 1, 1)
        out["audio_batch4_per_clip_ms"] = median_ms(
            lambda: model.get_audio_features(input_features=batch, is_longer=longer.repeat(4, 1)), 1, 5
        ) / 4
        for n in (8, 16):
            ids = torch.tensor([[0] + list(range(100, 100 + n - 2)) + [2]])
            mask = torch.ones_like(ids)
            out[f"text_{n}_tokens_ms"] = median_ms(lambda: model.get_text_features(input_ids=ids, attention_mask=mask), 3, 20)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
