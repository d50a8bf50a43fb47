"""Adapt a shipped model to the video it is about to process (``--adapt N`` on interpolate, deblur, enhance).

Self-supervised, on the input itself, for ``N`` optimizer steps before the job runs:

- interpolate: the learned refiner re-makes frames it drops from the input (windows of 2-6 frames,
  the truth in between), as ``vidgen finetune interpolate`` does on a folder;
- enhance: the input's own frames are the targets; a further-degraded copy (area downscale x2 and
  real libx264 round trips) is the input, so the network learns this video's textures and codec;
- deblur: the sharpest half of the input's frames are blurred along their own motion (neighbours
  averaged in linear light, camera shake, noise) and the network learns to undo it.

The weights live in a temporary folder that is removed when the job ends. At most ``max_frames``
frames are decoded for it, so memory follows that, not the video's length.

    with adapted_weights("deblur", "clip.mp4", steps=100) as weights:
        DeblurPipeline.from_pretrained(weights)("clip.mp4", "sharp.mp4")
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..errors import InputError, OptionError
from ..weights import INTERP_REFINER, shipped
from .config import RESTORE_WEIGHTS, RestoreTrainConfig, TrainConfig

log = logging.getLogger("vidgen")
ADAPT_MAX_FRAMES = 96  # frames of the input decoded for adaptation (from its start)


@contextlib.contextmanager
def adapted_weights(task: str, video: str | os.PathLike, steps: int, base: str | None = None, seed: int = 0,
                    progress: bool = True, max_frames: int = ADAPT_MAX_FRAMES) -> Iterator[Path]:
    """Fine-tune the ``task`` model ("interpolate", "deblur", "enhance") on ``video`` for ``steps``
    steps and yield the weights file (the refiner adapter for interpolate); see the module docstring."""
    from .interpolation import train as train_interpolation
    from .restoration import train as train_restoration

    if steps < 1:
        raise OptionError("--adapt must be at least 1 step")
    from ..io.probe import probe

    video = Path(video)
    if not video.is_file():
        raise InputError(f"--adapt needs a video file to learn from; {video} is not one")
    info = probe(video)
    # training crops must fit inside the frames (multiples of 32, at least 64): small videos use smaller ones
    crop = min(192 if task == "interpolate" else 128, min(info.width, info.height) // 32 * 32)
    if crop < 64:
        raise InputError(f"--adapt needs frames of at least 64x64 to learn from; {video.name} is "
                         f"{info.width}x{info.height}")
    tmp = Path(tempfile.mkdtemp(prefix="vidgen-adapt-"))
    try:
        data = tmp / "data"
        data.mkdir()
        (data / ("input" + video.suffix.lower())).symlink_to(video.resolve())
        common = dict(data=[str(data)], out=str(tmp / "run"), steps=steps, lr=1e-4, synthetic_ratio=0.0, crop=crop,
                      eval_every=steps, save_every=steps, val_samples=8, seed=seed, max_frames=max_frames,
                      warmup=max(1, min(20, steps // 10)))
        # the trainers report on stdout; here that belongs to the job's output, so their lines go to stderr
        with contextlib.redirect_stdout(sys.stderr):
            if task == "interpolate":
                cfg = TrainConfig(**common, init=base or str(shipped(INTERP_REFINER)))
                path = train_interpolation(cfg, progress=progress, command=f"vidgen interpolate --adapt {steps}")
            elif task in RESTORE_WEIGHTS:
                cfg = RestoreTrainConfig(**common, task=task, sharpest=0.5 if task == "deblur" else 0.0,
                                         init=base or str(shipped(RESTORE_WEIGHTS[task])))
                path = train_restoration(cfg, progress=progress, command=f"vidgen {task} --adapt {steps}")
            else:
                raise OptionError(f"--adapt is for interpolate, deblur and enhance, not {task}")
        _report(tmp / "run" / "log.jsonl")
        yield path
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _report(log_file: Path) -> None:
    """One line: the self-supervised validation PSNR before and after adapting."""
    import json

    rows = [json.loads(line) for line in log_file.read_text().splitlines() if '"val_psnr"' in line]
    if len(rows) >= 2:
        log.info(f"adapted to the input: {rows[0]['val_psnr']:.2f} -> {rows[-1]['val_psnr']:.2f} dB on its own "
                 f"held-back samples")
