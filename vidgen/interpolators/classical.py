"""Classical motion-compensated frame interpolation: no weights, no torch, fast on a CPU.

Algorithm, for frames I0, I1 and a time t in (0, 1):

1. Dense optical flow both ways, F01 and F10, with OpenCV's DIS on grey frames scaled down so the
   longer side is at most ``flow_max_side`` (flow is smooth; warping stays at full resolution).
2. Forward-backward consistency: where F01(x) + F10(x + F01(x)) is far from zero, or x + F01(x)
   leaves the frame, the pixel is occluded or its flow is unreliable.
3. The motion field at time t: every pixel of I0 is carried to x + t*F01(x) and every pixel of
   I1 to x + (1-t)*F10(x) (forward splatting), each weighted by its consistency, so the pixel
   that stays visible wins a collision. Holes are filled by normalized convolution.
4. Backward warping of I0 and I1 to time t with that motion (bicubic), blended with weights
   (1-t)*c0 and t*c1 where c0, c1 are the consistencies of the samples, so a region only one frame
   sees comes from that frame instead of ghosting.

This module works on ``(H, W, 3)`` numpy arrays rather than the library's ``(B, C, T, H, W)``
tensors: OpenCV's flow and remap need numpy, and importing torch would cost more time (2.4 s on
2 cores) than interpolating a whole small clip takes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class ClassicalConfig:
    """Settings of :class:`ClassicalInterpolator`."""

    # Flow is estimated with the longer side scaled down to this (pixels). 960 measured +0.39 dB over 512 on
    # the shared benchmark's 720p clip at 0.3 s per frame; smaller frames keep their size.
    flow_max_side: int = 960
    patch_stride: int = 2  # DIS patch stride: 2 is denser and better on fast motion than the preset's 3
    # Patch stride 2 wherever the frame the flow is estimated on has at most this many pixels (0: never):
    # on small videos the denser flow costs little time and gains most (see PRESETS).
    fine_stride_pixels: int = 0
    refinement_iterations: int = 2  # DIS variational refinement; the preset's 5 measured no better
    consistency_scale: float = 1.0  # c = exp(-scale * forward-backward error in flow pixels)
    agreement_scale: float = 0.5  # visibility = consistency * exp(-scale * |source motion - target motion|)
    cubic_warp: bool = True  # bicubic sampling of the frames (bilinear: about half the warp time, a little softer)

    @classmethod
    def preset(cls, name: str, **overrides) -> ClassicalConfig:
        """The settings of a speed preset (:data:`PRESETS`), with ``overrides`` on top."""
        if name not in PRESETS:
            from ..errors import OptionError

            raise OptionError(f"unknown preset '{name}': choose one of {', '.join(PRESETS)}")
        return cls(**{**PRESETS[name], **overrides})


# Speed presets of classical interpolation (``--preset``), chosen by measurement on clips rendered
# from the training corpus' held-out photos at 960x960 (1280x720's pixel count): six with large moving
# layers, six with up to eight small moving things (1/40 to 1/10 of the frame), 2-24 px of motion per
# frame, and the corpus' held-out real video (``benchmarks/interp_presets.py --small-movers 6``), never on
# the benchmark clips. Finer flow helps most on the small movers; bicubic warps scored 0.2 dB below
# bilinear ones everywhere (benchmarks/RESULTS.md, session 17):
#   320 px stride 3: 28.02 dB at 0.16x minterpolate's in-process time; 720 px stride 3: 28.29 at 0.47x;
#   960 px stride 2 with 2 refinements: 28.35 at 1.15x (bicubic 28.15); minterpolate 26.51.
# ``fast`` is the cheapest; ``balanced`` the best at <= 0.5x; ``best`` the best at <= 2x.
# ``balanced`` takes patch stride 2 on flow frames of up to 320x320 pixels. The same material at 176 and
# 320 px (session 19): stride 2 scored +0.32 and +0.23 dB over 3 there, at 640 px +0.02; a small
# video's flow costs little beside a large one's, so this keeps the preset's time summed over sizes.
PRESETS = {
    "fast": dict(flow_max_side=320, patch_stride=3, refinement_iterations=1, cubic_warp=False),
    "balanced": dict(flow_max_side=720, patch_stride=3, refinement_iterations=1, cubic_warp=False,
                     fine_stride_pixels=320 * 320),
    "best": dict(flow_max_side=960, patch_stride=2, refinement_iterations=2, cubic_warp=False),
}


@dataclass
class PairState:
    """What :meth:`ClassicalInterpolator.prepare` computes once per pair of frames."""

    frame0: np.ndarray
    frame1: np.ndarray
    scale: float  # flow resolution / frame resolution
    flow01: np.ndarray  # (h, w, 2) at flow resolution
    flow10: np.ndarray
    conf0: np.ndarray  # (h, w) consistency of frame 0's pixels, in [0, 1]
    conf1: np.ndarray


@functools.lru_cache(maxsize=8)
def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    gx.setflags(write=False)
    gy.setflags(write=False)
    return gx, gy


@functools.lru_cache(maxsize=8)
def _grid_xy(h: int, w: int) -> np.ndarray:
    """``(h, w, 2)`` float32: each pixel's x and y, the identity map of ``cv2.remap``'s two-channel form."""
    g = cv2.merge(_grid(h, w))
    g.setflags(write=False)
    return g


def _to_gray8(frame: np.ndarray, scale: float) -> np.ndarray:
    if frame.dtype == np.uint16:
        frame = (frame >> 8).astype(np.uint8)
    elif frame.dtype != np.uint8:  # float in [0, 1]
        frame = np.clip(frame * 255 + 0.5, 0, 255).astype(np.uint8)
    g = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    if scale != 1.0:
        h, w = g.shape
        g = cv2.resize(g, (max(8, round(w * scale)), max(8, round(h * scale))), interpolation=cv2.INTER_AREA)
    return g


def consistency(fab: np.ndarray, fba: np.ndarray, k: float) -> np.ndarray:
    """Forward-backward consistency of two flows: exp(-k * |F_ab(x) + F_ba(x + F_ab(x))|), zero where
    x + F_ab(x) leaves the frame (``(h, w)`` in [0, 1]; above exp(-k) means they agree within a pixel)."""
    h, w = fab.shape[:2]
    where = cv2.add(_grid_xy(h, w), fab)
    back = cv2.remap(fba, where, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    ex, ey = cv2.split(cv2.add(fab, back))
    conf = cv2.exp(cv2.magnitude(ex, ey) * -k)
    mx, my = cv2.split(where)
    conf[(mx < 0) | (mx > w - 1) | (my < 0) | (my > h - 1)] = 0.0
    return conf


def _fill_holes(values: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Fill where ``weight`` is small with a weighted average of the surroundings (normalized
    convolution over an image pyramid). values: (h, w, c); weight: (h, w) in [0, 1]."""
    return _normalized_pyramid(values * weight[..., None], weight)


