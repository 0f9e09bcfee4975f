#!/usr/bin/env python3
"""Make CLAP checkpoints and golden outputs for hark's tests and benchmarks.

    python scripts/make_test_model.py tiny  [--out tests/fixtures/clap-tiny]
    python scripts/make_test_model.py full  [--out target/clap-full-random]

`tiny` writes a small CLAP checkpoint in the Hugging Face layout that keeps
HTSAT's real geometry (256x256 spectrogram image, patch 4, window 8, depths
2-2-6-2) with narrow widths, non-trivial BatchNorm statistics and a small
byte-level BPE tokenizer, plus the golden values transformers computes for
it under hark's deterministic rules (see ../shared/docs/design.md):

- every clip takes the fusion path (`is_longer` true);
- clips of at most 480000 samples are repeat-padded (the reference's
  "repeatpad");
- for longer clips the three local crops start at the middle element of each
  of the three `np.array_split` ranges of valid starts (the reference picks at
  random).

The test inputs are generated from formulas that the Rust tests reproduce
(`synth`), except the stereo and 44.1 kHz files, which are written as WAV
files beside the checkpoint so the Rust side goes through its decoder.

`full` writes a checkpoint of the real size with random weights, for speed
benchmarks only (speed does not depend on the weights' values).

Requires: torch, transformers, tokenizers, numpy, soundfile, soxr (pip).
"""

import argparse
import json
import math
import os
import pathlib
import sys

import numpy as np
import soundfile
import soxr
import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers, processors
from transformers import (
    ClapAudioConfig,
    ClapConfig,
    ClapFeatureExtractor,
    ClapModel,
    ClapTextConfig,
    RobertaTokenizerFast,
)

SR = 48_000
MAX_LEN = 480_000
CHUNK_FRAMES = MAX_LEN // 480 + 1  # 1001

# Cases: name -> (number of samples at 48 kHz, source). Keep in sync with
# crates/model/tests/parity.rs.
SYNTH_CASES = {
    "s0_2": int(0.2 * SR),
    "s3": 3 * SR,
    "s10": 10 * SR,
    "s480200": 480_200,
    "s27": 27 * SR,
}

TEXTS = [
    "a dog barks",
    "distant thunder rumble over the hills at night",
    "wet footsteps on gravel",
    "x",
    "Café ambience, espresso machine — 🎧 loud!",
]

CORPUS = [
    "distant thunder rumble", "wet footsteps on gravel", "a dog barks twice",
    "door slam in a large hall", "rain on a tin roof", "car engine idle",
    "glass shatter", "crowd applause", "birds chirping in the morning forest",
    "wind howling through trees", "metal impact clang", "whoosh swish transition",
    "footsteps on wood floor", "cat meow", "ocean waves crashing on rocks",
    "helicopter flyby", "kick drum snare hi-hat", "explosion debris",
    "water drip cave reverb", "keyboard typing office", "thunder storm heavy rain",
    "laser zap sci-fi", "horse gallop on dirt", "fire crackling campfire",
    "café ambience espresso machine", "loud distant night hills over the",
]


def lcg_noise(n: int, seed: int) -> np.ndarray:
    """Uniform noise in [-1, 1) from a 32-bit LCG: bit-exact in any language."""
    out = np.empty(n, dtype=np.float64)
    state = seed & 0xFFFFFFFF
    # Vectorising an LCG needs jump-ahead; n is at most ~1.3M here, so loop in chunks of numpy ops.
    a, c = 1664525, 1013904223
    states = np.empty(n, dtype=np.uint64)
    for i in range(n):
        state = (a * state + c) & 0xFFFFFFFF
        states[i] = state
    out[:] = states.astype(np.float64) / 2147483648.0 - 1.0
    return out


def synth(n: int, seed: int) -> np.ndarray:
    """The test signal: a chirp with a slow tremolo plus a little noise, as f32.

    Mirrored by `synth` in crates/model/tests/common/mod.rs; computed in f64
    and rounded to f32 once, so libm differences vanish in the rounding.
    """
    t = np.arange(n, dtype=np.float64) / SR
    dur = max(n / SR, 1e-9)
    f0, f1 = 200.0, 4000.0
    phase = 2.0 * math.pi * (f0 * t + (f1 - f0) * t * t / (2.0 * dur))
    tremolo = 0.6 + 0.4 * np.sin(2.0 * math.pi * 0.7 * t)
    x = 0.4 * np.sin(phase) * tremolo + 0.05 * lcg_noise(n, seed)
    return x.astype(np.float32)


