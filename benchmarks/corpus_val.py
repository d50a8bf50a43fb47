"""Restoration weights scored on the training corpus' held-out *real video* (its ``val`` clips, never
trained on), degraded the way the trainers degrade footage, beside classical baselines in the same run.

The trainers' own validation is mostly clips rendered from held-out photos; this is the check on
real camera footage that needs no benchmark clip (those are test data only).

    python benchmarks/corpus_val.py enhance --corpus ~/vidgen-corpus vidgen/weights/enhance_x2.safetensors runs/x/enhance_x2.safetensors
    python benchmarks/corpus_val.py deblur --corpus ~/vidgen-corpus vidgen/weights/deblur.safetensors
"""

from __future__ import annotations

import argparse
import shlex
import sys

import cv2
import numpy as np


def frames_of(path, start: int, count: int) -> list[np.ndarray]:
    from vidgen.io.reader import VideoReader

    out = []
    with VideoReader(path) as r:
        for i, f in enumerate(r):
            if i >= start + count:
                break
            if i >= start:
                h, w = f.shape[:2]
                out.append(np.array(f[: h // 4 * 4, : w // 4 * 4]))
    return out


def degrade(task: str, frames: list[np.ndarray], seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(inputs, truths): enhance = 2x area downscale + libx264 CRF 26; deblur = each frame's three
    neighbours averaged, a centred camera-shake kernel of 9-21 px, noise sigma 2 (8-bit levels)."""
    from vidgen.training.degrade import h264_roundtrip, shake_kernel

    if task == "enhance":
        small = np.stack([cv2.resize(f, (f.shape[1] // 2, f.shape[0] // 2), interpolation=cv2.INTER_AREA)
                          for f in frames])
        return list(h264_roundtrip(small, 26)), frames
    rng = np.random.default_rng(seed)
    f = [x.astype(np.float32) for x in frames]
    out = []
    for i in range(1, len(f) - 1):
        k = shake_kernel(rng, int(rng.integers(9, 22)) | 1)
        b = cv2.filter2D((f[i - 1] + f[i] + f[i + 1]) / 3, -1, k, borderType=cv2.BORDER_REFLECT)
        out.append(np.clip(b + rng.normal(0, 2, b.shape), 0, 255).astype(np.uint8))
    return out, frames[1:-1]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("task", choices=["enhance", "deblur"])
    p.add_argument("weights", nargs="+")
    p.add_argument("--corpus", required=True)
    p.add_argument("--start", type=int, default=100)
    p.add_argument("--frames", type=int, default=40)
    a = p.parse_args(argv)
    import torch

    from vidgen.metrics import psnr
    from vidgen.models.restoration import DeblurNet, EnhanceNet
    from vidgen.pipelines.restoration import FrameRestorer, windows
    from vidgen.training.corpus import entries

    torch.set_num_threads(min(torch.get_num_threads(), 2))
    print("command: python benchmarks/corpus_val.py " + shlex.join(sys.argv[1:] if argv is None else argv))
    videos = entries(a.corpus, "video", "val")
    if not videos:
        raise SystemExit(f"{a.corpus} has no validation video")
    rows: dict[str, list[float]] = {}
    for e, path in videos:
        lq, truth = degrade(a.task, frames_of(path, a.start, a.frames))
        if a.task == "enhance":
            base = {"bicubic": cv2.INTER_CUBIC, "lanczos": cv2.INTER_LANCZOS4}
            for name, interp in base.items():
                up = [cv2.resize(x, (t.shape[1], t.shape[0]), interpolation=interp) for x, t in zip(lq, truth)]
                rows.setdefault(name, []).append(np.mean([psnr(u, t) for u, t in zip(up, truth)]))
        else:
            rows.setdefault("input", []).append(np.mean([psnr(x, t) for x, t in zip(lq, truth)]))
        for wpath in a.weights:
            net = (EnhanceNet if a.task == "enhance" else DeblurNet).from_pretrained(wpath)
            restorer = FrameRestorer(net, scale=2 if a.task == "enhance" else 1)
            out = [restorer(*w) for w in windows(lq)]
            rows.setdefault(wpath, []).append(np.mean([psnr(o, t) for o, t in zip(out, truth)]))
        print(f"{e['id']}: " + ", ".join(f"{k} {v[-1]:.2f}" for k, v in rows.items()))
    print(f"{a.task} on the corpus' held-out real video ({len(videos)} clip(s), frames {a.start}-"
          f"{a.start + a.frames}), mean PSNR:")
    for k, v in rows.items():
        print(f"  {np.mean(v):6.2f} dB  {k}")


if __name__ == "__main__":
    main()