def _normalized_pyramid(num: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """:func:`_fill_holes` of ``num = values * weight``."""
    eps = 1e-6
    levels = []
    n, d = num, weight
    while min(d.shape) > 4:
        levels.append((n, d))
        n, d = cv2.pyrDown(n), cv2.pyrDown(d)
    est = n / np.maximum(d, eps)[..., None]
    for n, d in reversed(levels):
        est = cv2.resize(est, (d.shape[1], d.shape[0]), interpolation=cv2.INTER_LINEAR)
        if est.ndim == 2:
            est = est[..., None]
        a = np.minimum(d * 2.0, 1.0)[..., None]
        est = a * (n / np.maximum(d, eps)[..., None]) + (1 - a) * est
    return est


def _fill_uncovered(values: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """:func:`_fill_holes` with a 0/1 weight (``covered``, bool), computed only where it changes
    anything. At full resolution the pyramid's blend is all or nothing there: covered pixels keep
    their values and holes take the upsampled estimate of the levels below. Same result, about a
    quarter of the work, none without holes."""
    if covered.all():
        return values
    weight = covered.astype(np.float32)
    if min(covered.shape) <= 4:
        return _fill_holes(values, weight)
    keep = covered.astype(np.uint8)
    est = _normalized_pyramid(cv2.pyrDown(cv2.copyTo(values, keep)), cv2.pyrDown(weight))
    est = cv2.resize(est, (values.shape[1], values.shape[0]), interpolation=cv2.INTER_LINEAR).reshape(values.shape)
    return cv2.copyTo(values, keep, est)  # covered pixels keep their values


class ClassicalInterpolator:
    """Flow-based interpolation between two frames at any time t (see the module docstring).

    Frames are ``(H, W, 3)`` RGB arrays, ``uint8``, ``uint16`` or ``float32`` in [0, 1]; outputs have
    the same type.
    Example::

        interp = ClassicalInterpolator()
        state = interp.prepare(frame0, frame1)     # flow, once per pair
        mid = interp.interpolate(state, 0.5)       # any t in (0, 1), as often as needed
    """

    concurrent_prepare = True  # prepare() may run in a thread beside interpolate() (not beside itself)

    def __init__(self, config: ClassicalConfig | None = None):
        self.config = config or ClassicalConfig()
        # OpenCV already spreads one DIS call over the cores; two calls in threads were no faster.
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        self._dis.setPatchStride(self.config.patch_stride)
        self._dis.setVariationalRefinementIterations(self.config.refinement_iterations)
        self._last_gray: tuple[np.ndarray, float, np.ndarray] | None = None  # (frame, scale, grey) of prepare()

    def prepare(self, frame0: np.ndarray, frame1: np.ndarray) -> PairState:
        """Estimate flow and consistency between two frames. A frame passed here must not be changed
        in place afterwards: the grey copy of ``frame1`` is reused when it comes back as ``frame0``."""
        h, w = frame0.shape[:2]
        scale = min(1.0, self.config.flow_max_side / max(h, w))
        fine = round(h * scale) * round(w * scale) <= self.config.fine_stride_pixels
        self._dis.setPatchStride(min(2, self.config.patch_stride) if fine else self.config.patch_stride)
        # consecutive pairs share a frame: its grey copy for the flow is kept from the last call
        last = self._last_gray
        g0 = last[2] if last is not None and last[0] is frame0 and last[1] == scale else _to_gray8(frame0, scale)
        g1 = _to_gray8(frame1, scale)
        self._last_gray = (frame1, scale, g1)
        f01 = self._dis.calc(g0, g1, None)
        f10 = self._dis.calc(g1, g0, None)
        k = self.config.consistency_scale
        return PairState(frame0, frame1, g0.shape[1] / w, f01, f10, consistency(f01, f10, k),
                         consistency(f10, f01, k))

    def motion_at(self, state: PairState, t: float) -> np.ndarray:
        """The motion (I0 -> I1 displacement, flow resolution) of the pixel seen at x at time t.

        Backward flows at t are ``-t * M`` (into I0) and ``(1 - t) * M`` (into I1).
        """
        f01, f10 = state.flow01, state.flow10
        h, w = f01.shape[:2]
        gx, gy = _grid(h, w)
        n = h * w
        # Both frames' pixels splat into one target grid: target index, weight, weighted motion.
        idx = np.empty(2 * n, np.int64)
        wt = np.empty(2 * n, np.float32)
        vx = np.empty(2 * n, np.float32)
        vy = np.empty(2 * n, np.float32)
        sources = ((f01, state.conf0, t, 1.0), (f10, state.conf1, 1.0 - t, -1.0))
        # positions in float32 are exact integers below 2**24 (a 4K flow has 8.3 M pixels)
        pos_type = np.float32 if n < 2 ** 24 else np.float64
        for k, (f, conf, step, sign) in enumerate(sources):
            fx, fy = cv2.split(f)  # contiguous planes: numpy is slow on the interleaved channels
            x = np.rint(cv2.scaleAdd(fx, step, gx))
            y = np.rint(cv2.scaleAdd(fy, step, gy))
            inside = (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)
            np.clip(x, 0, w - 1, out=x)
            np.clip(y, 0, h - 1, out=y)
            part = slice(k * n, (k + 1) * n)
            idx[part] = (y.astype(pos_type, copy=False) * w + x).ravel()
            c = (conf + 1e-4) * inside  # a small floor keeps inconsistent pixels as a last resort
            wt[part] = c.ravel()
            vx[part] = (fx * (sign * c)).ravel()
            vy[part] = (fy * (sign * c)).ravel()
        wsum = np.bincount(idx, wt, minlength=n)
        inv = (1.0 / np.maximum(wsum, 1e-12)).astype(np.float32)
        motion = cv2.merge([(np.bincount(idx, vx, minlength=n) * inv).astype(np.float32).reshape(h, w),
                            (np.bincount(idx, vy, minlength=n) * inv).astype(np.float32).reshape(h, w)])
        return _fill_uncovered(motion, (wsum > 0).reshape(h, w)).astype(np.float32, copy=False)

    def _visibility(self, flow, conf, neg_motion, where, sign) -> np.ndarray:
        src_motion = cv2.remap(flow, where, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        src_conf = cv2.remap(conf, where, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        dx, dy = cv2.split(cv2.scaleAdd(src_motion, sign, neg_motion))  # the sampled pixel's motion - the target's
        return cv2.exp(cv2.magnitude(dx, dy) * -self.config.agreement_scale) * src_conf

    def flows_at(self, state: PairState, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Motion at time t and each frame's visibility there, at flow resolution.

        Returns ``(motion (h, w, 2), vis0 (h, w), vis1 (h, w))``; the backward flows into frame 0
        and frame 1 are ``-t * motion`` and ``(1 - t) * motion``.
        """
        m = self.motion_at(state, t)
        g = _grid_xy(*m.shape[:2])
        neg = -m
        # Visibility: a frame sees the target pixel if the pixel the warp samples there really moves
        # with the target's motion (and its own flow is consistent). Occluded pixels fail this test.
        c0 = self._visibility(state.flow01, state.conf0, neg, cv2.scaleAdd(m, -t, g), 1.0)
        c1 = self._visibility(state.flow10, state.conf1, neg, cv2.scaleAdd(m, 1 - t, g), -1.0)
        return m, c0, c1

    def interpolate(self, state: PairState, t: float) -> np.ndarray:
        """The frame at time ``t`` in (0, 1) between the two frames of ``state``."""
        m, c0, c1 = self.flows_at(state, t)
        h, w = state.frame0.shape[:2]
        # the blend weights are made at flow resolution and resized once (a bilinear resize commutes
        # with the scale and offset)
        k0, k1 = resize_map((1 - t) * c0 + 1e-3, (h, w)), resize_map(t * c1 + 1e-3, (h, w))
        w0, w1 = warp_pair(state.frame0, state.frame1, upsample_motion(m, (h, w)), t,
                           cv2.INTER_CUBIC if self.config.cubic_warp else cv2.INTER_LINEAR)
        return blend(w0, w1, k0, k1)


def resize_map(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a per-pixel map to ``size = (h, w)``."""
    if x.shape[:2] == size:
        return x
    return cv2.resize(x, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)


def upsample_motion(m: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a motion field to ``size = (h, w)``, scaling its vectors with it."""
    hs, ws = m.shape[:2]
    if (hs, ws) == size:
        return m
    # scaled before the resize, at the small size: numpy's broadcast over two interleaved channels
    # cost more than the resize itself at full resolution
    scaled = m * np.array([size[1] / ws, size[0] / hs], np.float32)
    return cv2.resize(scaled, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)


def warp(frame: np.ndarray, flow: np.ndarray, interpolation: int = cv2.INTER_CUBIC) -> np.ndarray:
    """Backward warp: the frame sampled at ``x + flow(x)`` (flow the frame's size, edges replicated)."""
    return _warp_scaled(frame, flow, 1.0, interpolation)


def _warp_scaled(frame: np.ndarray, flow: np.ndarray, scale: float, interpolation: int) -> np.ndarray:
    """The frame sampled at ``x + scale * flow(x)``: the map made in one OpenCV pass."""
    h, w = frame.shape[:2]
    where = cv2.scaleAdd(np.ascontiguousarray(flow, np.float32), scale, _grid_xy(h, w))
    return cv2.remap(frame, where, None, interpolation, borderMode=cv2.BORDER_REPLICATE)


def warp_pair(f0: np.ndarray, f1: np.ndarray, m: np.ndarray, t: float,
              interpolation: int = cv2.INTER_CUBIC) -> tuple[np.ndarray, np.ndarray]:
    """Both frames warped to time t along motion ``m`` (same size as the frames)."""
    return _warp_scaled(f0, m, -t, interpolation), _warp_scaled(f1, m, 1 - t, interpolation)


def blend(w0: np.ndarray, w1: np.ndarray, k0: np.ndarray, k1: np.ndarray) -> np.ndarray:
    """Per-pixel weighted mean ``(k0 * w0 + k1 * w1) / (k0 + k1)`` in the frames' own dtype."""
    k0 = np.ascontiguousarray(k0, dtype=np.float32)
    k1 = np.ascontiguousarray(k1, dtype=np.float32)
    if w0.dtype in (np.uint8, np.float32):
        return cv2.blendLinear(w0, w1, k0, k1)
    out = cv2.blendLinear(w0.astype(np.float32), w1.astype(np.float32), k0, k1)  # uint16
    return np.clip(out + 0.5, 0, np.iinfo(w0.dtype).max).astype(w0.dtype)


class FlowAligner:
    """Warp a neighbouring frame onto a reference frame along DIS flow (restoration's alignment).

    Flow is estimated with the longer side at most ``flow_max_side`` and scaled up. Frames are
    ``(H, W, 3)`` uint8/uint16/float32. Example::

        prev_on_cur = FlowAligner().align(cur, prev)
    """

    def __init__(self, flow_max_side: int = 512):
        self.flow_max_side = flow_max_side
        cfg = ClassicalConfig()
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        self._dis.setPatchStride(cfg.patch_stride)
        self._dis.setVariationalRefinementIterations(cfg.refinement_iterations)

    def flow(self, reference: np.ndarray, other: np.ndarray) -> np.ndarray:
        """``f`` with ``reference(x) ~ other(x + f(x))``, at the frames' size."""
        h, w = reference.shape[:2]
        scale = min(1.0, self.flow_max_side / max(h, w))
        f = self._dis.calc(_to_gray8(reference, scale), _to_gray8(other, scale), None)
        return upsample_motion(f, (h, w))

    def align(self, reference: np.ndarray, other: np.ndarray, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
        return warp(other, self.flow(reference, other), interpolation)
