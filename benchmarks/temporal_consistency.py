#!/usr/bin/env python3
"""Flicker of deblur/enhance outputs: warping error between consecutive outputs (Lai et al. 2018).

For each pair of consecutive output frames, the earlier one is warped onto the later one along the
optical flow of the *input* (DIS, later -> earlier); pixels whose forward-backward flow disagrees
by more than a pixel (occlusions) are masked out; the error is the RMS difference (0-255 levels)
over the rest. The same model runs twice, with its aligned neighbours (vidgen's default) and frame
by frame (neighbours replaced by the frame itself), on the same degraded clip; the sharp original
and the degraded input are scored the same way for reference.

    python benchmarks/temporal_consistency.py deblur|enhance [--clip PATH] [--start 60] [--frames 24]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from vidgen.interpolators.classical import FlowAligner, consistency, warp
from vidgen.io.reader import VideoReader
from vidgen.metrics import psnr
from vidgen.pipelines.restoration import DeblurPipeline, EnhancePipeline, FrameRestorer, windows
from vidgen.training.degrade import exposure_blur, h264_roundtrip

FOOTAGE = Path(__file__).resolve().parent.parent.parent / "shared" / "footage"


def warping_error(outputs: list[np.ndarray], inputs: list[np.ndarray]) -> float:
    aligner = FlowAligner()
    errs = []
    for t in range(1, len(outputs)):
        h, w = outputs[t].shape[:2]
        a, b = cv2.resize(inputs[t], (w, h)), cv2.resize(inputs[t - 1], (w, h))
        f = aligner.flow(a, b)  # a(x) ~ b(x + f)
        back = aligner.flow(b, a)
        ok = consistency(f, back, 1.0) > np.exp(-1.0)  # agree within a pixel and stay in the frame
        prev_on_cur = warp(outputs[t - 1].astype(np.float32), f, cv2.INTER_LINEAR)
        d = (outputs[t].astype(np.float32) - prev_on_cur) ** 2
        errs.append(float(np.sqrt(d[ok].mean())))
    return float(np.mean(errs))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("task", choices=["deblur", "enhance"])
    ap.add_argument("--clip", type=Path, default=FOOTAGE / "bikes.mp4")
    ap.add_argument("--start", type=int, default=60)
    ap.add_argument("--frames", type=int, default=24)
    a = ap.parse_args()
    sharp = []
    with VideoReader(a.clip) as r:
        for i, f in enumerate(r):
            if i >= a.start + a.frames + 2:
                break
            if i >= a.start:
                sharp.append(np.array(f)[: f.shape[0] // 4 * 4, : f.shape[1] // 4 * 4])
    rng = np.random.default_rng(0)
    if a.task == "deblur":
        fl = [s.astype(np.float32) / 255 for s in sharp]
        lq = [(exposure_blur(rng, fl[i - 1:i + 2]) * 255 + 0.5).astype(np.uint8) for i in range(1, len(fl) - 1)]
        truth = sharp[1:-1]
        net = DeblurPipeline.from_pretrained().restorer.net
        scale = 1
    else:
        small = np.stack([cv2.resize(s, (s.shape[1] // 2, s.shape[0] // 2), interpolation=cv2.INTER_AREA) for s in sharp])
        lq = list(h264_roundtrip(small, 26))
        truth = sharp
        net = EnhancePipeline.from_pretrained(scale=2).restorer.net
        scale = 2
    rows = []
    for name, temporal in (("aligned neighbours (default)", True), ("frame by frame", False)):
        restorer = FrameRestorer(net, scale=scale, temporal=temporal)
        outs = [restorer(p, c, n) for p, c, n in windows(lq)]
        rows.append((name, warping_error(outs, lq), np.mean([psnr(o, t) for o, t in zip(outs, truth)])))
    up = [cv2.resize(f, (truth[0].shape[1], truth[0].shape[0]), interpolation=cv2.INTER_CUBIC) for f in lq]
    rows.append(("degraded input" + (" (bicubic)" if scale > 1 else ""), warping_error(up, lq),
                 np.mean([psnr(o, t) for o, t in zip(up, truth)])))
    rows.append(("sharp original", warping_error(list(truth), lq), 99.0))
    print(f"{a.task} on {a.clip.name} frames {a.start}-{a.start + a.frames} | "
          f"python benchmarks/temporal_consistency.py {' '.join(sys.argv[1:])}")
    print(f"{'':32s} {'warping error (RMS, 0-255)':>28s} {'PSNR dB':>8s}")
    for name, err, p in rows:
        print(f"{name:32s} {err:28.3f} {p:8.2f}")


if __name__ == "__main__":
    main()
