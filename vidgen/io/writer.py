"""Streaming, atomic video writer.

Frames are piped as raw RGB into an ffmpeg process that encodes them to a temporary file beside
the output; only a complete, successful run renames it to the output name. An error, a Ctrl-C or
a crash leaves nothing under the output name. Audio, subtitles, chapters and metadata are copied
from a source file by the same ffmpeg process, re-encoded only when the container cannot hold
them.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import queue
import re
import shutil
import subprocess
import threading
import uuid
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..choices import CODECS
from ..errors import OptionError, OutputError
from .color import ENCODE_SWS_FLAGS, ColorSpec, color_spec, default_matrix
from .ffmpeg import ffmpeg_exe, last_error_line, popen
from .pipes import is_stdio, y4m_pix_fmt
from .probe import VideoInfo

log = logging.getLogger("vidgen")

CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".avi": "avi",
              ".nut": "nut"}
DEFAULT_CRF = {"h264": 18, "h265": 20, "vp9": 24}
_ENCODER = {"h264": "libx264", "h265": "libx265", "vp9": "libvpx-vp9", "ffv1": "ffv1"}  # one per CODECS entry
_CODEC_CONTAINERS = {
    "h264": ("mp4", "mov", "matroska", "avi", "nut"),
    "h265": ("mp4", "mov", "matroska", "nut"),
    "vp9": ("webm", "matroska", "mp4", "nut"),
    "ffv1": ("matroska", "avi", "mov", "nut"),
}
# Audio codecs each container takes as they are; anything else is re-encoded to the fallback.
_AUDIO_OK = {
    "mp4": {"aac", "mp3", "ac3", "eac3", "alac", "flac", "opus"},
    "mov": {"aac", "mp3", "ac3", "eac3", "alac", "pcm_s16le", "pcm_s24le", "pcm_s16be", "pcm_s24be", "pcm_f32le"},
    "matroska": None,  # takes everything
    "nut": None,
    "webm": {"opus", "vorbis"},
    "avi": {"mp3", "ac3", "pcm_s16le", "pcm_u8"},
}
_AUDIO_FALLBACK = {"mp4": "aac", "mov": "aac", "webm": "libopus", "avi": "libmp3lame", "matroska": "aac",
                   "nut": "aac"}
_TEXT_SUBS = {"subrip", "ass", "ssa", "webvtt", "mov_text", "text"}
_SUB_TARGET = {"mp4": "mov_text", "mov": "mov_text", "matroska": None, "webm": "webvtt", "avi": None, "nut": None}
# ffv1 stores these pixel formats as they are; others map to the nearest one it has.
_FFV1_SAME = {"yuv420p", "yuv422p", "yuv444p", "yuv410p", "yuv411p", "yuv440p", "gray", "bgr0", "gbrp",
              "yuv420p10le", "yuv422p10le", "yuv444p10le", "yuv420p12le", "yuv422p12le", "yuv444p12le",
              "yuv420p16le", "yuv422p16le", "yuv444p16le", "gbrp10le", "gbrp12le", "gbrp14le", "gbrp16le",
              "gray16le", "gray10le", "gray12le", "yuva420p", "yuva444p", "bgra", "rgb48le"}
_FFV1_MAP = {"rgb24": "bgr0", "bgr24": "bgr0", "rgba": "bgra", "argb": "bgra", "abgr": "bgra", "rgb0": "bgr0",
             "0rgb": "bgr0", "0bgr": "bgr0", "rgb48le": "gbrp16le", "bgr48le": "gbrp16le", "rgb48be": "gbrp16le",
             "yuvj420p": "yuv420p", "yuvj422p": "yuv422p", "yuvj444p": "yuv444p", "gray8": "gray",
             "nv12": "yuv420p", "nv21": "yuv420p", "p010le": "yuv420p10le"}


def container_for(path: Path) -> str | None:
    """ffmpeg muxer for an output path; None means an image-sequence folder."""
    suffix = path.suffix.lower()
    if suffix in CONTAINERS:
        return CONTAINERS[suffix]
    if suffix == "" or path.is_dir():
        return None
    raise OptionError(f"cannot write '{suffix}' files: use one of {', '.join(CONTAINERS)} or a folder for PNG frames")


@dataclass
class EncodeSettings:
    """How to encode: codec, quality and pixel format. ``None`` fields take the defaults."""

    codec: str = "h264"
    crf: int | None = None
    preset: str = "medium"
    pix_fmt: str | None = None

    def validate(self) -> None:
        if self.codec not in CODECS:
            raise OptionError(f"unknown codec '{self.codec}': choose one of {', '.join(CODECS)}")
        if self.crf is not None:
            top = 63 if self.codec == "vp9" else 51
            if self.codec == "ffv1":
                raise OptionError("--crf does not apply to ffv1, which is lossless")
            if not 0 <= self.crf <= top:
                raise OptionError(f"--crf must be between 0 and {top} for {self.codec}, not {self.crf}")


def output_pix_fmt(settings: EncodeSettings, source: VideoInfo | None, deep: bool) -> str:
    """Pixel format of the encoded stream."""
    if settings.pix_fmt:
        return settings.pix_fmt
    if settings.codec == "ffv1":
        src = source.pix_fmt if source is not None else ("rgb48le" if deep else "rgb24")
        if src in _FFV1_MAP:
            return _FFV1_MAP[src]
        return src if src in _FFV1_SAME else ("yuv444p16le" if deep else "yuv444p")
    if settings.codec == "h265" and deep:
        return "yuv420p10le"
    return "yuv420p"


_YUV_PREFIXES = ("yuv", "nv1", "nv2", "p01", "p21", "uyvy", "yuyv", "y210")


def _is_rgb_fmt(pix_fmt: str) -> bool:
    return pix_fmt.startswith(("rgb", "bgr", "gbr", "argb", "abgr", "0rgb", "0bgr"))


def stream_args(container: str, suffix: str, src: VideoInfo | None, keep_audio: bool, keep_subtitles: bool
                ) -> list[str]:
    """ffmpeg maps and codecs copying the audio and subtitle streams of ``src`` (its input 1) into a
    ``container`` file, re-encoding those the container cannot hold as they are."""
    if src is None or src.is_image_sequence or not (src.audio or src.subtitles) or container == "yuv4mpegpipe":
        return []
    args: list[str] = []
    ai = si = 0
    if keep_audio:
        ok = _AUDIO_OK[container]
        for s in src.audio:
            args += ["-map", f"1:{s.index}"]
            if ok is None or s.codec in ok:
                args += [f"-c:a:{ai}", "copy"]
            else:
                fallback = _AUDIO_FALLBACK[container]
                args += [f"-c:a:{ai}", fallback]
                log.warning(f"audio stream {s.index} ({s.codec}) cannot go into {suffix} "
                            f"as it is; re-encoded to {fallback}")
            ai += 1
    if keep_subtitles:
        target = _SUB_TARGET[container]
        for s in src.subtitles:
            if container == "avi":
                log.warning(f"subtitle stream {s.index} dropped: .avi cannot hold subtitles")
                continue
            if target is None:
                codec = "srt" if s.codec == "mov_text" else "copy"
            elif s.codec == target or (target == "mov_text" and s.codec == "mov_text"):
                codec = "copy"
            elif s.codec in _TEXT_SUBS:
                codec = target
            else:
                log.warning(f"subtitle stream {s.index} ({s.codec}, a bitmap format) dropped: "
                            f"{suffix} cannot hold it; use .mkv to keep it")
                continue
            args += ["-map", f"1:{s.index}", f"-c:s:{si}", codec]
            si += 1
    if args:
        args = ["-map_metadata", "1", "-map_chapters", "1", *args]
    return args


class VideoWriter:
    """Write ``(H, W, 3)`` RGB frames to a video file or a folder of PNGs, atomically.

    ``source`` is the video the frames came from: its colour description is kept, and its audio
    and subtitles are copied unless ``keep_audio`` / ``keep_subtitles`` say otherwise.
    Frames may be ``uint8`` or ``uint16`` (``deep=True``). Example::

        with VideoWriter("out.mp4", 640, 360, Fraction(30000, 1001), source=info) as w:
            for frame in frames:
                w.write(frame)
        # out.mp4 exists only now, and only if no exception left the block
    """

    def __init__(self, path: str | os.PathLike, width: int, height: int, fps: Fraction, *,
                 source: VideoInfo | None = None, settings: EncodeSettings | None = None,
                 deep: bool = False, keep_audio: bool = True, keep_subtitles: bool = True):
        self.path = Path(path)
        self.width, self.height, self.fps = width, height, Fraction(fps)
        self.source = source
        self.settings = settings or EncodeSettings()
        self.settings.validate()
        self.deep = deep
        self.frames_written = 0
        self._pngs_written = 0
        self.to_stdout = is_stdio(self.path)
        self.container = "yuv4mpegpipe" if self.to_stdout else container_for(self.path)
        self._keep_audio, self._keep_subs = keep_audio, keep_subtitles
        self._proc: subprocess.Popen | None = None
        self._stderr = b""
        self._q: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._closed = False
        check_output_path(self.path, source.path if source is not None else None)
        if self.to_stdout:  # a pipe has no name to rename into: frames go straight out
            self.tmp_path = self.path
        else:
            remove_stale_partials(self.path)
            self.tmp_path = partial_path(self.path)
        if self.container is None:
            self.tmp_path.mkdir()
        else:
            self._start_ffmpeg()
        self._q = queue.Queue(maxsize=3)
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    # -- ffmpeg command -----------------------------------------------------------------------
    def _ffmpeg_cmd(self) -> list[str]:
        s = self.settings
        if not self.to_stdout and self.container not in _CODEC_CONTAINERS[s.codec]:
            raise OptionError(f"{s.codec} cannot go into {self.path.suffix}: use "
                              + " or ".join(sorted({k for k, v in CONTAINERS.items() if v in _CODEC_CONTAINERS[s.codec]})))
        pipe_fmt = "rgb48le" if self.deep else "rgb24"
        if self.to_stdout:
            out_fmt = s.pix_fmt or y4m_pix_fmt(self.source, self.deep)
        else:
            out_fmt = output_pix_fmt(s, self.source, self.deep)
        spec: ColorSpec
        if self.source is not None and not self.source.is_image_sequence:
            spec = color_spec(self.source)
            if not self.source.pix_fmt.startswith(_YUV_PREFIXES):
                # an RGB, palette or grey source has no YUV range to keep: YUV output is the usual
                # limited range (yuv420p, not yuvj420p), as --pix-fmt's help promises
                spec = dataclasses.replace(spec, range="tv")
        else:
            m = default_matrix(self.width, self.height)
            spec = ColorSpec(matrix=m, range="tv", primaries=m, trc=m)
        cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y",
               "-f", "rawvideo", "-pix_fmt", pipe_fmt, "-s", f"{self.width}x{self.height}",
               "-framerate", f"{self.fps.numerator}/{self.fps.denominator}", "-i", "pipe:0"]
        streams = stream_args(self.container, self.path.suffix, self.source, self._keep_audio, self._keep_subs)
        if streams:
            cmd += ["-i", str(self.source.path)]
        cmd += ["-map", "0:v"]
        filters = []
        rgb_out = _is_rgb_fmt(out_fmt)
        odd = (self.width % 2 or self.height % 2) and out_fmt.startswith(("yuv420", "yuv422", "nv12", "p010"))
        if odd and s.codec != "ffv1":
            # x264/x265/vpx refuse odd sizes in 4:2:0; smear the last row/column into a padding pixel.
            pw, ph = self.width % 2, self.height % 2
            filters.append(f"pad=w=iw+{pw}:h=ih+{ph},fillborders=right={pw}:bottom={ph}:mode=smear")
            log.warning(f"{self.width}x{self.height} is odd; {s.codec} 4:2:0 needs even sizes, so the output "
                                f"is padded to {self.width + pw}x{self.height + ph} (--codec ffv1 keeps it exact)")
        if rgb_out:
            filters.append(f"format={out_fmt}")
        else:
            filters.append(f"scale=out_color_matrix={spec.sws_matrix}:out_range={spec.range}"
                           f":flags={ENCODE_SWS_FLAGS},format={out_fmt}")
        tags = spec.setparams(rgb_out)
        if tags:
            filters.append(tags)
        sar = self.source.sar if self.source is not None else Fraction(1)
        if sar != 1:  # a uniform scale keeps the pixels' aspect: the picture displays as the input did
            filters.append(f"setsar={sar.numerator}/{sar.denominator}")
        if self.to_stdout:  # y4m: raw frames, rate and range in the header; deep formats are an extension
            return cmd + ["-vf", ",".join(filters), "-pix_fmt", out_fmt, "-strict", "-1", "-f", "yuv4mpegpipe",
                          "pipe:1"]
        cmd += ["-vf", ",".join(filters), "-c:v", _ENCODER[s.codec], "-pix_fmt", out_fmt]
        if s.codec == "ffv1":
            cmd += ["-level", "3", "-g", "1", "-slicecrc", "1"]
        elif s.codec == "vp9":
            cmd += ["-crf", str(s.crf if s.crf is not None else DEFAULT_CRF["vp9"]), "-b:v", "0", "-row-mt", "1"]
        else:
            cmd += ["-crf", str(s.crf if s.crf is not None else DEFAULT_CRF[s.codec]), "-preset", s.preset]
            if s.codec == "h265":
                cmd += ["-tag:v", "hvc1", "-x265-params", "log-level=error"]
        return cmd + streams + muxer_args(self.container, self.tmp_path)

    def _start_ffmpeg(self) -> None:
        cmd = self._ffmpeg_cmd()
        self._proc = popen(cmd, stdin=subprocess.PIPE, stdout=None if self.to_stdout else subprocess.DEVNULL,
                           stderr=subprocess.PIPE, start_new_session=True)
        self._stderr_thread = threading.Thread(target=self._read_stderr, daemon=True)
        self._stderr_thread.start()

    def _read_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        self._stderr = self._proc.stderr.read()[-20000:]

    # -- writing --------------------------------------------------------------------------------
    def _drain(self) -> None:
        """Background thread: hand frames to ffmpeg (or to PNG files) while the caller computes."""
        assert self._q is not None
        while True:
            frame = self._q.get()
            if frame is None:
                return
            if self._error is not None:
                continue
            try:
                if self.container is None:
                    self._write_png(frame)
                else:
                    assert self._proc is not None and self._proc.stdin is not None
                    self._proc.stdin.write(np.ascontiguousarray(frame).data)
            except BaseException as e:
                self._error = e

    def _write_png(self, frame: np.ndarray) -> None:
        import cv2

        name = self.tmp_path / f"{self._pngs_written:08d}.png"
        bgr = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2BGR)
        if not cv2.imwrite(str(name), bgr, [cv2.IMWRITE_PNG_COMPRESSION, 3]):
            raise OutputError(f"could not write {name}")
        self._pngs_written += 1

    def write(self, frame: np.ndarray) -> None:
        """Queue one ``(H, W, 3)`` RGB frame (uint8, or uint16 if ``deep``)."""
        want = np.uint16 if self.deep else np.uint8
        if frame.shape != (self.height, self.width, 3) or frame.dtype != want:
            raise ValueError(f"frame {frame.shape} {frame.dtype} does not match the writer's "
                             f"({self.height}, {self.width}, 3) {np.dtype(want)}")
        self._raise_if_failed()
        assert self._q is not None
        self._q.put(frame)
        self.frames_written += 1

    def _ffmpeg_failure(self) -> OutputError:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
        if self._proc is not None:
            self._proc.wait()
            self._stderr_thread.join(timeout=5)
        msg = last_error_line(self._stderr.decode("utf-8", "replace")) if self._stderr else str(self._error)
        if self.to_stdout and ("broken pipe" in msg.lower() or isinstance(self._error, BrokenPipeError)):
            return OutputError(f"the program reading stdout closed it after {self.frames_written} frames; stopped")
        return OutputError(f"writing {self.path} failed: {msg}")

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            err = self._error
            if isinstance(err, OutputError):
                raise err
            raise self._ffmpeg_failure()

    def close(self) -> Path:
        """Finish encoding and move the file into place; returns the output path."""
        if self._closed:
            return self.path
        assert self._q is not None and self._thread is not None
        self._q.put(None)
        self._thread.join()
        self._raise_if_failed()
        if self.frames_written == 0:
            self.abort()
            raise OutputError(f"no frames to write to {self.path}")
        if self._proc is not None:
            assert self._proc.stdin is not None
            try:
                self._proc.stdin.close()
            except BrokenPipeError:
                pass
            rc = self._proc.wait()
            self._stderr_thread.join(timeout=5)
            if rc != 0:
                err = self._ffmpeg_failure()
                self.abort()
                raise err
        self._closed = True
        if self.to_stdout:
            return self.path
        try:
            if self.container is None:
                if self.path.exists():
                    self.path.rmdir()  # empty (checked up front); a folder that filled since fails here
                os.replace(self.tmp_path, self.path)
            else:
                os.replace(self.tmp_path, self.path)
        except OSError as e:
            self.abort()
            raise OutputError(f"could not move the finished output to {self.path}: {e.strerror}") from None
        return self.path

    def abort(self) -> None:
        """Stop encoding and delete the partial output."""
        self._closed = True
        # Stop ffmpeg first: a writer thread blocked on its pipe then fails at once and drains.
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        if self._q is not None and self._thread is not None and self._thread.is_alive():
            self._error = self._error or RuntimeError("aborted")
            self._q.put(None)
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.to_stdout:
            return
        if self.tmp_path.is_dir():
            shutil.rmtree(self.tmp_path, ignore_errors=True)
        elif self.tmp_path.exists():
            self.tmp_path.unlink()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def partial_path(out: Path) -> Path:
    """The temporary name ``out`` is written under until complete: ``.NAME.partial-PID-xxxxxx.EXT``
    beside it (the pattern :func:`remove_stale_partials` cleans up after killed runs)."""
    return out.with_name(f".{out.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:6]}{out.suffix}")


def muxer_args(container: str, path: Path) -> list[str]:
    """ffmpeg's closing arguments writing ``container`` to ``path`` (MP4/MOV with the index at the front)."""
    return (["-movflags", "+faststart"] if container in ("mp4", "mov") else []) + ["-f", container, str(path)]


