"""Start-up of two installs of vidgen: a 20-frame 176x144 clip through `vidgen interpolate`, end to end,
runs alternated, medians printed beside ffmpeg minterpolate on the same clip.

    python benchmarks/startup_compare.py /tmp/venv_before/bin/vidgen /tmp/venv_after/bin/vidgen [RUNS]

Install both the same way (an editable install adds about 20 ms of its own).
"""
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vidgen.io.ffmpeg import ffmpeg_exe

ff = ffmpeg_exe()
td = Path(tempfile.mkdtemp())
clip = td / "c.mp4"
subprocess.run([ff, "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=176x144:rate=25", "-frames:v", "20", "-pix_fmt", "yuv420p", str(clip)], check=True)
cmds = {"before": sys.argv[1], "after": sys.argv[2]}
times = {k: [] for k in cmds}
for i in range(int(sys.argv[3]) if len(sys.argv) > 3 else 15):
    for k, exe in cmds.items():
        out = td / f"o_{k}.mp4"
        t = time.perf_counter()
        subprocess.run([exe, "interpolate", str(clip), "-o", str(out), "--quiet"], check=True)
        times[k].append(time.perf_counter() - t)
        out.unlink()
t = time.perf_counter(); subprocess.run([ff, "-v", "error", "-y", "-i", str(clip), "-vf", "minterpolate=fps=50", str(td / "m.mp4")], check=True); tm = time.perf_counter() - t
for k, v in times.items():
    print(f"{k:6s} median {statistics.median(v):.3f} s  min {min(v):.3f}  runs {', '.join(f'{x:.3f}' for x in v)}")
print(f"ffmpeg minterpolate same clip: {tm:.3f} s")
