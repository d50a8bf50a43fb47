"""vidgen: generative video synthesis and restoration.

Heavy modules (torch, the pipelines) load on first use, so ``import vidgen`` and the CLI start fast.

- frames in memory: ``vidgen.interpolate(frames, factor=2)``, ``vidgen.enhance(frames, scale=2)``,
  ``vidgen.deblur(frames)``, ``vidgen.generate("a boat at sea", model=...)`` (the frame contract is in
  :mod:`vidgen.frames`);
- files: ``InterpolationPipeline()("in.mp4", "out.mp4")``, ``DeblurPipeline.from_pretrained()``,
  ``EnhancePipeline.from_pretrained(scale=2)``, ``TextToVideoPipeline.from_pretrained()("a red circle
  moving left")``.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "interpolate": "vidgen.frames",
    "enhance": "vidgen.frames",
    "deblur": "vidgen.frames",
    "generate": "vidgen.frames",
    "InterpolationPipeline": "vidgen.pipelines.interpolation",
    "DeblurPipeline": "vidgen.pipelines.restoration",
    "EnhancePipeline": "vidgen.pipelines.restoration",
    "TextToVideoPipeline": "vidgen.pipelines.text_to_video",
    "VideoModel": "vidgen.pipelines.video_models",
    "ClassicalInterpolator": "vidgen.interpolators.classical",
    "VideoReader": "vidgen.io.reader",
    "VideoWriter": "vidgen.io.writer",
    "probe": "vidgen.io.probe",
}

from .errors import InputError, OptionError, OutputError, VidgenError, WeightsError  # noqa: E402

__all__ = ["VidgenError", "InputError", "OutputError", "OptionError", "WeightsError", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'vidgen' has no attribute {name!r}")
