"""Training data for interpolation: windows of real footage and synthetic moving layers.

Both give ``(frame0, frame1, truth, t)``: two frames and the true frame at time t between them,
as float32 ``(h, w, 3)`` arrays in [0, 1].

- :class:`FootageWindows` cuts clips out of a folder of videos (split at scene cuts), and samples
  windows ``(i, i + k)`` with the truth at ``i + j``: t = j / k, so wider windows teach other
  times than the midpoint and larger motion.
- :func:`synthetic_sample` renders textured layers (a background and up to three shapes) moving
  with their own translation, rotation and zoom, composited back to front: exact truth, with
  occlusions and disocclusions.
- :func:`augment` flips, reverses time, crops at a random scale, and shifts brightness/contrast.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError

log = logging.getLogger("vidgen")
VIDEO_EXTENSIONS = (".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".y4m")


@dataclass
class Clip:
    """Consecutive frames of one shot, uint8 ``(T, H, W, 3)``."""

    name: str
    start: int  # index of the first frame in its video
    frames: np.ndarray


def list_videos(folder: str | os.PathLike) -> list[Path]:
    """Video files under ``folder`` (recursively), sorted; an error if there are none."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{root} is not a folder of videos")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file())
    if not files:
        raise InputError(f"{root} holds no videos ({', '.join(VIDEO_EXTENSIONS)})")
    return files


def _ranges_exclude(ranges: list[list[int]], a: int, b: int) -> bool:
    return all(b <= lo or a >= hi for lo, hi in ranges)


def load_clips(folder: str | os.PathLike, max_side: int = 720, max_frames: int = 600,
               keep: dict[str, list[list[int]]] | None = None,
               drop: dict[str, list[list[int]]] | None = None) -> list[Clip]:
    """Decode the videos of ``folder`` into shots, scaled so the longer side is at most ``max_side``.

    At most ``max_frames`` frames per video are kept (from its start). ``drop`` maps a file name to
    frame ranges ``[start, end)`` never to use (a benchmark's frames); ``keep``, if given, maps
    file names to the only ranges to use (a validation split). Shots are split at scene cuts, and
    at repeated frames, whose timing is not the motion's.
    """
    from ..interpolators.scenes import SceneDetector, Thumb
    from ..io.reader import VideoReader

    det = SceneDetector()
    clips: list[Clip] = []
    for path in list_videos(folder):
        try:
            reader = VideoReader(path)
        except InputError as e:
            raise InputError(f"cannot train on {path.name}: {e}") from None
        info = reader.info
        s = min(1.0, max_side / max(info.width, info.height))
        size = (max(16, round(info.width * s)), max(16, round(info.height * s)))
        run: list[np.ndarray] = []
        run_start = 0
        prev = None

        def flush() -> None:
            nonlocal run
            if len(run) >= 3:
                clips.append(Clip(path.name, run_start, np.stack(run)))
            run = []

        with reader:
            for i, frame in enumerate(reader):
                if i >= max_frames:
                    break
                allowed = (drop is None or _ranges_exclude(drop.get(path.name, []), i, i + 1)) and \
                          (keep is None or not _ranges_exclude(keep.get(path.name, []), i, i + 1))
                small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA) if s < 1 else np.array(frame)
                if small.dtype != np.uint8:
                    small = (small >> 8).astype(np.uint8)
                th = Thumb(small)
                if not allowed or (prev is not None and (det.is_cut(prev, th) or det.is_duplicate(prev, th))):
                    flush()
                if allowed:
                    if not run:
                        run_start = i
                    run.append(small)
                prev = th
            flush()
    if not clips:
        raise InputError(f"{folder}: no shot of 3 or more usable frames in its videos")
    return clips


def load_split(path: str | os.PathLike | None) -> dict:
    """A split file: ``{"holdout": {file: [[a, b], ...]}, "val": {file: [[a, b], ...]}}``."""
    if path is None:
        return {"holdout": {}, "val": {}}
    with open(path) as f:
        split = json.load(f)
    return {"holdout": split.get("holdout", {}), "val": split.get("val", {})}


