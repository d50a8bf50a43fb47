"""The skeleton every file job runs: probe -> output name -> read -> transform -> write, with progress,
notices and an atomic rename, streaming (a few frames in memory, whatever the video's length).

A job says only what is its own: :meth:`FileJob.plan` (the output's size, rate and name tag for an
input) and :meth:`FileJob.transform` (frames in -> frames out, the same transform the frame-level
API runs). Example, a job that mirrors a video::

    class Mirror(FileJob):
        task = "mirror"

        def plan(self, info, **params):
            return JobPlan(info.width, info.height, info.fps, tag="mirrored", total=info.frame_count)

        def transform(self, frames, info, plan):
            return (np.ascontiguousarray(f[:, ::-1]) for f in frames)

    Mirror()("in.mp4")            # writes in_mirrored.mp4, audio and colour kept
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import OptionError
from ..io.pipes import is_stdio
from ..io.probe import VideoInfo, probe, snap_ntsc
from ..io.reader import VideoReader
from ..io.writer import EncodeSettings, VideoWriter, container_for
from ..progress import progress_bar

log = logging.getLogger("vidgen")
MAX_RATE = 1000  # fps: the highest output rate a job writes


def parse_rate(text: str | float | Fraction) -> Fraction:
    """A frame rate from ``"60"``, ``"59.94"``, ``"60000/1001"`` or a number.

    Decimal rates that people write for NTSC (23.976, 29.97, 59.94, 119.88) become the exact
    rationals they stand for (:func:`vidgen.io.probe.snap_ntsc`, as the probe reads rounded rates).
    """
    if isinstance(text, Fraction):
        rate = text
    else:
        s = str(text).strip()
        try:
            if "/" in s:
                n, d = s.split("/", 1)
                rate = Fraction(int(n), int(d))
            else:
                rate = snap_ntsc(Fraction(s))
        except (ValueError, ZeroDivisionError):
            raise OptionError(f"'{text}' is not a frame rate: write 60, 59.94 or 60000/1001") from None
    if not 0 < rate <= MAX_RATE:
        raise OptionError(f"frame rate {text} is out of range (0, {MAX_RATE}]")
    return rate


def rate_text(r: Fraction) -> str:
    return f"{r.numerator}" if r.denominator == 1 else f"{r.numerator}/{r.denominator} (~{float(r):.3f})"


def output_suffix(codec: str) -> str:
    """The file type a codec is written in when no output name is given: ``.mkv`` for ffv1, ``.webm``
    for vp9, ``.mp4`` otherwise."""
    return {"ffv1": ".mkv", "vp9": ".webm"}.get(codec, ".mp4")


def default_output(src: Path, tag: str, codec: str) -> Path:
    """``clip.mp4`` -> ``clip_2x.mp4`` beside it (in the codec's :func:`output_suffix`)."""
    stem = src.name if src.is_dir() else src.stem
    return src.parent / f"{stem}_{tag}{output_suffix(codec)}"


@dataclass
class JobPlan:
    """What a job writes for one input."""

    width: int
    height: int
    fps: Fraction
    tag: str  # default output name: <input stem>_<tag>.<ext>
    total: int | None = None  # expected output frames, for the progress bar
    keep_audio: bool = True  # False where the job changes the timing (slow motion)
    keep_subtitles: bool = True
    notices: list[str] = field(default_factory=list)
    stats: Any = None  # counters the transform fills in (interpolation: RetimeStats); returned in JobOutput
    extra: dict = field(default_factory=dict)  # what else the job worked out for its transform (a time step...)


@dataclass
class JobOutput:
    """Result of a file job."""

    path: Path
    frames: int  # frames written
    fps: Fraction
    size: tuple[int, int]  # (width, height) written
    seconds: float
    notices: list[str] = field(default_factory=list)
    stats: Any = None  # the job's own counters (interpolation: RetimeStats)


class FileJob:
    """Base of the file pipelines; see the module docstring. Subclasses set :attr:`task` and define
    :meth:`plan` and :meth:`transform`; :meth:`run` runs the skeleton."""

    task = "job"
    margin = 0  # input frames before a restart point that a resumed transform reads (see transform_from)

    def plan(self, info: VideoInfo, **params) -> JobPlan:
        """What the output of ``info`` will be, for this call's ``params``."""
        raise NotImplementedError

    def transform(self, frames: Iterator[np.ndarray], info: VideoInfo, plan: JobPlan) -> Iterator[np.ndarray]:
        """The output frames, streamed from the input's."""
        raise NotImplementedError

    def transform_from(self, frames: Iterator[np.ndarray], info: VideoInfo, plan: JobPlan, start: int
                       ) -> Iterator[np.ndarray]:
        """The output frames from the restart point at input frame ``start`` on (a resumed run), given
        the input from ``start - margin``. A job that can resume sets ``plan.stats.restart_at`` before
        each output frame of :meth:`transform`: the input index from which this method makes exactly
        that frame and the rest, or None."""
        raise NotImplementedError(f"{self.task} cannot resume")

    def run(self, input: str | os.PathLike | VideoInfo, output: str | os.PathLike | None = None, *,
            encode: EncodeSettings | None = None, keep_audio: bool = True, progress: bool = True,
            image_fps: Any = None, resume: Any = None, segment_seconds: float = 60, **params) -> JobOutput:
        """Run the job on the video (or image folder) ``input`` (a path, or what :func:`probe` said of it)
        into ``output`` (default: beside the input, named after the job); ``params`` go to :meth:`plan`.

        With ``resume`` (True, or a text naming the settings that must match, e.g. the command line), the
        output is made in segments of about ``segment_seconds`` kept in ``.NAME.resume/`` beside it; a
        run interrupted at any point continues from its last complete segment, and the finished
        segments are joined without re-encoding (see :func:`run_resumable`)."""
        started = time.perf_counter()
        encode = encode or EncodeSettings()
        encode.validate()
        # 1. probe the input and plan the output
        info = input if isinstance(input, VideoInfo) else \
            probe(input, parse_rate(image_fps) if image_fps is not None else None)
        plan = self.plan(info, **params)
        if output is None and is_stdio(info.path):
            raise OptionError("the input is stdin: name the output with -o (a file, or - for stdout)")
        out = Path(output) if output is not None else default_output(info.path, plan.tag, encode.codec)
        container_for(out)
        notices = list(plan.notices)
        if info.variable_frame_rate:
            notices.insert(0, f"{info.path.name} has a variable frame rate; it is read at a constant "
                              f"{rate_text(info.fps)} fps")
        for n in notices:
            log.warning(n)
        if resume:
            from .resume import run_resumable

            key = {"task": self.task, "params": repr(sorted(params.items())), "settings": str(resume),
                   "encode": repr(encode), "keep_audio": keep_audio}
            n = run_resumable(self, info, plan, out, encode, keep_audio, progress, key, segment_seconds)
            return JobOutput(out, n, plan.fps, (plan.width, plan.height), time.perf_counter() - started, notices,
                             plan.stats)
        # 2. stream: read -> transform -> write (written under a temporary name, renamed when complete)
        n = 0
        with VideoReader(info) as reader, \
                VideoWriter(out, plan.width, plan.height, plan.fps, source=info, settings=encode,
                            deep=reader.dtype == np.uint16, keep_audio=keep_audio and plan.keep_audio,
                            keep_subtitles=plan.keep_subtitles) as writer, \
                progress_bar(plan.total, self.task, enabled=progress) as bar:
            for frame in self.transform(reader, info, plan):
                writer.write(frame)
                n += 1
                bar.update(1)
        return JobOutput(out, n, plan.fps, (plan.width, plan.height), time.perf_counter() - started, notices,
                         plan.stats)
