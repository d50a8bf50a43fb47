"""Score enhance x2 weights files on the shared benchmark's enhance task, in one process.

Degrades the three clips exactly as ``restore_bench.py enhance`` does (its own functions: 2x area
downscale, H.264 CRF 26 round trip), then runs each weights file through ``FrameRestorer`` (the
same aligned neighbours and tiling as ``vidgen enhance``) and prints PSNR per clip beside OpenCV's
Lanczos in the same run. Meant for comparing training stages and checkpoints quickly; the figures
to report come from ``restore_bench.py`` itself (the whole command, its ffmpeg Lanczos).

    python benchmarks/enhance_weights.py vidgen/weights/enhance_x2.safetensors runs/x/enhance_x2.safetensors
    python benchmarks/enhance_weights.py runs/x/checkpoints/step_2500/model.safetensors   # a training checkpoint

``VIDGEN_BENCH`` points at the bench folder if it is not ``../shared/bench``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import torch

from vidgen.models.restoration import EnhanceNet
from vidgen.pipelines.restoration import FrameRestorer, windows

BENCH = Path(os.environ.get("VIDGEN_BENCH", Path(__file__).resolve().parents[1] / "../shared/bench")).resolve()


def bench():
    """The shared bench's ``restore_bench`` module (its clips, degradations and PSNR)."""
    sys.path.insert(0, str(BENCH))
    import restore_bench

    return restore_bench


def bench_clips(rb) -> dict[str, tuple[list[np.ndarray], list[np.ndarray]]]:
    """clip name -> (low-quality frames, original frames), as ``restore_bench.py enhance`` makes them."""
    out = {}
    for name, (file, start, n) in rb.CLIPS.items():
        frames, fps = rb.decode(rb.MEDIA / file, start, n)
        h, w = frames[0].shape[:2]
        frames = [f[: h // 4 * 4, : w // 4 * 4] for f in frames]
        small = [cv2.resize(f, (f.shape[1] // 2, f.shape[0] // 2), interpolation=cv2.INTER_AREA) for f in frames]
        with tempfile.TemporaryDirectory() as td:
            out[name] = (rb.x264_roundtrip(small, 26, fps, td), frames)
    return out


def load_weights(path: Path) -> EnhanceNet:
    """A weights file written by ``vidgen train enhance``, or an accelerate checkpoint's ``model.safetensors``
    (``RUN/checkpoints/step_N/model.safetensors``: the network is built as the run built it, from
    ``RUN/config.json``)."""
    if path.name != "model.safetensors":
        return EnhanceNet.from_pretrained(path)
    import json

    from safetensors.torch import load_file

    from vidgen.training.config import RestoreTrainConfig
    from vidgen.training.restoration import build_model

    run = json.loads((path.parents[2] / "config.json").read_text())
    net = build_model(RestoreTrainConfig(**run))
    net.load_state_dict(load_file(path))
    return net


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("weights", nargs="+", type=Path)
    a = p.parse_args()
    rb = bench()
    psnr = rb.psnr
    clips = bench_clips(rb)
    rows = {"lanczos (OpenCV)": {n: np.mean([psnr(cv2.resize(f, (f.shape[1] * 2, f.shape[0] * 2),
                                                              interpolation=cv2.INTER_LANCZOS4), t)
                                             for f, t in zip(lq, truth)]) for n, (lq, truth) in clips.items()}}
    for w in a.weights:
        restore = FrameRestorer(load_weights(w), 2)
        with torch.inference_mode():
            rows[str(w)] = {n: np.mean([psnr(restore(*win), t) for win, t in zip(windows(lq), truth)])
                            for n, (lq, truth) in clips.items()}
    names = list(clips)
    print(f"{'weights':60s} " + " ".join(f"{n:>9s}" for n in names) + "      mean")
    for k, r in rows.items():
        print(f"{k[-60:]:60s} " + " ".join(f"{r[n]:9.3f}" for n in names) + f" {np.mean(list(r.values())):9.3f}")


if __name__ == "__main__":
    main()
