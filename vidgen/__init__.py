"""vidgen: generative video synthesis and restoration.

Heavy modules (torch, the pipelines) load on first use, so ``import vidgen`` and the CLI start fast.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "InterpolationPipeline": "vidgen.pipelines.interpolation",
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
