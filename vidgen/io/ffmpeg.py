"""The ffmpeg binary vidgen decodes and encodes with.

vidgen talks to the static ffmpeg that ``imageio-ffmpeg`` ships, over pipes, rather than to
PyAV: that one binary has libx264, ffv1, minterpolate and scdet; it copies audio and subtitle
streams itself; and decoding and encoding then run in their own processes, in parallel with the
Python that computes new frames. ``VIDGEN_FFMPEG`` points vidgen at another binary.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess

from ..errors import VidgenError


@functools.lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary: ``$VIDGEN_FFMPEG``, else imageio-ffmpeg's, else ``ffmpeg`` on PATH."""
    env = os.environ.get("VIDGEN_FFMPEG")
    if env:
        return env
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        found = shutil.which("ffmpeg")
        if found:
            return found
    raise VidgenError("no ffmpeg found: install imageio-ffmpeg (pip install imageio-ffmpeg) or set VIDGEN_FFMPEG")


def run_ffmpeg(args: list[str], timeout: float | None = 120) -> subprocess.CompletedProcess:
    """Run ffmpeg with ``args`` (without the binary), capturing stderr as text."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", *args]
    return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout,
                          errors="replace", text=True)


def last_error_line(stderr: str) -> str:
    """The most telling line of an ffmpeg error log, for a one-line message."""
    lines = [re.sub(r"^(\[[^\]]*\]\s*)+", "", ln.strip()) for ln in stderr.splitlines() if ln.strip()]
    lines = [ln for ln in lines if ln]
    for ln in reversed(lines):
        low = ln.lower()
        if "error" in low or "invalid" in low or "no such" in low or "not found" in low or "denied" in low:
            return ln
    return lines[-1] if lines else "ffmpeg failed without a message"
