"""Weights vidgen trains and ships (see training/ for how each file was made), and where they are.

Inference finds them here; the trainers write files of the same names.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

DEBLUR = "deblur.safetensors"  # DeblurNet (training/restoration/README.md)
ENHANCE_X2 = "enhance_x2.safetensors"  # EnhanceNet, x2
INTERP_REFINER = "interp_refiner.safetensors"  # FlowRefiner of --model learned (training/interpolation/README.md)
T2V = "t2v"  # the small text-to-video model, a diffusers-layout folder (training/text_to_video/README.md)


def shipped(name: str) -> Path:
    """Path of a weights file (or folder) shipped in ``vidgen/weights``."""
    return Path(str(resources.files(__name__).joinpath(name)))
