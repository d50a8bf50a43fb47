"""Degradations synthesised from sharp footage, for training restoration models.

- :func:`shake_kernel`: a camera-shake point-spread function, a random walk with momentum.
- :func:`exposure_blur`: a frame as a camera with a long shutter records it: neighbouring sharp
  frames averaged (in linear light, or in the encoded values as simple pipelines do), then shaken.
- :func:`h264_roundtrip`: frames through a real libx264 encode and decode (the ffmpeg vidgen uses).
- :func:`jpeg`: a JPEG round trip, a cheap stand-in for compression on generated scenes.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..io.ffmpeg import run_ffmpeg


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0, 1)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1 / 2.4) - 0.055)


def shake_kernel(rng: np.random.Generator, size: int) -> np.ndarray:
    """A normalised ``(size, size)`` camera-shake kernel: a random walk with momentum, drawn with
    bilinear weights so sub-pixel paths stay smooth. ``size`` is odd."""
    k = np.zeros((size, size), np.float32)
    pos = np.zeros(2)
    vel = rng.normal(0, 1, 2)
    path = []
    for _ in range(size * 4):
        vel = 0.8 * vel + rng.normal(0, 0.6, 2)
        pos = pos + vel * 0.5
        path.append(pos.copy())
    path = np.array(path)
    path -= path.mean(0)  # centred, so the blurred frame does not shift
    half = size // 2
    path = np.clip(path, -half, half - 1e-3) + half
    for x, y in path:
        x0, y0 = int(x), int(y)
        fx, fy = x - x0, y - y0
        for dx, dy, w in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
            if x0 + dx < size and y0 + dy < size:
                k[y0 + dy, x0 + dx] += w
    return k / k.sum()


def exposure_blur(rng: np.random.Generator, frames: list[np.ndarray], noise_max: float = 4.0) -> np.ndarray:
    """One blurred frame from consecutive sharp float frames in [0, 1] (the middle one is the truth).

    The frames are averaged (in linear light half the time), convolved with a shake kernel of 5 to
    23 px (most of the time) and given Gaussian noise of up to ``noise_max`` / 255.
    """
    stack = np.stack(frames)
    if rng.random() < 0.5:
        avg = linear_to_srgb(srgb_to_linear(stack).mean(0))
    else:
        avg = stack.mean(0)
    avg = avg.astype(np.float32)
    if rng.random() < 0.9:
        size = int(rng.integers(2, 12)) * 2 + 1
        avg = cv2.filter2D(avg, -1, shake_kernel(rng, size), borderType=cv2.BORDER_REFLECT)
    sigma = rng.uniform(0, noise_max) / 255
    return np.clip(avg + rng.normal(0, sigma, avg.shape).astype(np.float32), 0, 1)


def h264_roundtrip(frames: np.ndarray, crf: int, preset: str = "medium") -> np.ndarray:
    """``(T, H, W, 3)`` uint8 RGB through libx264 (yuv420p, CRF ``crf``) and back; H, W even."""
    t, h, w, _ = frames.shape
    enc = ["-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", "25", "-i", "-",
           "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p", "-f", "matroska", "-"]
    data = _ffmpeg_bytes(enc, np.ascontiguousarray(frames).tobytes())
    raw = _ffmpeg_bytes(["-v", "error", "-f", "matroska", "-i", "-", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], data)
    return np.frombuffer(raw, np.uint8).reshape(t, h, w, 3).copy()


def _ffmpeg_bytes(args: list[str], data: bytes) -> bytes:
    """ffmpeg's stdout for ``data`` on its stdin; a failure raises with ffmpeg's own message."""
    res = run_ffmpeg(args, timeout=None, input=data, text=False)
    if res.returncode != 0:
        raise RuntimeError(f"ffmpeg {' '.join(args)} failed: {res.stderr.decode('utf-8', 'replace').strip()}")
    return res.stdout


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    """A JPEG round trip of a uint8 RGB image."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def sharpness(frame: np.ndarray) -> float:
    """Variance of the Laplacian of the grey frame: higher is sharper."""
    g = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(g, cv2.CV_32F).var())
