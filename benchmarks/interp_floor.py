"""The fixed cost any interpolator pays on the shared benchmark's I/O contract, against ffmpeg
minterpolate's time in the same run, on clips rendered from the training corpus' held-out photos at
the benchmark clips' sizes and length (never the benchmark clips themselves).

    python benchmarks/interp_floor.py --corpus ~/vidgen-corpus [--runs 3]

The contract (shared/bench/README.md): the input is a lossless FFV1 .mkv in RGB (bgr0) and the 2x
output must be written losslessly in that pixel format. Per clip this prints, as medians of ``--runs``:

- ``minterpolate``: the benchmark's own baseline command (decode, minterpolate, FFV1 encode);
- ``codec floor``: one ffmpeg process that decodes the input and encodes the doubled frame count with
  FFV1, each frame repeated (no interpolation at all): what decoding and encoding alone cost;
- ``python floor``: a Python process that imports numpy and OpenCV and exits.

A Python program that interpolates cannot finish a clip below ``codec floor`` (its decoder and encoder
do the same work; ffmpeg already runs decode and encode in threads of their own) and pays its start-up
on top, unless its start-up overlaps the codec work, so ``max(codec, python)`` is the lowest bound and
``codec + python`` the serial one. The sums are set against the targets' fractions of minterpolate.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from vidgen.io.ffmpeg import ffmpeg_exe
from vidgen.training.stills import load_photos, render_clip

SIZES = {"bunny-like 1280x720": (1280, 720), "bikes-like 640x272": (640, 272), "carphone-like 176x144": (176, 144)}


def timed(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--frames", type=int, default=21, help="input frames per clip (the benchmark's 21)")
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    ff = ffmpeg_exe()
    photos = load_photos(a.corpus, "val")
    rng = np.random.default_rng(7)
    python = timed([sys.executable, "-c", "import numpy, cv2"], a.runs * 3)
    rows = []
    with tempfile.TemporaryDirectory() as td:
        for name, (w, h) in SIZES.items():
            clip = render_clip(rng, photos, a.frames, max(w, h), motion=1.0)[:, :h, :w]
            src = Path(td) / "in.mkv"
            subprocess.run([ff, "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r",
                            "12.5", "-i", "-", "-c:v", "ffv1", "-pix_fmt", "bgr0", str(src)],
                           input=np.ascontiguousarray(clip).tobytes(), check=True)
            mi = timed([ff, "-v", "error", "-y", "-i", str(src), "-vf",
                        "minterpolate=fps=25:mi_mode=mci:mc_mode=aobmc:me_mode=bidir:vsbmc=1", "-c:v", "ffv1",
                        "-pix_fmt", "bgr0", str(Path(td) / "mi.mkv")], a.runs)
            codec = timed([ff, "-v", "error", "-y", "-i", str(src), "-vf", "fps=25", "-c:v", "ffv1", "-level", "3",
                           "-g", "1", "-slicecrc", "1", "-pix_fmt", "bgr0", str(Path(td) / "rep.mkv")], a.runs)
            rows.append((name, mi, codec))
    print(f"{a.frames} input frames per clip, 2x to FFV1 bgr0; medians of {a.runs} runs; "
          f"python floor (import numpy, cv2): {python:.3f} s")
    print(f"{'clip':24s} {'minterpolate':>12s} {'codec floor':>12s} {'codec+python':>13s}")
    for name, mi, codec in rows:
        print(f"{name:24s} {mi:10.3f} s {codec:10.3f} s {codec + python:11.3f} s")
    mi_sum = sum(r[1] for r in rows)
    low = sum(max(r[2], python) for r in rows)
    serial = sum(r[2] + python for r in rows)
    print(f"{'sum':24s} {mi_sum:10.3f} s   lowest bound {low:.3f} s = {low / mi_sum:.2f}x, "
          f"serial {serial:.3f} s = {serial / mi_sum:.2f}x minterpolate")
    for target in (0.25, 0.5):
        print(f"  a {target}x target leaves {target * mi_sum - low:+.3f} s (lowest bound) / "
              f"{target * mi_sum - serial:+.3f} s (serial) for all interpolation work of the {len(rows)} clips")


if __name__ == "__main__":
    main()
