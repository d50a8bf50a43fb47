"""Image quality measures, as the benchmarks score them: PSNR on 8-bit RGB, SSIM on luma.

    psnr(output, truth)            # two (H, W, 3) uint8 frames -> dB
    psnr_batch(out, truth)         # float tensors (B, 3, H, W) in [0, 1] -> (B,) dB, 8-bit rounded
    ssim(output, truth)            # luma SSIM (Wang et al. 2004, 11x11 Gaussian window, sigma 1.5)
"""

from __future__ import annotations

import numpy as np


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    """PSNR in dB of two same-shape arrays (uint8 frames: ``peak`` 255); identical frames give 100."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(peak ** 2 / max(mse, 1e-10)))


def psnr_batch(a, b):
    """PSNR (dB) of each image pair of two float tensors ``(B, C, H, W)`` in [0, 1], rounded to 8 bits
    first as a written frame would be: returns a ``(B,)`` tensor."""
    a8, b8 = (a.clamp(0, 1) * 255).round(), (b.clamp(0, 1) * 255).round()
    mse = ((a8 - b8) ** 2).flatten(1).mean(1).clamp_min(1e-10)
    return 10 * (255.0 ** 2 / mse).log10()


def _luma(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    return x if x.ndim == 2 else x[..., 0] * 0.299 + x[..., 1] * 0.587 + x[..., 2] * 0.114


def ssim(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    """Mean SSIM of the luma (BT.601 weights) of two RGB (or grey) frames."""
    import cv2

    x, y = _luma(a), _luma(b)
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2

    def blur(z: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(z, (11, 11), 1.5)

    mx, my = blur(x), blur(y)
    sxx, syy, sxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    m = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return float(m.mean())