def hark_mel(fe: ClapFeatureExtractor, wave: np.ndarray) -> np.ndarray:
    """(4, 1001, 64) features under hark's deterministic rules."""
    wave = wave.astype(np.float64)
    if len(wave) > MAX_LEN:
        mel = fe._np_extract_fbank_features(wave, fe.mel_filters)
        total = mel.shape[0]
        if total == CHUNK_FRAMES:
            return np.stack([mel] * 4, axis=0)
        ranges = np.array_split(list(range(0, total - CHUNK_FRAMES + 1)), 3)
        starts = []
        for r in ranges:
            r = list(r) if len(r) else [0]
            starts.append(r[len(r) // 2])
        crops = [mel[s : s + CHUNK_FRAMES, :] for s in starts]
        shrink = torch.nn.functional.interpolate(
            torch.tensor(mel[None, None, :]), size=[CHUNK_FRAMES, 64], mode="bilinear", align_corners=False
        )[0][0].numpy()
        return np.stack([shrink] + crops, axis=0)
    if len(wave) < MAX_LEN:
        n_repeat = int(MAX_LEN / len(wave))
        wave = np.tile(wave, n_repeat)
        wave = np.pad(wave, (0, MAX_LEN - wave.shape[0]), mode="constant", constant_values=0)
    mel = fe._np_extract_fbank_features(wave, fe.mel_filters)
    return np.stack([mel] * 4, axis=0)


def make_tokenizer(out: pathlib.Path) -> RobertaTokenizerFast:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        min_frequency=1,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS * 3, trainer=trainer)
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), trim_offsets=True, add_prefix_space=False)
    fast = RobertaTokenizerFast(tokenizer_object=tok, model_max_length=512)
    assert fast.convert_tokens_to_ids(["<s>", "<pad>", "</s>", "<unk>"]) == [0, 1, 2, 3]
    fast.save_pretrained(out)
    return fast


def randomise(model: ClapModel, gen: torch.Generator) -> None:
    """Give every parameter and BatchNorm statistic a non-trivial value.

    Default init leaves biases, LayerNorms, BatchNorm statistics and relative
    position tables at 0 or 1, which would hide bugs in their use.
    """
    def randn(shape):
        return torch.randn(shape, generator=gen)

    with torch.no_grad():
        for name, m in model.named_modules():
            if isinstance(m, (torch.nn.LayerNorm, torch.nn.BatchNorm2d)):
                m.weight.copy_(1.0 + 0.1 * randn(m.weight.shape))
                m.bias.copy_(0.05 * randn(m.bias.shape))
            if isinstance(m, torch.nn.BatchNorm2d):
                n = m.num_features
                if name.endswith("audio_encoder.batch_norm"):
                    m.running_mean.copy_(-40.0 + 5.0 * randn(n))
                    m.running_var.copy_(300.0 * (0.5 + torch.rand(n, generator=gen)))
                else:
                    m.running_mean.copy_(0.2 * randn(n))
                    m.running_var.copy_(0.5 + torch.rand(n, generator=gen))
            elif isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)):
                fan_in = m.weight[0].numel()
                m.weight.copy_(randn(m.weight.shape) / math.sqrt(fan_in))
                if m.bias is not None:
                    m.bias.copy_(0.05 * randn(m.bias.shape))
            elif isinstance(m, torch.nn.Embedding):
                m.weight.copy_(0.5 * randn(m.weight.shape))
            if hasattr(m, "relative_position_bias_table"):
                t = m.relative_position_bias_table
                t.copy_(0.5 * randn(t.shape))
        model.logit_scale_a.fill_(math.log(10.0))
        model.logit_scale_t.fill_(math.log(10.0))


def tiny_config(vocab_size: int) -> ClapConfig:
    text = ClapTextConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=130,
        type_vocab_size=1,
        layer_norm_eps=1e-5,
        hidden_act="gelu",
    )
    audio = ClapAudioConfig(
        window_size=8,
        num_mel_bins=64,
        spec_size=256,
        patch_size=4,
        patch_stride=[4, 4],
        depths=[2, 2, 6, 2],
        num_attention_heads=[1, 2, 4, 8],
        patch_embeds_hidden_size=16,
        hidden_size=128,
        enable_fusion=True,
        fusion_type="aff_2d",
        aff_block_r=4,
        mlp_ratio=4.0,
        layer_norm_eps=1e-5,
        hidden_act="gelu",
    )
    return ClapConfig(text_config=text.to_dict(), audio_config=audio.to_dict(), projection_dim=32, projection_hidden_act="relu")


def save_model_dir(model: ClapModel, fe: ClapFeatureExtractor, out: pathlib.Path) -> None:
    model.save_pretrained(out, safe_serialization=True)
    fe.save_pretrained(out)


def feature_extractor() -> ClapFeatureExtractor:
    return ClapFeatureExtractor(frequency_min=50, frequency_max=14_000, truncation="fusion", padding="repeatpad")


def audio_with_intermediates(model: ClapModel, mel: np.ndarray, record: bool):
    """Audio embedding of one clip, and the block outputs when `record`."""
    feats = torch.tensor(mel[None].astype(np.float32))
    got = {}
    hooks = []
    enc = model.audio_model.audio_encoder
    if record:
        hooks.append(enc.patch_embed.register_forward_pre_hook(lambda m, a: got.__setitem__("image", a[0].clone())))
        hooks.append(enc.patch_embed.register_forward_hook(lambda m, a, o: got.__setitem__("patch_embed", o.clone())))
        for i, layer in enumerate(enc.layers):
            hooks.append(layer.register_forward_hook(lambda m, a, o, i=i: got.__setitem__(f"stage{i}", o[0].clone())))
        hooks.append(enc.norm.register_forward_hook(lambda m, a, o: got.__setitem__("final_norm", o.clone())))
    with torch.no_grad():
        out = model.audio_model(input_features=feats, is_longer=torch.tensor([[True]]))
        emb = torch.nn.functional.normalize(model.audio_projection(out.pooler_output), dim=-1)
    for h in hooks:
        h.remove()
    if record:
        got["pooled"] = out.pooler_output.clone()
    return emb[0], got


