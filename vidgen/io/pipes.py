"""Standard input and output as video streams, so vidgen sits in a pipe between other programs::

    ffmpeg -i in.mp4 -f yuv4mpegpipe - | vidgen interpolate - -o - | ffmpeg -i - out.mkv
    vspipe script.vpy -c y4m - | vidgen enhance - -o - | mpv -

``-`` as the input reads any stream ffmpeg can read without seeking (y4m, Matroska, MPEG-TS, NUT;
not an MP4 whose index is at its end) from stdin. Its first bytes are read to learn the size, frame
rate and colour (:func:`probe_stdin`), then handed with the rest of the stream to the one decoder
that reads it (:meth:`StdinStream.feed`). ``-o -`` writes YUV4MPEG2 to stdout, frame rate and
colour range in its header; only video goes to stdout, every notice to stderr.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import BinaryIO

from ..errors import InputError
from .ffmpeg import last_error_line, run_ffmpeg

STDIO = "-"
_FIRST_READ = 1 << 20  # bytes read before the first probe; grown fourfold while no whole frame is in
_MOST_READ = 1 << 28  # 256 MiB: a few frames of 4K 16-bit 4:4:4 y4m
Y4M_FORMATS = {"yuv420p", "yuv422p", "yuv444p", "yuv411p", "gray", "yuv420p10le", "yuv422p10le", "yuv444p10le",
               "yuv420p12le", "yuv422p12le", "yuv444p12le", "yuv420p16le", "yuv422p16le", "yuv444p16le",
               "gray16le", "gray10le", "gray12le"}


def is_stdio(path) -> bool:
    """Whether ``path`` is ``-``, the command-line name of stdin (input) or stdout (output)."""
    return str(path) == STDIO


class StdinStream:
    """stdin as one video stream: the bytes already read to probe it, then the rest."""

    def __init__(self, source: BinaryIO, prefix: bytes):
        self.source, self.prefix = source, prefix
        self.taken = False

    def feed(self, sink: BinaryIO) -> threading.Thread:
        """Copy the whole stream into ``sink`` (a decoder's stdin) in a thread, closing it at the end;
        stops quietly when the decoder goes away first."""
        if self.taken:
            raise InputError("stdin can be read once: this job already read it")
        self.taken = True

        def copy() -> None:
            try:
                sink.write(self.prefix)
                self.prefix = b""
                while True:
                    chunk = self.source.read1(1 << 20) if hasattr(self.source, "read1") else self.source.read(1 << 20)
                    if not chunk:
                        break
                    sink.write(chunk)
            except (BrokenPipeError, OSError, ValueError):
                pass
            finally:
                try:
                    sink.close()
                except OSError:
                    pass

        t = threading.Thread(target=copy, name="vidgen-stdin", daemon=True)
        t.start()
        return t


_STREAM: StdinStream | None = None
_INFO = None


def stdin_stream() -> StdinStream:
    """The stream :func:`probe_stdin` opened (probe first)."""
    if _STREAM is None:
        raise InputError("stdin was not probed before it was read")
    return _STREAM


def _read_up_to(source: BinaryIO, n: int) -> bytes:
    parts, got = [], 0
    while got < n:
        chunk = source.read(n - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def probe_stdin(source: BinaryIO | None = None):
    """Describe the video arriving on stdin (or ``source``); the probe of a process's stdin is done once
    and remembered. Raises :class:`InputError` for a terminal, an empty stream or one that holds no video."""
    global _STREAM, _INFO
    from .probe import parse_probe_log

    if source is None and _INFO is not None:
        return _INFO
    own = source is None
    if own:
        if sys.stdin is None or sys.stdin.isatty():
            raise InputError("the input is - (stdin), but stdin is a terminal: pipe a video in, e.g. "
                             "ffmpeg -i in.mp4 -f yuv4mpegpipe - | vidgen ...")
        source = sys.stdin.buffer
    prefix = b""
    want = _FIRST_READ
    while True:
        more = _read_up_to(source, want - len(prefix))
        prefix += more
        eof = len(prefix) < want
        if not prefix:
            raise InputError("stdin is empty: no video came down the pipe")
        res = run_ffmpeg(["-v", "verbose", "-threads", "1", "-i", "pipe:0", "-map", "0:V:0?", "-frames:v", "1", "-vf",
                          "showinfo", "-f", "null", "-"], timeout=60, input=prefix, text=False)
        log = res.stderr.decode("utf-8", "replace")
        header_read = "Input #0" in log and "Video:" in log
        if "Parsed_showinfo_0" in log and " n:" in log or not header_read or eof or want >= _MOST_READ:
            break
        want *= 4  # the header is read but the first frame is not all in yet
    if not header_read:
        raise InputError(f"stdin is not a video stream ffmpeg can read ({last_error_line(log)}); pipe y4m, "
                         "Matroska or MPEG-TS (an MP4 needs seeking: give its path instead)")
    try:
        info = parse_probe_log(log, Path(STDIO))
    except InputError as e:
        raise InputError(str(e).replace(f"{STDIO} has", "stdin has", 1)) from None
    info.duration = None  # a pipe's length is known only at its end
    info.streams = [s for s in info.streams if s.kind not in ("audio", "subtitle")]  # cannot be read twice
    _STREAM, _INFO = StdinStream(source, prefix), (info if own else None)
    return info


def y4m_pix_fmt(source, deep: bool) -> str:
    """The pixel format written to a y4m pipe for frames from ``source`` (a VideoInfo, or None): the
    source's where y4m holds it (so the pipe's frames equal a file's), otherwise 4:2:0 (4:4:4 for RGB
    sources, which have no chroma to subsample)."""
    fmt = source.pix_fmt if source is not None else ""
    if fmt in Y4M_FORMATS:
        return fmt
    if source is not None and source.is_rgb:
        return "yuv444p16le" if deep else "yuv444p"
    if fmt.startswith("yuvj"):
        return fmt.replace("yuvj", "yuv")
    return "yuv420p10le" if deep else "yuv420p"
