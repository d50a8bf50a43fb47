"""An IFNet that matches Practical-RIFE v4.x checkpoints, and a strict, safe loader for them.

Practical-RIFE's ``train_log/flownet.pkl`` is a ``torch.save`` of a DistributedDataParallel model's
state dict (keys ``module.block0.conv0.0.0.weight``...). Two layouts are known and tested here:

- **v4.6**: four IFBlocks (widths 192/128/96/64) at 1/8, 1/4, 1/2, 1 of the input; each block's
  mask is added to the previous one's.
- **v4.25**: five IFBlocks (192/128/96/64/32) at 1/16 ... 1, a 16-channel feature ``Head`` whose
  outputs are warped along with the frames, and 8 channels each block hands to the next; each
  block's mask replaces the previous one.

Other v4.x releases that share one of these layouts load too; any other layout is refused with
the keys that differ. Checkpoints are unpickled with ``weights_only=True``. Upstream loads with
``strict=False``, under which a wrong architecture loads silently; here every key and shape must
match. Practical-RIFE is MIT-licensed; its weights are the user's to supply.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .weights import load_known_layout
from .warp import backward_warp


@dataclass(frozen=True)
class RIFEConfig:
    """Layout of an IFNet. ``RIFEConfig.v4_6()`` and ``RIFEConfig.v4_25()`` are the known ones."""

    name: str = "v4.6"
    block_widths: tuple[int, ...] = (192, 128, 96, 64)  # channels inside each IFBlock
    block_scales: tuple[float, ...] = (8, 4, 2, 1)  # each block sees the frames downscaled by this
    feature_channels: int = 0  # channels of the feature Head per frame (0: no Head)
    carried_channels: int = 0  # channels a block passes to the next
    block_outputs: int = 6  # channels a block's last layer makes: flow 4 + mask 1 + carried (+ spare)
    accumulate_mask: bool = True  # add each block's mask to the last (v4.6) or replace it (v4.25)

    @classmethod
    def v4_6(cls) -> RIFEConfig:
        return cls()

    @classmethod
    def v4_25(cls) -> RIFEConfig:
        return cls(name="v4.25", block_widths=(192, 128, 96, 64, 32), block_scales=(16, 8, 4, 2, 1),
                   feature_channels=16, carried_channels=8, block_outputs=13, accumulate_mask=False)

    @property
    def pad_multiple(self) -> int:
        """Frames are padded to a multiple of this so every block's strides divide evenly."""
        return max(64, int(max(self.block_scales)) * 8)


KNOWN_LAYOUTS = (RIFEConfig.v4_6, RIFEConfig.v4_25)


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.LeakyReLU(0.2, inplace=True))


class ResConv(nn.Module):
    """3x3 conv with a learned per-channel gain, added back to its input."""

    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 1, 1)
        self.beta = nn.Parameter(torch.ones(1, c, 1, 1))
        self.relu = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.conv(x) * self.beta + x)


