"""Practical-RIFE checkpoints as an interpolation method (``--model rife:PATH``).

The network and its strict loader are in :mod:`vidgen.models.rife`; this is the interpolator
around it: numpy frames in and out, padding to the network's multiple.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..devices import choose
from ..io.tensors import frame_to_tensor, tensor_to_frame
from ..models.rife import IFNet, load_rife


@dataclass
class _RIFEState:
    img0: torch.Tensor
    img1: torch.Tensor
    size: tuple[int, int]
    dtype: object
    scale: float


class RIFEInterpolator:
    """Use a Practical-RIFE checkpoint as the interpolation method of :class:`InterpolationPipeline`.

    Frames are ``(H, W, 3)`` numpy arrays (uint8 / uint16 / float32); they are padded to the
    network's multiple by edge replication and cropped back. ``scale`` < 1 runs the flow
    estimation on smaller frames, as Practical-RIFE's ``--scale`` does; ``None`` picks 0.5 above
    2560 pixels (4K) and 1 below.
    """

    def __init__(self, net: IFNet, scale: float | None = None, device: str | torch.device = "cpu",
                 precision: str = "fp32"):
        self.device, self.dtype = choose(str(device), precision)
        self.net = net.to(self.device).eval()
        self.scale = scale

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike, **kw) -> RIFEInterpolator:
        return cls(load_rife(path), **kw)

    def _to_tensor(self, frame) -> torch.Tensor:
        return frame_to_tensor(frame, self.device)

    @torch.inference_mode()
    def prepare(self, frame0, frame1) -> _RIFEState:
        h, w = frame0.shape[:2]
        scale = self.scale if self.scale is not None else (0.5 if max(h, w) > 2560 else 1.0)
        m = max(self.net.config.pad_multiple, int(self.net.config.pad_multiple / scale))
        ph, pw = (-h) % m, (-w) % m
        pad = (0, pw, 0, ph)
        a = F.pad(self._to_tensor(frame0), pad, mode="replicate")
        b = F.pad(self._to_tensor(frame1), pad, mode="replicate")
        return _RIFEState(a, b, (h, w), frame0.dtype, scale)

    @torch.inference_mode()
    def interpolate(self, state: _RIFEState, t: float):
        with torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype is not None):
            out = self.net(state.img0, state.img1, t, scale=state.scale).float()
        h, w = state.size
        return tensor_to_frame(out[..., :h, :w], state.dtype)

