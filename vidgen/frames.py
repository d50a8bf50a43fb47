"""The frame-level API: every job as a transform of frames already in memory, no files.

    import vidgen
    out = vidgen.interpolate(frames, factor=2)          # 2x the frame rate
    out = vidgen.interpolate(frames, fps=60, in_fps=24)  # any target rate
    big = vidgen.enhance(frames, scale=2)
    sharp = vidgen.deblur(frames)
    clip = vidgen.generate("a boat at sea", model="./Wan2.1-T2V-1.3B-Diffusers", frames=33, size=(832, 480))

The file pipelines (``vidgen interpolate`` / ``deblur`` / ``enhance``, :class:`InterpolationPipeline`,
:class:`DeblurPipeline`, :class:`EnhancePipeline`) run exactly these transforms between their reader
and writer, so a frame here and a frame of the CLI's output are the same frame.

**The frame contract.** A frame is an RGB ``(H, W, 3)`` numpy array, ``uint8`` (0-255) or ``uint16``
(0-65535), in the video's own colour encoding (BT.709/601 already converted to RGB; no linearisation).
What goes in comes out in the same kind:

- a list (or tuple) of frames -> a list;
- an iterator or generator of frames -> a generator (streamed: only the few frames a job needs
  are held at once, so a long video never sits in memory);
- a ``(T, H, W, 3)`` array -> a ``(T', H', W', 3)`` array of the same dtype;
- a float tensor ``(B, C, T, H, W)`` in [0, 1] with C = 3 (the library's video layout) -> a float
  tensor of the same layout, device and dtype; each of the B videos is processed on its own. Values
  go through 16-bit frames on the way (a step of 1.5e-5, far below 8-bit).

Scene cuts, repeated frames (animation on twos, stalls) and re-timing belong to the transform:
``interpolate`` never blends across a cut and keeps every real frame unchanged.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from fractions import Fraction
from typing import Any

import numpy as np

from .errors import InputError, OptionError


def _check(frame: Any, i: int) -> np.ndarray:
    if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3 or \
            frame.dtype not in (np.uint8, np.uint16):
        what = f"{type(frame).__name__} {getattr(frame, 'shape', '')} {getattr(frame, 'dtype', '')}".strip()
        raise InputError(f"frame {i} is {what}: vidgen takes RGB (H, W, 3) uint8 or uint16 arrays "
                         "(see vidgen.frames)")
    return frame


def _checked(frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    n = 0
    for n, f in enumerate(frames, 1):
        yield _check(f, n - 1)
    if n == 0:
        raise InputError("no frames were given")


def _apply(frames: Any, job: Callable[[Iterator[np.ndarray]], Iterator[np.ndarray]]) -> Any:
    """Run ``job`` (an iterator of frames -> an iterator of frames) on ``frames`` of any kind the
    module docstring lists, and return the same kind."""
    torch = sys.modules.get("torch")  # not loaded yet: frames cannot be a tensor, and numpy jobs need no torch
    if torch is not None and isinstance(frames, torch.Tensor):
        if frames.ndim != 5 or frames.shape[1] != 3 or not frames.is_floating_point():
            raise InputError(f"a tensor of frames is float (B, 3, T, H, W) in [0, 1], not {tuple(frames.shape)} "
                             f"{frames.dtype}")
        videos = []
        for video in frames:  # (3, T, H, W)
            arr = (video.detach().float().clamp(0, 1).permute(1, 2, 3, 0).cpu().numpy() * 65535 + 0.5)
            out = np.stack(list(job(_checked(iter(arr.astype(np.uint16))))))
            videos.append(torch.from_numpy(out.astype(np.float32) / 65535).permute(3, 0, 1, 2))
        return torch.stack(videos).to(device=frames.device, dtype=frames.dtype)
    if isinstance(frames, np.ndarray):
        if frames.ndim != 4:
            raise InputError(f"an array of frames is (T, H, W, 3), not {frames.shape}")
        return np.stack(list(job(_checked(iter(frames)))))
    if isinstance(frames, (list, tuple)):
        return list(job(_checked(frames)))
    if isinstance(frames, Iterable):
        return job(_checked(frames))
    raise InputError(f"{type(frames).__name__} is not frames: give a list, an iterator or an array of RGB frames")


def interpolate(frames: Any, factor: int | None = None, *, fps: Any = None, in_fps: Any = None,
                model: str = "classical", preset: str = "balanced", scene_detect: bool = True, dedup: bool = True,
                max_duplicate_run: int = 3, flow_max_side: int | None = None) -> Any:
    """Raise the frame rate of ``frames`` by generating frames between them.

    ``factor`` multiplies the rate (2..64; default 2); or ``fps`` names the target rate, then
    ``in_fps`` (the frames' own rate) is required: ``interpolate(frames, fps="60000/1001",
    in_fps="24000/1001")``. ``model``: ``classical`` (optical flow), ``learned`` or ``rife:PATH``;
    ``preset``: ``fast``, ``balanced`` or ``best`` (the classical method's settings, as ``--preset``).
    Returns the same kind as ``frames`` (see the module docstring); ``ceil(n * rate ratio)`` frames
    for n in, real frames unchanged. Example::

        out = vidgen.interpolate([f0, f1, f2], factor=2)   # 6 frames: f0, new, f1, new, f2, f2
    """
    from .interpolators import make_interpolator
    from .pipelines.interpolation import InterpolationPipeline
    from .pipelines.job import parse_rate

    if factor is None and fps is None:
        factor = 2
    InterpolationPipeline.check_inputs(factor, fps)
    if fps is not None and in_fps is None:
        raise OptionError("interpolate(fps=...) needs in_fps, the frames' own rate")
    source = parse_rate(in_fps) if in_fps is not None else Fraction(1)
    _, step = InterpolationPipeline.timing(source, factor, fps, slowmo=False)
    pipe = InterpolationPipeline(make_interpolator(model, flow_max_side=flow_max_side, preset=preset), dedup=dedup,
                                 max_duplicate_run=max_duplicate_run, detect_cuts=scene_detect)
    return _apply(frames, lambda it: pipe.stream(it, step))


def enhance(frames: Any, scale: int = 2, *, denoise: int = 0, model: str = "learned", weights: str | None = None,
            device: str = "auto", precision: str = "auto", tile: int = 768, temporal: bool = True) -> Any:
    """Upscale ``frames`` by ``scale`` (1, 2 or 4) and clean up compression and noise.

    ``model``: ``learned`` (vidgen's network, or ``weights``), ``classical`` (Lanczos) or
    ``esrgan:PATH``; ``denoise`` 0-3 adds non-local means first. Each frame is restored with its two
    neighbours aligned to it (``temporal=False``: frame by frame). Returns the same kind as
    ``frames``, each frame ``scale`` times larger. Example::

        big = vidgen.enhance(np.stack(frames), scale=2)     # (T, 2H, 2W, 3) uint8
    """
    from .pipelines.restoration import EnhancePipeline

    pipe = EnhancePipeline.from_pretrained(scale=scale, model=model, weights=weights, denoise_level=denoise,
                                           tile=tile, temporal=temporal, device=device, precision=precision)
    return _apply(frames, pipe.stream)


def deblur(frames: Any, *, weights: str | None = None, device: str = "auto", precision: str = "auto",
           tile: int = 768, temporal: bool = True) -> Any:
    """Remove camera shake and motion blur from ``frames`` (vidgen's network, or ``weights``).

    Returns the same kind as ``frames``, same size. Example::

        sharp = vidgen.deblur(video_tensor)    # (B, 3, T, H, W) float in [0, 1]
    """
    from .pipelines.restoration import DeblurPipeline

    pipe = DeblurPipeline.from_pretrained(weights, tile=tile, temporal=temporal, device=device, precision=precision)
    return _apply(frames, pipe.stream)


def generate(prompt: str, *, model: str | None = None, image: Any = None, frames: int | None = None,
             size: tuple[int, int] | None = None, steps: int = 25, seed: int = 0, guidance: float | None = None,
             negative_prompt: str | None = None, lora: str | None = None, lora_scale: float = 1.0,
             device: str = "auto", precision: str = "auto", on_step: Callable[[], None] | None = None
             ) -> list[np.ndarray]:
    """A clip from a prompt (and, for image-to-video, a first-frame ``image``): a list of ``(H, W, 3)``
    uint8 frames, as ``vidgen generate`` / ``vidgen animate`` write them. ``model``: None (vidgen's own),
    a ModelScope-style folder, or a Wan / LTX-Video / CogVideoX / AnimateDiff folder or hub id;
    ``size`` is ``(width, height)``; ``on_step()`` is called after each denoising step."""
    from .pipelines.video_models import VideoModel, family_class

    w, h = size if size else (None, None)
    if family_class(model) is not None:
        vm = VideoModel.load(model, task="t2v" if image is None else "i2v", device=device, precision=precision,
                             lora=lora, lora_scale=lora_scale)
        video = vm.generate(prompt, image=image, negative_prompt=negative_prompt, num_frames=frames, height=h,
                            width=w, steps=steps, guidance=guidance, seed=seed, progress=False, on_step=on_step)
        return list(video.frames)
    if image is not None:
        raise OptionError("image-to-video needs a Wan I2V, LTX-Video or CogVideoX I2V model")
    from .devices import choose
    from .io.tensors import video_frames
    from .pipelines.text_to_video import TextToVideoPipeline

    dev, dtype = choose(device, precision)
    pipe = TextToVideoPipeline.from_pretrained(model, torch_dtype=dtype)
    if lora:
        pipe.load_lora(lora, scale=lora_scale)
    pipe.to(dev)

    def step_done(p, i, t, kw):
        if on_step is not None:
            on_step()
        return kw

    out = pipe(prompt, negative_prompt=negative_prompt, num_frames=frames or 16, height=h, width=w,
               num_inference_steps=steps, guidance_scale=guidance, seed=seed, progress=False,
               callback_on_step_end=step_done).frames
    return list(video_frames(out[0].float().cpu()))
