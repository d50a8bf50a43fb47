"""A clip set for the shared benchmark's own scripts, made from the training corpus' held-out material
at the benchmark clips' sizes and lengths (never the benchmark clips, which stay test-only).

    python benchmarks/corpus_bench_clips.py --corpus ~/vidgen-corpus --out /tmp/corpus_bench
    BENCH_CLIPS=/tmp/corpus_bench/clips.json VIDGEN_CMD='vidgen interpolate {inp} -o {out} --factor 2 \\
        --codec ffv1 --preset balanced' python ../shared/bench/interpolate_bench.py

The benchmark reads ``clips.json`` (``BENCH_CLIPS``), so the same command, I/O contract, baselines and
timing score settings end to end, start-up and FFV1 decode/encode included, on material settings may
be chosen on. Clips (41 frames each, lossless FFV1, 25 fps):

- ``pan720``: 1280x720 camera move over a held-out photo, with up to 8 small movers;
- ``layers720``: 1280x720, larger moving layers, 1.2x the motion;
- ``fast272``: 640x272, twice the motion, a scene cut after frame 20 (two clips joined);
- ``real272``: 640x272 crop of the held-out real video (pedestrians, static camera);
- ``real144``: the held-out real video scaled to 176x144 (cropped to 11:9 first);
- ``small144``: 176x144 render with large moving layers.

On 2x the rate, every other frame is dropped first, so each input pair is twice these motions apart.
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

import cv2
import numpy as np

from vidgen.io.ffmpeg import ffmpeg_exe
from vidgen.io.reader import VideoReader
from vidgen.training.corpus import entries
from vidgen.training.stills import load_photos, render_clip

FRAMES = 41


def write_ffv1(frames: np.ndarray, path: Path) -> None:
    t, h, w = frames.shape[:3]
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r",
                    "25", "-i", "-", "-c:v", "ffv1", "-pix_fmt", "bgr0", str(path)],
                   input=np.ascontiguousarray(frames).tobytes(), check=True)


def rendered(rng, photos, w: int, h: int, motion: float, small: bool, frames: int = FRAMES) -> np.ndarray:
    kw = dict(max_layers=8, layer_size=(1 / 40, 1 / 10)) if small else {}
    clip = render_clip(rng, photos, frames, max(w, h), motion=motion, **kw)
    y0, x0 = (clip.shape[1] - h) // 2, (clip.shape[2] - w) // 2
    return clip[:, y0:y0 + h, x0:x0 + w]


def real(corpus: str, w: int, h: int, start: int, crop: bool) -> np.ndarray:
    (_, path), = entries(corpus, "video", "val")
    out = []
    with VideoReader(path) as r:
        for i, f in enumerate(r):
            if i >= start:
                fh, fw = f.shape[:2]
                if crop:  # a window of the output size from the centre
                    y0, x0 = (fh - h) // 2, (fw - w) // 2
                    out.append(f[y0:y0 + h, x0:x0 + w])
                else:  # the aspect ratio cut to the output's, then an area downscale
                    cw = round(fh * w / h)
                    x0 = (fw - cw) // 2
                    out.append(cv2.resize(f[:, x0:x0 + cw], (w, h), interpolation=cv2.INTER_AREA))
            if len(out) == FRAMES:
                break
    return np.stack(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--out", required=True, help="folder for the media and clips.json")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    photos = load_photos(a.corpus, "val")
    rng = np.random.default_rng(2026)
    half = FRAMES // 2
    clips = {
        "pan720": rendered(rng, photos, 1280, 720, 1.0, small=True),
        "layers720": rendered(rng, photos, 1280, 720, 1.2, small=False),
        "fast272": np.concatenate([rendered(rng, photos, 640, 272, 2.0, False, half),
                                   rendered(rng, photos, 640, 272, 2.0, False, FRAMES - half)]),
        "real272": real(a.corpus, 640, 272, 100, crop=True),
        "real144": real(a.corpus, 176, 144, 300, crop=False),
        "small144": rendered(rng, photos, 176, 144, 1.0, small=False),
    }
    for name, frames in clips.items():
        write_ffv1(frames, out / f"{name}.mkv")
    spec = {"media": ".", "interpolate": {name: [f"{name}.mkv", 0, FRAMES] for name in clips},
            "restore": {name: [f"{name}.mkv", 0, 12] for name in clips}}
    (out / "clips.json").write_text(json.dumps(spec, indent=1))
    print(f"wrote {len(clips)} clips and {out / 'clips.json'}")


if __name__ == "__main__":
    main()
