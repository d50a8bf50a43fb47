"""Frame interpolation: a video in, the same video at a higher frame rate (or in slow motion) out.

Frames stream from the reader through the retimer to the writer; at most three distinct input frames
and a few queued output frames are in memory at once, whatever the video's length.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Protocol

import numpy as np

from ..errors import OptionError
from ..interpolators.scenes import SceneDetector, Thumb
from ..io.probe import VideoInfo
from ..io.writer import EncodeSettings
from .job import MAX_RATE, FileJob, JobOutput, JobPlan, parse_rate, rate_text

log = logging.getLogger("vidgen")


class FrameInterpolator(Protocol):
    """What the pipeline needs of an interpolation method (classical or learned).

    An interpolator whose ``concurrent_prepare`` attribute is true lets the retimer run
    ``prepare`` for the next pair in a worker thread while ``interpolate`` works on the current one.
    """

    def prepare(self, frame0: np.ndarray, frame1: np.ndarray) -> Any: ...

    def interpolate(self, state: Any, t: float) -> np.ndarray: ...


@dataclass
class RetimeStats:
    """What the retimer did, for the user and for tests."""

    frames_in: int = 0
    frames_out: int = 0
    interpolated: int = 0
    cuts: int = 0  # pairs of distinct frames found to be a scene cut
    duplicates: int = 0  # input frames found to repeat the previous distinct frame
    held: int = 0  # output frames that repeat a real frame at a cut or a still
    origin: int = 0  # input index of the stream's first frame (a resumed job starts part way)
    # before each output frame: the input index from which a fresh retime (step kept) makes exactly
    # this frame and all after it, or None where the frame depends on earlier input (see FileJob resume)
    restart_at: int | None = None


@dataclass
class _Key:
    pos: int  # index of the input frame
    frame: np.ndarray
    thumb: Thumb
    hold: bool = False  # same picture as the previous key: the end of a still


MAX_FACTOR = 64


def retime(frames: Iterable[np.ndarray], step: Fraction, interpolator: FrameInterpolator,
           detector: SceneDetector | None = None, detect_cuts: bool = True, dedup: bool = True,
           max_duplicate_run: int = 3, stats: RetimeStats | None = None) -> Iterator[np.ndarray]:
    """Resample a stream of frames in time: output frame j shows input time ``j * step``.

    Input frame i sits at time i. Output frames land on input frames where ``j * step`` is a
    whole number (those frames pass through untouched) and are interpolated between them
    otherwise; ``ceil(n / step)`` frames come out for n in, so the duration is kept. With
    ``dedup``, a frame that repeats the previous one (animation on twos, a stall) is dropped and
    the distinct frames around it are re-timed, so motion stays even; a run longer than
    ``max_duplicate_run`` is a real still and is held. Across a scene cut the nearest real frame
    is repeated. Example::

        out = list(retime(frames, Fraction(1, 2), ClassicalInterpolator()))   # 2x
    """
    if step <= 0:
        raise ValueError("step must be positive")
    stats = stats if stats is not None else RetimeStats()
    detector = detector or SceneDetector()
    src = iter(frames)
    keys: list[_Key] = []
    eof = False
    n = 0
    dup_run = 0
    pair_state: Any = None
    pair_cut: bool | None = None

    def pull() -> None:
        nonlocal eof, n, dup_run
        try:
            frame = next(src)
        except StopIteration:
            eof = True
            return
        pos = n
        n += 1
        stats.frames_in = n
        thumb = Thumb(frame)
        if keys and dedup and detector.is_duplicate(keys[-1].thumb, thumb):
            dup_run += 1
            stats.duplicates += 1
            return
        if dup_run > max_duplicate_run:
            # A long run is a still: hold it until its last frame, then move on.
            last = keys[-1]
            keys.append(_Key(pos - 1, last.frame, last.thumb, hold=True))
            stats.duplicates -= dup_run
        dup_run = 0
        keys.append(_Key(pos, frame, thumb))

    # Look-ahead: while this pair is interpolated, the next pair's prepare (optical flow, which
    # releases the GIL) runs in a worker thread. Measured whole runs of the shared bench's inputs,
    # median of 8: 640x272 1.75 -> 1.61 s; 176x144 no change (0.61 vs 0.62 s, within noise).
    ahead = ThreadPoolExecutor(1, thread_name_prefix="vidgen-prepare") \
        if getattr(interpolator, "concurrent_prepare", False) else None
    pending: tuple[_Key, _Key, Future] | None = None

    def state_for(a: _Key, b: _Key) -> Any:
        nonlocal pending
        state = None
        if pending is not None:
            ready = pending[2].result()  # waited for even if unused: never two prepares at once
            if pending[0] is a and pending[1] is b:
                state = ready
        if state is None:
            state = interpolator.prepare(a.frame, b.frame)
        pending = None
        if ahead is not None:
            while not eof and len(keys) < 3:
                pull()
            if len(keys) >= 3 and not keys[2].hold:
                pending = (keys[1], keys[2], ahead.submit(interpolator.prepare, keys[1].frame, keys[2].frame))
        return state

    try:
        j = 0
        while True:
            p = j * step
            while not eof and (not keys or keys[-1].pos <= p):
                pull()
            if eof and p >= n:
                break
            while len(keys) >= 2 and keys[1].pos <= p:
                keys.pop(0)
                pair_state, pair_cut = None, None
            a = keys[0]
            b = keys[1] if len(keys) > 1 else None
            # a real frame that is a key of its own (not a repeat, not a held still) starts a fresh retime
            # in the same state: the same keys follow, compared with the same frames
            stats.restart_at = stats.origin + a.pos if p == a.pos and not a.hold else None
            if p == a.pos or b is None:
                out = a.frame
            else:
                t = (p - a.pos) / (b.pos - a.pos)
                if pair_cut is None:
                    pair_cut = detect_cuts and not b.hold and detector.is_cut(a.thumb, b.thumb)
                    stats.cuts += int(pair_cut)
                if b.hold or pair_cut:
                    out = a.frame if t <= Fraction(1, 2) else b.frame
                    stats.held += 1
                else:
                    if pair_state is None:
                        pair_state = state_for(a, b)
                    out = interpolator.interpolate(pair_state, float(t))
                    stats.interpolated += 1
            stats.frames_out += 1
            yield out
            j += 1
    finally:
        if ahead is not None:
            ahead.shutdown(wait=True, cancel_futures=True)


class InterpolationPipeline(FileJob):
    """Raise a video's frame rate, or slow it down, by generating frames between the real ones.

    Example::

        pipe = InterpolationPipeline()                       # classical flow (balanced preset), no weights
        result = pipe("in.mp4", "out.mp4", factor=2)         # 2x the frame rate, audio kept
        result = pipe("in.mp4", "out.mp4", fps="60")         # any target rate, e.g. 23.976 -> 60
        result = pipe("in.mp4", "slow.mp4", factor=4, slowmo=True)  # 4x slower, same rate
    """

    def __init__(self, interpolator: FrameInterpolator | None = None, scene_detector: SceneDetector | None = None,
                 dedup: bool = True, max_duplicate_run: int = 3, detect_cuts: bool = True):
        if interpolator is None:
            from ..interpolators.classical import ClassicalConfig, ClassicalInterpolator

            interpolator = ClassicalInterpolator(ClassicalConfig.preset("balanced"))
        self.interpolator = interpolator
        self.scene_detector = scene_detector or SceneDetector()
        self.dedup = dedup
        self.max_duplicate_run = max_duplicate_run
        self.detect_cuts = detect_cuts

    # 1. check inputs
    @staticmethod
    def check_inputs(factor: float | None, fps: Any) -> None:
        if factor is not None and fps is not None:
            raise OptionError("give either --factor or --fps, not both")
        if factor is not None:
            if (isinstance(factor, float) and not factor.is_integer()) or not 2 <= factor <= MAX_FACTOR:
                raise OptionError(f"--factor must be a whole number from 2 to {MAX_FACTOR}, not {factor:g}")

    # 2. decide the output timing
    @staticmethod
    def timing(in_fps: Fraction, factor: int | None, fps: Any, slowmo: bool) -> tuple[Fraction, Fraction]:
        """(output frame rate, input frames per output frame)."""
        target = in_fps * int(factor) if fps is None else parse_rate(fps)
        if target > MAX_RATE and not slowmo:
            raise OptionError(f"--factor {factor} of {rate_text(in_fps)} fps would be {float(target):g} fps: the "
                              f"output frame rate is at most {MAX_RATE} fps (use --slowmo to keep the input's rate)")
        step = in_fps / target
        return (in_fps if slowmo else target), step

    def stream(self, frames: Iterable[np.ndarray], step: Fraction, stats: RetimeStats | None = None
               ) -> Iterator[np.ndarray]:
        """The frame-level transform: ``frames`` re-timed so output frame j shows input time ``j * step``
        (``step`` = input rate / output rate: 1/2 doubles the rate), with this pipeline's scene-cut and
        repeated-frame handling. Frames are RGB ``(H, W, 3)`` uint8 or uint16 (see :mod:`vidgen.frames`);
        real frames pass through untouched and only a few are held at a time."""
        # at the input's own rate every real frame is kept: there is nothing to re-time around repeats
        return retime(frames, step, self.interpolator, self.scene_detector, detect_cuts=self.detect_cuts,
                      dedup=self.dedup and step != 1, max_duplicate_run=self.max_duplicate_run, stats=stats)

    # 3. plan the output of one input, and stream it
    def plan(self, info: VideoInfo, factor: int | None = None, fps: Any = None, slowmo: bool = False) -> JobPlan:
        if factor is None and fps is None:
            factor = 2
        self.check_inputs(factor, fps)
        out_fps, step = self.timing(info.fps, factor, fps, slowmo)
        tag = (f"slowmo{factor}x" if slowmo else f"{factor}x") if fps is None else f"{float(parse_rate(fps)):g}fps"
        notices = ["--slowmo stretches time, so the audio and subtitles are dropped"] \
            if slowmo and (info.audio or info.subtitles) else []
        return JobPlan(info.width, info.height, out_fps, tag,
                       total=math.ceil(info.frame_count / step) if info.frame_count else None,
                       keep_audio=not slowmo, keep_subtitles=not slowmo, notices=notices, stats=RetimeStats(),
                       extra={"step": step})

    def transform(self, frames: Iterator[np.ndarray], info: VideoInfo, plan: JobPlan) -> Iterator[np.ndarray]:
        return self.stream(frames, plan.extra["step"], plan.stats)

    def transform_from(self, frames: Iterator[np.ndarray], info: VideoInfo, plan: JobPlan, start: int
                       ) -> Iterator[np.ndarray]:
        # output frames land on j * step; a restart point is a real frame, so start / step is whole
        plan.stats.origin = start
        return self.stream(frames, plan.extra["step"], plan.stats)

    def __call__(self, input: str | os.PathLike | VideoInfo, output: str | os.PathLike | None = None, *,
                 factor: int | None = None, fps: Any = None, slowmo: bool = False,
                 encode: EncodeSettings | None = None, keep_audio: bool = True, progress: bool = True,
                 image_fps: Any = None, resume: Any = None, segment_seconds: float = 60) -> JobOutput:
        """Interpolate the video (or image folder) ``input`` into ``output`` (default: beside it, named
        after the new rate): ``factor`` times the frame rate (default 2), or the rate ``fps``;
        ``slowmo`` keeps the input's rate and stretches time instead; ``resume``: see
        :meth:`FileJob.run`. Returns a :class:`JobOutput`
        whose ``stats`` are the :class:`RetimeStats`."""
        if factor is not None or fps is not None:
            self.check_inputs(factor, fps)  # before the input is probed: a bad option is the first error
        return self.run(input, output, encode=encode, keep_audio=keep_audio, progress=progress,
                        image_fps=image_fps, resume=resume, segment_seconds=segment_seconds, factor=factor, fps=fps,
                        slowmo=slowmo)