def check_output_path(out: Path, source: Path | None) -> None:
    """Refuse an output that would overwrite the input or cannot be written."""
    if is_stdio(out):
        return
    if source is not None:
        try:
            same = out.resolve() == source.resolve() or (out.exists() and os.path.samefile(out, source))
        except OSError:
            same = False
        if same:
            raise OutputError(f"the output {out} is the input file; pick another name with -o")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.exists():
        raise OutputError(f"cannot write {out}: folder {parent} does not exist")
    if not parent.is_dir():
        raise OutputError(f"cannot write {out}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {out}: folder {parent} is not writable")
    if out.is_dir():
        if out.suffix.lower() in CONTAINERS:
            raise OutputError(f"cannot write {out}: a folder of that name exists")
        if any(out.iterdir()):
            raise OutputError(f"output folder {out} is not empty; pick an empty or new folder")
    elif out.exists() and not out.is_file():
        raise OutputError(f"cannot write {out}: it exists and is not a regular file")


def write_video(path: str | os.PathLike, frames, fps: Fraction, settings: EncodeSettings | None = None) -> int:
    """Write ``(H, W, 3)`` frames (any iterable; the first one gives the size) to ``path`` atomically,
    with no source to copy audio or colour from; returns the number of frames written."""
    it = iter(frames)
    first = next(it, None)
    if first is None:
        raise OutputError(f"no frames to write to {path}")
    h, w = first.shape[:2]
    with VideoWriter(path, w, h, fps, settings=settings, deep=first.dtype == np.uint16) as writer:
        writer.write(first)
        for f in it:
            writer.write(f)
        return writer.frames_written


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_stale_partials(out: Path) -> list[Path]:
    """Delete the partial outputs ``.NAME.partial-PID-xxxxxx`` left beside ``out`` by runs that were
    killed outright (SIGKILL, power loss), whose process no longer exists; returns what was removed."""
    pattern = re.compile(rf"^\.{re.escape(out.name)}\.partial-(\d+)-[0-9a-f]{{6}}")
    removed = []
    parent = out.parent if str(out.parent) else Path(".")
    try:
        names = list(parent.iterdir())
    except OSError:
        return removed
    for p in names:
        m = pattern.match(p.name)
        if m is None or int(m.group(1)) == os.getpid() or _alive(int(m.group(1))):
            continue
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        removed.append(p)
        log.info(f"removed {p.name}, left by an interrupted run")
    return removed


