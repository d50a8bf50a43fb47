"""Learned interpolation: the classical method's motion, refined by :class:`FlowRefiner`.

Per pair of frames: both are scaled down so the longer side is at most ``flow_max_side``; DIS
flow, splatted motion at t and visibilities are computed there exactly as the classical method
does (``classical_features``); the refiner corrects the two backward flows, the blend mask and the
colour; the corrected flows are scaled up and warp the full-resolution frames.

Training (``vidgen.training.interpolation``) uses the same ``classical_features`` and
``compose`` so the network sees at training time what it sees in use.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from ..devices import choose
from ..errors import WeightsError
from ..io.tensors import from_float, to_float
from ..models.refiner import FlowRefiner
from ..models.warp import backward_warp
from ..weights import INTERP_REFINER, shipped
from .classical import (ClassicalConfig, ClassicalInterpolator, blend, resize_map, upsample_motion, warp,
                        warp_pair)



def classical_features(interp: ClassicalInterpolator, f0: np.ndarray, f1: np.ndarray, t: float,
                       state=None) -> dict[str, np.ndarray]:
    """What the refiner sees, at the frames' own size (which must not exceed ``flow_max_side``).

    Frames are float32 ``(h, w, 3)`` in [0, 1]. Returns ``ft0``, ``ft1`` (backward flows to frame 0
    and 1, ``(h, w, 2)``), ``vis0``, ``vis1`` (``(h, w)``), ``warped0``, ``warped1`` (bilinear).
    """
    state = state if state is not None else interp.prepare(f0, f1)
    m, c0, c1 = interp.flows_at(state, t)
    size = f0.shape[:2]
    m = upsample_motion(m, size)
    c0, c1 = resize_map(c0, size), resize_map(c1, size)
    w0, w1 = warp_pair(f0, f1, m, t, cv2.INTER_LINEAR)
    return {"ft0": -t * m, "ft1": (1 - t) * m, "vis0": c0, "vis1": c1, "warped0": w0, "warped1": w1}


def features_to_tensor(feat: dict[str, np.ndarray], f0: np.ndarray, f1: np.ndarray, t: float,
                       flow_scale: float) -> torch.Tensor:
    """Stack the refiner's 19 input channels: ``(19, h, w)`` float32."""
    chans = [f0, f1, feat["warped0"], feat["warped1"], feat["ft0"] / flow_scale, feat["ft1"] / flow_scale,
             feat["vis0"][..., None], feat["vis1"][..., None], np.full(f0.shape[:2] + (1,), t, np.float32)]
    x = np.concatenate([np.asarray(c, np.float32) for c in chans], axis=2)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))


def prior_logit(vis0: torch.Tensor, vis1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """The classical blend weight of frame 0 as a logit: log(k0 / k1)."""
    k0 = (1 - t) * vis0 + 1e-3
    k1 = t * vis1 + 1e-3
    return torch.log(k0) - torch.log(k1)


def compose(net, x: torch.Tensor, img0: torch.Tensor, img1: torch.Tensor, flow_scale: float) -> torch.Tensor:
    """Differentiable output at the refiner's own size: ``(B, 3, h, w)`` in [0, 1].

    ``net`` is the refiner or a wrapper of it (DDP); ``x`` the stacked input ``(B, 19, h, w)``;
    ``img0``/``img1`` the frames ``(B, 3, h, w)``.
    """
    fs = flow_scale
    d_flow, d_mask, residual = net(x)
    ft0 = x[:, 12:14] * fs + d_flow[:, :2]
    ft1 = x[:, 14:16] * fs + d_flow[:, 2:]
    mask = torch.sigmoid(prior_logit(x[:, 16:17], x[:, 17:18], x[:, 18:19]) + d_mask)
    out = backward_warp(img0, ft0) * mask + backward_warp(img1, ft1) * (1 - mask) + residual
    return out.clamp(0, 1)


@dataclass
class _LearnedState:
    frame0: np.ndarray
    frame1: np.ndarray
    small0: np.ndarray
    small1: np.ndarray
    classical: object





class LearnedInterpolator:
    """Interpolation with the shipped (or a given) :class:`FlowRefiner` on top of the classical flow.

    Example::

        interp = LearnedInterpolator.from_pretrained()          # weights shipped in vidgen/weights
        mid = interp.interpolate(interp.prepare(frame0, frame1), 0.5)
    """

    def __init__(self, net: FlowRefiner, flow_max_side: int = 512, device: str | torch.device = "cpu",
                 precision: str = "fp32"):
        self.device, self.dtype = choose(str(device), precision)
        self.net = net.eval().to(self.device)
        self.flow_max_side = flow_max_side
        self.classical = ClassicalInterpolator(ClassicalConfig(flow_max_side=flow_max_side))

    @staticmethod
    def default_weights() -> Path:
        return shipped(INTERP_REFINER)

    @classmethod
    def from_pretrained(cls, weights: str | os.PathLike | None = None, adapter: str | os.PathLike | None = None,
                        flow_max_side: int = 512, device: str = "cpu", precision: str = "fp32") -> LearnedInterpolator:
        path = Path(weights) if weights is not None else cls.default_weights()
        if not path.is_file():
            raise WeightsError(f"the learned interpolator's weights are missing ({path}); reinstall vidgen "
                               "or train them with 'vidgen train interpolate'")
        net = FlowRefiner.from_pretrained(path)
        if adapter is not None:
            from ..models.adapters import apply_adapter

            net = apply_adapter(net, adapter)
        return cls(net, flow_max_side=flow_max_side, device=device, precision=precision)

    def prepare(self, frame0: np.ndarray, frame1: np.ndarray) -> _LearnedState:
        h, w = frame0.shape[:2]
        s = min(1.0, self.flow_max_side / max(h, w))
        size = (max(8, round(w * s)), max(8, round(h * s)))
        small = [to_float(cv2.resize(f, size, interpolation=cv2.INTER_AREA) if s < 1 else f) for f in (frame0, frame1)]
        return _LearnedState(frame0, frame1, small[0], small[1], self.classical.prepare(small[0], small[1]))

    @torch.inference_mode()
    def interpolate(self, state: _LearnedState, t: float) -> np.ndarray:
        f0, f1 = state.small0, state.small1
        feat = classical_features(self.classical, f0, f1, t, state.classical)
        x = features_to_tensor(feat, f0, f1, t, self.net.config.flow_scale)[None].to(self.device)
        with torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype is not None):
            d_flow, d_mask, residual = (y.float() for y in self.net(x))
        d_flow = d_flow[0].permute(1, 2, 0).cpu().numpy()
        ft0 = feat["ft0"] + d_flow[..., :2]
        ft1 = feat["ft1"] + d_flow[..., 2:]
        prior = prior_logit(x[:, 16:17], x[:, 17:18], x[:, 18:19])
        mask = torch.sigmoid(prior + d_mask)[0, 0].cpu().numpy()
        res = residual[0].permute(1, 2, 0).cpu().numpy()
        h, w = state.frame0.shape[:2]
        ft0, ft1 = upsample_motion(ft0, (h, w)), upsample_motion(ft1, (h, w))
        mask, res = resize_map(mask, (h, w)), resize_map(res, (h, w))
        out = blend(warp(state.frame0, ft0), warp(state.frame1, ft1), mask + 1e-6, (1 - mask) + 1e-6)
        return from_float(to_float(out) + res, state.frame0.dtype)
