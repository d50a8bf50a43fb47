"""Conversions at the edge between numpy frames and the library's float tensors.

Inside vidgen a video is a float tensor ``(B, C, T, H, W)`` in [0, 1] and a single frame
``(B, C, H, W)``; files and OpenCV give ``(H, W, 3)`` arrays of uint8 or uint16, which numpy code
works on as float32 ``(H, W, 3)`` in [0, 1] (:func:`to_float` / :func:`from_float`).
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


def video_frames(video: torch.Tensor, dtype=np.uint8):
    """The frames of a ``(C, T, H, W)`` (or ``(1, C, T, H, W)``) float video in [0, 1], one ``(H, W, 3)``
    array of ``dtype`` at a time."""
    if video.ndim == 5:
        video = video[0]
    for t in range(video.shape[1]):
        yield tensor_to_frame(video[:, t][None], dtype)


def to_float(frame: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` uint8 / uint16 -> float32 in [0, 1] (a float array is only cast)."""
    if frame.dtype == np.uint8:
        return frame.astype(np.float32) * (1 / 255)
    if frame.dtype == np.uint16:
        return frame.astype(np.float32) * (1 / 65535)
    return frame.astype(np.float32)


def from_float(x: np.ndarray, dtype) -> np.ndarray:
    """Float in [0, 1] -> ``dtype`` (uint8 / uint16, rounded and clipped; float32 clipped)."""
    if dtype == np.uint8:
        return np.clip(x * 255 + 0.5, 0, 255).astype(np.uint8)
    if dtype == np.uint16:
        return np.clip(x * 65535 + 0.5, 0, 65535).astype(np.uint16)
    return np.clip(x, 0, 1).astype(np.float32)
