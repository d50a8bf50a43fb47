"""Tiled inference: run a network over overlapping tiles and feather them together, so a 4K frame
needs only a tile's worth of memory and shows no seams."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def _ramp(n: int, overlap: int, start: bool, end: bool, device) -> torch.Tensor:
    """Weights along one axis of a tile. On a side that is not the frame's edge, the outer quarter
    of the overlap gets weight 0 (those outputs lack context) and the middle half ramps up; the
    neighbouring tile mirrors it, so the two cross-fade where both have full context."""
    w = torch.ones(n, device=device)
    margin = overlap // 4
    fade = overlap - 2 * margin
    if fade > 0:
        ramp = torch.zeros(overlap, device=device)
        ramp[margin:margin + fade] = (torch.arange(fade, device=device, dtype=torch.float32) + 0.5) / fade
        ramp[margin + fade:] = 1.0
        if not start:
            w[:overlap] = ramp
        if not end:
            w[-overlap:] = torch.minimum(w[-overlap:], ramp.flip(0))
    return w


def _starts(size: int, tile: int, overlap: int) -> list[int]:
    if size <= tile:
        return [0]
    step = tile - overlap
    starts = list(range(0, size - tile, step))
    starts.append(size - tile)
    return starts


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Reflect-pad ``(B, C, H, W)`` at the bottom/right to multiples of ``multiple``; returns the pad."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        mode = "reflect" if ph < h and pw < w else "replicate"
        x = F.pad(x, (0, pw, 0, ph), mode=mode)
    return x, (ph, pw)


def run_padded(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, multiple: int, scale: int) -> torch.Tensor:
    """``fn`` on ``x`` padded to ``multiple``, output cropped back to ``scale`` x the input size."""
    h, w = x.shape[-2:]
    xp, _ = pad_to_multiple(x, multiple)
    return fn(xp)[..., : h * scale, : w * scale]


def tiled(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, scale: int = 1, tile: int = 512,
          overlap: int = 32, multiple: int = 1) -> torch.Tensor:
    """Apply ``fn`` (``(B, C, h, w)`` -> ``(B, 3, scale*h, scale*w)``) to ``x`` tile by tile.

    Tiles are ``tile`` input pixels square and overlap by ``overlap``; outputs are cross-faded in
    the middle half of each overlap (see ``_ramp``), so a network whose receptive field reaches
    less than ``overlap / 4`` gives exactly the untiled result. With ``tile`` >= the frame, this
    is one padded call.
    Example::

        y = tiled(net, x, scale=2, tile=256, overlap=24, multiple=net.multiple)
    """
    b, _, h, w = x.shape
    if h <= tile and w <= tile:
        return run_padded(fn, x, multiple, scale)
    out = None
    weight = torch.zeros(1, 1, h * scale, w * scale, device=x.device)
    ys, xs = _starts(h, tile, overlap), _starts(w, tile, overlap)
    for y0 in ys:
        for x0 in xs:
            th, tw = min(tile, h - y0), min(tile, w - x0)
            part = run_padded(fn, x[..., y0:y0 + th, x0:x0 + tw], multiple, scale)
            if out is None:
                out = torch.zeros(b, part.shape[1], h * scale, w * scale, device=x.device, dtype=part.dtype)
            wy = _ramp(th * scale, overlap * scale, y0 == 0, y0 + th >= h, x.device)
            wx = _ramp(tw * scale, overlap * scale, x0 == 0, x0 + tw >= w, x.device)
            wt = (wy[:, None] * wx[None, :])[None, None]
            out[..., y0 * scale:(y0 + th) * scale, x0 * scale:(x0 + tw) * scale] += part * wt
            weight[..., y0 * scale:(y0 + th) * scale, x0 * scale:(x0 + tw) * scale] += wt
    return out / weight
