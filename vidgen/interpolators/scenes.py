"""Scene cuts and duplicate frames, decided from small thumbnails of consecutive frames.

- A **cut** is a pair whose 32x32 grey thumbnails have SSIM below ``cut_threshold`` (0.2, the
  rule Practical-RIFE uses) and which motion does not explain: the 64x64 thumbnail of the second
  frame, warped onto the first along DIS flow between the two, still has SSIM below
  ``motion_cut_threshold`` (0.5) with it. Fast camera moves lower the plain SSIM as much as cuts do:
  on pairs rendered from the training corpus' held-out photos (2x jobs, every other frame of clips
  at 176-640 px), the plain rule called 28% of the pairs with twice the corpus' usual motion cuts
  and 64% at three times; with the motion test 3-8% and 17%, while it still found 98% of 49 cuts
  made by joining different clips (their motion-compensated SSIM: median 0.15, 90th percentile 0.23).
- A **duplicate** is a frame no 8x8-pixel cell of whose 64x64 thumbnail differs from the last
  distinct frame by more than ``duplicate_threshold`` grey levels (of 255). The 24-to-25 fps
  duplicates in Big Buck Bunny differ by 0.06-0.14; real motion in the three footage clips by 2.1
  or more.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .classical import warp


@dataclass
class SceneConfig:
    """Thresholds of :class:`SceneDetector`."""

    cut_threshold: float = 0.2  # SSIM of 32x32 thumbnails below this is a cut candidate
    motion_cut_threshold: float = 0.5  # ...and a cut if the motion-compensated 64x64 SSIM is below this too
    duplicate_threshold: float = 0.75  # max 8x8-cell mean abs difference (0-255 grey) for a duplicate


class Thumb:
    """Grey thumbnails of one frame, computed once and compared many times."""

    __slots__ = ("small", "cells", "cells8")

    def __init__(self, frame: np.ndarray):
        if frame.dtype == np.uint16:
            frame = (frame >> 8).astype(np.uint8)
        elif frame.dtype != np.uint8:  # float in [0, 1]
            frame = np.clip(frame * 255 + 0.5, 0, 255).astype(np.uint8)
        g = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        # OpenCV's area resize is about 7x faster between sizes of whole ratios (720p: 2.4 -> 0.36 ms):
        # the grey frame is cut to multiples of 64, centred, where that leaves out at most a tenth of it
        h, w = g.shape
        ch, cw = h % 64, w % 64
        if ch <= h // 10 and cw <= w // 10:
            g = g[ch // 2:h - (ch - ch // 2), cw // 2:w - (cw - cw // 2)]
        cells = cv2.resize(g, (64, 64), interpolation=cv2.INTER_AREA)
        self.cells8 = cells  # uint8, for the flow of the cut test
        self.cells = cells.astype(np.float32)
        self.small = cv2.resize(cells, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of two grey float images (0-255), 7x7 uniform windows."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    k = (7, 7)
    ma, mb = cv2.blur(a, k), cv2.blur(b, k)
    va = cv2.blur(a * a, k) - ma * ma
    vb = cv2.blur(b * b, k) - mb * mb
    cov = cv2.blur(a * b, k) - ma * mb
    s = ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2))
    return float(s[3:-3, 3:-3].mean())


class SceneDetector:
    """Decides whether two consecutive distinct frames are a cut, and whether a frame repeats one.

    Example::

        det = SceneDetector()
        a, b = Thumb(frame0), Thumb(frame1)
        det.is_cut(a, b), det.is_duplicate(a, b)
    """

    def __init__(self, config: SceneConfig | None = None):
        self.config = config or SceneConfig()
        self._dis = None  # made on the first candidate

    def is_cut(self, a: Thumb, b: Thumb) -> bool:
        if ssim(a.small, b.small) >= self.config.cut_threshold:
            return False
        return self.motion_compensated_ssim(a, b) < self.config.motion_cut_threshold

    def motion_compensated_ssim(self, a: Thumb, b: Thumb) -> float:
        """SSIM of ``a``'s 64x64 thumbnail and ``b``'s warped onto it along DIS flow (about 0.3 ms)."""
        if self._dis is None:
            self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        on_a = warp(b.cells, self._dis.calc(a.cells8, b.cells8, None), cv2.INTER_LINEAR)
        return ssim(a.cells, on_a)

    def is_duplicate(self, a: Thumb, b: Thumb) -> bool:
        diff = cv2.resize(np.abs(a.cells - b.cells), (8, 8), interpolation=cv2.INTER_AREA)
        return float(diff.max()) < self.config.duplicate_threshold
