"""What a video file holds: size, exact frame rate, colour, rotation, audio and subtitles.

imageio-ffmpeg ships ffmpeg without ffprobe, so :func:`probe` asks ffmpeg itself to decode one
frame at verbose log level and reads three things off its log: the stream list of the input
header, the filter graph's input line (exact rational frame rate, matrix, range) and ``showinfo``
for the first decoded frame (its size after rotation, primaries, transfer).
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from ..errors import InputError, VidgenError
from .ffmpeg import last_error_line, run_ffmpeg

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
# what a folder given as a command's input is searched for (a batch)
VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mkv", ".mov", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".mts", ".m2ts",
                    ".flv", ".wmv", ".ogv", ".3gp", ".y4m", ".nut", ".gif", ".mxf", ".dv", ".vob")

# Frame rates people mean when ffmpeg prints a rounded number.
STANDARD_RATES = [Fraction(24000, 1001), Fraction(30000, 1001), Fraction(60000, 1001),
                   Fraction(120000, 1001), Fraction(48000, 1001)]


@dataclass
class StreamInfo:
    """One non-video stream of the input (audio, subtitle, data)."""

    index: int
    kind: str  # "audio", "subtitle", "data", "attachment"
    codec: str
    language: str | None = None


@dataclass
class VideoInfo:
    """A video's properties as vidgen uses them.

    ``width``/``height`` are the displayed size (after rotation metadata is applied);
    ``fps`` is the exact constant rate frames are decoded at (VFR input is resampled to it).
    Example::

        info = probe("clip.mp4")
        info.fps          # Fraction(30000, 1001)
        info.frame_count  # estimate from the duration; exact only once decoded
    """

    path: Path
    width: int
    height: int
    fps: Fraction
    pix_fmt: str
    duration: float | None = None
    container: str = ""
    codec: str = ""
    bit_depth: int = 8
    color_range: str | None = None  # "tv" | "pc"
    color_space: str | None = None  # matrix: "bt709", "smpte170m", "bt2020nc", ...
    color_primaries: str | None = None
    color_trc: str | None = None
    rotation: float = 0.0
    variable_frame_rate: bool = False
    average_fps: Fraction | None = None
    start_time: float = 0.0
    streams: list[StreamInfo] = field(default_factory=list)
    image_files: list[Path] | None = None  # set for an image-sequence input
    sar: Fraction = Fraction(1)  # sample (pixel) aspect ratio: displayed width of a pixel / its height

    @property
    def is_image_sequence(self) -> bool:
        return self.image_files is not None

    @property
    def is_rgb(self) -> bool:
        return self.pix_fmt.startswith(("rgb", "bgr", "gbr", "argb", "abgr", "0rgb", "0bgr", "rgba", "bgra"))

    @property
    def audio(self) -> list[StreamInfo]:
        return [s for s in self.streams if s.kind == "audio"]

    @property
    def subtitles(self) -> list[StreamInfo]:
        return [s for s in self.streams if s.kind == "subtitle"]

    @property
    def frame_count(self) -> int | None:
        """Frames expected at ``fps`` (exact for image sequences, an estimate for files)."""
        if self.image_files is not None:
            return len(self.image_files)
        if self.duration is None:
            return None
        return max(1, round(self.duration * self.fps))


def _bit_depth(pix_fmt: str) -> int:
    """Bits per component of an ffmpeg pixel format name (yuv420p10le -> 10, rgb48le -> 16)."""
    m = re.search(r"(\d+)(le|be)$", pix_fmt)
    if not m:
        return 8
    n = int(m.group(1))
    if n in (9, 10, 12, 14, 16):
        return n
    return 16 if n in (32, 48, 64) else 8


def snap_ntsc(rate: Fraction) -> Fraction:
    """A rate written in decimals (``59.94``, ffmpeg's rounded ``29.97``) as the exact NTSC rational it
    stands for (60000/1001) when within 0.006 fps of one; any other rate as it is."""
    for r in STANDARD_RATES:
        if abs(float(r) - float(rate)) < 0.006:
            return r
    return rate


def _snap_average(value: float) -> Fraction:
    return snap_ntsc(Fraction(value).limit_denominator(1001))


def _fraction(text: str) -> Fraction | None:
    """A frame rate from ffmpeg's ``num/den``, snapped to the NTSC or whole rate it approximates.

    Matroska stores times in milliseconds, so 60000/1001 comes back as 19001/317; the two differ
    by 5e-8 relative, far less than any real rate difference.
    """
    try:
        num, den = text.split("/")
        if int(den) == 0 or int(num) == 0:
            return None
        rate = Fraction(int(num), int(den))
    except ValueError:
        return None
    for exact in (*STANDARD_RATES, Fraction(round(rate))):
        if exact and abs(rate / exact - 1) < 1e-5:
            return exact
    return rate


def _unknown(value: str | None) -> str | None:
    return None if value in (None, "unknown", "reserved", "unspecified") else value


def parse_probe_log(log: str, path: Path) -> VideoInfo:
    """Turn the log of :func:`probe`'s ffmpeg run into a :class:`VideoInfo`."""
    container = ""
    m = re.search(r"Input #0, (.+?), from ", log)
    if m:
        container = m.group(1)
    duration = None
    start = 0.0
    m = re.search(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)", log)
    if m:
        duration = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    m = re.search(r"Duration: [^,]+, start: (-?\d+(?:\.\d+)?)", log)
    if m:
        start = float(m.group(1))

    streams: list[StreamInfo] = []
    video_line = None
    rotation = 0.0
    # The input section ends where ffmpeg starts describing the output.
    head = log.split("Stream mapping:", 1)[0]
    lines = head.splitlines()
    for i, line in enumerate(lines):
        sm = re.match(r"\s*Stream #0:(\d+)(?:\[\w+\])?(?:\((\w+)\))?: (Video|Audio|Subtitle|Data|Attachment): (\w+)",
                      line)
        if not sm:
            continue
        idx, lang, kind, codec = int(sm.group(1)), sm.group(2), sm.group(3).lower(), sm.group(4)
        if kind == "video":
            if "(attached pic)" in line or video_line is not None:
                continue
            video_line = line
            for follow in lines[i + 1:i + 12]:
                if re.match(r"\s*Stream #", follow):
                    break
                rm = re.search(r"rotation of (-?\d+(?:\.\d+)?) degrees", follow)
                if rm:
                    rotation = float(rm.group(1))
            continue
        streams.append(StreamInfo(idx, kind, codec, None if lang in (None, "und") else lang))
    if video_line is None:
        raise InputError(f"{path} has no video stream")
    codec = re.search(r"Video: (\w+)", video_line).group(1)

    gm = re.search(r"input from stream [^\]]*\] w:(\d+) h:(\d+) pixfmt:(\w+) tb:\S+ fr:(\d+/\d+) sar:(\d+/\d+)"
                   r"(?: csp:(\w+))?(?: range:(\w+))?", log)
    fm = re.search(r"Parsed_showinfo_0[^\]]*\] n:\s*0 .*? fmt:(\w+) .*? s:(\d+)x(\d+)", log)
    cm = re.search(r"color_range:(\w+) color_space:(\w+) color_primaries:(\w+) color_trc:(\w+)", log)
    if fm is None:
        raise InputError(f"{path} has a video stream but no frame could be decoded from it (empty or broken file)")
    pix_fmt, width, height = fm.group(1), int(fm.group(2)), int(fm.group(3))

    avg = None
    am = re.search(r", (\d+(?:\.\d+)?)(k?) fps,", video_line)
    if am:
        avg = float(am.group(1)) * (1000 if am.group(2) else 1)
    fps = _fraction(gm.group(4)) if gm else None
    vfr = False
    if fps is None or fps > 240:
        # No usable base rate: fall back on the average rate ffmpeg prints.
        if avg is None:
            raise InputError(f"{path}: cannot tell its frame rate; pass --input-fps")
        fps = _snap_average(avg)
        vfr = True
    elif avg is not None and abs(avg - float(fps)) > 0.02 * float(fps):
        vfr = True
    color_space = _unknown(gm.group(6)) if gm else None
    color_range = _unknown(gm.group(7)) if gm else None
    n, d = (int(v) for v in gm.group(5).split("/")) if gm else (0, 0)
    sar = Fraction(n, d) if n > 0 and d > 0 else Fraction(1)  # 0/1: not set, square pixels
    if abs(rotation) % 180 == 90:  # the displayed frame is turned: its pixels' aspect too
        sar = 1 / sar
    primaries = trc = None
    if cm:
        color_range = color_range or _unknown(cm.group(1))
        color_space = color_space or _unknown(cm.group(2))
        primaries, trc = _unknown(cm.group(3)), _unknown(cm.group(4))
    if pix_fmt.startswith("yuvj"):
        color_range = "pc"
    return VideoInfo(path=path, width=width, height=height, fps=fps, pix_fmt=pix_fmt, duration=duration,
                     container=container, codec=codec, bit_depth=_bit_depth(pix_fmt), color_range=color_range,
                     color_space=color_space, color_primaries=primaries, color_trc=trc, rotation=rotation,
                     variable_frame_rate=vfr, average_fps=_snap_average(avg) if avg else None, start_time=start,
                     streams=streams, sar=sar)


def list_images(directory: Path) -> list[Path]:
    """Image files in ``directory``, in natural order (``2.png`` before ``10.png``)."""

    def natural(p: Path):
        return [int(s) if s.isdigit() else s.lower() for s in re.split(r"(\d+)", p.name)]

    return sorted((p for p in directory.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()),
                  key=natural)


def probe_images(directory: Path, fps: Fraction) -> VideoInfo:
    """Describe a folder of images as a video at ``fps``."""
    import cv2

    files = list_images(directory)
    if not files:
        raise InputError(f"{directory} is a folder with no images in it ({', '.join(IMAGE_EXTENSIONS)})")
    first = cv2.imread(str(files[0]), cv2.IMREAD_UNCHANGED)
    if first is None:
        raise InputError(f"{files[0]} is not a readable image")
    h, w = first.shape[:2]
    deep = first.dtype.itemsize > 1
    return VideoInfo(path=directory, width=w, height=h, fps=fps, pix_fmt="rgb48le" if deep else "rgb24",
                     duration=len(files) / fps, container="image2", codec="png", bit_depth=16 if deep else 8,
                     image_files=files)


_EARLY: dict[tuple, Future] = {}


def _file_key(p: Path, image_fps: Fraction | None) -> tuple | None:
    try:
        st = p.stat()
    except OSError:
        return None
    return (str(p.resolve()), st.st_mtime_ns, st.st_size, image_fps)


def probe_soon(path: str | os.PathLike, image_fps: Fraction | None = None) -> None:
    """Start probing the file at ``path`` in a thread; the next :func:`probe` of that unchanged file
    takes the result. The CLI calls it before importing numpy and OpenCV, so ffmpeg's probe overlaps
    the imports (about 60 ms of a small clip's 0.6 s run)."""
    p = Path(path)
    key = _file_key(p, image_fps) if p.is_file() else None
    if key is None or key in _EARLY:
        return
    fut: Future = Future()

    def work() -> None:
        try:
            fut.set_result(_probe(p, image_fps))
        except BaseException as e:  # handed to the caller of probe()
            fut.set_exception(e)

    _EARLY[key] = fut
    threading.Thread(target=work, name="vidgen-probe", daemon=True).start()


def probe(path: str | os.PathLike, image_fps: Fraction | None = None) -> VideoInfo:
    """Describe the video (or image folder) at ``path``; raise :class:`InputError` if it is not one.

    ``image_fps`` is the rate given to an image sequence (default 25).
    """
    if _EARLY:
        fut = _EARLY.pop(_file_key(Path(path), image_fps), None)
        if fut is not None:
            try:
                return fut.result()
            except VidgenError:
                raise
            except Exception:  # the early probe's own trouble (e.g. starting ffmpeg): probe here instead
                pass
    return _probe(path, image_fps)


def _probe(path: str | os.PathLike, image_fps: Fraction | None) -> VideoInfo:
    if str(path) == "-":
        from .pipes import probe_stdin

        return probe_stdin()
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p} does not exist")
    if p.is_dir():
        return probe_images(p, image_fps or Fraction(25))
    if not p.is_file():
        raise InputError(f"{p} is not a regular file")
    if not os.access(p, os.R_OK):
        raise InputError(f"{p} is not readable (permission denied)")
    if p.stat().st_size == 0:
        raise InputError(f"{p} is empty (0 bytes)")
    # one decoder thread: frame threading decodes frames ahead just to hand back the first (a 1080p FFV1
    # probe: 0.52 -> 0.29 CPU seconds, 0.38 -> 0.32 s)
    args = ["-v", "verbose", "-threads", "1", "-i", str(p), "-map", "0:V:0?", "-frames:v", "1", "-vf", "showinfo",
            "-f", "null", "-"]
    try:
        res = run_ffmpeg(args, timeout=60)
    except subprocess.TimeoutExpired:
        raise InputError(f"{p}: ffmpeg could not read it within 60 s") from None
    log = res.stderr
    if res.returncode != 0 and "Input #0" not in log:
        raise InputError(f"{p} is not a video ffmpeg can read: {last_error_line(log)}")
    info = parse_probe_log(log, p)
    if image_fps is not None and info.container.startswith(("image2", "png_pipe", "jpeg_pipe")):
        info.fps = image_fps
    return info
