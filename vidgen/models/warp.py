"""Backward warping of image tensors by a flow field, shared by the learned interpolators."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def backward_warp(image: torch.Tensor, flow: torch.Tensor, mode: str = "bilinear") -> torch.Tensor:
    """Sample ``image`` at ``x + flow(x)``.

    image: ``(B, C, H, W)``; flow: ``(B, 2, H, W)`` in pixels, channel 0 horizontal. Out-of-frame
    samples take the nearest border pixel. Example::

        warped = backward_warp(frame1, flow_t1)   # frame 1 seen from time t
    """
    b, _, h, w = flow.shape
    ys = torch.linspace(-1.0, 1.0, h, device=flow.device, dtype=flow.dtype)
    xs = torch.linspace(-1.0, 1.0, w, device=flow.device, dtype=flow.dtype)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    # pixels -> normalized [-1, 1] units (align_corners=True: -1 and 1 are the corner pixel centres)
    nx = gx + flow[:, 0] * (2.0 / max(w - 1, 1))
    ny = gy + flow[:, 1] * (2.0 / max(h - 1, 1))
    grid = torch.stack((nx, ny), dim=-1)
    return F.grid_sample(image, grid, mode=mode, padding_mode="border", align_corners=True)
