"""Peak memory of the ComfyUI nodes on a long 720p IMAGE batch, against the batch's own size.

    python benchmarks/comfyui_memory.py --frames 300 --node interpolate

Builds a ``[frames, 720, 1280, 3]`` float32 batch (the sample clip upscaled and looped, so it moves),
runs the node, and prints the process's peak resident memory (sampled every 20 ms), the input and
output batches' sizes, and what the node held beyond them. A node that kept a second float32 copy of
the input (ComfyUI-Frame-Interpolation's ``torch.cat``) would show at least the input's size there.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--node", default="interpolate", choices=["interpolate", "deblur", "enhance"])
    ap.add_argument("--size", default="1280x720")
    a = ap.parse_args()
    import cv2

    from vidgen.comfyui import NODE_CLASS_MAPPINGS
    from vidgen.io.reader import read_frames

    w, h = (int(v) for v in a.size.split("x"))
    clip = [cv2.resize(f, (w, h), interpolation=cv2.INTER_CUBIC) for f in read_frames(ROOT / "samples" / "bunny_320x180.mp4")]
    images = torch.empty((a.frames, h, w, 3), dtype=torch.float32)
    for i in range(a.frames):
        k = i % (2 * len(clip) - 2)
        images[i] = torch.from_numpy(clip[k if k < len(clip) else 2 * len(clip) - 2 - k].astype(np.float32) / 255)
    del clip
    base = rss()
    peak = [base]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss())
            time.sleep(0.02)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    node = NODE_CLASS_MAPPINGS[{"interpolate": "VidgenInterpolate", "deblur": "VidgenDeblur",
                                "enhance": "VidgenEnhance"}[a.node]]()
    started = time.perf_counter()
    out = node.run(images)[0]
    seconds = time.perf_counter() - started
    done.set()
    t.join()
    gib = 2 ** 30
    inp, outb = images.numel() * 4, out.numel() * 4
    print(f"node {a.node}: {a.frames} frames {w}x{h} -> {tuple(out.shape)} in {seconds:.1f} s "
          f"({seconds / out.shape[0]:.3f} s per output frame)")
    print(f"input batch {inp / gib:.2f} GiB, output batch {outb / gib:.2f} GiB")
    print(f"resident before the node (input held) {base / gib:.2f} GiB; peak {peak[0] / gib:.2f} GiB")
    print(f"held beyond input + output: {(peak[0] - base - outb) / 2 ** 20:.0f} MiB")


if __name__ == "__main__":
    main()
