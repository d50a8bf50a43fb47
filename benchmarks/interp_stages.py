#!/usr/bin/env python3
"""Where ``vidgen interpolate``'s time goes, stage by stage: a per-stage table and a timeline.

    python benchmarks/interp_stages.py CLIP [--preset balanced] [--codec ffv1] [--factor 2] [--width 100]

Runs the interpolation pipeline in this process with its stages wrapped. For each stage: the calls,
the wall seconds inside it and the CPU seconds of its thread (``time.thread_time``), per output
frame. The ffmpeg decoder and encoder are separate processes: their CPU seconds come from
``wait4``'s rusage when each exits. Then one line per thread over the run's wall time, each column a
slice of it, showing the stage that thread spent most of that slice in (``.``: idle or waiting).
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import threading
import time

from vidgen.interpolators import classical, scenes
from vidgen.io import reader as reader_mod
from vidgen.io import writer as writer_mod
from vidgen.pipelines.interpolation import InterpolationPipeline

EVENTS: list[tuple[str, str, float, float, float]] = []  # (thread, stage, t0, t1, cpu seconds)
CHILDREN: dict[int, tuple[str, float, float]] = {}  # pid -> (role, CPU seconds, exit time)
T0 = time.perf_counter()
# stage -> letter of the timeline
LETTERS = {"flow (DIS + consistency)": "F", "splat + visibility": "S", "upsample maps": "u", "warp": "W",
           "blend": "B", "scene thumbs": "t", "decode pipe read": "R", "encode pipe write": "E",
           "wait for frames": "r", "queue to encoder": "q"}


def timed(stage: str, fn):
    def wrapper(*args, **kwargs):
        t0, c0 = time.perf_counter(), time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            EVENTS.append((threading.current_thread().name, stage, t0 - T0, time.perf_counter() - T0,
                           time.thread_time() - c0))
    return wrapper


def instrument() -> None:
    ci = classical.ClassicalInterpolator
    ci.prepare = timed("flow (DIS + consistency)", ci.prepare)
    ci.flows_at = timed("splat + visibility", ci.flows_at)
    for name, stage in (("upsample_motion", "upsample maps"), ("resize_map", "upsample maps"),
                        ("warp_pair", "warp"), ("blend", "blend")):
        setattr(classical, name, timed(stage, getattr(classical, name)))
    scenes.Thumb.__init__ = timed("scene thumbs", scenes.Thumb.__init__)
    reader_mod._Prefetch.__next__ = timed("wait for frames", reader_mod._Prefetch.__next__)
    writer_mod.VideoWriter.write = timed("queue to encoder", writer_mod.VideoWriter.write)

    # the reader thread's pipe reads and the writer thread's pipe writes
    orig_frames = reader_mod.VideoReader._frames_from_ffmpeg

    def frames(self):
        it = orig_frames(self)
        while True:
            nxt = timed("decode pipe read", next)
            try:
                yield nxt(it)
            except StopIteration:
                return
    reader_mod.VideoReader._frames_from_ffmpeg = frames

    class Pipe:  # wraps the encoder's stdin
        def __init__(self, f):
            self._f = f
            self.write = timed("encode pipe write", f.write)

        def __getattr__(self, name):
            return getattr(self._f, name)
    orig_start = writer_mod.VideoWriter._start_ffmpeg

    def start(self):
        orig_start(self)
        self._proc.stdin = Pipe(self._proc.stdin)
    writer_mod.VideoWriter._start_ffmpeg = start

    # CPU of each ffmpeg process, from the rusage of its exit
    orig_try_wait = subprocess.Popen._try_wait

    def try_wait(self, wait_flags):
        try:
            pid, sts, ru = os.wait4(self.pid, wait_flags)
        except ChildProcessError:
            return orig_try_wait(self, wait_flags)
        if pid == self.pid:
            args = " ".join(map(str, self.args))
            role = "ffmpeg probe" if "showinfo" in args else "ffmpeg encode" if "pipe:0" in args \
                else "ffmpeg decode"
            CHILDREN[pid] = (role, ru.ru_utime + ru.ru_stime, time.perf_counter() - T0)
        return pid, sts
    subprocess.Popen._try_wait = try_wait


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clip")
    ap.add_argument("--preset", default="balanced")
    ap.add_argument("--codec", default="ffv1")
    ap.add_argument("--factor", type=int, default=2)
    ap.add_argument("--out", default=None)
    ap.add_argument("--width", type=int, default=100, help="columns of the timeline")
    a = ap.parse_args()
    instrument()
    from vidgen.interpolators.classical import ClassicalConfig, ClassicalInterpolator
    from vidgen.io.writer import EncodeSettings

    out = a.out or os.path.join(os.path.dirname(os.path.abspath(a.clip)), "stages_out.mkv")
    global T0
    T0 = time.perf_counter()
    c0 = time.process_time()
    pipe = InterpolationPipeline(ClassicalInterpolator(ClassicalConfig.preset(a.preset)))
    result = pipe(a.clip, out, factor=a.factor, encode=EncodeSettings(codec=a.codec), progress=False)
    wall = time.perf_counter() - T0
    own_cpu = time.process_time() - c0
    n = result.stats.frames_out
    os.unlink(out)

    print(f"{a.clip}: preset {a.preset}, {result.stats.frames_in} frames in, {n} out, {wall:.2f} s wall "
          f"({wall / n * 1000:.1f} ms per output frame)")
    print(f"CPU: vidgen process {own_cpu:.2f} s, ffmpeg {sum(c for _, c, _ in CHILDREN.values()):.2f} s; "
          f"both cores {100 * (own_cpu + sum(c for _, c, _ in CHILDREN.values())) / wall / (os.cpu_count() or 1):.0f}%"
          f" busy (cores: {os.cpu_count()})")
    print(f"\n{'stage':30s} {'thread':16s} {'calls':>6s} {'wall s':>7s} {'CPU s':>7s} {'CPU ms/out frame':>17s}")
    agg: dict[tuple[str, str], list[float]] = collections.defaultdict(lambda: [0, 0.0, 0.0])
    for th, st, t0, t1, cpu in EVENTS:
        g = agg[(st, th.split("_")[0])]
        g[0] += 1
        g[1] += t1 - t0
        g[2] += cpu
    for (st, th), (calls, w, cpu) in sorted(agg.items(), key=lambda kv: -kv[1][2]):
        print(f"{st:30s} {th:16s} {calls:6d} {w:7.2f} {cpu:7.2f} {cpu / n * 1000:17.1f}")
    for role, cpu, _ in sorted(CHILDREN.values()):
        print(f"{role:30s} {'(process)':16s} {'':6s} {'':7s} {cpu:7.2f} {cpu / n * 1000:17.1f}")

    # timeline: per thread, the stage holding most of each slice
    cols = a.width
    threads = sorted({e[0] for e in EVENTS}, key=lambda t: min(e[2] for e in EVENTS if e[0] == t))
    print(f"\ntimeline, {wall / cols * 1000:.0f} ms per column; "
          + ", ".join(f"{v} {k}" for k, v in LETTERS.items()))
    for th in threads:
        occupancy = [collections.Counter() for _ in range(cols)]
        for t, st, t0, t1, _ in EVENTS:
            if t != th:
                continue
            for c in range(max(0, int(t0 / wall * cols)), min(cols, int(t1 / wall * cols) + 1)):
                lo, hi = c * wall / cols, (c + 1) * wall / cols
                overlap = min(t1, hi) - max(t0, lo)
                if overlap > 0:
                    occupancy[c][st] += overlap
        line = "".join(LETTERS.get(o.most_common(1)[0][0], "?") if o and sum(o.values()) > 0.5 * wall / cols
                       else "." for o in occupancy)
        print(f"{th[:16]:16s} {line}")
    for role, _, t in sorted(CHILDREN.values(), key=lambda v: v[2]):
        print(f"{role} exited at {t:.2f} s")


if __name__ == "__main__":
    main()
