#!/usr/bin/env python3
"""Seconds per output frame, CPU use and peak memory of ``vidgen interpolate`` at 720p, 1080p and 2160p,
beside ffmpeg minterpolate in the same run, on clips made from the training corpus (not the bench).

    python benchmarks/speed_sizes.py --corpus ~/vidgen-corpus [--frames 24] [--sizes 1280x720 1920x1080 3840x2160]
        [--presets fast balanced best]

Each clip pans and zooms slowly across the corpus's largest photo (real detail, exact motion), is
written as lossless FFV1 RGB, and is doubled (2x, FFV1 out, as the bench does). Reported per run:
wall seconds per output frame, CPU utilisation (user+system seconds of the process tree / wall /
cores: 100% means both cores busy all the time) and the tree's peak resident memory.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from memory_flat import peak_rss  # noqa: E402

from vidgen.io.ffmpeg import ffmpeg_exe  # noqa: E402


def make_clip(corpus: str, size: tuple[int, int], frames: int, dst: Path) -> None:
    from vidgen.training.corpus import entries

    photos = sorted((p for _, p in entries(corpus, "photo")), key=lambda p: p.stat().st_size)
    img = cv2.cvtColor(cv2.imread(str(photos[-1])), cv2.COLOR_BGR2RGB)
    w, h = size
    scale = max(w / img.shape[1], h / img.shape[0]) * 1.25
    img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    cmd = [ffmpeg_exe(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", "25",
           "-i", "-", "-c:v", "ffv1", "-pix_fmt", "bgr0", str(dst)]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    for i in range(frames):  # a pan of 0.6% of the width per frame with a slow zoom
        k = 1 + 0.002 * i
        m = np.float32([[k, 0, -0.006 * w * i], [0, k, -0.002 * h * i]])
        p.stdin.write(cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR).tobytes())
    p.stdin.close()
    p.wait()


def measure(cmd: list[str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of the process tree, peak resident KiB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak, wall = peak_rss(cmd)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, peak


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--sizes", nargs="+", default=["1280x720", "1920x1080", "3840x2160"])
    ap.add_argument("--presets", nargs="+", default=["fast", "balanced", "best"])
    a = ap.parse_args()
    cores = os.cpu_count() or 1
    print(f"{a.frames} frames per clip, 2x -> {2 * a.frames} out; {cores} cores")
    with tempfile.TemporaryDirectory() as td:
        for s in a.sizes:
            w, h = (int(v) for v in s.split("x"))
            src = Path(td) / f"{s}.mkv"
            make_clip(a.corpus, (w, h), a.frames, src)
            out = Path(td) / "out.mkv"
            runs = {"ffmpeg minterpolate": [ffmpeg_exe(), "-v", "error", "-y", "-i", str(src), "-vf",
                                            "minterpolate=fps=50:mi_mode=mci:mc_mode=aobmc:me_mode=bidir:vsbmc=1",
                                            "-c:v", "ffv1", "-pix_fmt", "bgr0", str(out)]}
            for p in a.presets:
                runs[f"vidgen --preset {p}"] = [sys.executable, "-m", "vidgen", "interpolate", str(src), "-o", str(out),
                                                "--factor", "2", "--codec", "ffv1", "--preset", p, "-q"]
            base = None
            for name, cmd in runs.items():
                out.unlink(missing_ok=True)
                wall, cpu, peak = measure(cmd)
                base = base or wall
                print(f"{s:10s} {name:24s} {wall / (2 * a.frames):6.3f} s/frame ({wall / base:4.2f}x minterpolate)  "
                      f"CPU {100 * cpu / wall / cores:4.0f}%  peak {peak / 1024:6.0f} MiB")


if __name__ == "__main__":
    main()
