"""Restoration generators (deblur, enhance) and the discriminator that trains them.

Both generators see three frames: the frame to restore and its two neighbours, each neighbour
already aligned to it by optical flow (``vidgen.pipelines.restoration`` does the alignment), so
detail hidden in one frame can be taken from another and consecutive outputs agree. Both predict a
residual on top of the centre frame (deblur) or its bilinear upscale (enhance), and start at zero
residual, i.e. at the identity / plain upscale.

- :class:`DeblurNet`: NAFNet-style (gated depthwise blocks, simplified channel attention) U-Net that
  works at half resolution (pixel-unshuffled input), so 720p stays within about a second on 2 cores.
- :class:`EnhanceNet`: residual conv stack at the low resolution, pixel shuffle to the output size.
- :class:`PatchDiscriminator`: a spectral-normalised patch discriminator for the adversarial loss.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .weights import load_model, save_model

FRAMES = 3  # previous (aligned), current, next (aligned)


class LayerNorm2d(nn.Module):
    """LayerNorm over channels at every pixel."""

    def __init__(self, c: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(1, c, 1, 1))
        self.bias = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu = x.mean(1, keepdim=True)
        var = (x - mu).pow(2).mean(1, keepdim=True)
        return (x - mu) / torch.sqrt(var + self.eps) * self.weight + self.bias


class NAFBlock(nn.Module):
    """NAFNet's block: depthwise conv + simple gate + channel attention, then a gated 1x1 FFN."""

    def __init__(self, c: int):
        super().__init__()
        self.norm1 = LayerNorm2d(c)
        self.conv1 = nn.Conv2d(c, 2 * c, 1)
        self.conv2 = nn.Conv2d(2 * c, 2 * c, 3, 1, 1, groups=2 * c)
        self.sca = nn.Conv2d(c, c, 1)
        self.conv3 = nn.Conv2d(c, c, 1)
        self.norm2 = LayerNorm2d(c)
        self.conv4 = nn.Conv2d(c, 2 * c, 1)
        self.conv5 = nn.Conv2d(c, c, 1)
        self.beta = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.gamma = nn.Parameter(torch.zeros(1, c, 1, 1))

    @staticmethod
    def _gate(x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=1)
        return a * b

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self._gate(self.conv2(self.conv1(self.norm1(x))))
        y = y * self.sca(F.adaptive_avg_pool2d(y, 1))
        x = x + self.conv3(y) * self.beta
        y = self.conv5(self._gate(self.conv4(self.norm2(x))))
        return x + y * self.gamma


@dataclass
class DeblurConfig:
    """Shape of a :class:`DeblurNet`."""

    width: int = 24  # channels at the first level
    unshuffle: int = 4  # the first level works at 1/unshuffle of the frame's resolution
    enc_blocks: tuple[int, ...] = (1, 1, 2)  # NAF blocks per encoder level; each level halves the size
    middle_blocks: int = 2
    dec_blocks: tuple[int, ...] = (1, 1, 1)


class DeblurNet(nn.Module):
    """``forward(x)``: ``(B, 9, H, W)`` = aligned previous, current, aligned next in [0, 1] ->
    the sharp current frame ``(B, 3, H, W)``. H and W must be multiples of :attr:`multiple`.

    It works at 1/4 of the frame's size from the first layer: the blur it undoes spans 9-21 px,
    and at 1/2 a 720p frame took 0.88 s on 2 cores against 0.3 s here.
    """

    def __init__(self, config: DeblurConfig | None = None):
        super().__init__()
        self.config = cfg = config or DeblurConfig()
        c = cfg.width
        u = cfg.unshuffle
        self.intro = nn.Conv2d(3 * FRAMES * u * u, c, 3, 1, 1)  # 3 frames, pixel-unshuffled
        self.encoders, self.downs = nn.ModuleList(), nn.ModuleList()
        for n in cfg.enc_blocks:
            self.encoders.append(nn.Sequential(*[NAFBlock(c) for _ in range(n)]))
            self.downs.append(nn.Conv2d(c, 2 * c, 2, 2))
            c *= 2
        self.middle = nn.Sequential(*[NAFBlock(c) for _ in range(cfg.middle_blocks)])
        self.ups, self.decoders = nn.ModuleList(), nn.ModuleList()
        for n in cfg.dec_blocks:
            self.ups.append(nn.Sequential(nn.Conv2d(c, 2 * c, 1), nn.PixelShuffle(2)))
            c //= 2
            self.decoders.append(nn.Sequential(*[NAFBlock(c) for _ in range(n)]))
        self.ending = nn.Conv2d(c, 3 * u * u, 3, 1, 1)
        nn.init.zeros_(self.ending.weight)
        nn.init.zeros_(self.ending.bias)

    @property
    def multiple(self) -> int:
        return self.config.unshuffle * 2 ** len(self.config.enc_blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        center = x[:, 3:6]
        u = self.config.unshuffle
        y = self.intro(F.pixel_unshuffle(x, u))
        skips = []
        for enc, down in zip(self.encoders, self.downs):
            y = enc(y)
            skips.append(y)
            y = down(y)
        y = self.middle(y)
        for up, dec, skip in zip(self.ups, self.decoders, reversed(skips)):
            y = dec(up(y) + skip)
        return center + F.pixel_shuffle(self.ending(y), u)

    def save_pretrained(self, path: str | os.PathLike, extra: dict[str, str] | None = None) -> None:
        save_model(self, path, "vidgen.DeblurNet", extra)

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike) -> DeblurNet:
        return load_model(cls, DeblurConfig, path, "vidgen.DeblurNet")


