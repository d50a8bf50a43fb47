"""Does a text-to-video model's VAE keep what prompts ask for? Colour, shape and direction read by the
shape detector (vidgen.training.shapes.detect) on clips rendered for all 60 template prompts, before and
after a VAE round trip (encode, mode, decode). A denoiser cannot produce what its VAE cannot decode.

    python benchmarks/t2v_vae_shapes.py [VAE_FOLDER ...]     # default: the shipped model's vae/
    python benchmarks/t2v_vae_shapes.py --textured 0 VAE     # plain backgrounds only
"""

from __future__ import annotations

import argparse
import itertools

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from t2v_eval import score  # noqa: E402


def main() -> None:
    from vidgen.models.vae import ShapeVAE
    from vidgen.training.shapes import DIRECTIONS, SHAPES, render_clip
    from vidgen.training.palette import COLORS
    from vidgen.weights import T2V, shipped

    ap = argparse.ArgumentParser()
    ap.add_argument("vae", nargs="*", default=[str(shipped(T2V) / "vae")])
    ap.add_argument("--seeds", type=int, default=2, help="clips per prompt")
    ap.add_argument("--textured", type=float, default=0.5,
                    help="share of clips over a textured background (render_clip's; the training data's default)")
    ap.add_argument("--spread", type=float, default=1.0, help="render_clip's spread (1: paths anywhere in frame)")
    a = ap.parse_args()
    combos = list(itertools.product(COLORS, SHAPES, DIRECTIONS))
    rng = np.random.default_rng(0)
    clips = [(render_clip(rng, *c, frames=16, size=64, textured=a.textured, spread=a.spread), c) for c in combos for _ in range(a.seeds)]

    def rate(videos) -> dict[str, float]:  # t2v_eval's scoring, in percent
        shares = score([v for v, _ in videos], [c for _, c in videos])
        return {k: round(100 * shares[k], 1) for k in ("color", "shape", "direction")}

    print(f"{len(combos)} prompts x {a.seeds} clips; % read back as the prompt says")
    print(f"{'rendered clips':40s} {rate(clips)}")
    for folder in a.vae:
        vae = ShapeVAE.from_pretrained(folder).eval()
        out = []
        for clip, c in clips:
            x = torch.from_numpy(clip).float().permute(0, 3, 1, 2) / 127.5 - 1
            with torch.no_grad():
                rec = vae.decode(vae.encode(x).latent_dist.mode()).sample
            out.append((((rec.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy(), c))
        print(f"{'VAE round trip: ' + folder[-24:]:40s} {rate(out)}")


if __name__ == "__main__":
    main()
