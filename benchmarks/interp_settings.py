"""Classical interpolator settings on the shared benchmark's frames, in process (no CLI start-up).

Scores the same frames as ``../shared/bench/interpolate_bench.py`` (every other frame re-made from
its neighbours) for each setting given, so settings can be compared in one run:

    python benchmarks/interp_settings.py flow_max_side=512 flow_max_side=960 refinement_iterations=0

Each argument is one setting of ``ClassicalConfig`` (``name=value``, several joined by commas);
with none it compares 512, 640, 800 and 960 px flow. Set ``VIDGEN_BENCH`` to the bench folder if it
is not ``../shared/bench``. Prints PSNR and in-process seconds per frame for each clip.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import fields
from pathlib import Path

import cv2
import numpy as np

from vidgen.interpolators.classical import ClassicalConfig, ClassicalInterpolator

BENCH = Path(os.environ.get("VIDGEN_BENCH", Path(__file__).resolve().parents[1] / "../shared/bench")).resolve()


def parse_setting(text: str) -> dict:
    """``"flow_max_side=960,patch_stride=3"`` -> ``{"flow_max_side": 960, "patch_stride": 3}``."""
    types = {f.name: f.type for f in fields(ClassicalConfig)}
    out = {}
    for part in filter(None, text.split(",")):
        name, _, value = part.partition("=")
        if name not in types:
            raise SystemExit(f"unknown setting {name!r}; choose from {', '.join(types)}")
        out[name] = float(value) if "float" in str(types[name]) else int(value)
    return out


def main() -> None:
    sys.path.insert(0, str(BENCH))
    import interpolate_bench as ib

    settings = [parse_setting(a) for a in sys.argv[1:]] or [{"flow_max_side": s} for s in (512, 640, 800, 960)]
    clips = {}
    for name, (file, start, n) in ib.CLIPS.items():
        frames, _ = ib.decode(ib.MEDIA / file, start, n)
        frames = frames[: (len(frames) - 1) // 2 * 2 + 1]
        clips[name] = (frames[0::2], frames[1::2])
    for cfg in settings:
        row = []
        for name, (ins, truth) in clips.items():
            interp = ClassicalInterpolator(ClassicalConfig(**cfg))
            t = time.time()
            ps = [ib.psnr(interp.interpolate(interp.prepare(a, b), 0.5), tr) for a, b, tr in zip(ins, ins[1:], truth)]
            row.append((name, float(np.mean(ps)), (time.time() - t) / len(truth)))
        cells = " ".join(f"{n} {p:.2f} dB ({s:.3f} s)" for n, p, s in row)
        print(f"{cfg}: {cells}  mean {np.mean([r[1] for r in row]):.3f} dB", flush=True)


if __name__ == "__main__":
    cv2.setNumThreads(os.cpu_count() or 1)
    main()
