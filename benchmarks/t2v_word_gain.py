"""How much each caption word lowers a text-to-video model's noise-prediction loss, per noise level.

Renders clips of the training distribution, noises their latents at fixed timesteps, and compares
the U-Net's loss with the right caption against the same caption with the colour, the shape or the
direction replaced (the direction by its opposite), and against the empty caption. A word the model
uses raises the loss when it is wrong; a word it ignores leaves the loss unchanged.

    python benchmarks/t2v_word_gain.py                          # the shipped model
    python benchmarks/t2v_word_gain.py --model runs/t2v/model
    python benchmarks/t2v_word_gain.py --checkpoint runs/t2v_v3/unet/checkpoints/step_1000
    python benchmarks/t2v_word_gain.py --context 2   # first 2 frames clean, the loss on the others
"""

from __future__ import annotations

import argparse
import shlex
import sys

import numpy as np


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None, help="model folder (default: vidgen's shipped model)")
    p.add_argument("--checkpoint", default=None,
                   help="a `vidgen train t2v` U-Net checkpoint folder whose U-Net and text encoder replace the model's")
    p.add_argument("--clips", type=int, default=24)
    p.add_argument("--timesteps", type=int, nargs="+", default=[100, 300, 500, 700, 900])
    p.add_argument("--context", type=int, default=0, metavar="K",
                   help="keep the first K frames clean and score the others (as `vidgen train t2v --context-frames`)")
    a = p.parse_args(argv)

    import torch
    from safetensors.torch import load_file

    from vidgen.models.t2v import encode_clips
    from vidgen.pipelines.text_to_video import TextToVideoPipeline
    from vidgen.training.palette import COLORS
    from vidgen.training.shapes import DIRECTIONS, OPPOSITE, SHAPES, caption, render_clip

    print("command: python benchmarks/t2v_word_gain.py " + shlex.join(sys.argv[1:] if argv is None else argv))
    pipe = TextToVideoPipeline.from_pretrained(a.model)
    if a.checkpoint:  # accelerate's save_state: model.safetensors = U-Net, model_1.safetensors = text encoder
        pipe.unet.load_state_dict(load_file(f"{a.checkpoint}/model.safetensors"))
        pipe.text_encoder.load_state_dict(load_file(f"{a.checkpoint}/model_1.safetensors"))
    colors = list(COLORS)
    rng = np.random.default_rng(5)
    combos = [(colors[i % len(colors)], SHAPES[i % 3], DIRECTIONS[i % 4]) for i in range(a.clips)]
    clips = torch.stack([torch.from_numpy(render_clip(rng, *c, 16, 64)).permute(3, 0, 1, 2).float() / 127.5 - 1
                         for c in combos])
    variants = {
        "right caption": [caption(*c) for c in combos],
        "opposite direction": [caption(c, s, OPPOSITE[d]) for c, s, d in combos],
        "wrong colour": [caption(colors[(colors.index(c) + 1) % len(colors)], s, d) for c, s, d in combos],
        "wrong shape": [caption(c, SHAPES[(SHAPES.index(s) + 1) % 3], d) for c, s, d in combos],
        "empty caption": [""] * len(combos),
    }
    print("| t | " + " | ".join(variants) + " |")
    print("| --- " * (len(variants) + 1) + "|")
    with torch.no_grad():
        lat = encode_clips(pipe.vae, clips)
        gen = torch.Generator().manual_seed(0)
        for tval in a.timesteps:
            noise = torch.randn(lat.shape, generator=gen)
            t = torch.full((len(combos),), tval)
            noisy = pipe.scheduler.add_noise(lat, noise, t)
            noisy[:, :, : a.context] = lat[:, :, : a.context]
            row = []
            for texts in variants.values():
                pred = pipe.unet(noisy, t, encoder_hidden_states=pipe.encode_prompt(texts, None)).sample
                row.append(float((pred - noise)[:, :, a.context:].pow(2).mean()))
            print(f"| {tval} | " + " | ".join(f"{v:.5f}" for v in row) + " |", flush=True)


if __name__ == "__main__":
    main()
