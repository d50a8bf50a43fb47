"""Score a text-to-video model with vidgen's shape detector on prompts held out of its training.

For every prompt "a {colour} {shape} moving {direction}" of the chosen set, ``--samples`` videos are
generated (samples 0..n-1, or numbered from ``--first-sample``) and the detector
(vidgen.training.shapes.detect) reads colour, shape and direction back. Baselines measured in the same run:

- ``rendered``: the detector on true renders of the same prompts (its own ceiling);
- ``empty prompt``: the same model and seeds with an empty prompt (what the model does unguided;
  its accuracy is what guessing from the model's habits gives);
- ``U-Net alone``: for a model with a guide classifier (vidgen/models/t2v_guide.py), the same
  prompts and seeds with its guidance and candidate selection off (the text-conditioned U-Net alone).

    python benchmarks/t2v_eval.py                                  # shipped model, held-out combinations
    python benchmarks/t2v_eval.py --colors purple --lora runs/lora_purple/lora.safetensors
"""

from __future__ import annotations

import argparse
import itertools
import shlex
import sys
import time

import numpy as np


def score(videos: list[np.ndarray], combos: list[tuple[str, str, str]]) -> dict[str, float]:
    """Share of ``videos`` whose detected colour / shape / direction equals the prompt's (missed = wrong)."""
    from vidgen.training.shapes import detect

    hits = {"color": 0, "shape": 0, "direction": 0, "detected": 0}
    for v, (color, shape, direction) in zip(videos, combos):
        d = detect(v)
        if d is None:
            continue
        hits["detected"] += 1
        hits["color"] += d["color"] == color
        hits["shape"] += d["shape"] == shape
        hits["direction"] += d["direction"] == direction
    return {k: v / len(videos) for k, v in hits.items()}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None, help="model folder (default: vidgen's shipped model)")
    p.add_argument("--lora", default=None, help="LoRA adapter (.safetensors) to load into the U-Net")
    p.add_argument("--lora-scale", type=float, default=1.0)
    p.add_argument("--colors", nargs="*", default=None,
                   help="score every shape x direction in these colours instead of the held-out combinations")
    p.add_argument("--samples", type=int, default=4, help="videos per prompt")
    p.add_argument("--first-sample", type=int, default=0,
                   help="number the samples from here (other seeds: an independent repeat of a run)")
    p.add_argument("--steps", type=int, default=25)
    p.add_argument("--guidance", type=float, default=None,
                   help="classifier-free guidance scale (default: the model's own, see TextToVideoPipeline)")
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--scheduler", default="ddim")
    p.add_argument("--classifier-scale", type=float, default=None,
                   help="classifier guidance strength (default: the model's own; 0 = off)")
    p.add_argument("--candidates", type=int, default=None,
                   help="videos started per prompt, the guide keeping the best (default: the model's own; 1 = off)")
    p.add_argument("--batch", type=int, default=8, help="prompts generated together")
    p.add_argument("--save", default=None, help="write a PNG contact sheet of the first sample of each prompt")
    a = p.parse_args(argv)

    import torch

    from vidgen.pipelines.text_to_video import TextToVideoPipeline
    from vidgen.training.shapes import DIRECTIONS, HELD_OUT, SHAPES, caption, render_clip

    print("command: python benchmarks/t2v_eval.py " + shlex.join(sys.argv[1:] if argv is None else argv))
    combos = (list(itertools.product(a.colors, SHAPES, DIRECTIONS)) if a.colors else list(HELD_OUT))
    jobs = [(c, s) for c in combos for s in range(a.first_sample, a.first_sample + a.samples)]
    pipe = TextToVideoPipeline.from_pretrained(a.model)
    if a.lora:
        pipe.load_lora(a.lora, scale=a.lora_scale)
    pipe.set_scheduler(a.scheduler)
    size = pipe.unet.config.sample_size * pipe.vae_scale_factor
    _, cls_scale, n_cand = pipe.guide_settings([caption(*combos[0])], a.classifier_scale, a.candidates)
    if a.guidance is None:
        a.guidance = pipe.guidance_scale
    print(f"{len(combos)} prompts x {a.samples} samples, {a.frames} frames {size}x{size}, {a.steps} {a.scheduler} "
          f"steps, guidance {a.guidance}, classifier guidance {cls_scale}, candidates {n_cand}, "
          f"torch threads {torch.get_num_threads()}")

    def generate(prompt_of, classifier_scale=a.classifier_scale, candidates=a.candidates
                 ) -> tuple[list[np.ndarray], float]:
        videos, seconds = [], 0.0
        for i in range(0, len(jobs), a.batch):
            chunk = jobs[i:i + a.batch]
            # one generator per batch, seeded by the first job: the same run always gives the same videos
            t0 = time.perf_counter()
            out = pipe([prompt_of(c) for c, _ in chunk], num_frames=a.frames, num_inference_steps=a.steps,
                       guidance_scale=a.guidance, seed=1000 * i + chunk[0][1],
                       classifier_scale=classifier_scale, candidates=candidates).frames
            seconds += time.perf_counter() - t0
            videos += [(v.permute(1, 2, 3, 0).numpy() * 255).round().astype(np.uint8) for v in out]
        return videos, seconds

    rendered = [render_clip(np.random.default_rng([7, k]), *c, a.frames, size) for k, (c, _) in enumerate(jobs)]
    model_videos, seconds = generate(lambda c: caption(*c))
    empty_videos, _ = generate(lambda c: "")
    truth = [c for c, _ in jobs]
    rows = {"rendered (detector ceiling)": score(rendered, truth), "model": score(model_videos, truth),
            "model, empty prompt": score(empty_videos, truth)}
    if cls_scale > 0 or n_cand > 1:
        plain_videos, _ = generate(lambda c: caption(*c), classifier_scale=0.0, candidates=1)
        rows["U-Net alone (no guide)"] = score(plain_videos, truth)
    print(f"{'':28s} {'colour':>7s} {'shape':>7s} {'direction':>9s} {'detected':>9s}")
    for name, r in rows.items():
        print(f"{name:28s} {r['color']:7.1%} {r['shape']:7.1%} {r['direction']:9.1%} {r['detected']:9.1%}")
    print(f"generation time: {seconds / len(jobs):.2f} s per {a.frames}-frame {size}x{size} video "
          f"(batches of {a.batch} prompts with guidance)")
    one = time.perf_counter()
    pipe(caption(*combos[0]), num_frames=a.frames, num_inference_steps=a.steps, guidance_scale=a.guidance, seed=0,
         classifier_scale=a.classifier_scale, candidates=a.candidates)
    print(f"one video alone: {time.perf_counter() - one:.2f} s")
    if a.save:
        import cv2

        rows_img = [np.concatenate(list(model_videos[k * a.samples][::3]), axis=1) for k in range(len(combos))]
        cv2.imwrite(a.save, cv2.cvtColor(np.concatenate(rows_img, axis=0), cv2.COLOR_RGB2BGR))
        print(f"contact sheet: {a.save}")


if __name__ == "__main__":
    main()