class IFBlock(nn.Module):
    """One level of intermediate-flow estimation: in at 1/scale, 4x down, 8 ResConvs, 4x up."""

    def __init__(self, in_channels: int, width: int, out_channels: int):
        super().__init__()
        self.conv0 = nn.Sequential(_conv(in_channels, width // 2, 2), _conv(width // 2, width, 2))
        self.convblock = nn.Sequential(*[ResConv(width) for _ in range(8)])
        self.lastconv = nn.Sequential(nn.ConvTranspose2d(width, 4 * out_channels, 4, 2, 1), nn.PixelShuffle(2))

    def forward(self, x: torch.Tensor, flow: torch.Tensor | None, scale: float) -> torch.Tensor:
        if scale != 1:
            x = F.interpolate(x, scale_factor=1.0 / scale, mode="bilinear", align_corners=False)
        if flow is not None:
            if scale != 1:
                flow = F.interpolate(flow, scale_factor=1.0 / scale, mode="bilinear", align_corners=False) / scale
            x = torch.cat((x, flow), 1)
        out = self.lastconv(self.convblock(self.conv0(x)))
        if scale != 1:
            out = F.interpolate(out, scale_factor=scale, mode="bilinear", align_corners=False)
        return out


class FeatureHead(nn.Module):
    """v4.25's per-frame features: stride-2 conv, two convs, transposed conv back to full size."""

    def __init__(self, channels: int = 16):
        super().__init__()
        self.cnn0 = nn.Conv2d(3, channels, 3, 2, 1)
        self.cnn1 = nn.Conv2d(channels, channels, 3, 1, 1)
        self.cnn2 = nn.Conv2d(channels, channels, 3, 1, 1)
        self.cnn3 = nn.ConvTranspose2d(channels, channels, 4, 2, 1)
        self.relu = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.cnn0(x))
        x = self.relu(self.cnn1(x))
        x = self.relu(self.cnn2(x))
        return self.cnn3(x)


class IFNet(nn.Module):
    """RIFE's intermediate-flow network in a Practical-RIFE v4.x layout.

    ``forward(img0, img1, t)``: frames ``(B, 3, H, W)`` in [0, 1] with H, W multiples of
    ``config.pad_multiple``; t in (0, 1). Returns the frame at time t, ``(B, 3, H, W)``.
    """

    def __init__(self, config: RIFEConfig | None = None):
        super().__init__()
        self.config = config = config or RIFEConfig()
        fc, cc = config.feature_channels, config.carried_channels
        first_in = 3 + 3 + 2 * fc + 1  # two frames, their features, the timestep
        # warped frames, warped features, timestep, mask, carried channels, and the flow so far
        later_in = 3 + 3 + 2 * fc + 1 + 1 + cc + 4
        self.encode = FeatureHead(fc) if fc else None
        for i, width in enumerate(config.block_widths):
            self.add_module(f"block{i}", IFBlock(first_in if i == 0 else later_in, width, config.block_outputs))

    @property
    def blocks(self) -> list[IFBlock]:
        return [getattr(self, f"block{i}") for i in range(len(self.config.block_widths))]

    def forward(self, img0: torch.Tensor, img1: torch.Tensor, t: float | torch.Tensor = 0.5,
                scale: float = 1.0) -> torch.Tensor:
        cfg = self.config
        timestep = torch.ones_like(img0[:, :1]) * t
        feats = (self.encode(img0), self.encode(img1)) if self.encode is not None else ()
        flow = mask = carried = None
        warped0, warped1 = img0, img1
        for block, s in zip(self.blocks, cfg.block_scales):
            s = s / scale
            if flow is None:
                out = block(torch.cat((img0, img1, *feats, timestep), 1), None, s)
                flow, mask = out[:, :4] * s, out[:, 4:5]
            else:
                wf = (backward_warp(feats[0], flow[:, :2]), backward_warp(feats[1], flow[:, 2:4])) if feats else ()
                extra = (carried,) if cfg.carried_channels else ()
                out = block(torch.cat((warped0, warped1, *wf, timestep, mask, *extra), 1), flow, s)
                flow = flow + out[:, :4] * s
                mask = mask + out[:, 4:5] if cfg.accumulate_mask else out[:, 4:5]
            carried = out[:, 5:5 + cfg.carried_channels]
            warped0 = backward_warp(img0, flow[:, :2])
            warped1 = backward_warp(img1, flow[:, 2:4])
        m = torch.sigmoid(mask)
        return warped0 * m + warped1 * (1 - m)


def load_rife(path: str | os.PathLike) -> IFNet:
    """Load a Practical-RIFE v4.x ``flownet.pkl`` into an :class:`IFNet`, checking every key and shape.

    Raises :class:`WeightsError` for an unsafe pickle or a layout that matches no known one.
    Example::

        net = load_rife("train_log/flownet.pkl")   # net.config.name == "v4.25"
    """
    layouts = [(make().name, lambda make=make: IFNet(make())) for make in KNOWN_LAYOUTS]
    return load_known_layout(path, layouts, "Practical-RIFE (v4.6, v4.25)")[0]
