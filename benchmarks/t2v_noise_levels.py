"""How well a text-to-video model's denoiser predicts the noise at each noise level, against the
prediction of a model that knows only the latents' mean (the least a trained denoiser should beat).

    python benchmarks/t2v_noise_levels.py MODEL_DIR [--clips 8] [--seed 5] [--textured 0]

Clips of training combinations are rendered, encoded by the model's VAE and noised at each timestep
with the same noise for both predictions. Sampling starts at the highest timesteps: a model worse
than the mean there draws noise whatever the prompt says (benchmarks/RESULTS.md, session 18).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--clips", type=int, default=8)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--textured", type=float, default=0.5, help="share of clips over a textured background")
    ap.add_argument("--spread", type=float, default=1.0, help="render_clip's spread (the model's training data's)")
    ap.add_argument("--timesteps", type=int, nargs="+", default=[50, 200, 400, 600, 800, 950])
    a = ap.parse_args()

    from vidgen.models.t2v import encode_clips
    from vidgen.pipelines.text_to_video import TextToVideoPipeline
    from vidgen.training.palette import COLORS
    from vidgen.training.shapes import caption, render_clip, training_combinations

    pipe = TextToVideoPipeline.from_pretrained(a.model)
    size = pipe.unet.config.sample_size * pipe.vae_scale_factor
    combos = training_combinations(list(COLORS))
    rng = np.random.default_rng(a.seed)
    chosen = [combos[i] for i in rng.integers(len(combos), size=a.clips)]
    clips = [torch.from_numpy(render_clip(rng, *c, 16, size, a.textured, a.spread)).permute(3, 0, 1, 2).float() / 127.5 - 1 for c in chosen]
    ids = pipe.tokenizer([caption(*c) for c in chosen], padding="max_length",
                         max_length=pipe.tokenizer.model_max_length, return_tensors="pt").input_ids
    print(f"{a.model}: {a.clips} clips of training combinations, noise MSE per timestep")
    print(f"{'t':>5s} {'model':>8s} {'mean only':>10s}")
    with torch.no_grad():
        lat = encode_clips(pipe.vae, torch.stack(clips))
        text = pipe.text_encoder(ids)[0]
        mean = lat.mean(dim=(0, 2, 3, 4), keepdim=True)
        gen = torch.Generator().manual_seed(0)
        for t in a.timesteps:
            ab = pipe.scheduler.alphas_cumprod[t]
            noise = torch.randn(lat.shape, generator=gen)
            noisy = ab.sqrt() * lat + (1 - ab).sqrt() * noise
            pred = pipe.unet(noisy, torch.full((a.clips,), t), encoder_hidden_states=text).sample
            if pipe.scheduler.config.prediction_type == "v_prediction":  # the noise it implies, to compare alike
                pred = ab.sqrt() * pred + (1 - ab).sqrt() * noisy
            mean_only = (noisy - ab.sqrt() * mean) / (1 - ab).sqrt()
            print(f"{t:5d} {float((pred - noise).pow(2).mean()):8.4f} {float((mean_only - noise).pow(2).mean()):10.4f}")


if __name__ == "__main__":
    main()
