"""``vidgen compare A B``: a before/after video of two videos of the same length, with per-frame PSNR
and SSIM of B against A (printed, and drawn over time with ``--plot``).

    vidgen compare original.mp4 restored.mp4 -o ab.mp4 --mode side --plot quality.png

Modes: ``side`` (A left, B right), ``wipe`` (a split line sweeping left to right: A left of it, B
right) and ``diff`` (|A - B| x 4). A video of another size is scaled (Lanczos) to the larger of the
two. The output has A's frame rate, audio and colour. The job is a :class:`FileJob` on A that reads
B beside it: this module and one line in :data:`vidgen.commands.COMMANDS` are all it takes.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError, OptionError
from ..io.probe import VideoInfo, probe
from ..io.reader import VideoReader
from ..metrics import psnr, ssim
from ..pipelines.job import FileJob, JobPlan, parse_rate
from .common import add_encode_options, encode_settings

log = logging.getLogger("vidgen")
PROBES_INPUT = True
MODES = ("side", "wipe", "diff")


def _eight_bit(f: np.ndarray) -> np.ndarray:
    return f if f.dtype == np.uint8 else (f >> 8).astype(np.uint8)


class CompareJob(FileJob):
    """Before/after of ``other`` (B) against the job's input (A); see the module docstring."""

    task = "compare"

    def __init__(self, other: str | os.PathLike, mode: str = "side", image_fps=None):
        if mode not in MODES:
            raise OptionError(f"--mode must be one of {', '.join(MODES)}, not {mode!r}")
        self.other = probe(other, parse_rate(image_fps) if image_fps is not None else None)
        self.mode = mode

    def plan(self, info: VideoInfo) -> JobPlan:
        b = self.other
        w, h = max(info.width, b.width), max(info.height, b.height)
        notices = [f"{p.path.name} is {p.width}x{p.height}: scaled to {w}x{h} to compare"
                   for p in (info, b) if (p.width, p.height) != (w, h)]
        out_w = 2 * w if self.mode == "side" else w
        return JobPlan(out_w, h, info.fps, tag=f"vs_{b.path.stem}", total=info.frame_count, notices=notices,
                       stats=[], extra={"size": (w, h)})

    def transform(self, frames: Iterator[np.ndarray], info: VideoInfo, plan: JobPlan) -> Iterator[np.ndarray]:
        w, h = plan.extra["size"]
        total = max(1, (plan.total or 1) - 1)
        with VideoReader(self.other) as reader:
            others = iter(reader)
            for i, a in enumerate(frames):
                b = next(others, None)
                if b is None:
                    raise InputError(f"{self.other.path.name} ends after {i} frames and {info.path.name} goes on: "
                                     "compare takes two videos of the same length")
                a, b = (f if f.shape[:2] == (h, w) else cv2.resize(f, (w, h), interpolation=cv2.INTER_LANCZOS4)
                        for f in (a, b))
                b = b.astype(a.dtype) if a.dtype == b.dtype else \
                    (b.astype(np.uint16) * 257 if a.dtype == np.uint16 else _eight_bit(b))
                a8, b8 = _eight_bit(a), _eight_bit(b)
                row = (i, psnr(b8, a8), ssim(b8, a8))
                plan.stats.append(row)
                print(f"{row[0]}\t{row[1]:.3f}\t{row[2]:.4f}", flush=True)
                yield self._compose(a, b, i / total)
            if next(others, None) is not None:
                raise InputError(f"{info.path.name} ends after {i + 1} frames and {self.other.path.name} goes on: "
                                 "compare takes two videos of the same length")

    def _compose(self, a: np.ndarray, b: np.ndarray, progress: float) -> np.ndarray:
        if self.mode == "side":
            return np.ascontiguousarray(np.concatenate([a, b], axis=1))
        if self.mode == "diff":
            top = np.iinfo(a.dtype).max
            return np.clip(np.abs(a.astype(np.int32) - b.astype(np.int32)) * 4, 0, top).astype(a.dtype)
        x = round(progress * a.shape[1])
        out = a.copy()
        out[:, x:] = b[:, x:]
        out[:, max(0, x - 1):x + 1] = np.iinfo(a.dtype).max  # the split line
        return out


