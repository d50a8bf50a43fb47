"""Deblurring and enhancement (upscaling, denoising, compression clean-up) of whole videos.

Frames stream through: each output frame is made from the input frame and its two neighbours
(aligned to it by DIS flow), so only three input frames are in memory; large frames run in
overlapping tiles. Audio, subtitles, frame rate and colour are kept as by ``vidgen interpolate``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from ..choices import DENOISE_STRENGTH, ENHANCE_SCALES
from ..devices import choose
from ..errors import OptionError
from ..interpolators.classical import FlowAligner
from ..io.probe import VideoInfo
from ..io.tensors import from_float, to_float
from ..io.writer import EncodeSettings
from ..models.tiling import tiled
from ..weights import DEBLUR, ENHANCE_X2, shipped
from .job import FileJob, JobOutput, JobPlan

log = logging.getLogger("vidgen")


def denoise(frame: np.ndarray, level: int) -> np.ndarray:
    """OpenCV's non-local means on an 8-bit view of the frame (level 0: unchanged)."""
    h = DENOISE_STRENGTH[level]
    if h == 0:
        return frame
    eight = frame if frame.dtype == np.uint8 else (frame >> 8).astype(np.uint8)
    out = cv2.fastNlMeansDenoisingColored(np.ascontiguousarray(eight), None, h, h, 5, 15)
    return out if frame.dtype == np.uint8 else out.astype(np.uint16) * 257


