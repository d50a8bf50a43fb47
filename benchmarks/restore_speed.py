"""Seconds per 720p output frame of vidgen deblur / enhance x2 beside ffmpeg filters, whole commands.

Makes 2 s of the shared Big Buck Bunny clip at 640x360 (enhance input) and 1280x720 (deblur input) as
lossless RGB, then times each command end to end (start-up included) in the same run.

    python benchmarks/restore_speed.py [--clip ../shared/footage/bigbuckbunny.mp4]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

from vidgen.io.ffmpeg import ffmpeg_exe

FOOTAGE = Path(__file__).resolve().parent.parent.parent / "shared" / "footage" / "bigbuckbunny.mp4"


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clip", type=Path, default=FOOTAGE)
    p.add_argument("--seconds", type=float, default=2.0)
    a = p.parse_args()
    f = ffmpeg_exe()
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        for name, size in (("in360.mkv", "640:360"), ("in720.mkv", "1280:720")):
            subprocess.run([f, "-v", "error", "-y", "-i", str(a.clip), "-t", str(a.seconds), "-vf", f"scale={size}",
                            "-c:v", "ffv1", "-pix_fmt", "rgb24", str(d / name)], check=True)
        probe = subprocess.run([f, "-i", str(d / "in360.mkv"), "-map", "0:v", "-f", "null", "-"],
                               capture_output=True, text=True).stderr
        n = int(probe.split("frame=")[-1].split()[0])
        runs = {
            "ffmpeg lanczos x2 (720p out)": [f, "-v", "error", "-y", "-i", str(d / "in360.mkv"), "-vf",
                                              "scale=1280:720:flags=lanczos", "-c:v", "ffv1", str(d / "o1.mkv")],
            "vidgen enhance --scale 2 (720p out)": ["vidgen", "enhance", str(d / "in360.mkv"), "-o", str(d / "o2.mkv"),
                                                    "--scale", "2", "--codec", "ffv1", "--quiet"],
            "ffmpeg unsharp (720p)": [f, "-v", "error", "-y", "-i", str(d / "in720.mkv"), "-vf", "unsharp", "-c:v",
                                      "ffv1", str(d / "o3.mkv")],
            "vidgen deblur (720p)": ["vidgen", "deblur", str(d / "in720.mkv"), "-o", str(d / "o4.mkv"), "--codec",
                                     "ffv1", "--quiet"],
        }
        print(f"command: python benchmarks/restore_speed.py   ({n} frames of {a.clip.name})")
        for name, cmd in runs.items():
            s = timed(cmd)
            print(f"{name:40s} {s:7.2f} s total  {s / n:.3f} s per output frame")


if __name__ == "__main__":
    main()
