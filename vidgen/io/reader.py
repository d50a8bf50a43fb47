"""Streaming frame reader: frames flow out one at a time, whatever the video's length.

A video file is decoded by an ffmpeg process into raw RGB on a pipe; a folder of images is read
with OpenCV. Either way at most a few frames are in memory at once.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import threading
from collections.abc import Iterator
from fractions import Fraction

import numpy as np

from ..errors import InputError
from .color import DECODE_SWS_FLAGS, color_spec
from .ffmpeg import ffmpeg_exe, last_error_line, popen
from .pipes import is_stdio, stdin_stream
from .probe import VideoInfo, probe

# ffmpeg's words for a file that ends before its index says it should.
_TRUNCATED = re.compile(r"partial file|ended prematurely|truncat|unexpected end|moov atom not found", re.I)
_END = object()


class _Prefetch:
    """Run an iterator in a thread, a bounded number of items ahead of its consumer."""

    def __init__(self, it: Iterator, depth: int = 2):
        self._q: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(it,), daemon=True)
        self._thread.start()

    def _run(self, it: Iterator) -> None:
        try:
            for item in it:
                while not self._stop.is_set():
                    try:
                        self._q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if self._stop.is_set():
                    return
            self._q.put(_END)
        except BaseException as e:  # handed to the consumer, who raises it in its own thread
            self._q.put(e)

    def __iter__(self):
        return self

    def __next__(self):
        item = self._q.get()
        if item is _END:
            self._q.put(_END)
            raise StopIteration
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        self._stop.set()
        try:
            while True:
                self._q.get_nowait()
        except queue.Empty:
            pass


class VideoReader:
    """Iterate over a video's frames as ``(H, W, 3)`` RGB numpy arrays.

    Frames are ``uint8`` for 8-bit sources and ``uint16`` (full 16-bit scale) for deeper ones;
    they come at the constant rate ``info.fps`` (variable-rate input is resampled to it, which
    repeats frames in its slow stretches). Arrays are read-only views of the pipe's buffers.
    Example::

        with VideoReader("in.mp4") as r:
            for frame in r:          # frame.shape == (r.info.height, r.info.width, 3)
                ...
    """

    def __init__(self, source: str | os.PathLike | VideoInfo, image_fps: Fraction | None = None,
                 prefetch: int = 2, start: int = 0):
        self.info = source if isinstance(source, VideoInfo) else probe(source, image_fps)
        self.start = start  # frames (at info.fps) skipped before the first one read: decoded, not converted
        self.dtype = np.uint16 if self.info.bit_depth > 8 else np.uint8
        self.frames_read = 0
        self._proc: subprocess.Popen | None = None
        self._stderr: list[str] = []
        self._stderr_thread: threading.Thread | None = None
        self._prefetch_depth = prefetch
        self._iter: _Prefetch | None = None

    @property
    def _name(self) -> str:
        return "stdin" if is_stdio(self.info.path) else str(self.info.path)

    # -- decoding ---------------------------------------------------------------------------
    def _ffmpeg_args(self) -> list[str]:
        info = self.info
        filters = [f"fps={info.fps.numerator}/{info.fps.denominator}"]
        if self.start:
            filters.append(f"trim=start_frame={self.start},setpts=PTS-STARTPTS")
        pipe_fmt = "rgb48le" if self.dtype == np.uint16 else "rgb24"
        if info.is_rgb:
            filters.append(f"format={pipe_fmt}")
        else:
            spec = color_spec(info)
            filters.append(f"scale=in_color_matrix={spec.sws_matrix}:in_range={spec.range}"
                           f":flags={DECODE_SWS_FLAGS},format={pipe_fmt}")
        src = ["-i", "pipe:0"] if is_stdio(info.path) else ["-nostdin", "-i", str(info.path)]
        return [ffmpeg_exe(), "-hide_banner", "-v", "error", *src,
                "-map", "0:V:0", "-an", "-sn", "-dn", "-vf", ",".join(filters),
                "-f", "rawvideo", "-pix_fmt", pipe_fmt, "pipe:1"]

    def _drain_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        for line in iter(self._proc.stderr.readline, b""):
            if len(self._stderr) < 200:
                self._stderr.append(line.decode("utf-8", "replace"))

    def _frames_from_ffmpeg(self) -> Iterator[np.ndarray]:
        h, w = self.info.height, self.info.width
        nbytes = h * w * 3 * np.dtype(self.dtype).itemsize
        # start_new_session: a Ctrl-C in the terminal reaches vidgen alone, which then stops
        # ffmpeg itself instead of racing it to a half-written end.
        piped = is_stdio(self.info.path)
        self._proc = popen(self._ffmpeg_args(), stdin=subprocess.PIPE if piped else subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0, start_new_session=True)
        if piped:
            stdin_stream().feed(self._proc.stdin)
        self._stderr_thread = threading.Thread(target=self._drain_stderr, daemon=True)
        self._stderr_thread.start()
        out = self._proc.stdout
        while True:
            buf = bytearray(nbytes)
            view = memoryview(buf)
            got = 0
            while got < nbytes:
                n = out.readinto(view[got:])
                if not n:
                    break
                got += n
            if got < nbytes:
                break
            yield np.frombuffer(buf, self.dtype).reshape(h, w, 3)
        rc = self._proc.wait()
        self._stderr_thread.join(timeout=5)
        log = "".join(self._stderr)
        if _TRUNCATED.search(log):
            raise InputError(f"{self._name} is truncated or damaged: {last_error_line(log)}")
        if rc != 0:
            raise InputError(f"{self._name} could not be decoded: {last_error_line(log)}")

    def _frames_from_images(self) -> Iterator[np.ndarray]:
        import cv2

        assert self.info.image_files is not None
        for f in self.info.image_files[self.start:]:
            img = cv2.imread(str(f), cv2.IMREAD_UNCHANGED)
            if img is None:
                raise InputError(f"{f} is not a readable image")
            if img.ndim == 2:
                img = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
            elif img.shape[2] == 4:
                img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
            else:
                img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
            if img.shape[:2] != (self.info.height, self.info.width):
                raise InputError(f"{f} is {img.shape[1]}x{img.shape[0]}, but the sequence started at "
                                 f"{self.info.width}x{self.info.height}")
            if self.dtype == np.uint16 and img.dtype == np.uint8:
                img = img.astype(np.uint16) * 257
            elif self.dtype == np.uint8 and img.dtype != np.uint8:
                raise InputError(f"{f} has a different bit depth from the first image of the sequence")
            yield img

    # -- iteration --------------------------------------------------------------------------
    def __iter__(self) -> Iterator[np.ndarray]:
        if self._iter is not None:
            raise RuntimeError("a VideoReader can be iterated once")
        src = self._frames_from_images() if self.info.is_image_sequence else self._frames_from_ffmpeg()
        self._iter = _Prefetch(src, self._prefetch_depth) if self._prefetch_depth else None
        for frame in (self._iter if self._iter is not None else src):
            self.frames_read += 1
            yield frame
        if self.frames_read == 0 and not self.start:
            raise InputError(f"{self._name} holds no decodable video frames")

    def close(self) -> None:
        """Stop decoding and release the ffmpeg process."""
        if self._iter is not None:
            self._iter.close()
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_frames(path: str | os.PathLike, image_fps: Fraction | None = None) -> Iterator[np.ndarray]:
    """Yield the frames of ``path`` (see :class:`VideoReader`) and clean up afterwards."""
    with VideoReader(path, image_fps) as r:
        yield from r



