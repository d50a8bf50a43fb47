"""Conversions at the edge between numpy frames and the library's float tensors.

Inside vidgen a video is a float tensor ``(B, C, T, H, W)`` in [0, 1] and a single frame
``(B, C, H, W)``; files and OpenCV give ``(H, W, 3)`` arrays of uint8 or uint16.
"""

from __future__ import annotations

import numpy as np
import torch


def frame_to_tensor(frame: np.ndarray, device: str | torch.device = "cpu") -> torch.Tensor:
    """``(H, W, 3)`` uint8 / uint16 / float array -> ``(1, 3, H, W)`` float32 in [0, 1]."""
    if frame.dtype == np.uint8:
        x = torch.from_numpy(np.ascontiguousarray(frame)).float().div_(255.0)
    elif frame.dtype == np.uint16:
        x = torch.from_numpy(frame.astype(np.float32)).div_(65535.0)
    else:
        x = torch.from_numpy(np.ascontiguousarray(frame, dtype=np.float32))
    return x.permute(2, 0, 1).unsqueeze(0).to(device)


def tensor_to_frame(x: torch.Tensor, dtype=np.uint8) -> np.ndarray:
    """``(1, 3, H, W)`` float in [0, 1] -> ``(H, W, 3)`` array of ``dtype`` (rounded, clipped)."""
    a = x[0].permute(1, 2, 0).float().clamp(0, 1).cpu().numpy()
    if dtype == np.uint8:
        return (a * 255.0 + 0.5).astype(np.uint8)
    if dtype == np.uint16:
        return (a * 65535.0 + 0.5).astype(np.uint16)
    return a.astype(np.float32)
