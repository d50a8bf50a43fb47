"""How well the guide classifier picks among candidate videos, and where: the study behind the shipped
model's ``candidates`` and ``select_timestep`` (vidgen/weights/t2v/guide/config.json).

For each training prompt (combinations *not* held out: the choice must not look at the held-out set),
``--candidates`` videos are generated to the end with the model's sampling settings and no selection,
recording at every step the guide's log p(prompt's direction) on the noisy latents x_t and on the clean
latents x0 the denoiser predicts there. The detector (vidgen.training.shapes.detect) reads every finished
video. Then each policy "start K, keep the best by score S at the first step with t <= T" is scored by
the detected direction and colour of the video it would keep; cost is U-Net passes per video
(K per step before T, one after; read on x0 the step at T also runs K-wide, since its prediction is
what is read). DDIM is deterministic per video, so keeping one candidate at T and
finishing it alone gives the same video as finishing all and picking after.

    python benchmarks/t2v_selection.py                     # 52 training prompts x 8 candidates, ~20 min
    python benchmarks/t2v_selection.py --prompts 8         # a quick subset
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time

import numpy as np


def record(pipe, combos, k: int, seed: int, steps: int) -> list[dict]:
    """Every candidate of every prompt: detection and per-step direction/colour log-probs (x_t and x0).

    The pipeline itself runs the sampling (k copies of each prompt, no selection); its
    ``callback_on_step_end`` hands over the latents after each step and the clean latents the
    denoiser predicted before it."""
    import torch
    import torch.nn.functional as F

    from vidgen.training.shapes import caption, detect

    guide, out = pipe.guide, []
    attrs = guide.config.attributes
    size = pipe.unet.config.sample_size * pipe.vae_scale_factor
    for start in range(0, len(combos), 8):
        chunk = combos[start:start + 8]
        prompts = [caption(*c) for c in chunk for _ in range(k)]
        lat = pipe.prepare_latents(len(prompts), 16, size, size, torch.Generator().manual_seed(1000 * seed + start))
        wanted = {a: torch.tensor([attrs[a].index(c[i]) for c in chunk for _ in range(k)])
                  for a, i in (("color", 0), ("direction", 2))}

        def logp(x, t):
            logits = guide(x.float(), torch.full((x.shape[0],), int(t)))
            return {a: F.log_softmax(logits[a], -1).gather(1, w[:, None])[:, 0].numpy() for a, w in wanted.items()}

        xt, x0 = {}, {}
        before = {"latents": lat}  # x_t of the coming step: the start noise, then each step's result

        def on_step(p, i, t, kw):
            xt[int(t)] = logp(before["latents"], t)
            x0[int(t)] = logp(kw["pred_clean"], 0)
            before["latents"] = kw["latents"]
            return {}

        videos = pipe(prompts, num_frames=16, num_inference_steps=steps, candidates=1, latents=lat,
                      callback_on_step_end=on_step, callback_on_step_end_tensor_inputs=["latents", "pred_clean"]).frames
        for i in range(len(prompts)):
            v = (videos[i].permute(1, 2, 3, 0).numpy() * 255).round().astype(np.uint8)
            out.append(dict(combo=chunk[i // k], cand=i % k, det=detect(v),
                            xt={t: {a: s[a][i] for a in s} for t, s in xt.items()},
                            x0={t: {a: s[a][i] for a in s} for t, s in x0.items()}))
        print(f"  {start + len(chunk)}/{len(combos)} prompts", file=sys.stderr, flush=True)
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None, help="model folder with a guide/ (default: vidgen's shipped model)")
    p.add_argument("--prompts", type=int, default=None, help="first N training prompts (default: all 52)")
    p.add_argument("--candidates", type=int, default=8, help="videos generated per prompt")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--steps", type=int, default=25)
    a = p.parse_args(argv)
    import torch

    from vidgen.pipelines.text_to_video import TextToVideoPipeline
    from vidgen.training.shapes import training_combinations

    torch.set_num_threads(min(torch.get_num_threads(), 2))
    print("command: python benchmarks/t2v_selection.py " + shlex.join(sys.argv[1:] if argv is None else argv))
    pipe = TextToVideoPipeline.from_pretrained(a.model)
    combos = training_combinations()[:a.prompts]
    t0 = time.perf_counter()
    res = record(pipe, combos, a.candidates, a.seed, a.steps)
    groups = [res[i:i + a.candidates] for i in range(0, len(res), a.candidates)]
    ts = sorted(res[0]["xt"], reverse=True)

    def ok(r, attr):
        return r["det"] is not None and r["det"][attr] == r["combo"][{"color": 0, "direction": 2}[attr]]

    print(f"{len(combos)} training prompts x {a.candidates} candidates, guidance {pipe.guidance_scale}, "
          f"guide {pipe.guide.config.guided} at {pipe.guide.config.default_scale}, {a.steps} steps "
          f"({time.perf_counter() - t0:.0f} s)")
    print(f"every candidate: direction {np.mean([ok(r, 'direction') for r in res]):.1%}, "
          f"colour {np.mean([ok(r, 'color') for r in res]):.1%}")
    print(f"{'K':>2s} {'T':>4s} {'passes x_t/x0':>13s} {'any right':>9s} {'x_t: dir  col':>14s} {'x0: dir  col':>13s}")
    for k in (4, 8):
        if k > a.candidates:
            continue
        for i, t in enumerate(ts):
            if t > 800 or (t < 400 and t != ts[-1]):
                continue
            row = []
            for src in ("xt", "x0"):
                picks = [max(g[:k], key=lambda r: r[src][t]["direction"]) for g in groups]
                row += [np.mean([ok(r, "direction") for r in picks]), np.mean([ok(r, "color") for r in picks])]
            anyr = np.mean([any(ok(r, "direction") for r in g[:k]) for g in groups])
            # U-Net passes per video: k-wide for the i steps before T, then one; read on x0, the step at T
            # runs k-wide too (its prediction is what is read)
            on_xt, on_x0 = k * i + len(ts) - i, k * (i + 1) + len(ts) - (i + 1)
            print(f"{k:2d} {t:4d} {on_xt:6d} /{on_x0:4d} {anyr:9.1%} {row[0]:7.1%} {row[1]:6.1%} "
                  f"{row[2]:6.1%} {row[3]:6.1%}")


if __name__ == "__main__":
    main()
