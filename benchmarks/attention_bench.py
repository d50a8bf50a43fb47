"""Peak memory and time of vidgen.attention's backends, and of one ModelScope-size U-Net step.

Every case runs in its own process, so its peak resident memory (ru_maxrss, minus the process's
resident size just before the case) is its own. Baselines are measured in the same run:

- attention: ``naive`` (materialised scores, what attention costs without a fused kernel) beside
  PyTorch ``sdpa`` and vidgen's ``chunked``, each compared with sdpa's output;
- U-Net: diffusers' defaults (its SDPA processor, no feed-forward chunking) beside vidgen's memory
  features (chunked attention, feed-forward chunking), on the same random weights and input.

    python benchmarks/attention_bench.py attention          # temporal 64 frames, spatial 64x64 latents
    python benchmarks/attention_bench.py unet               # ModelScope-size U-Net, 256x256x16, batch 2 (CFG)
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

ATTENTION_CASES = {
    # name: (batch x heads, sequence length, head dim, what it is)
    "temporal": (64 * 64 * 2, 64, 64, "temporal attention: 64 frames at each of 64x64 latent positions, batch 2"),
    "spatial": (2 * 8, 64 * 64, 40, "spatial attention over 64x64 latents, 8 heads, batch 2"),
}
# ModelScope text-to-video's U-Net (damo-vilab/text-to-video-ms-1.7b unet/config.json)
MODELSCOPE_UNET = dict(sample_size=32, in_channels=4, out_channels=4, block_out_channels=(320, 640, 1280, 1280),
                       layers_per_block=2, attention_head_dim=64, cross_attention_dim=1024, norm_num_groups=32,
                       down_block_types=("CrossAttnDownBlock3D",) * 3 + ("DownBlock3D",),
                       up_block_types=("UpBlock3D",) + ("CrossAttnUpBlock3D",) * 3)


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_attention_case(name: str, backend: str) -> dict:
    import torch

    from vidgen.attention import attention

    bh, length, dim, _ = ATTENTION_CASES[name]
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(1, bh, length, dim, generator=g) for _ in range(3))
    ref = attention(q, k, v, backend="sdpa") if backend != "sdpa" else None
    before = rss_mib()
    start_peak = peak_mib()
    t0 = time.perf_counter()
    out = attention(q, k, v, backend=backend, q_chunk=1024, k_chunk=4096)
    seconds = time.perf_counter() - t0
    extra = max(0.0, peak_mib() - max(before, start_peak))
    diff = 0.0 if ref is None else float((out - ref).abs().max())
    return {"seconds": seconds, "peak_extra_mib": extra, "max_abs_diff_vs_sdpa": diff}


def run_unet_case(features: bool) -> dict:
    import torch
    from diffusers import UNet3DConditionModel

    from vidgen.attention import set_attention_backend

    torch.manual_seed(0)
    unet = UNet3DConditionModel(**MODELSCOPE_UNET).eval()
    if features:
        set_attention_backend(unet, "chunked", q_chunk=1024, k_chunk=4096)
        unet.enable_forward_chunking(chunk_size=1, dim=1)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 4, 16, 32, 32, generator=g)  # 256x256 frames / 8, 16 frames, CFG batch
    text = torch.randn(2, 77, 1024, generator=g)
    params = sum(p.numel() for p in unet.parameters())
    base = rss_mib()
    t0 = time.perf_counter()
    with torch.no_grad():
        out = unet(x, 500, encoder_hidden_states=text).sample
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "peak_mib": peak_mib(), "weights_and_inputs_mib": base, "params": params,
            "checksum": float(out.double().abs().mean())}


def child(what: str, case: str) -> dict:
    r = subprocess.run([sys.executable, __file__, what, "--child", "--case", case], capture_output=True, text=True)
    if r.returncode != 0:
        return {"error": (r.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=["attention", "unet"])
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--case", default=None, help=argparse.SUPPRESS)
    a = p.parse_args()
    import torch

    if a.child:
        if a.what == "attention":
            name, backend = a.case.split(":")
            print(json.dumps(run_attention_case(name, backend)))
        else:
            print(json.dumps(run_unet_case(a.case == "features")))
        return
    print(f"command: python benchmarks/attention_bench.py {a.what}   (torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads)")
    if a.what == "attention":
        for name, (bh, length, dim, what) in ATTENTION_CASES.items():
            print(f"\n{name}: {what}; q, k, v each (1, {bh}, {length}, {dim}) fp32 = "
                  f"{bh * length * dim * 4 / 2**20:.0f} MiB")
            print(f"  {'backend':8s} {'seconds':>8s} {'peak extra MiB':>15s} {'max |diff| vs sdpa':>19s}")
            for backend in ("naive", "sdpa", "chunked"):
                r = child("attention", f"{name}:{backend}")
                if "error" in r:
                    print(f"  {backend:8s} failed: {r['error']}")
                    continue
                print(f"  {backend:8s} {r['seconds']:8.2f} {r['peak_extra_mib']:15.0f} {r['max_abs_diff_vs_sdpa']:19.2e}")
    else:
        print("ModelScope-size UNet3DConditionModel, random weights, one denoising step, input (2, 4, 16, 32, 32) = "
              "256x256x16 with classifier-free guidance")
        rows = {}
        for label, case in (("diffusers defaults (SDPA processor)", "default"),
                            ("vidgen memory features (chunked attention + FF chunking)", "features")):
            rows[label] = r = child("unet", case)
            if "error" in r:
                print(f"  {label}: failed: {r['error']}")
                continue
            print(f"  {label}: {r['seconds']:.1f} s, peak RSS {r['peak_mib'] / 1024:.2f} GiB "
                  f"(weights + inputs {r['weights_and_inputs_mib'] / 1024:.2f} GiB, {r['params'] / 1e9:.2f} B params), "
                  f"output mean |x| {r['checksum']:.6f}")


if __name__ == "__main__":
    main()
