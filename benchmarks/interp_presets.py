"""Interpolation presets scored on clips rendered from the training corpus' held-out photos (never the
benchmark clips, which stay test-only): the material the presets were chosen on.

    python benchmarks/interp_presets.py --corpus ~/vidgen-corpus [--clips 8] [--size 720]

Each clip is rendered at ``size`` x ``size`` with exact motion (a camera and moving layers, 2-24 px per
frame); every other frame is dropped and re-made from its neighbours. ``--small-movers N`` adds N clips
with up to 8 small moving things each (sides 1/40 to 1/10 of the frame, as birds, cars, hands and
balls are in real footage) over the moving background: coarse flow loses such objects, large layers
alone do not show it. 960 x 960 has the pixel count of 1280 x 720. Prints, per preset (and for
ffmpeg minterpolate in the same run), the mean PSNR against the dropped frames and the in-process
seconds per made frame (flow + interpolation; no video decode or encode).
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from vidgen.interpolators import make_interpolator
from vidgen.interpolators.classical import PRESETS, ClassicalConfig, ClassicalInterpolator
from vidgen.io.ffmpeg import ffmpeg_exe
from vidgen.io.reader import VideoReader
from vidgen.metrics import psnr
from vidgen.training.corpus import entries
from vidgen.training.stills import load_photos, render_clip


def minterpolate(frames: np.ndarray) -> tuple[list[np.ndarray], float]:
    """ffmpeg minterpolate (the bench's settings) doubling ``frames``; the in-between frames and the time."""
    t, h, w = frames.shape[:3]
    with tempfile.TemporaryDirectory() as td:
        src = Path(td) / "in.nut"
        subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r",
                        "25", "-i", "-", "-c:v", "ffv1", str(src)], input=frames.tobytes(), check=True)
        start = time.perf_counter()
        r = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(src), "-vf",
                            "minterpolate=fps=50:mi_mode=mci:mc_mode=aobmc:me_mode=bidir:vsbmc=1", "-f", "rawvideo",
                            "-pix_fmt", "rgb24", "-"], capture_output=True, check=True)
        seconds = time.perf_counter() - start
    out = np.frombuffer(r.stdout, np.uint8).reshape(-1, h, w, 3)
    return list(out[1::2][:t - 1]), seconds  # it stops at the last input frame: one in-between short


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--clips", type=int, default=8)
    ap.add_argument("--size", type=int, default=720)
    ap.add_argument("--frames", type=int, default=9)
    ap.add_argument("--small-movers", type=int, default=0, metavar="N", help="N more clips with small moving objects")
    ap.add_argument("--preset", action="append", default=[], metavar="NAME=SETTINGS",
                    help="score a candidate too, e.g. lean=flow_max_side=400,patch_stride=3 (repeatable)")
    ap.add_argument("--learned", action="store_true", help="score --model learned too")
    a = ap.parse_args()
    candidates = {name: ClassicalConfig.preset(name) for name in PRESETS}
    for text in a.preset:
        name, _, settings = text.partition("=")
        kw = {k: (v == "1" if k == "cubic_warp" else int(v) if v.isdigit() else float(v))
              for k, v in (p.split("=") for p in settings.split(",") if p)}
        candidates[name] = ClassicalConfig(**kw)
    if a.learned:
        candidates["learned"] = "learned"
    photos = load_photos(a.corpus, "val")
    rng = np.random.default_rng(1234)
    clips: list[np.ndarray] = [render_clip(rng, photos, a.frames, a.size, motion=float(m))
             for m in np.exp(np.linspace(np.log(0.35), np.log(4.0), a.clips))]
    clips += [render_clip(rng, photos, a.frames, a.size, motion=float(m), max_layers=8, layer_size=(1 / 40, 1 / 10))
              for m in np.exp(np.linspace(np.log(0.35), np.log(4.0), a.small_movers))]
    groups = ["layers"] * a.clips + ["small movers"] * a.small_movers
    for _, path in entries(a.corpus, "video", "val"):  # and the held-out real camera video, at its own size
        with VideoReader(path) as r:
            clips += [np.stack([f for _, f in zip(range(a.frames), r)])]
        groups.append("real video")
    by_group: dict[tuple[str, str], list[float]] = {}
    scores: dict[str, list[float]] = {}
    seconds: dict[str, float] = {}
    made = 0
    for group, clip in zip(groups, clips):
        kept, truth = clip[0::2], clip[1::2]
        made += len(truth)
        for name, cfg in candidates.items():
            interp = make_interpolator("learned") if cfg == "learned" else ClassicalInterpolator(cfg)
            start = time.perf_counter()
            preds = [interp.interpolate(interp.prepare(kept[i], kept[i + 1]), 0.5) for i in range(len(truth))]
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start
            scores.setdefault(name, []).extend(psnr(p, t) for p, t in zip(preds, truth))
            by_group.setdefault((name, group), []).extend(scores[name][-len(truth):])
        preds, sec = minterpolate(kept)
        seconds["ffmpeg minterpolate"] = seconds.get("ffmpeg minterpolate", 0.0) + sec
        scores.setdefault("ffmpeg minterpolate", []).extend(psnr(p, t) for p, t in zip(preds, truth))
        by_group.setdefault(("ffmpeg minterpolate", group), []).extend(scores["ffmpeg minterpolate"][-len(truth):])
    print(f"{a.clips} clips {a.size}x{a.size} from held-out corpus photos, {a.small_movers} with small movers, and "
          f"{len(clips) - a.clips - a.small_movers} held-out real video(s), {made} frames re-made")
    base = seconds["ffmpeg minterpolate"]
    names = sorted(set(groups), key=groups.index)
    print(f"{'':20s} {'all':>8s} " + " ".join(f"{g:>13s}" for g in names))
    for name in scores:
        print(f"{name:20s} {np.mean(scores[name]):5.2f} dB " + " ".join(
            f"{np.mean(by_group[(name, g)]):10.2f} dB" for g in names)
            + f"  {seconds[name] / made:6.3f} s/frame ({seconds[name] / base:4.2f}x minterpolate's time)")


if __name__ == "__main__":
    main()
