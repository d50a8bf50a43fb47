"""Resumable long jobs: a file job's output made in segments, so an interrupted run continues from
its last complete segment instead of from the start.

Segments hold the output's video, encoded as the output asks (NUT files, whose exact rational
timestamps keep any frame rate exact), in ``.NAME.resume/`` beside the output, with
``segments.json`` naming each and the input frame the next one starts from. A segment ends only
at a *restart point*: an output frame from which the job's transform, started afresh on the input
from that frame (:meth:`FileJob.transform_from`), makes exactly the frames an unbroken run makes.
When every segment is done they are joined without re-encoding, the input's audio and subtitles
added in the same pass (so audio and timing are exact across the joins), and the folder removed.

The same settings must be given again: a run whose input or options differ from the interrupted
one's starts over (with a notice).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np

from ..errors import OptionError
from ..io.pipes import is_stdio
from ..io.probe import VideoInfo
from ..io.reader import VideoReader
from ..io.writer import EncodeSettings, VideoWriter, container_for, join_segments
from ..progress import progress_bar

log = logging.getLogger("vidgen")


def work_folder(out: Path) -> Path:
    """Where the segments of ``out`` are kept until it is complete."""
    return out.with_name(f".{out.name}.resume")


def _identity(info: VideoInfo, key: dict) -> dict:
    st = info.path.stat()
    return {**key, "input": str(info.path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _save(path: Path, state: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1))
    os.replace(tmp, path)


def run_resumable(job, info: VideoInfo, plan, out: Path, encode: EncodeSettings, keep_audio: bool,
                  progress: bool, key: dict, segment_seconds: float) -> int:
    """Run ``job`` (a :class:`~vidgen.pipelines.job.FileJob`) on ``info`` into ``out`` in segments of
    about ``segment_seconds``, continuing an interrupted run of the same ``key``; returns the number of
    output frames."""
    if is_stdio(out) or container_for(out) is None:
        raise OptionError("--resume writes a video file in segments: it cannot write to stdout or to PNG frames")
    if is_stdio(info.path):
        raise OptionError("--resume reads the input again after an interruption: it cannot read stdin")
    if segment_seconds <= 0:
        raise OptionError(f"--segment must be positive, not {segment_seconds:g}")
    work = work_folder(out)
    manifest = work / "segments.json"
    identity = _identity(info, key)
    state = None
    if manifest.is_file():
        try:
            state = json.loads(manifest.read_text())
        except (OSError, ValueError):
            state = None
        if state is None or state.get("identity") != identity:
            log.warning(f"{work.name} holds an interrupted run with another input or other options: starting over")
            shutil.rmtree(work)
            state = None
    work.mkdir(exist_ok=True)
    state = state or {"identity": identity, "segments": []}
    segs = state["segments"]
    done = sum(s["frames"] for s in segs)
    n = done
    if not (segs and segs[-1]["next_input"] is None):
        start = segs[-1]["next_input"] if segs else 0
        if segs:
            log.info(f"resuming {out.name} at output frame {done} (input frame {start}), "
                     f"{len(segs)} segments already done")
        seg_len = max(1, round(segment_seconds * float(plan.fps)))
        writer: VideoWriter | None = None
        count = 0
        with VideoReader(info, start=max(0, start - job.margin)) as reader, \
                progress_bar(plan.total, job.task, enabled=progress) as bar:
            bar.update(done)
            frames = job.transform_from(reader, info, plan, start) if start else job.transform(reader, info, plan)
            try:
                for frame in frames:
                    mark = plan.stats.restart_at
                    if writer is not None and count >= seg_len and mark is not None:
                        writer.close()
                        segs.append({"file": writer.path.name, "frames": count, "next_input": mark})
                        _save(manifest, state)
                        writer = None
                    if writer is None:
                        writer = VideoWriter(work / f"{len(segs):05d}.nut", plan.width, plan.height, plan.fps,
                                             source=info, settings=encode, deep=reader.dtype == np.uint16,
                                             keep_audio=False,
                                             keep_subtitles=False)
                        count = 0
                    writer.write(frame)
                    count += 1
                    n += 1
                    bar.update(1)
                if writer is not None:
                    writer.close()
                    segs.append({"file": writer.path.name, "frames": count, "next_input": None})
                    _save(manifest, state)
                    writer = None
            finally:
                if writer is not None:
                    writer.abort()
    join_segments([(work / s["file"], s["frames"]) for s in segs], out, plan.fps, info,
                  keep_audio=keep_audio and plan.keep_audio, keep_subtitles=plan.keep_subtitles)
    shutil.rmtree(work, ignore_errors=True)
    return n
