"""Where a text-to-video model loses the shape word: in its VAE, its denoiser or its decoder.

For the 60 template prompts of five colours, clips rendered as the training data is (``--spread``), the
shape detector (vidgen.training.shapes.detect, scored by t2v_eval.score) reads colour, shape and
direction back from:

- the rendered clips (the detector's ceiling);
- a VAE round trip (encode, mode, decode), the decoder given no caption;
- the same with the clip's caption, for a decoder that reads one (ShapeVAE ``text_dim``);
- the twin's latents (the same draw in another shape) decoded with the clip's caption: the shape the
  caption alone draws where the latents say otherwise;
- the clip's latents noised to each timestep of ``--from-t`` and denoised by the model (DDIM, its
  guidance, the clip's caption), decoded without and with the caption: what the denoiser keeps of a
  true shape; and the twin's latents so: whether the caption's shape replaces the one in the latents.

The clips' seeds (``--seed``) are not those of the training data or of t2v_eval's videos.

    python benchmarks/t2v_decoder_shapes.py [MODEL ...]      # default: the shipped model
"""

from __future__ import annotations

import argparse
import itertools
import shlex
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from t2v_eval import score  # noqa: E402


def to_uint8(frames: torch.Tensor) -> list[np.ndarray]:
    """``(B, 3, T, H, W)`` in [0, 1] -> ``(T, H, W, 3)`` uint8 videos."""
    return [(v.permute(1, 2, 3, 0).numpy() * 255).round().astype(np.uint8) for v in frames]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", nargs="*", default=[None], help="model folders (default: vidgen's shipped model)")
    ap.add_argument("--colors", nargs="+", default=["red", "green", "blue", "yellow", "white"])
    ap.add_argument("--clips", type=int, default=1, help="clips per prompt")
    ap.add_argument("--spread", type=float, default=0.3, help="render_clip's spread (the t2v training's)")
    ap.add_argument("--textured", type=float, default=0.0,
                    help="render_clip's share of textured backgrounds (the shipped model's training: 0)")
    ap.add_argument("--seed", type=int, default=4242)
    ap.add_argument("--from-t", type=int, nargs="+", default=[300, 600],
                    help="timesteps the clips' (and their twins') latents are noised to, then denoised")
    ap.add_argument("--steps", type=int, default=25, help="DDIM steps of the whole schedule")
    a = ap.parse_args(argv)
    print("command: python benchmarks/t2v_decoder_shapes.py " + shlex.join(sys.argv[1:] if argv is None else argv))

    from vidgen.pipelines.text_to_video import TextToVideoPipeline
    from vidgen.training.shapes import DIRECTIONS, SHAPES, caption, render_clip

    combos = [c for c in itertools.product(a.colors, SHAPES, DIRECTIONS) for _ in range(a.clips)]
    clips, twins = [], []
    for k, (color, shape, direction) in enumerate(combos):
        other = SHAPES[(SHAPES.index(shape) + 1 + k % 2) % 3]
        state = np.random.default_rng([a.seed, k]).bit_generator.state
        for out, s in ((clips, shape), (twins, other)):
            rng = np.random.default_rng()
            rng.bit_generator.state = state  # the same draw in the other shape
            out.append(render_clip(rng, color, s, direction, 16, 64, a.textured, a.spread))
    prompts = [caption(*c) for c in combos]

    def rate(videos: list[np.ndarray]) -> str:
        r = score(videos, combos)
        return f"{r['color']:7.1%} {r['shape']:7.1%} {r['direction']:9.1%}"

    print(f"{len(combos)} clips, spread {a.spread}, textured {a.textured}; share read back as the prompt says")
    print(f"{'':44s} {'colour':>7s} {'shape':>7s} {'direction':>9s}")
    print(f"{'rendered clips':44s} {rate(clips)}")
    for folder in a.model:
        pipe = TextToVideoPipeline.from_pretrained(folder)
        pipe.set_scheduler("ddim")
        name = folder or "shipped model"
        reads = bool(getattr(pipe.vae.config, "text_dim", 0))
        scale = pipe.vae.config.scaling_factor

        def latents_of(videos: list[np.ndarray]) -> torch.Tensor:
            x = torch.from_numpy(np.stack(videos)).float().permute(0, 1, 4, 2, 3) / 127.5 - 1  # B, T, 3, H, W
            with torch.no_grad():
                z = pipe.vae.encode(x.flatten(0, 1)).latent_dist.mode() * scale
            return z.unflatten(0, x.shape[:2]).permute(0, 2, 1, 3, 4)  # B, C, T, h, w

        with torch.no_grad():
            text = pipe.encode_prompt(prompts, None)
            z, z_twin = latents_of(clips), latents_of(twins)
            rows = {"VAE round trip, no caption": pipe.decode_latents(z)}
            if reads:
                rows["VAE round trip, caption"] = pipe.decode_latents(z, text)
                rows["twin's latents, clip's caption"] = pipe.decode_latents(z_twin, text)
        # denoise from a timestep: run the schedule from noise and swap in the noised latents at the first
        # step that reaches it; the pipeline's own loop, guidance and decoding do the rest
        pipe.scheduler.set_timesteps(a.steps)
        ts = [int(t) for t in pipe.scheduler.timesteps]
        gen = torch.Generator().manual_seed(a.seed)

        def denoised_from(start: torch.Tensor, t_from: int) -> tuple[int, torch.Tensor]:
            swap = max(0, next(i for i, t in enumerate(ts) if t <= t_from) - 1)
            noised = pipe.scheduler.add_noise(start, torch.randn(start.shape, generator=gen), torch.tensor(ts[swap + 1]))
            final = {}

            def swap_in(pipe_, i, t, named):
                if i == len(ts) - 1:
                    final["z"] = named["latents"]
                return {"latents": noised} if i == swap else None

            pipe(prompts, num_frames=16, num_inference_steps=a.steps, seed=a.seed, progress=False,
                 latents=torch.randn(start.shape, generator=gen), callback_on_step_end=swap_in)
            return ts[swap + 1], final["z"]

        for t_from in a.from_t:
            for what, start in (("clip's", z), ("twin's", z_twin)):
                t, done = denoised_from(start, t_from)
                with torch.no_grad():
                    rows[f"{what} latents from t = {t}, no caption"] = pipe.decode_latents(done)
                    if reads:
                        rows[f"{what} latents from t = {t}, caption"] = pipe.decode_latents(done, text)
        print(name)
        for row, frames in rows.items():
            print(f"  {row:42s} {rate(to_uint8(frames))}")


if __name__ == "__main__":
    main()
