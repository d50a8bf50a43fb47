"""The ffmpeg binary vidgen decodes and encodes with.

vidgen talks to the static ffmpeg that ``imageio-ffmpeg`` ships, over pipes, rather than to
PyAV: that one binary has libx264, ffv1, minterpolate and scdet; it copies audio and subtitle
streams itself; and decoding and encoding then run in their own processes, in parallel with the
Python that computes new frames. ``VIDGEN_FFMPEG`` points vidgen at another binary.
"""

from __future__ import annotations

import errno
import functools
import importlib.util
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from ..errors import VidgenError


@functools.lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary: ``$VIDGEN_FFMPEG``, else imageio-ffmpeg's, else ``ffmpeg`` on PATH."""
    env = os.environ.get("VIDGEN_FFMPEG")
    if env:
        return env
    found = _imageio_ffmpeg_binary()
    if found:
        return found
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        found = shutil.which("ffmpeg")
        if found:
            return found
    raise VidgenError("no ffmpeg found: install imageio-ffmpeg (pip install imageio-ffmpeg) or set VIDGEN_FFMPEG")


def _imageio_ffmpeg_binary() -> str | None:
    """The one executable ``binaries/ffmpeg-*`` of the installed imageio-ffmpeg, found without importing
    it: ``imageio_ffmpeg.get_ffmpeg_exe()`` costs an import (35 ms here) and a run of ``ffmpeg
    -version`` (20 ms), a sixth of a small clip's whole interpolation. A binary that does not run
    still fails, at its first use, with a one-line error (see :func:`popen`). None when imageio-ffmpeg
    is absent, has no single binary, or ``IMAGEIO_FFMPEG_EXE`` names another one (then it decides)."""
    if os.environ.get("IMAGEIO_FFMPEG_EXE"):
        return None
    spec = importlib.util.find_spec("imageio_ffmpeg")
    for loc in (spec.submodule_search_locations or []) if spec is not None else []:
        exes = [b for b in Path(loc, "binaries").glob("ffmpeg-*") if b.is_file() and os.access(b, os.X_OK)]
        if len(exes) == 1:
            return str(exes[0])
    return None


# errno values with which starting a process can fail once and work a moment later. EFAULT is on
# the list because CI saw ``[Errno 14] Bad address`` from exec of the ffmpeg binary once, in a
# thread that spawned it while the main thread imported numpy and OpenCV (subprocess uses vfork,
# which shares the address space with the still-running threads); the same run repeated works.
_TRANSIENT_SPAWN = {errno.EFAULT, errno.EAGAIN, errno.EINTR, errno.ETXTBSY, errno.ENOMEM}


def popen(cmd: list[str], attempts: int = 3, **kwargs) -> subprocess.Popen:
    """``subprocess.Popen(cmd, **kwargs)`` that retries a transient failure to start the process and
    turns a lasting one into a one-line :class:`VidgenError` instead of a traceback.

    Example: ``proc = popen([ffmpeg_exe(), "-version"], stdout=subprocess.PIPE)``
    """
    for attempt in range(attempts):
        try:
            return subprocess.Popen(cmd, **kwargs)
        except OSError as e:
            if e.errno in _TRANSIENT_SPAWN and attempt + 1 < attempts:
                time.sleep(0.05 * (attempt + 1))
                continue
            raise VidgenError(f"could not start {cmd[0]}: {e.strerror or e}; "
                              "reinstall imageio-ffmpeg or point VIDGEN_FFMPEG at a working ffmpeg") from None
    raise AssertionError("unreachable")


def run_ffmpeg(args: list[str], timeout: float | None = 120, input: bytes | None = None,
               text: bool = True) -> subprocess.CompletedProcess:
    """Run ffmpeg with ``args`` (without the binary) to the end, capturing stderr (as text unless
    ``text=False``, which also captures stdout as bytes); ``input`` is fed to its stdin."""
    cmd = [ffmpeg_exe(), "-hide_banner", *(["-nostdin"] if input is None else []), *args]
    proc = popen(cmd, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                 stdout=subprocess.DEVNULL if text else subprocess.PIPE, stderr=subprocess.PIPE,
                 **({"errors": "replace", "text": True} if text else {}))
    with proc:
        try:
            out, err = proc.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def last_error_line(stderr: str) -> str:
    """The most telling line of an ffmpeg error log, for a one-line message."""
    lines = [re.sub(r"^(\[[^\]]*\]\s*)+", "", ln.strip()) for ln in stderr.splitlines() if ln.strip()]
    lines = [ln for ln in lines if ln]
    for ln in reversed(lines):
        low = ln.lower()
        if "error" in low or "invalid" in low or "no such" in low or "not found" in low or "denied" in low:
            return ln
    return lines[-1] if lines else "ffmpeg failed without a message"
