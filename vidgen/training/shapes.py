"""Procedural captioned videos ("a red circle moving left") and a detector that reads them back.

The generator draws one coloured shape moving in a straight line over a plain or textured
background whose colours keep clear of the shape's. Sizes, speeds, positions and backgrounds vary.
The detector finds the moving object by its difference from the per-pixel median over time, and
reports its colour (nearest of :data:`PALETTE`), shape (from its outline) and direction (from its
track). It is how vidgen scores its text-to-video models on held-out combinations.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np

from .palette import COLORS, PALETTE

SHAPES = ("circle", "square", "triangle")
DIRECTIONS = ("left", "right", "up", "down")
_STEP = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}
OPPOSITE = {"left": "right", "right": "left", "up": "down", "down": "up"}
# Combinations never shown in training; each colour, shape and direction is still seen with others.
HELD_OUT = (("red", "triangle", "up"), ("green", "circle", "left"), ("blue", "square", "down"),
            ("yellow", "circle", "right"), ("white", "triangle", "left"), ("red", "square", "right"),
            ("green", "triangle", "down"), ("blue", "circle", "up"))
WORDS = ["a", "moving", *PALETTE, *SHAPES, *DIRECTIONS]


def caption(color: str, shape: str, direction: str) -> str:
    return f"a {color} {shape} moving {direction}"


def training_combinations(colors=tuple(COLORS)) -> list[tuple[str, str, str]]:
    return [c for c in itertools.product(colors, SHAPES, DIRECTIONS) if c not in HELD_OUT]


def _background(rng: np.random.Generator, size: int, avoid: tuple[int, int, int], textured: float = 0.5) -> np.ndarray:
    """Plain, or textured with probability ``textured``; its colours at least 110 (RGB distance) away from
    ``avoid``."""
    for _ in range(100):
        base = rng.integers(0, 256, 3)
        if np.linalg.norm(base - np.array(avoid)) > 150 and all(
                np.linalg.norm(base - np.array(c)) > 60 for c in PALETTE.values() if c != avoid):
            break
    if rng.random() >= textured:
        return np.broadcast_to(base.astype(np.uint8), (size, size, 3)).copy()
    noise = cv2.GaussianBlur(rng.normal(0, 1, (size, size)).astype(np.float32), (0, 0), rng.uniform(1.5, 4))
    noise = noise / (noise.std() + 1e-6) * rng.uniform(10, 22)
    return np.clip(base[None, None, :] + noise[..., None], 0, 255).astype(np.uint8)


def _draw(img: np.ndarray, shape: str, cx: float, cy: float, r: float, color) -> None:
    s = 4  # draw at 4x with shifted coordinates for anti-aliased edges
    c = tuple(int(v) for v in color)
    x, y, rr = int(cx * s), int(cy * s), int(r * s)
    if shape == "circle":
        cv2.circle(img, (x, y), rr, c, -1, cv2.LINE_AA, shift=2)
    elif shape == "square":
        cv2.rectangle(img, (x - rr, y - rr), (x + rr, y + rr), c, -1, cv2.LINE_AA, shift=2)
    else:
        h = rr * 2
        pts = np.array([[x, y - h * 0.6], [x - h * 0.58, y + h * 0.4], [x + h * 0.58, y + h * 0.4]], np.int32)
        cv2.fillPoly(img, [pts], c, cv2.LINE_AA, shift=2)


def _within(rng: np.random.Generator, lo: float, hi: float, spread: float) -> float:
    """Uniform over the middle ``spread`` of [lo, hi]."""
    mid, half = (lo + hi) / 2, (hi - lo) / 2 * spread
    return rng.uniform(mid - half, mid + half)


def render_clip(rng: np.random.Generator, color: str, shape: str, direction: str, frames: int = 16,
                size: int = 64, textured: float = 0.5, spread: float = 1.0) -> np.ndarray:
    """``(frames, size, size, 3)`` uint8: a ``color`` ``shape`` moving ``direction``, over a textured
    background with probability ``textured`` (else a plain one).

    ``spread`` (0-1] narrows what the caption does not name, the path's length and where it lies,
    to that middle share of each range: 1 puts the path anywhere in frame, smaller values keep it
    closer to one that crosses the centre.
    """
    rgb = np.array(PALETTE[color], np.float64) + rng.normal(0, 8, 3)
    r = rng.uniform(0.09, 0.125) * size
    # The shape travels 2 to ~3.5 of its sizes: every pixel on its path is clear of it for more than
    # half the frames, which is what lets the detector's median background see behind it.
    travel = _within(rng, 4 * r, size - 2 * r - 2, spread)
    speed = travel / (frames - 1)
    dx, dy = _STEP[direction]
    lo, hi = r + 1, size - r - 1
    across = _within(rng, lo, hi, spread)
    start = _within(rng, lo, max(lo, hi - travel), spread)  # the path stays in frame
    if dx:
        x0, y0 = (start if dx > 0 else size - start), across
    else:
        x0, y0 = across, (start if dy > 0 else size - start)
    bg = _background(rng, size, tuple(int(v) for v in rgb), textured)
    out = np.empty((frames, size, size, 3), np.uint8)
    for t in range(frames):
        f = bg.copy()
        _draw(f, shape, x0 + dx * speed * t, y0 + dy * speed * t, r, np.clip(rgb, 0, 255))
        out[t] = f
    return out


def detect(video: np.ndarray, min_area: int = 12) -> dict[str, str] | None:
    """Read colour, shape and direction off a ``(T, H, W, 3)`` uint8 video; None if no object moves."""
    bg = np.median(video, axis=0)
    masks, centroids, colors, shapes = [], [], [], []
    for f in video:
        diff = np.abs(f.astype(np.float32) - bg).max(axis=2)
        mask = cv2.morphologyEx((diff > 40).astype(np.uint8), cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
        n, labels, stats, cents = cv2.connectedComponentsWithStats(mask)
        if n < 2:
            continue
        k = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        if stats[k, cv2.CC_STAT_AREA] < min_area:
            continue
        obj = labels == k
        centroids.append(cents[k])
        colors.append(np.median(f[obj], axis=0))
        x, y, w, h = (stats[k, i] for i in (cv2.CC_STAT_LEFT, cv2.CC_STAT_TOP, cv2.CC_STAT_WIDTH, cv2.CC_STAT_HEIGHT))
        inside = x > 0 and y > 0 and x + w < video.shape[2] and y + h < video.shape[1]
        if inside:
            shapes.append(_shape_of(obj.astype(np.uint8)))
        masks.append(obj)
    if len(centroids) < max(3, len(video) // 3):
        return None
    rgb = np.median(np.array(colors), axis=0)
    color = min(PALETTE, key=lambda c: np.linalg.norm(rgb - np.array(PALETTE[c])))
    shape = max(set(shapes), key=shapes.count) if shapes else "unknown"
    c = np.array(centroids)
    t = np.arange(len(c))
    vx, vy = np.polyfit(t, c[:, 0], 1)[0], np.polyfit(t, c[:, 1], 1)[0]
    direction = ("right" if vx > 0 else "left") if abs(vx) >= abs(vy) else ("down" if vy > 0 else "up")
    return {"color": color, "shape": shape, "direction": direction}


def _shape_of(mask: np.ndarray) -> str:
    """Square, circle or triangle from which corners of its bounding box the mask fills.

    A square fills all four, the triangles (drawn apex up) the two bottom ones, a circle none.
    This holds at 12 px, where outline measures such as extent blur together.
    """
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return "unknown"
    box = mask[ys.min():ys.max() + 1, xs.min():xs.max() + 1].astype(np.float32)
    h, w = box.shape
    cy, cx = max(1, round(h * 0.2)), max(1, round(w * 0.2))
    tl, tr = box[:cy, :cx].mean(), box[:cy, -cx:].mean()
    bl, br = box[-cy:, :cx].mean(), box[-cy:, -cx:].mean()
    top, bottom = (tl + tr) / 2, (bl + br) / 2
    if top > 0.5 and bottom > 0.5:
        return "square"
    if bottom > 0.5 and top < 0.35:
        return "triangle"
    return "circle"


def write_videos(folder, combos: list[tuple[str, str, str]], per_combo: int = 2, frames: int = 24, size: int = 96,
                 fps: int = 8, seed: int = 0) -> Path:
    """Write ``per_combo`` H.264 videos per (colour, shape, direction) and ``captions.csv`` beside them.

    This is footage for ``vidgen train lora`` (e.g. a colour the base model never saw); returns the CSV.
    """
    from fractions import Fraction

    from ..io.writer import VideoWriter

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["file,caption"]
    for k, (color, shape, direction) in enumerate(combos):
        for j in range(per_combo):
            clip = render_clip(np.random.default_rng([seed, k, j]), color, shape, direction, frames, size)
            name = f"{color}_{shape}_{direction}_{j}.mp4"
            with VideoWriter(folder / name, size, size, Fraction(fps)) as w:
                for f in clip:
                    w.write(np.ascontiguousarray(f))
            rows.append(f"{name},{caption(color, shape, direction)}")
    csv = folder / "captions.csv"
    csv.write_text("\n".join(rows) + "\n")
    return csv


if __name__ == "__main__":
    import argparse

    p = argparse.ArgumentParser(prog="python -m vidgen.training.shapes",
                                description="Write captioned procedural shape videos (footage for vidgen train lora).")
    p.add_argument("folder", nargs="?", help="where to write the videos and captions.csv")
    p.add_argument("--training-captions", action="store_true",
                   help="print the captions the shipped model was trained on, one per line, and exit "
                        "(prompts for vidgen train lora --preserve-file)")
    p.add_argument("--colors", nargs="+", default=["purple"], help=f"from {', '.join(PALETTE)}")
    p.add_argument("--per-combo", type=int, default=2, help="videos per colour x shape x direction")
    p.add_argument("--frames", type=int, default=24)
    p.add_argument("--size", type=int, default=96)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    if a.training_captions:
        print("\n".join(caption(*c) for c in training_combinations()))
        raise SystemExit(0)
    if not a.folder:
        p.error("give a folder (or --training-captions)")
    bad = [c for c in a.colors if c not in PALETTE]
    if bad:
        p.error(f"unknown colour {bad[0]}; choose from {', '.join(PALETTE)}")
    combos = list(itertools.product(a.colors, SHAPES, DIRECTIONS))
    print(write_videos(a.folder, combos, a.per_combo, a.frames, a.size, seed=a.seed))
