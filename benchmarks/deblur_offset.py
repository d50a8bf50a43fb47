"""How much of deblur's gap on the shared benchmark is its kernels' random offset?

``restore_bench.py deblur`` draws each frame's shake kernel as a trajectory that starts at the
kernel's centre and wanders off, so every blurred frame is also shifted, by the kernel's centroid
offset (rms 5.4 px on the set), against the sharp frame it is scored with. No method can see that
shift in one frame. This script scores the blurred input and ``vidgen deblur``'s output as the bench
does and again with each frame's known offset undone (an oracle only the bench's seed knows):

    python benchmarks/deblur_offset.py        # VIDGEN_BENCH=path/to/shared/bench if not ../shared/bench
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

BENCH = Path(os.environ.get("VIDGEN_BENCH", Path(__file__).resolve().parents[1] / "../shared/bench")).resolve()


def shift(img: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """``img`` moved by (dx, dy) px, bicubic, edges reflected, back to uint8."""
    h, w = img.shape[:2]
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    out = cv2.warpAffine(img.astype(np.float32), m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    return out.clip(0, 255).round().astype(np.uint8)


def kernel_offsets(rb, n: int, frame_shape: tuple) -> np.ndarray:
    """``(n, 2)`` centroid offsets (x, y) of the kernels ``rb.blur_clip(..., seed=0)`` draws, replaying
    its random draws in the same order (kernel size, kernel, then one frame of noise)."""
    rng = np.random.default_rng(0)
    offs = []
    for _ in range(n):
        size = int(rng.integers(9, 22)) | 1
        k = rb.shake_kernel(rng, size)
        rng.normal(0, 2, frame_shape)
        ys, xs = np.mgrid[:size, :size]
        offs.append(((k * xs).sum() - size // 2, (k * ys).sum() - size // 2))
    return np.array(offs)


def main() -> None:
    sys.path.insert(0, str(BENCH))
    import restore_bench as rb
    from interpolate_bench import MEDIA, decode, psnr, read_all, write_lossless

    def mean_psnr(preds, truth, offs=None):
        if offs is not None:
            preds = [shift(p, dx, dy) for p, (dx, dy) in zip(preds, offs)]
        return float(np.mean([psnr(p, t) for p, t in zip(preds, truth)]))

    rows = []
    for name, (file, start, n) in rb.CLIPS.items():
        frames, fps = decode(MEDIA / file, start, n)
        h, w = frames[0].shape[:2]
        frames = [f[: h // 4 * 4, : w // 4 * 4] for f in frames]
        lq, truth = rb.blur_clip(frames)
        offs = kernel_offsets(rb, len(lq), frames[0].shape)
        with tempfile.TemporaryDirectory() as td:
            inp, out = Path(td) / "in.mkv", Path(td) / "out.mkv"
            write_lossless(lq, inp, fps)
            subprocess.run(["vidgen", "deblur", str(inp), "-o", str(out), "--codec", "ffv1", "--quiet"], check=True)
            pred = read_all(out)
        row = {"input": mean_psnr(lq, truth), "input_unshifted": mean_psnr(lq, truth, offs),
               "vidgen": mean_psnr(pred, truth), "vidgen_unshifted": mean_psnr(pred, truth, offs),
               "offset_rms_px": float(np.sqrt((offs ** 2).sum(1).mean()))}
        rows.append(row)
        print(name, {k: round(v, 2) for k, v in row.items()}, flush=True)
    print("mean", {k: round(float(np.mean([r[k] for r in rows])), 2) for k in rows[0]})


if __name__ == "__main__":
    main()