@dataclass
class EnhanceConfig:
    """Shape of an :class:`EnhanceNet`."""

    scale: int = 2  # output size / input size (1: clean-up only)
    width: int = 32
    blocks: int = 5  # residual blocks of two 3x3 convs each
    unshuffle: int = 1  # the body works at 1/unshuffle of the input's resolution (pixel-unshuffled)


class _ResBlock(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, 1, 1)
        self.conv2 = nn.Conv2d(c, c, 3, 1, 1)
        self.act = nn.LeakyReLU(0.1, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.act(self.conv1(x)))


class EnhanceNet(nn.Module):
    """``forward(x)``: ``(B, 9, h, w)`` = aligned previous, current, aligned next low-quality frames
    in [0, 1] -> the restored current frame ``(B, 3, scale*h, scale*w)``: a bicubic upscale of the
    current frame plus a learned residual.

    With ``unshuffle`` u > 1 the input is pixel-unshuffled first, so the body runs on u*u times
    fewer pixels with u*u times the channels per conv for the same cost: a wider net and a wider
    receptive field (compression blocks are 8-16 px) at the time budget; h and w are then
    multiples of u (:attr:`multiple`).
    """

    def __init__(self, config: EnhanceConfig | None = None):
        super().__init__()
        self.config = cfg = config or EnhanceConfig()
        u = cfg.unshuffle
        self.head = nn.Conv2d(3 * FRAMES * u * u, cfg.width, 3, 1, 1)
        self.body = nn.Sequential(*[_ResBlock(cfg.width) for _ in range(cfg.blocks)])
        self.fuse = nn.Conv2d(cfg.width, cfg.width, 3, 1, 1)
        self.tail = nn.Conv2d(cfg.width, 3 * (cfg.scale * u) ** 2, 3, 1, 1)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)
        self.act = nn.LeakyReLU(0.1, inplace=True)

    @property
    def multiple(self) -> int:
        return self.config.unshuffle

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s, u = self.config.scale, self.config.unshuffle
        center = x[:, 3:6]
        base = center if s == 1 else F.interpolate(center, scale_factor=s, mode="bicubic", align_corners=False)
        f = self.act(self.head(F.pixel_unshuffle(x, u) if u > 1 else x))
        f = f + self.fuse(self.body(f))
        out = self.tail(self.act(f))
        return base + (F.pixel_shuffle(out, s * u) if s * u > 1 else out)

    def save_pretrained(self, path: str | os.PathLike, extra: dict[str, str] | None = None) -> None:
        save_model(self, path, "vidgen.EnhanceNet", extra)

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike) -> EnhanceNet:
        return load_model(cls, EnhanceConfig, path, "vidgen.EnhanceNet")


class PatchDiscriminator(nn.Module):
    """Spectral-normalised conv discriminator: a real/fake score per ~70 px patch. ``(B, 3, H, W)`` ->
    ``(B, 1, H/8, W/8)``."""

    def __init__(self, width: int = 32):
        super().__init__()
        sn = nn.utils.spectral_norm
        layers, c = [], 3
        for i, out in enumerate((width, 2 * width, 4 * width)):
            layers += [sn(nn.Conv2d(c, out, 4, 2, 1)), nn.LeakyReLU(0.2, inplace=True)]
            c = out
        layers += [sn(nn.Conv2d(c, c, 3, 1, 1)), nn.LeakyReLU(0.2, inplace=True), sn(nn.Conv2d(c, 1, 3, 1, 1))]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x * 2 - 1)