class FootageWindows:
    """Samples ``(frame0, frame1, truth, t)`` windows from clips; spans of 2 to ``max_span`` frames."""

    def __init__(self, clips: list[Clip], max_span: int = 8):
        self.clips = [c for c in clips if len(c.frames) >= 3]
        if not self.clips:
            raise InputError("no clip is long enough (3 frames) to cut a training window from")
        self.max_span = max_span
        self.weights = np.array([len(c.frames) - 2 for c in self.clips], np.float64)
        self.weights /= self.weights.sum()

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        clip = self.clips[rng.choice(len(self.clips), p=self.weights)]
        n = len(clip.frames)
        span = int(rng.integers(2, min(self.max_span, n - 1) + 1))
        i = int(rng.integers(0, n - span))
        j = int(rng.integers(1, span))
        f = clip.frames
        return f[i], f[i + span], f[i + j], j / span


# -- synthetic layers -------------------------------------------------------------------------------

def photo_textures() -> list[np.ndarray]:
    """The sample photos scikit-image carries in its wheel (RGB uint8), or [] without it."""
    spec = find_spec("skimage")
    if spec is None or spec.origin is None:
        return []
    folder = Path(spec.origin).parent / "data"
    out = []
    for name in ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "hubble_deep_field.jpg", "retina.jpg",
                 "motorcycle_left.png", "ihc.png", "brick.png", "grass.png", "gravel.png", "camera.png", "coins.png",
                 "moon.png", "horse.png", "text.png", "color.png", "logo.png"):  # page.png: libpng warns on it
        img = cv2.imread(str(folder / name), cv2.IMREAD_COLOR)
        if img is not None:
            out.append(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
    return out


def procedural_texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Multi-scale coloured noise with a random tint: a texture optical flow can lock onto."""
    img = np.zeros((h, w, 3), np.float32)
    for sigma in (1.0, 3.0, 8.0, 20.0):
        n = cv2.GaussianBlur(rng.normal(0, 1, (h, w, 3)).astype(np.float32), (0, 0), sigma)
        img += rng.uniform(0.2, 1.0) * n / (n.std() + 1e-6)
    img = img / (img.std() + 1e-6) * rng.uniform(25, 70) + rng.uniform(40, 215, 3)
    return np.clip(img, 0, 255).astype(np.uint8)


def _texture(rng: np.random.Generator, photos: list[np.ndarray], h: int, w: int) -> np.ndarray:
    if photos and rng.random() < 0.7:
        p = photos[int(rng.integers(len(photos)))]
        s = max(h / p.shape[0], w / p.shape[1]) * rng.uniform(1.0, 1.6)
        p = cv2.resize(p, (math.ceil(p.shape[1] * s), math.ceil(p.shape[0] * s)), interpolation=cv2.INTER_AREA)
        y = int(rng.integers(0, p.shape[0] - h + 1))
        x = int(rng.integers(0, p.shape[1] - w + 1))
        return p[y:y + h, x:x + w]
    return procedural_texture(rng, h, w)


def _affine(cx: float, cy: float, angle: float, zoom: float, dx: float, dy: float) -> np.ndarray:
    m = cv2.getRotationMatrix2D((cx, cy), angle, zoom)
    m[:, 2] += (dx, dy)
    return m


def synthetic_sample(rng: np.random.Generator, size: int = 192, photos: list[np.ndarray] | None = None,
                     max_layers: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Moving textured layers with exact truth at a random t; see the module docstring."""
    t = float(rng.uniform(0.1, 0.9))
    f0, gt, f1 = synthetic_sequence(rng, (0.0, t, 1.0), size, photos, max_layers)
    return f0, f1, gt, t


def synthetic_sequence(rng: np.random.Generator, times: tuple[float, ...], size: int = 192,
                       photos: list[np.ndarray] | None = None, max_layers: int = 3,
                       motion_scale: float = 1.0) -> list[np.ndarray]:
    """Frames of one synthetic scene (moving textured layers) at each of ``times`` (uint8 RGB).

    ``motion_scale`` scales every layer's motion per unit of time.
    """
    photos = photos or []
    pad = size // 2
    big = size + 2 * pad
    ms = motion_scale
    bg = _texture(rng, photos, big, big)
    # background: a camera move (translation up to ~24 px per unit time, small rotation and zoom)
    bg_motion = (rng.uniform(-3, 3) * ms, rng.uniform(-0.05, 0.05) * ms, *rng.normal(0, 10 * ms, 2))
    layers = []
    for _ in range(int(rng.integers(0, max_layers + 1))):
        lw, lh = (int(v) for v in rng.integers(size // 8, size // 2, 2))
        tex = _texture(rng, photos, lh + 8, lw + 8)
        mask = np.zeros((lh + 8, lw + 8), np.float32)
        kind = rng.integers(3)
        if kind == 0:
            box = (((lw + 8) / 2, (lh + 8) / 2), (float(lw), float(lh)), float(rng.uniform(0, 180)))
            cv2.ellipse(mask, box, 1.0, -1, cv2.LINE_AA)
        elif kind == 1:
            mask[4:-4, 4:-4] = 1.0
        else:
            pts = rng.uniform(4, [lw + 4, lh + 4], (int(rng.integers(3, 7)), 2)).astype(np.int32)
            cv2.fillPoly(mask, [cv2.convexHull(pts)], 1.0, cv2.LINE_AA)
        x0, y0 = rng.uniform(pad, pad + size - lw), rng.uniform(pad, pad + size - lh)
        motion = (rng.uniform(-15, 15) * ms, rng.uniform(-0.1, 0.1) * ms, *rng.normal(0, 18 * ms, 2))
        layers.append((tex, mask, x0, y0, motion))

    def render(tau: float) -> np.ndarray:
        ang, zoom, dx, dy = bg_motion
        m = _affine(big / 2, big / 2, ang * tau, 1 + zoom * tau, dx * tau, dy * tau)
        out = cv2.warpAffine(bg, m, (big, big), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT).astype(np.float32)
        for tex, mask, x0, y0, (ang, zoom, dx, dy) in layers:
            lh, lw = mask.shape
            m = _affine(lw / 2, lh / 2, ang * tau, 1 + zoom * tau, x0 + dx * tau, y0 + dy * tau)
            t_img = cv2.warpAffine(tex, m, (big, big), flags=cv2.INTER_CUBIC).astype(np.float32)
            a = cv2.warpAffine(mask, m, (big, big), flags=cv2.INTER_LINEAR)[..., None]
            out = out * (1 - a) + t_img * a
        return out[pad:pad + size, pad:pad + size]

    return [np.clip(render(tau), 0, 255).astype(np.uint8) for tau in times]


# -- augmentation -------------------------------------------------------------------------------------

def augment(rng: np.random.Generator, f0: np.ndarray, f1: np.ndarray, gt: np.ndarray, t: float, crop: int,
            scale_range: tuple[float, float] = (0.4, 1.0)) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Random-scale crop, flips, time reversal and photometric jitter; returns float32 in [0, 1]."""
    h, w = f0.shape[:2]
    lo = max(scale_range[0], crop / min(h, w))
    s = float(rng.uniform(lo, max(lo, scale_range[1]))) if lo < 1 else crop / min(h, w)
    win = min(h, w, max(crop, round(crop / s)))
    y = int(rng.integers(0, h - win + 1))
    x = int(rng.integers(0, w - win + 1))
    out = []
    for f in (f0, f1, gt):
        c = f[y:y + win, x:x + win]
        if win != crop:
            c = cv2.resize(c, (crop, crop), interpolation=cv2.INTER_AREA)
        out.append(c.astype(np.float32) * (1 / 255))
    if rng.random() < 0.5:
        out = [np.ascontiguousarray(c[:, ::-1]) for c in out]
    if rng.random() < 0.2:
        out = [np.ascontiguousarray(c[::-1]) for c in out]
    if rng.random() < 0.5:  # time reversal
        out = [out[1], out[0], out[2]]
        t = 1.0 - t
    if rng.random() < 0.5:
        gain, bias = rng.uniform(0.8, 1.2), rng.uniform(-0.08, 0.08)
        out = [np.clip(c * gain + bias, 0, 1) for c in out]
    return out[0], out[1], out[2], t
