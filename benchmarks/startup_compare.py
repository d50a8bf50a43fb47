"""Start-up: a 20-frame 176x144 clip end to end through `vidgen interpolate` (one or more installs),
runs alternated with ffmpeg minterpolate on the same clip, medians printed, and each install's median
above minterpolate's (the issue 18 target: <= 0.3 s above).

    python benchmarks/startup_compare.py [--runs 15] vidgen [/tmp/venv_before/bin/vidgen ...]

Install the candidates the same way (an editable install adds about 20 ms of its own).
"""
import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from vidgen.io.ffmpeg import ffmpeg_exe


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("exe", nargs="+", help="vidgen executables to compare")
    ap.add_argument("--runs", type=int, default=15)
    a = ap.parse_args()
    ff = ffmpeg_exe()
    td = Path(tempfile.mkdtemp())
    clip = td / "c.mp4"
    subprocess.run([ff, "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=176x144:rate=25", "-frames:v", "20",
                    "-pix_fmt", "yuv420p", str(clip)], check=True)
    cmds = {exe: [exe, "interpolate", str(clip), "-o", str(td / "o.mp4"), "--quiet"] for exe in a.exe}
    cmds["ffmpeg minterpolate"] = [ff, "-v", "error", "-y", "-i", str(clip), "-vf", "minterpolate=fps=50",
                                   str(td / "o.mp4")]
    times: dict[str, list[float]] = {k: [] for k in cmds}
    for _ in range(a.runs):
        for name, cmd in cmds.items():
            (td / "o.mp4").unlink(missing_ok=True)
            t = time.perf_counter()
            subprocess.run(cmd, check=True)
            times[name].append(time.perf_counter() - t)
    base = statistics.median(times["ffmpeg minterpolate"])
    for name, v in times.items():
        med = statistics.median(v)
        print(f"{name:40s} median {med:.3f} s (+{med - base:.3f} s)  min {min(v):.3f}  max {max(v):.3f}")


if __name__ == "__main__":
    main()
