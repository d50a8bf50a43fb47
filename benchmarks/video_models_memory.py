#!/usr/bin/env python3
"""Peak memory (and time) of one denoising step of each diffusers video family's denoiser, with and
without vidgen's memory features, on random weights built from the models' configs (no weights exist
on this machine): the tiny test components and full-size denoisers where they fit in 24 GiB.

    python benchmarks/video_models_memory.py [--sizes tiny full] [--families wan ltx cogvideox animatediff]
        [--frames 9 --height 256 --width 256]

Each case runs in a fresh process; "weights" is the resident memory after building the denoiser, "step"
the peak above that during one forward pass at the given video size (classifier-free guidance's batch
of 2). The memory features for a step on this CPU: the attention kernel (diffusers' dispatch for
transformer families: ``naive`` = the plain math kernel, ``sdpa`` = PyTorch's fused one; vidgen's
processors for U-Net families, ``chunked`` included) and, for U-Nets, feed-forward chunking.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

FULL = {  # the published configs of the smallest official checkpoint of each family (denoiser only)
    "wan": dict(patch_size=(1, 2, 2), num_attention_heads=12, attention_head_dim=128, in_channels=16, out_channels=16,
                text_dim=4096, freq_dim=256, ffn_dim=8960, num_layers=30, cross_attn_norm=True,
                qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=1024),  # Wan2.1-T2V-1.3B
    "ltx": dict(in_channels=128, out_channels=128, patch_size=1, patch_size_t=1, num_attention_heads=32,
                attention_head_dim=64, cross_attention_dim=2048, num_layers=28, caption_channels=4096,
                qk_norm="rms_norm_across_heads"),  # LTX-Video 0.9 (2B)
    "cogvideox": dict(num_attention_heads=30, attention_head_dim=64, in_channels=16, out_channels=16,
                      time_embed_dim=512, text_embed_dim=4096, num_layers=30, sample_width=90, sample_height=60,
                      sample_frames=49, patch_size=2, temporal_compression_ratio=4,
                      max_text_seq_length=226),  # CogVideoX-2b
    "animatediff": dict(),  # Stable Diffusion 1.5's U-Net with the default MotionAdapter (v1-5-2)
}
VARIANTS = {"wan": ["naive", "sdpa"], "ltx": ["naive", "sdpa"], "cogvideox": ["naive", "sdpa"],
            "animatediff": ["naive", "sdpa", "chunked", "chunked+ff"]}


def child(family: str, size: str, variant: str, frames: int, height: int, width: int) -> dict:
    import time
    from pathlib import Path

    import torch

    torch.manual_seed(0)

    def rss_mib() -> float:
        return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20

    if size == "tiny":
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
        import tempfile

        import tiny_video_models

        from vidgen.pipelines.video_models import VideoModel

        folder = getattr(tiny_video_models, family)(Path(tempfile.mkdtemp()))
        net = VideoModel.from_pretrained(folder).denoiser
    elif family == "wan":
        from diffusers import WanTransformer3DModel

        net = WanTransformer3DModel(**FULL["wan"])
    elif family == "ltx":
        from diffusers import LTXVideoTransformer3DModel

        net = LTXVideoTransformer3DModel(**FULL["ltx"])
    elif family == "cogvideox":
        from diffusers import CogVideoXTransformer3DModel

        net = CogVideoXTransformer3DModel(**FULL["cogvideox"])
    else:
        from diffusers import MotionAdapter, UNet2DConditionModel, UNetMotionModel

        net = UNetMotionModel.from_unet2d(UNet2DConditionModel(cross_attention_dim=768), MotionAdapter())
    net.eval().requires_grad_(False)
    params = sum(p.numel() for p in net.parameters())
    backend = variant.split("+")[0]
    if family == "animatediff":
        from vidgen.attention import set_attention_backend

        set_attention_backend(net, backend)
        if variant.endswith("+ff"):
            net.enable_forward_chunking(chunk_size=1, dim=1)
    else:
        net.set_attention_backend({"naive": "_native_math", "sdpa": "native"}[backend])
    cfg = net.config
    b = 2  # classifier-free guidance
    if family == "wan":
        lf, lh, lw = (frames - 1) // 4 + 1, height // 8, width // 8
        x = torch.randn(b, cfg.in_channels, lf, lh, lw)
        call = dict(hidden_states=x, timestep=torch.tensor([500.0] * b),
                    encoder_hidden_states=torch.randn(b, 512, cfg.text_dim), return_dict=False)
        tokens = lf * lh * lw // 4
    elif family == "ltx":
        s = 32  # LTX-Video's VAE: 32x in space, 8x in time
        lf, lh, lw = (frames - 1) // 8 + 1, height // s, width // s
        x = torch.randn(b, lf * lh * lw, cfg.in_channels)
        call = dict(hidden_states=x, encoder_hidden_states=torch.randn(b, 128, cfg.caption_channels),
                    timestep=torch.tensor([500] * b), encoder_attention_mask=torch.ones(b, 128),
                    num_frames=lf, height=lh, width=lw, rope_interpolation_scale=(8 / 25, s, s), return_dict=False)
        tokens = lf * lh * lw
    elif family == "cogvideox":
        lf, lh, lw = (frames - 1) // 4 + 1, height // 8, width // 8
        x = torch.randn(b, lf, cfg.in_channels, lh, lw)
        call = dict(hidden_states=x, encoder_hidden_states=torch.randn(b, cfg.max_text_seq_length,
                                                                       cfg.text_embed_dim),
                    timestep=torch.tensor([500] * b), return_dict=False)
        tokens = lf * lh * lw // 4
    else:
        s = 8 if size == "full" else 2
        x = torch.randn(b, cfg.in_channels, frames, height // s, width // s)
        call = dict(sample=x, timestep=torch.tensor([500] * b),
                    encoder_hidden_states=torch.randn(b * frames, 77, cfg.cross_attention_dim))
        tokens = frames * (height // s) * (width // s)
    base = rss_mib()
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the present
    t = time.perf_counter()
    with torch.no_grad():
        net(**call)
    seconds = time.perf_counter() - t
    status = Path("/proc/self/status").read_text()
    peak = int(next(ln for ln in status.splitlines() if ln.startswith("VmHWM")).split()[1]) / 1024
    return {"params_m": round(params / 1e6, 1), "weights_mib": round(base), "step_mib": round(max(0.0, peak - base)),
            "seconds": round(seconds, 2), "tokens": tokens}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", nargs="+", default=["tiny", "full"], choices=["tiny", "full"])
    ap.add_argument("--families", nargs="+", default=list(FULL), choices=list(FULL))
    ap.add_argument("--frames", type=int, default=9)
    ap.add_argument("--height", type=int, default=256)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--child", nargs=3, metavar=("FAMILY", "SIZE", "VARIANT"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(*a.child, a.frames, a.height, a.width)))
        return
    print(f"one denoising step, batch 2, {a.frames} frames of {a.width}x{a.height} (latents at each family's VAE "
          f"scale; the tiny AnimateDiff's VAE is 2x); peak resident memory above the built denoiser")
    for size in a.sizes:
        for fam in a.families:
            for variant in VARIANTS[fam]:
                r = subprocess.run([sys.executable, __file__, "--child", fam, size, variant, "--frames", str(a.frames),
                                    "--height", str(a.height), "--width", str(a.width)], capture_output=True, text=True)
                if r.returncode != 0:
                    print(f"{size:5s} {fam:12s} {variant:11s} failed: {r.stderr.strip().splitlines()[-1]}")
                    continue
                d = json.loads(r.stdout.strip().splitlines()[-1])
                print(f"{size:5s} {fam:12s} {variant:11s} {d['params_m']:8.1f} M params  weights {d['weights_mib']:6d} "
                      f"MiB  step +{d['step_mib']:6d} MiB  {d['seconds']:7.2f} s  ({d['tokens']} tokens)", flush=True)


if __name__ == "__main__":
    main()