def windows(frames: Iterable[np.ndarray]) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(previous, current, next) for each frame; the first and last frames are their own neighbours."""
    it = iter(frames)
    try:
        cur = next(it)
    except StopIteration:
        return
    prev = cur
    for nxt in it:
        yield prev, cur, nxt
        prev, cur = cur, nxt
    yield prev, cur, cur


@dataclass
class RestoreStats:
    """Where a restoration stream is (for a resumable job; see ``FileJob.run``)."""

    origin: int = 0  # input index of the stream's first frame
    restart_at: int | None = None  # before each output frame: its input index


MIN_TILE = 128  # four times the overlap: each tile keeps an unfaded middle


class FrameRestorer:
    """Restore one frame from itself and its aligned neighbours with a generator network.

    ``net`` maps ``(B, 9, h, w)`` (aligned previous, current, aligned next, in [0, 1]) to
    ``(B, 3, scale*h, scale*w)``. ``temporal=False`` feeds the current frame as its own neighbours
    (frame by frame). ``device`` and ``precision`` ("auto", "fp32", "fp16", "bf16") as
    :func:`vidgen.devices.choose` reads them (half precision only on CUDA).
    """

    def __init__(self, net: torch.nn.Module, scale: int, tile: int = 768, overlap: int = 32,
                 temporal: bool = True, device: str | torch.device = "cpu", precision: str = "fp32",
                 flow_max_side: int = 512):
        if tile < MIN_TILE:
            raise OptionError(f"--tile {tile} is too small: tiles overlap by {overlap} px on each side, so a tile "
                              f"must be at least {MIN_TILE} px")
        self.device, self.dtype = choose(str(device), precision)
        # channels-last: oneDNN's convolutions run about 25% faster on the CPU in that layout
        self.net = net.eval().to(self.device, memory_format=torch.channels_last)
        self.scale, self.tile, self.overlap, self.temporal = scale, tile, overlap, temporal
        self.multiple = getattr(net, "multiple", 1)
        self.aligner = FlowAligner(flow_max_side)

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.contiguous(memory_format=torch.channels_last))

    @torch.inference_mode()
    def __call__(self, prev: np.ndarray, cur: np.ndarray, nxt: np.ndarray) -> np.ndarray:
        c = to_float(cur)
        if self.temporal:
            p = self.aligner.align(c, to_float(prev)) if prev is not cur else c
            n = self.aligner.align(c, to_float(nxt)) if nxt is not cur else c
        else:
            p = n = c
        x = torch.from_numpy(np.concatenate([p, c, n], axis=2).transpose(2, 0, 1).copy())[None].to(self.device)
        with torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype is not None):
            y = tiled(self._run, x, self.scale, self.tile, self.overlap, self.multiple)
        return from_float(y[0].float().permute(1, 2, 0).cpu().numpy(), cur.dtype)


class ClassicalUpscaler:
    """Lanczos resampling (the fallback where no learned model applies)."""

    def __init__(self, scale: int):
        self.scale = scale

    def __call__(self, prev: np.ndarray, cur: np.ndarray, nxt: np.ndarray) -> np.ndarray:
        if self.scale == 1:
            return cur
        h, w = cur.shape[:2]
        return cv2.resize(cur, (w * self.scale, h * self.scale), interpolation=cv2.INTER_LANCZOS4)


class ThenResize:
    """A restorer followed by a Lanczos resize to the requested size (x4 from the x2 model)."""

    def __init__(self, inner, factor: float):
        self.inner, self.factor = inner, factor

    def __call__(self, prev, cur, nxt):
        out = self.inner(prev, cur, nxt)
        h, w = out.shape[:2]
        return cv2.resize(out, (round(w * self.factor), round(h * self.factor)),
                          interpolation=cv2.INTER_LANCZOS4 if self.factor > 1 else cv2.INTER_AREA)


class SingleFrame(torch.nn.Module):
    """Let a one-frame network (Real-ESRGAN) take the three-frame input: it sees the current frame."""

    def __init__(self, net: torch.nn.Module, multiple: int = 1):
        super().__init__()
        self.net, self.multiple = net, multiple

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x[:, 3:6])


class RestorationPipeline(FileJob):
    """Run a frame restorer over a video, streaming; see ``DeblurPipeline`` and ``EnhancePipeline``."""

    task = "restore"

    def __init__(self, restorer, scale: int = 1, denoise_level: int = 0):
        if denoise_level not in DENOISE_STRENGTH:
            raise OptionError(f"--denoise must be 0 to 3, not {denoise_level}")
        self.restorer, self.scale, self.denoise_level = restorer, scale, denoise_level

    margin = 1  # a frame is restored with its neighbours: a resumed job reads one frame before its start

    def plan(self, info: VideoInfo) -> JobPlan:
        return JobPlan(info.width * self.scale, info.height * self.scale, info.fps, self.tag, total=info.frame_count,
                       stats=RestoreStats())

    def transform(self, frames: Iterator[np.ndarray], info: VideoInfo, plan: JobPlan) -> Iterator[np.ndarray]:
        return self.stream(frames, plan.stats)

    def transform_from(self, frames: Iterator[np.ndarray], info: VideoInfo, plan: JobPlan, start: int
                       ) -> Iterator[np.ndarray]:
        # frames begin one before ``start`` (its previous neighbour); that frame's own output is dropped
        plan.stats.origin = start - 1
        out = self.stream(frames, plan.stats)
        next(out, None)
        return out

    def __call__(self, input: str | os.PathLike | VideoInfo, output: str | os.PathLike | None = None, *,
                 encode: EncodeSettings | None = None, keep_audio: bool = True, progress: bool = True,
                 image_fps: Any = None, resume: Any = None, segment_seconds: float = 60) -> JobOutput:
        """Restore the video (or image folder) ``input`` (a path, or what :func:`probe` said of it) into
        ``output`` (default: beside it, named after the task); ``resume``: see :meth:`FileJob.run`."""
        return self.run(input, output, encode=encode, keep_audio=keep_audio, progress=progress, image_fps=image_fps,
                        resume=resume, segment_seconds=segment_seconds)

    def stream(self, frames: Iterable[np.ndarray], stats: RestoreStats | None = None) -> Iterator[np.ndarray]:
        """The frame-level transform: restored frames, one per input frame, as they are ready.

        ``frames`` are RGB ``(H, W, 3)`` uint8 or uint16 arrays (see :mod:`vidgen.frames`); at most
        three are held at a time. Out come frames of the same dtype, ``scale`` times the size.
        """
        if self.denoise_level:
            frames = (denoise(np.array(f), self.denoise_level) for f in frames)
        stats = stats or RestoreStats()
        for i, (prev, cur, nxt) in enumerate(windows(frames)):
            stats.restart_at = stats.origin + i  # every frame restarts from its previous neighbour
            yield self.restorer(prev, cur, nxt)

    @property
    def tag(self) -> str:
        return self.task


def _load(path: str | os.PathLike | None, default: str, cls):
    return cls.from_pretrained(path if path is not None else shipped(default))


class DeblurPipeline(RestorationPipeline):
    """Remove camera shake and motion blur with the shipped (or a given) :class:`DeblurNet`.

    Example::

        DeblurPipeline.from_pretrained()("shaky.mp4", "sharp.mp4")
    """

    task = "deblur"

    @classmethod
    def from_pretrained(cls, weights: str | os.PathLike | None = None, **restorer_kw) -> DeblurPipeline:
        from ..models.restoration import DeblurNet

        return cls(FrameRestorer(_load(weights, DEBLUR, DeblurNet), scale=1, **restorer_kw))

    @property
    def tag(self) -> str:
        return "deblurred"


class EnhancePipeline(RestorationPipeline):
    """Upscale (x1, x2, x4) and clean up compression and noise.

    ``model``: ``learned`` (the shipped x2 generator; x4 adds a Lanczos x2; x1 runs it and scales
    back down), ``classical`` (Lanczos, with ``denoise_level`` non-local means), or
    ``esrgan:PATH`` (a Real-ESRGAN ``.pth``; its output is resized to ``scale`` if it differs).
    Example::

        EnhancePipeline.from_pretrained(scale=2)("small.mp4", "big.mp4")
    """

    task = "enhance"

    @classmethod
    def from_pretrained(cls, scale: int = 2, model: str = "learned", weights: str | os.PathLike | None = None,
                        denoise_level: int = 0, **restorer_kw) -> EnhancePipeline:
        if scale not in ENHANCE_SCALES:
            raise OptionError(f"--scale must be 1, 2 or 4, not {scale}")
        if model == "classical":
            restorer = ClassicalUpscaler(scale)
        elif model == "learned":
            from ..models.restoration import EnhanceNet

            net = _load(weights, ENHANCE_X2, EnhanceNet)
            base = FrameRestorer(net, scale=net.config.scale, **restorer_kw)
            restorer = base if scale == net.config.scale else ThenResize(base, scale / net.config.scale)
        elif model.startswith("esrgan:"):
            from ..models.esrgan import load_esrgan

            net, layout = load_esrgan(Path(model[len("esrgan:"):]).expanduser())
            base = FrameRestorer(SingleFrame(net, 4 if layout.scale == 1 else 2 if layout.scale == 2 else 1),
                                 scale=layout.scale, **{**restorer_kw, "temporal": False})
            restorer = base if scale == layout.scale else ThenResize(base, scale / layout.scale)
        else:
            raise OptionError(f"unknown --model '{model}': choose learned, classical or esrgan:PATH")
        return cls(restorer, scale=scale, denoise_level=denoise_level)

    @property
    def tag(self) -> str:
        return f"x{self.scale}" if self.scale > 1 else "enhanced"
