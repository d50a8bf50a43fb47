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
import pickle
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import WeightsError
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


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise WeightsError(f"no checkpoint at {path}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise WeightsError(f"{path} holds more than tensors (it would run code when unpickled), so it is "
                           f"refused: {str(e).splitlines()[0]}") from None
    except (RuntimeError, EOFError, OSError) as e:
        raise WeightsError(f"{path} is not a readable PyTorch checkpoint: {str(e).splitlines()[0]}") from None
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(f"{path} is not a state dict of tensors")
    return {k.removeprefix("module."): v for k, v in obj.items()}


def _differences(expected: dict[str, torch.Size], found: dict[str, torch.Tensor]) -> list[str]:
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    shapes = sorted(k for k in set(expected) & set(found) if tuple(found[k].shape) != tuple(expected[k]))
    out = []
    if missing:
        out.append(f"{len(missing)} missing (e.g. {', '.join(missing[:3])})")
    if unexpected:
        out.append(f"{len(unexpected)} unexpected (e.g. {', '.join(unexpected[:3])})")
    for k in shapes[:3]:
        out.append(f"{k} is {tuple(found[k].shape)}, expected {tuple(expected[k])}")
    return out


def load_rife(path: str | os.PathLike) -> IFNet:
    """Load a Practical-RIFE v4.x ``flownet.pkl`` into an :class:`IFNet`, checking every key and shape.

    Raises :class:`WeightsError` for an unsafe pickle or a layout that matches no known one.
    Example::

        net = load_rife("train_log/flownet.pkl")   # net.config.name == "v4.25"
    """
    path = Path(path)
    state = _read_state_dict(path)
    report = []
    for make in KNOWN_LAYOUTS:
        cfg = make()
        with torch.device("meta"):
            expected = {k: v.shape for k, v in IFNet(cfg).state_dict().items()}
        diff = _differences(expected, state)
        if not diff:
            net = IFNet(cfg)
            net.load_state_dict(state, strict=True)
            return net.eval()
        report.append(f"{cfg.name}: " + "; ".join(diff))
    raise WeightsError(f"{path} matches no supported Practical-RIFE layout (v4.6, v4.25): " + " | ".join(report))


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

    def __init__(self, net: IFNet, scale: float | None = None, device: str | torch.device = "cpu"):
        self.net = net.to(device).eval()
        self.scale = scale
        self.device = torch.device(device)

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike, **kw) -> RIFEInterpolator:
        return cls(load_rife(path), **kw)

    def _to_tensor(self, frame) -> torch.Tensor:
        from ..io.tensors import frame_to_tensor

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
        from ..io.tensors import tensor_to_frame

        out = self.net(state.img0, state.img1, t, scale=state.scale)
        h, w = state.size
        return tensor_to_frame(out[..., :h, :w], state.dtype)