def tiny(out: pathlib.Path) -> None:
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1234)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = make_tokenizer(out)
    config = tiny_config(len(tokenizer))
    model = ClapModel(config).eval()
    randomise(model, gen)
    fe = feature_extractor()
    save_model_dir(model, fe, out)

    golden = {}
    meta = {"cases": {}, "texts": TEXTS}

    for seed, (name, n) in enumerate(SYNTH_CASES.items(), start=1):
        wave = synth(n, seed)
        mel = hark_mel(fe, wave)
        emb, inter = audio_with_intermediates(model, mel, record=name in ("s27", "s3"))
        # Clips that are not cropped stack 4 copies of one mel: store one.
        copies = all(np.array_equal(mel[0], mel[i]) for i in range(1, 4))
        golden[f"{name}.mel"] = torch.tensor(mel[0:1] if copies else mel).float()
        golden[f"{name}.embedding"] = emb
        for k, v in inter.items():
            if k == "image" and name != "s27":
                continue
            golden[f"{name}.{k}"] = v[0].contiguous()
        meta["cases"][name] = {"samples": n, "seed": seed}

    # Files that go through hark's decoder.
    gen_np = np.random.default_rng(7)
    t = np.arange(int(2.5 * SR)) / SR
    left = 0.5 * np.sin(2 * np.pi * 330.0 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 1.3 * t))
    right = 0.3 * np.sign(np.sin(2 * np.pi * 110.0 * t)) + 0.05 * gen_np.standard_normal(t.size)
    stereo = np.stack([left, right], axis=1)
    soundfile.write(out / "stereo_48k.wav", stereo, SR, subtype="PCM_16")
    data, sr = soundfile.read(out / "stereo_48k.wav", dtype="float64")
    assert sr == SR
    mono = data.mean(axis=1)
    emb, _ = audio_with_intermediates(model, hark_mel(fe, mono), record=False)
    golden["stereo_48k.embedding"] = emb

    t = np.arange(int(3.0 * 44_100)) / 44_100
    f = 250.0 + 1500.0 * t / 3.0
    x = 0.5 * np.sin(2 * np.pi * np.cumsum(f) / 44_100) + 0.05 * gen_np.standard_normal(t.size)
    soundfile.write(out / "mono_44k1.wav", x, 44_100, subtype="PCM_16")
    data, sr = soundfile.read(out / "mono_44k1.wav", dtype="float64")
    assert sr == 44_100
    resampled = soxr.resample(data, 44_100, SR, quality="VHQ")
    emb, _ = audio_with_intermediates(model, hark_mel(fe, resampled), record=False)
    golden["mono_44k1.embedding"] = emb

    # Texts: one padded batch, as a search for several queries would make.
    enc = tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        text_out = model.text_model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
        temb = torch.nn.functional.normalize(model.text_projection(text_out.pooler_output), dim=-1)
    golden["text.embedding"] = temb
    golden["text.pooled"] = text_out.pooler_output
    meta["input_ids"] = enc["input_ids"].tolist()
    meta["attention_mask"] = enc["attention_mask"].tolist()

    save_file({k: v.contiguous().float() for k, v in golden.items()}, out / "golden.safetensors")
    # The same weights as a PyTorch pickle in half precision (small; tests the
    # pytorch_model.bin path and the conversion of f16 checkpoints).
    pth = out.parent / "clap-tiny-pth"
    pth.mkdir(exist_ok=True)
    torch.save({k: (v.half() if v.is_floating_point() else v) for k, v in model.state_dict().items()}, pth / "pytorch_model.bin")
    (out / "golden.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {out}")


def full(out: pathlib.Path) -> None:
    torch.manual_seed(0)
    out.mkdir(parents=True, exist_ok=True)
    make_tokenizer(out)
    config = ClapConfig(
        text_config=ClapTextConfig().to_dict(),
        audio_config=ClapAudioConfig(enable_fusion=True, fusion_type="aff_2d", patch_stride=[4, 4]).to_dict(),
    )
    model = ClapModel(config).eval()
    save_model_dir(model, feature_extractor(), out)
    print(f"wrote {out}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=["tiny", "full"])
    ap.add_argument("--out", type=pathlib.Path)
    args = ap.parse_args()
    root = pathlib.Path(__file__).resolve().parent.parent
    if args.kind == "tiny":
        tiny(args.out or root / "tests" / "fixtures" / "clap-tiny")
    else:
        full(args.out or root / "target" / "clap-full-random")
    return 0


if __name__ == "__main__":
    sys.exit(main())
