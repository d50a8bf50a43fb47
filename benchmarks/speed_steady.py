#!/usr/bin/env python3
"""Seconds per generated frame of ``vidgen interpolate`` and ffmpeg minterpolate on whole clips.

The shared benchmark interpolates 20 frames per clip, where process start-up (about 0.45 s for
vidgen: Python, numpy and OpenCV imports, a probe and two ffmpeg processes) is a large part of the
figure. This script runs both on the whole clip, in the same run, with the benchmark's settings:
2x, FFV1 RGB in and out, ffmpeg ``minterpolate=mi_mode=mci:mc_mode=aobmc:me_mode=bidir:vsbmc=1``.

    python benchmarks/speed_steady.py [CLIP ...]     (default: the clips in ../shared/footage)
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vidgen.io.ffmpeg import ffmpeg_exe
from vidgen.io.probe import probe

FOOTAGE = Path(__file__).resolve().parent.parent.parent / "shared" / "footage"


def timed(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> None:
    clips = [Path(p) for p in sys.argv[1:]] or sorted(FOOTAGE.glob("*.mp4"))
    ff = ffmpeg_exe()
    for clip in clips:
        with tempfile.TemporaryDirectory() as td:
            inp = Path(td) / "in.mkv"
            subprocess.run([ff, "-v", "error", "-i", str(clip), "-an", "-c:v", "ffv1", "-pix_fmt", "bgr0", str(inp)],
                           check=True)
            info = probe(inp)
            n = info.frame_count
            rate = info.fps * 2
            mi = [ff, "-v", "error", "-y", "-i", str(inp), "-vf",
                  f"minterpolate=fps={rate.numerator}/{rate.denominator}:mi_mode=mci:mc_mode=aobmc:me_mode=bidir:vsbmc=1",
                  "-c:v", "ffv1", "-pix_fmt", "bgr0", str(Path(td) / "mi.mkv")]
            vg = [sys.executable, "-m", "vidgen", "interpolate", str(inp), "-o", str(Path(td) / "vg.mkv"),
                  "--factor", "2", "--codec", "ffv1", "--quiet"]
            t_mi, t_vg = timed(mi), timed(vg)
            gen = n - 1  # frames generated between the n real ones
            print(f"{clip.name:26s} {info.width}x{info.height} {n:4d} frames: ffmpeg minterpolate "
                  f"{t_mi / gen:.4f} s/frame, vidgen {t_vg / gen:.4f} s/frame (ratio {t_vg / t_mi:.2f})", flush=True)
    print("commands: " + shlex.join(mi[:6]) + " ... | " + "vidgen interpolate IN -o OUT --factor 2 --codec ffv1 --quiet")


if __name__ == "__main__":
    main()
