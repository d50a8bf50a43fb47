"""Video with exact truth, rendered from still photographs: the generator behind every restoration and
interpolation training run.

A clip is a camera moving over a high-resolution photo (pan, zoom, rotation, hand shake), with up to
three independently moving foreground layers cut from other photos (so objects occlude and
disocclude the background). Each frame is warped from the photo onto a canvas ``supersample`` times
the output size and area-downscaled afterwards, so motion is sub-pixel exact and free of the
resampling blur a warp at output size would leave. Frames are rendered ``substeps`` to a frame
interval apart in time when asked: averaging consecutive ones in linear light then integrates blur
along the true trajectory (:func:`vidgen.training.degrade.exposure_blur` does that for deblur).

    photos = load_photos("corpus", "train")           # from python -m vidgen.training.corpus build corpus
    clips = render_clips(photos, count=64, frames=16, size=256, seed=0)   # list of Clip, uint8 RGB

The same clips serve interpolation (windows of frames), deblur (exposure blur of neighbours) and
enhance (area downscale and real libx264 round trips); :func:`corpus_clips` adds the corpus' real
videos of the same split.
"""

from __future__ import annotations

import math
import os

import cv2
import numpy as np

from .corpus import entries
from .data import Clip, load_clips


def load_photos(corpus: str | os.PathLike, split: str, max_side: int = 2048) -> list[np.ndarray]:
    """The corpus' photos of ``split`` as RGB uint8, area-downscaled so the longer side is at most
    ``max_side`` (bounds memory; 2048 still leaves 3-8 photo pixels per pixel of a 256-pixel crop)."""
    out = []
    for _, path in entries(corpus, "photo", split):
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None:
            continue
        s = max_side / max(img.shape[:2])
        if s < 1:
            img = cv2.resize(img, (round(img.shape[1] * s), round(img.shape[0] * s)), interpolation=cv2.INTER_AREA)
        out.append(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
    return out


def _layer_mask(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """An anti-aliased ellipse, rectangle or convex polygon filling most of an ``(h, w)`` box, in [0, 1]."""
    mask = np.zeros((h, w), np.float32)
    kind = int(rng.integers(3))
    if kind == 0:
        cv2.ellipse(mask, ((w / 2, h / 2), (w * 0.9, h * 0.9), float(rng.uniform(0, 180))), 1.0, -1, cv2.LINE_AA)
    elif kind == 1:
        mask[h // 10:h - h // 10, w // 10:w - w // 10] = 1.0
    else:
        pts = rng.uniform((w * 0.05, h * 0.05), (w * 0.95, h * 0.95), (int(rng.integers(4, 8)), 2))
        cv2.fillPoly(mask, [cv2.convexHull(pts.astype(np.int32))], 1.0, cv2.LINE_AA)
    return mask


def _motion(rng: np.random.Generator, speed: float, turn: float, zoom: float) -> dict:
    """A smooth trajectory: velocity, acceleration, rotation and zoom rates, and hand-shake waves."""
    shake = rng.uniform(0, 0.3 * speed) if rng.random() < 0.5 else 0.0
    return {"v": rng.normal(0, speed, 2), "a": rng.normal(0, speed / 4, 2), "rot": rng.normal(0, turn),
            "zoom": rng.normal(0, zoom), "shake": shake, "freq": rng.uniform(0.5, 3, 2),
            "phase": rng.uniform(0, 2 * math.pi, 2)}


def _offset(m: dict, tau: float) -> np.ndarray:
    return m["v"] * tau + 0.5 * m["a"] * tau * tau + m["shake"] * np.sin(m["freq"] * tau + m["phase"])


def _matrix(centre: np.ndarray, k: float, angle: float, shift: np.ndarray) -> np.ndarray:
    """Affine map canvas -> photo: a pixel at ``p`` on the canvas shows the photo at
    ``centre + k R(angle) (p - canvas centre) + shift`` (the caller sets the canvas centre in ``shift``)."""
    c, s = math.cos(angle), math.sin(angle)
    a = k * np.array([[c, -s], [s, c]])
    return np.concatenate([a, (centre + shift)[:, None]], 1)


def render_clip(rng: np.random.Generator, photos: list[np.ndarray], frames: int, size: int,
                motion: float = 1.0, supersample: int = 2, max_layers: int = 3,
                layer_size: tuple[float, float] = (1 / 6, 1 / 2)) -> np.ndarray:
    """One ``(frames, size, size, 3)`` uint8 clip; ``motion`` scales every speed (1: a background moving
    about 6 px per frame, layers about 9, with rotation, zoom and shake); up to ``max_layers`` moving
    layers, each side a fraction ``layer_size`` of ``size``; see the module docstring."""
    ss = supersample
    canvas = size * ss
    # backgrounds only from photos with 1.2+ photo pixels per output pixel: an upscaled photo is soft
    big = [p for p in photos if min(p.shape[:2]) >= size * 1.8 * 1.2] or photos
    bg = big[int(rng.integers(len(big)))]
    ph, pw = bg.shape[:2]
    # output pixel = k photo pixels; leave room for the whole trajectory inside the photo
    k_max = max(1.0, min(ph, pw) / (size * 1.8))
    k = math.exp(rng.uniform(math.log(min(1.2, k_max)), math.log(min(4.0, k_max))))
    cam = _motion(rng, 6 * motion, 0.004 * motion, 0.006 * motion)
    centre = np.array([rng.uniform(0.3, 0.7) * pw, rng.uniform(0.3, 0.7) * ph])
    layers = []
    for _ in range(int(rng.integers(0, max_layers + 1))):
        src = photos[int(rng.integers(len(photos)))]
        lw, lh = (int(v) for v in rng.integers(max(4, int(size * layer_size[0])), int(size * layer_size[1]), 2))
        kl = math.exp(rng.uniform(0, math.log(max(1.0, min(4.0, min(src.shape[:2]) / max(lw, lh) / 1.2)))))
        sw, sh = min(src.shape[1], math.ceil(lw * kl)), min(src.shape[0], math.ceil(lh * kl))
        y, x = int(rng.integers(0, src.shape[0] - sh + 1)), int(rng.integers(0, src.shape[1] - sw + 1))
        tex = cv2.resize(src[y:y + sh, x:x + sw], (lw * ss, lh * ss), interpolation=cv2.INTER_AREA)
        mask = cv2.resize(_layer_mask(rng, lh, lw), (lw * ss, lh * ss), interpolation=cv2.INTER_LINEAR)
        pos = rng.uniform((0, 0), (size - lw, size - lh)) * ss
        layers.append((tex, mask, pos, _motion(rng, 9 * motion, 0.02 * motion, 0.01 * motion)))
    half = np.array([canvas / 2, canvas / 2])
    out = np.empty((frames, size, size, 3), np.uint8)
    for i in range(frames):
        tau = i - (frames - 1) / 2
        kk = k / ss * (1 + cam["zoom"] * tau)
        angle = cam["rot"] * tau
        m = _matrix(centre, kk, angle, _offset(cam, tau) * k)
        m[:, 2] -= m[:, :2] @ half
        img = cv2.warpAffine(bg, m, (canvas, canvas), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                             borderMode=cv2.BORDER_REFLECT).astype(np.float32)
        for tex, mask, pos, mo in layers:
            lh2, lw2 = mask.shape
            z = 1 + mo["zoom"] * tau
            a = mo["rot"] * tau
            c, s = math.cos(a), math.sin(a)
            # layer -> canvas: rotate/zoom about the layer's centre, then move it
            fwd = np.array([[c * z, -s * z, 0.0], [s * z, c * z, 0.0]])
            ctr = np.array([lw2 / 2, lh2 / 2])
            fwd[:, 2] = pos + ctr + _offset(mo, tau) * ss - fwd[:, :2] @ ctr
            t_img = cv2.warpAffine(tex, fwd, (canvas, canvas), flags=cv2.INTER_LINEAR).astype(np.float32)
            alpha = cv2.warpAffine(mask, fwd, (canvas, canvas), flags=cv2.INTER_LINEAR)[..., None]
            img = img * (1 - alpha) + t_img * alpha
        small = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA) if ss > 1 else img
        out[i] = np.clip(small + 0.5, 0, 255).astype(np.uint8)
    return out


def render_clips(photos: list[np.ndarray], count: int, frames: int, size: int, seed: int,
                 motion: tuple[float, float] = (0.3, 1.5), name: str = "stills") -> list[Clip]:
    """``count`` clips, each with a motion scale drawn log-uniformly from ``motion``; the same ``seed``
    gives the same clips."""
    if not photos:
        return []
    rng = np.random.default_rng(seed)
    clips = []
    for j in range(count):
        ms = math.exp(rng.uniform(math.log(motion[0]), math.log(motion[1])))
        clips.append(Clip(f"{name}{j}", 0, render_clip(rng, photos, frames, size, ms)))
    return clips


def corpus_clips(corpus: str | os.PathLike, split: str, count: int, frames: int, size: int, seed: int,
                 motion: tuple[float, float] = (0.3, 1.5), max_side: int = 1920) -> list[Clip]:
    """Rendered clips from the corpus photos of ``split``, plus its real videos of that split (cut at
    scene cuts, decoded at most ``max_side`` large)."""
    clips = render_clips(load_photos(corpus, split), count, frames, size, seed, motion, name=f"{split}-stills")
    for _, path in entries(corpus, "video", split):
        clips += load_clips(path.parent, max_side, keep={path.name: [[0, 10 ** 9]]})
    return clips


def training_clips(corpus: str | os.PathLike, count: int, frames: int, size: int, seed: int,
                   max_side: int = 1920, motion: tuple[float, float] = (0.3, 1.5)) -> tuple[list[Clip], list[Clip]]:
    """Training and validation clips of a corpus, split by source photo/video; validation gets an
    eighth as many rendered clips (at least 16), drawn with another seed and the same motion range."""
    train = corpus_clips(corpus, "train", count, frames, size, seed, motion, max_side=max_side)
    val = corpus_clips(corpus, "val", max(16, count // 8), frames, size, seed + 10_000, motion, max_side=max_side)
    return train, val
