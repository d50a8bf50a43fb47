#!/usr/bin/env python3
"""Peak memory of ``vidgen interpolate`` on a short and a long 720p video: it must not grow with length.

Makes 10 s and 60 s 720p videos by looping a real clip (default: Big Buck Bunny from
../shared/footage, else ffmpeg's testsrc2), runs the given vidgen command on each and samples the
resident memory of the whole process tree (vidgen plus its ffmpeg processes) every 20 ms.

    python benchmarks/memory_flat.py [--clip PATH] [--seconds 10 60] [--args "--factor 2 --codec ffv1"]
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vidgen.io.ffmpeg import ffmpeg_exe

HERE = Path(__file__).resolve().parent
DEFAULT_CLIP = HERE.parent.parent / "shared" / "footage" / "bigbuckbunny.mp4"


def tree_rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants, in KiB."""
    total = 0
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    stack += [int(c) for c in f.read().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def peak_rss(cmd: list[str]) -> tuple[int, float]:
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0
    while p.poll() is None:
        peak = max(peak, tree_rss_kib(p.pid))
        time.sleep(0.02)
    if p.returncode != 0:
        sys.exit(f"failed: {shlex.join(cmd)}\n{p.stderr.read()}")
    return peak, time.perf_counter() - t0


def make_input(clip: Path | None, seconds: int, dst: Path) -> None:
    if clip is not None and clip.exists():
        src = ["-stream_loop", "-1", "-i", str(clip)]
    else:
        src = ["-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25"]
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", *src, "-t", str(seconds), "-an", "-vf", "scale=1280:720",
                    "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", str(dst)], check=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clip", type=Path, default=DEFAULT_CLIP)
    ap.add_argument("--seconds", type=int, nargs="+", default=[10, 60])
    ap.add_argument("--args", default="--factor 2 --codec ffv1 --quiet")
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as td:
        for s in a.seconds:
            inp, out = Path(td) / f"in_{s}s.mp4", Path(td) / f"out_{s}s.mkv"
            make_input(a.clip, s, inp)
            cmd = [sys.executable, "-m", "vidgen", "interpolate", str(inp), "-o", str(out), *shlex.split(a.args)]
            peak, secs = peak_rss(cmd)
            rows.append((s, peak, secs))
            print(f"{s:4d} s of 720p: peak RSS {peak / 1024:7.1f} MiB (vidgen + ffmpeg), {secs:6.1f} s wall "
                  f"| vidgen interpolate IN -o OUT {a.args}", flush=True)
            inp.unlink()
            out.unlink()
    lo, hi = rows[0][1], rows[-1][1]
    print(f"peak RSS {rows[-1][0]} s / {rows[0][0]} s: {hi / lo:.3f} (flat means within 1.10)")


if __name__ == "__main__":
    main()