def plot(rows: list[tuple[int, float, float]], path: str | os.PathLike, title: str) -> None:
    """PSNR (blue, left scale) and SSIM (orange, right scale) per frame, drawn to a PNG at ``path``."""
    w, h, m = 960, 420, 60
    img = np.full((h, w, 3), 255, np.uint8)
    n = max(2, len(rows))
    p = np.array([r[1] for r in rows])
    s = np.array([r[2] for r in rows])
    finite = p[np.isfinite(p)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    lo, hi = np.floor(lo) - 1, np.ceil(hi) + 1
    slo, shi = max(0.0, float(s.min()) - 0.02), min(1.0, float(s.max()) + 0.02)
    shi = shi if shi > slo else slo + 0.01

    def xy(i, v, a, b):
        return int(m + i * (w - 2 * m) / (n - 1)), int(h - m - (v - a) * (h - 2 * m) / (b - a))

    cv2.rectangle(img, (m, m), (w - m, h - m), (0, 0, 0), 1)
    for v in np.linspace(lo, hi, 5):
        cv2.putText(img, f"{v:.1f}", (4, xy(0, v, lo, hi)[1] + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (180, 80, 0), 1)
    for v in np.linspace(slo, shi, 5):
        cv2.putText(img, f"{v:.3f}", (w - m + 4, xy(0, v, slo, shi)[1] + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    (0, 120, 230), 1)
    pts_p = np.array([xy(i, min(max(v, lo), hi), lo, hi) for i, v in enumerate(p)], np.int32)
    pts_s = np.array([xy(i, v, slo, shi) for i, v in enumerate(s)], np.int32)
    cv2.polylines(img, [pts_p], False, (180, 80, 0), 2, cv2.LINE_AA)  # BGR: blue
    cv2.polylines(img, [pts_s], False, (0, 120, 230), 2, cv2.LINE_AA)  # orange
    cv2.putText(img, title, (m, 36), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, "PSNR dB", (m, h - 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (180, 80, 0), 1, cv2.LINE_AA)
    cv2.putText(img, "SSIM", (w - m - 40, h - 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 120, 230), 1, cv2.LINE_AA)
    cv2.putText(img, "frame", (w // 2 - 20, h - 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}.png")
    if not cv2.imwrite(str(tmp), img):
        raise OptionError(f"cannot write the plot to {path}")
    os.replace(tmp, path)


def add(sub) -> None:
    p = sub.add_parser("compare", help="before/after video of two videos, with per-frame PSNR and SSIM",
                       description="Put two videos of the same length side by side (or a sweeping wipe, or their "
                                   "difference) and measure B against A frame by frame: PSNR (dB) and SSIM of the "
                                   "luma. Per-frame figures go to standard output as 'frame<TAB>psnr<TAB>ssim'; "
                                   "--plot draws them over time.",
                       epilog="example:\n  vidgen compare clip.mp4 clip_deblurred.mp4 -o ab.mp4 --plot quality.png",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", help="video A (the reference: its rate, audio and colour are kept)")
    p.add_argument("other", help="video B, as long as A")
    p.add_argument("-o", "--output", default=None, help="output video (default: A_vs_B.mp4 beside A)")
    p.add_argument("--mode", default="side", choices=MODES, help="side (default), wipe or diff")
    p.add_argument("--plot", default=None, metavar="FILE.png", help="draw PSNR and SSIM over time into this PNG")
    p.add_argument("--input-fps", default=None, metavar="F", help="frame rate of image-folder inputs (default 25)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    add_encode_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.plot is not None and Path(args.plot).suffix.lower() != ".png":
        raise OptionError(f"--plot writes a PNG: name it .png, not {args.plot}")
    job = CompareJob(args.other, args.mode, args.input_fps)
    res = job.run(args.input, args.output, encode=encode_settings(args), keep_audio=not args.no_audio,
                  progress=not args.quiet, image_fps=args.input_fps)
    rows = res.stats
    if args.plot:
        plot(rows, args.plot, f"{Path(args.other).name} vs {Path(args.input).name}")
    if not args.quiet:
        p = np.array([r[1] for r in rows])
        log.info(f"wrote {res.path}: {res.frames} frames; B vs A mean PSNR {p.mean():.2f} dB "
                 f"(min {p.min():.2f} at frame {int(p.argmin())}), mean SSIM {np.mean([r[2] for r in rows]):.4f}")
    sys.stdout.flush()
    return 0
