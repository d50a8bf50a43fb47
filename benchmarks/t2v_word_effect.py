"""How far one caption word moves a text-to-video model: in its text encoder and in its denoiser.

1. Text encoder: per token, the distance between the encodings of a caption and the same caption with
   its colour, shape or direction swapped, and the distance of their means over the tokens (what
   ``--temporal-text`` projects).
2. Denoiser: from the same noise, the mean squared difference of the clean latents the U-Net's output
   points to (``TextToVideoPipeline.predicted_clean``) for the two captions, per timestep; the empty
   caption too. A word the U-Net uses moves them; a word it ignores does not.
3. Motion: on rendered clips noised at each timestep, the mean squared error of the frame-to-frame
   differences of the predicted clean latents, against that of predicting no motion at all.

    python benchmarks/t2v_word_effect.py runs/t2v_s20/model [--spread 0.3]
"""

from __future__ import annotations

import argparse
import shlex
import sys

import numpy as np
import torch

BASE = "a red square moving left"
SWAPS = {"direction": "a red square moving right", "shape": "a red circle moving left",
         "colour": "a blue square moving left", "empty prompt": ""}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", nargs="?", default=None, help="model folder (default: vidgen's shipped model)")
    ap.add_argument("--timesteps", type=int, nargs="+", default=[990, 900, 700, 500, 300, 100])
    ap.add_argument("--clips", type=int, default=8, help="rendered clips for the motion figures")
    ap.add_argument("--spread", type=float, default=1.0, help="render_clip's spread for those clips")
    a = ap.parse_args(argv)
    print("command: python " + " ".join(shlex.quote(x) for x in sys.argv))

    from vidgen.models.t2v import encode_clips
    from vidgen.pipelines.text_to_video import TextToVideoPipeline
    from vidgen.training.shapes import caption, render_clip, training_combinations

    pipe = TextToVideoPipeline.from_pretrained(a.model)

    def encode(texts: list[str]) -> torch.Tensor:
        ids = pipe.tokenizer(texts, padding="max_length", max_length=pipe.tokenizer.model_max_length,
                             truncation=True, return_tensors="pt").input_ids
        return pipe.text_encoder(ids)[0]

    with torch.no_grad():
        base = encode([BASE])[0]
        print(f"text encoder, against {BASE!r}: largest per-token distance, distance of the token means")
        for word, text in SWAPS.items():
            e = encode([text])[0]
            token, mean = float((e - base).norm(dim=1).max()), float((e.mean(0) - base.mean(0)).norm())
            print(f"  {word:13s} {token:8.3f} {mean:8.3f}")

        size = pipe.unet.config.sample_size
        g = torch.Generator().manual_seed(0)
        noise = torch.randn(4, pipe.unet.config.in_channels, 16, size, size, generator=g)
        print("denoiser, mean squared difference of predicted clean latents from the same noise:")
        print(f"  {'t':>5s} " + " ".join(f"{w:>13s}" for w in SWAPS))
        for t in a.timesteps:
            ts = torch.full((len(noise),), t)

            def clean(text: str) -> torch.Tensor:
                out = pipe.unet(noise, ts, encoder_hidden_states=encode([text] * len(noise))).sample
                return pipe.predicted_clean(noise, out, t)

            ref = clean(BASE)
            print(f"  {t:5d} " + " ".join(f"{float((clean(x) - ref).pow(2).mean()):13.5f}" for x in SWAPS.values()))

        combos = training_combinations()
        rng = np.random.default_rng(0)
        chosen = [combos[i] for i in rng.integers(len(combos), size=a.clips)]
        clips = torch.stack([torch.from_numpy(render_clip(rng, *c, 16, size * pipe.vae_scale_factor, 0.0, a.spread))
                             .permute(3, 0, 1, 2).float() / 127.5 - 1 for c in chosen])
        lat = encode_clips(pipe.vae, clips)
        cond = encode([caption(*c) for c in chosen])
        still = float(lat.diff(dim=2).pow(2).mean())
        print(f"motion: error of predicted frame-to-frame differences ({a.clips} plain clips; no motion: {still:.4f})")
        for t in a.timesteps:
            ts = torch.full((len(lat),), t)
            noisy = pipe.scheduler.add_noise(lat, torch.randn(lat.shape, generator=g), ts)
            x0 = pipe.predicted_clean(noisy, pipe.unet(noisy, ts, encoder_hidden_states=cond).sample, t)
            print(f"  t {t:4d}: {float((x0.diff(dim=2) - lat.diff(dim=2)).pow(2).mean()):.4f}")


if __name__ == "__main__":
    main()