def join_segments(parts: list[tuple[Path, int]], out: str | os.PathLike, fps: Fraction,
                  source: VideoInfo | None = None, *, keep_audio: bool = True, keep_subtitles: bool = True) -> Path:
    """Join video files of one encoding, each ``(path, frames)`` at ``fps`` (a resumable job's segments,
    see ``FileJob.run(resume=...)``), into ``out`` without re-encoding them, each starting where the
    frames before it end, with the audio and subtitles of ``source`` as
    :class:`VideoWriter` would copy them; written under a temporary name and renamed when complete."""
    from .ffmpeg import run_ffmpeg

    out = Path(out)
    container = container_for(out)
    check_output_path(out, source.path if source is not None else None)
    remove_stale_partials(out)
    tmp = partial_path(out)
    listing = tmp.with_suffix(".txt")
    # each part's length is given: the demuxer's own guess adds the encoder's reordering delay at every join
    listing.write_text("".join(f"file '{p.resolve()}'\nduration {float(frames / fps):.9f}\n" for p, frames in parts))
    args = ["-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing)]
    streams = stream_args(container, out.suffix, source, keep_audio, keep_subtitles)
    if streams:
        args += ["-i", str(source.path)]
    args += ["-map", "0:v", "-c:v", "copy", *streams, *muxer_args(container, tmp)]
    try:
        res = run_ffmpeg(args, timeout=None)
        if res.returncode != 0:
            raise OutputError(f"joining the segments into {out} failed: {last_error_line(res.stderr)}")
        os.replace(tmp, out)
    finally:
        listing.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
    return out
