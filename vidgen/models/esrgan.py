"""Real-ESRGAN's generators, in layouts that load its released ``.pth`` files, with a strict loader.

Known layouts (checked key by key and shape by shape; anything else is refused):

| name | network | parameters |
| --- | --- | --- |
| ``RealESRGAN_x4plus`` | RRDBNet, 23 blocks, x4 | 16.7 M |
| ``RealESRGAN_x2plus`` | RRDBNet, 23 blocks, x2 (input pixel-unshuffled) | 16.7 M |
| ``realesr-general-x4v3`` | SRVGGNetCompact, 64 channels, 32 convs, x4 | 1.21 M |
| ``realesr-animevideov3`` | SRVGGNetCompact, 64 channels, 16 convs, x4 | 0.62 M |

Real-ESRGAN saves ``{"params_ema": state}`` (or ``"params"``); the EMA weights are preferred, as
upstream does. Files are unpickled with ``weights_only=True``. The code here is our own; the
weights (BSD-3-Clause) are the user's to supply.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .weights import load_known_layout


class ResidualDenseBlock(nn.Module):
    """Five densely connected 3x3 convs; output scaled by 0.2 and added to the input."""

    def __init__(self, feat: int = 64, grow: int = 32):
        super().__init__()
        self.conv1 = nn.Conv2d(feat, grow, 3, 1, 1)
        self.conv2 = nn.Conv2d(feat + grow, grow, 3, 1, 1)
        self.conv3 = nn.Conv2d(feat + 2 * grow, grow, 3, 1, 1)
        self.conv4 = nn.Conv2d(feat + 3 * grow, grow, 3, 1, 1)
        self.conv5 = nn.Conv2d(feat + 4 * grow, feat, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.lrelu(self.conv1(x))
        x2 = self.lrelu(self.conv2(torch.cat((x, x1), 1)))
        x3 = self.lrelu(self.conv3(torch.cat((x, x1, x2), 1)))
        x4 = self.lrelu(self.conv4(torch.cat((x, x1, x2, x3), 1)))
        return self.conv5(torch.cat((x, x1, x2, x3, x4), 1)) * 0.2 + x


class RRDB(nn.Module):
    """Three residual dense blocks inside one more residual connection."""

    def __init__(self, feat: int, grow: int = 32):
        super().__init__()
        self.rdb1 = ResidualDenseBlock(feat, grow)
        self.rdb2 = ResidualDenseBlock(feat, grow)
        self.rdb3 = ResidualDenseBlock(feat, grow)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x


class RRDBNet(nn.Module):
    """ESRGAN's generator. ``forward``: ``(B, 3, H, W)`` in [0, 1] -> ``(B, 3, sH, sW)``.

    For scale 2 (1) the input is pixel-unshuffled by 2 (4) first, so the body always works at
    1/4 of the output size; H and W must then be multiples of 2 (4).
    """

    def __init__(self, scale: int = 4, feat: int = 64, blocks: int = 23, grow: int = 32):
        super().__init__()
        self.scale = scale
        self.unshuffle = {4: 1, 2: 2, 1: 4}[scale]
        self.conv_first = nn.Conv2d(3 * self.unshuffle ** 2, feat, 3, 1, 1)
        self.body = nn.Sequential(*[RRDB(feat, grow) for _ in range(blocks)])
        self.conv_body = nn.Conv2d(feat, feat, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(feat, feat, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(feat, feat, 3, 1, 1)
        self.conv_hr = nn.Conv2d(feat, feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(feat, 3, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.unshuffle > 1:
            x = F.pixel_unshuffle(x, self.unshuffle)
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        feat = self.lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")))
        feat = self.lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")))
        return self.conv_last(self.lrelu(self.conv_hr(feat)))


class SRVGGNetCompact(nn.Module):
    """Real-ESRGAN's compact generator: a plain conv + PReLU stack, pixel shuffle, plus a nearest
    upscale of the input. ``forward``: ``(B, 3, H, W)`` -> ``(B, 3, sH, sW)``."""

    def __init__(self, feat: int = 64, convs: int = 16, scale: int = 4):
        super().__init__()
        self.scale = scale
        layers: list[nn.Module] = [nn.Conv2d(3, feat, 3, 1, 1), nn.PReLU(feat)]
        for _ in range(convs):
            layers += [nn.Conv2d(feat, feat, 3, 1, 1), nn.PReLU(feat)]
        layers.append(nn.Conv2d(feat, 3 * scale * scale, 3, 1, 1))
        self.body = nn.ModuleList(layers)
        self.upsampler = nn.PixelShuffle(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        for layer in self.body:
            out = layer(out)
        return self.upsampler(out) + F.interpolate(x, scale_factor=self.scale, mode="nearest")


@dataclass(frozen=True)
class ESRGANLayout:
    name: str
    kind: str  # "rrdb" or "compact"
    scale: int
    feat: int = 64
    depth: int = 23  # RRDB blocks, or compact convs

    def build(self) -> nn.Module:
        if self.kind == "rrdb":
            return RRDBNet(scale=self.scale, feat=self.feat, blocks=self.depth)
        if self.kind == "compact":
            return SRVGGNetCompact(feat=self.feat, convs=self.depth, scale=self.scale)
        raise ValueError(f"unknown kind {self.kind!r}: rrdb or compact")


KNOWN_LAYOUTS = (
    ESRGANLayout("RealESRGAN_x4plus", "rrdb", 4, 64, 23),
    ESRGANLayout("RealESRGAN_x2plus", "rrdb", 2, 64, 23),
    ESRGANLayout("realesr-general-x4v3", "compact", 4, 64, 32),
    ESRGANLayout("realesr-animevideov3", "compact", 4, 64, 16),
)


def load_esrgan(path: str | os.PathLike) -> tuple[nn.Module, ESRGANLayout]:
    """Load a Real-ESRGAN ``.pth`` into the matching architecture, checking every key and shape.

    Example::

        net, layout = load_esrgan("realesr-animevideov3.pth")   # layout.scale == 4
    """
    net, i = load_known_layout(path, [(x.name, x.build) for x in KNOWN_LAYOUTS], "Real-ESRGAN", detail=2)
    return net, KNOWN_LAYOUTS[i]
