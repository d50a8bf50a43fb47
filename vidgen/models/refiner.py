"""FlowRefiner: a small network that corrects the classical interpolator's motion, blend and colour.

It starts where the classical method stops (``vidgen.interpolators.classical``: DIS flow, motion at
time t by forward splatting, visibility) and predicts, coarse to fine at 1/8, 1/4 and 1/2 of its
input size, corrections to the two backward flows, a blend mask and a colour residual. Its heads
start at zero, so an untrained refiner reproduces the classical result. Flow is not learned from
scratch: on two CPU cores a network that estimates it end to end is both slower than DIS and,
within the training budget here, worse (see training/interpolation/README.md for the comparison).

Inputs, all at the refiner's resolution, stacked on channels (19 in all):
frames 0 and 1 (3 + 3), both warped to time t (3 + 3), the backward flows to frame 0 and frame 1
divided by ``flow_scale`` (2 + 2), the visibilities of frames 0 and 1 (1 + 1), and t (1).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .weights import load_model, save_model

FORMAT = "vidgen.FlowRefiner"

FRAME_CHANNELS = 3
IN_CHANNELS = 2 * FRAME_CHANNELS + 2 * FRAME_CHANNELS + 2 * 2 + 2 + 1
OUT_FLOW, OUT_MASK, OUT_RESIDUAL = 4, 1, 3


@dataclass
class RefinerConfig:
    """Shape of a :class:`FlowRefiner` (saved with its weights)."""

    widths: tuple[int, int, int] = (24, 32, 48)  # channels at 1/2, 1/4 and 1/8 of the input size
    flow_scale: float = 16.0  # flows are divided by this going in and predicted in these units
    residual_scale: float = 0.1  # the colour residual is tanh(.) * this, in [0, 1] units


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.LeakyReLU(0.1, inplace=True))


class _Res(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, 1, 1)
        self.conv2 = nn.Conv2d(c, c, 3, 1, 1)
        self.act = nn.LeakyReLU(0.1, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.conv2(self.act(self.conv1(x))))


def _head(cin: int, cout: int) -> nn.Conv2d:
    head = nn.Conv2d(cin, cout, 3, 1, 1)
    nn.init.zeros_(head.weight)
    nn.init.zeros_(head.bias)
    return head


def _up(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, size=like.shape[-2:], mode="bilinear", align_corners=False)


class FlowRefiner(nn.Module):
    """Corrections to a classical interpolation, coarse to fine.

    ``forward(x)`` takes ``(B, 19, H, W)`` (see the module docstring) and returns
    ``(delta_flows (B, 4, H, W) in pixels, mask_logit_delta (B, 1, H, W), residual (B, 3, H, W))``.
    H and W need not be multiples of anything. Example::

        net = FlowRefiner()
        d_flow, d_mask, res = net(torch.zeros(1, 19, 144, 256))   # all zeros until trained
    """

    def __init__(self, config: RefinerConfig | None = None):
        super().__init__()
        self.config = config = config or RefinerConfig()
        w1, w2, w3 = config.widths
        self.enc1 = nn.Sequential(_conv(IN_CHANNELS, w1, 2), _conv(w1, w1))
        self.enc2 = nn.Sequential(_conv(w1, w2, 2), _conv(w2, w2))
        self.enc3 = nn.Sequential(_conv(w2, w3, 2), _Res(w3), _Res(w3))
        self.head3 = _head(w3, OUT_FLOW + OUT_MASK)
        self.dec2 = nn.Sequential(_conv(w2 + w3 + OUT_FLOW + OUT_MASK, w2), _Res(w2))
        self.head2 = _head(w2, OUT_FLOW + OUT_MASK)
        self.dec1 = nn.Sequential(_conv(w1 + w2 + OUT_FLOW + OUT_MASK, w1), _Res(w1))
        self.head1 = _head(w1, OUT_FLOW + OUT_MASK + OUT_RESIDUAL)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        e1 = self.enc1(x)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        out3 = self.head3(e3)  # coarse: flow and mask corrections at 1/8
        d2 = self.dec2(torch.cat((e2, _up(e3, e2), _up(out3, e2)), 1))
        out2 = _up(out3, e2) + self.head2(d2)  # refined at 1/4
        d1 = self.dec1(torch.cat((e1, _up(d2, e1), _up(out2, e1)), 1))
        h1 = self.head1(d1)
        out1 = _up(out2, e1) + h1[:, :OUT_FLOW + OUT_MASK]  # refined at 1/2
        full = _up(torch.cat((out1, h1[:, OUT_FLOW + OUT_MASK:]), 1), x)
        d_flow = full[:, :OUT_FLOW] * self.config.flow_scale
        d_mask = full[:, OUT_FLOW:OUT_FLOW + OUT_MASK]
        residual = torch.tanh(full[:, OUT_FLOW + OUT_MASK:]) * self.config.residual_scale
        return d_flow, d_mask, residual

    # -- weights on disk: safetensors, config in the metadata ------------------------------------
    def save_pretrained(self, path: str | os.PathLike, extra: dict[str, str] | None = None) -> None:
        save_model(self, path, FORMAT, extra)

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike) -> FlowRefiner:
        return load_model(cls, RefinerConfig, path, FORMAT)
