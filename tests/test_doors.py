"""The pipe, batch-folder and resumable doors of the CLI: each gives the file CLI's frames."""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from helpers import count_frames, duration, ffmpeg, make_video, read_rgb, stream_lines
from vidgen.io.ffmpeg import ffmpeg_exe

VIDGEN = f"{shlex.quote(sys.executable)} -m vidgen"
FF = shlex.quote(ffmpeg_exe())
JOBS = {"interpolate": [], "deblur": [], "enhance": ["--scale", "2"]}


def sh(cmd: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, timeout=timeout)


def vidgen(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vidgen", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def clip(tmp_path) -> Path:
    return make_video(tmp_path / "clip.mp4", size="128x96", seconds=0.6, audio=True)


@pytest.mark.parametrize("task", list(JOBS))
def test_pipe_through_ffmpeg_gives_the_file_cli_frames(tmp_path, clip, task):
    y4m = tmp_path / "same.y4m"
    ffmpeg("-i", str(clip), "-f", "yuv4mpegpipe", str(y4m))  # the stream the pipe carries, kept as a file
    piped = tmp_path / "piped.mkv"
    opts = " ".join(JOBS[task])
    r = sh(f"{FF} -v error -i {clip} -f yuv4mpegpipe - | {VIDGEN} {task} - -o - {opts} "
           f"| {FF} -v error -y -i - -c:v ffv1 {piped}")
    assert r.returncode == 0, r.stderr
    assert b"Traceback" not in r.stderr
    ref = tmp_path / "file.mkv"
    f = vidgen(task, str(y4m), "-o", str(ref), "--codec", "ffv1", "--pix-fmt", "yuv420p", "-q", *JOBS[task])
    assert f.returncode == 0, f.stderr
    a, b = read_rgb(piped), read_rgb(ref)
    assert a.shape == b.shape and a.shape[0] == (30 if task == "interpolate" else 15)
    assert np.array_equal(a, b)


def test_stdout_is_y4m_with_the_exact_rate_and_only_video(tmp_path):
    src = make_video(tmp_path / "ntsc.mkv", rate="24000/1001", seconds=0.5)
    r = sh(f"{VIDGEN} interpolate {src} -o -")
    assert r.returncode == 0, r.stderr
    header, body = r.stdout.split(b"\n", 1)
    assert header.decode().startswith("YUV4MPEG2 W160 H90 F48000:1001"), header
    assert b"XCOLORRANGE=LIMITED" in header
    frame = len(b"FRAME\n") + 160 * 90 * 3 // 2  # yuv420p, as the source
    assert len(body) == count_frames(src) * 2 * frame and body.count(b"FRAME\n") >= count_frames(src) * 2
    assert b"wrote stdout" in r.stderr


def test_a_reader_that_stops_early_ends_vidgen_in_one_line(tmp_path, clip):
    r = sh(f"{VIDGEN} interpolate {clip} -o - | head -c 1000 > /dev/null; echo ${{PIPESTATUS[0]}} >&2")
    err = r.stderr.decode().strip().splitlines()
    assert err[-1] == "1", err  # vidgen's own exit status
    assert len(err) == 2 and "closed" in err[0] and "Traceback" not in r.stderr.decode(), err


@pytest.mark.parametrize("data, words", [(b"", "empty"), (b"this is not a video\n" * 50, "not a video")])
def test_bad_stdin_is_one_line(tmp_path, data, words):
    r = subprocess.run([sys.executable, "-m", "vidgen", "interpolate", "-", "-o", "-"], input=data,
                       capture_output=True, timeout=60)
    err = r.stderr.decode().strip().splitlines()
    assert r.returncode != 0 and len(err) == 1 and words in err[0], err
    assert r.stdout == b""


def test_stdin_needs_an_output_and_cannot_adapt(tmp_path, clip):
    for extra, words in (([], "-o"), (["-o", "-", "--adapt", "2"], "stdin")):
        r = sh(f"{FF} -v error -i {clip} -f yuv4mpegpipe - | {VIDGEN} deblur - {' '.join(extra)} > /dev/null")
        err = r.stderr.decode().strip().splitlines()
        assert r.returncode != 0 and words in err[-1] and "Traceback" not in r.stderr.decode(), err


def test_batch_folder_processes_skips_and_reports(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    make_video(src / "a.mp4", seconds=0.4)
    make_video(src / "c.mkv", seconds=0.4, size="96x64")
    (src / "b.mp4").write_bytes(b"not a video at all")
    out = tmp_path / "out"
    r = vidgen("interpolate", str(src), "-o", str(out), "--codec", "ffv1")
    assert r.returncode == 1
    assert sorted(p.name for p in out.iterdir()) == ["a.mkv", "c.mkv"]
    assert "b.mp4 failed" in r.stderr and "2 done, 0 skipped" in r.stderr and "Traceback" not in r.stderr
    # the batch's frames are the single-file CLI's
    single = tmp_path / "single.mkv"
    assert vidgen("interpolate", str(src / "a.mp4"), "-o", str(single), "--codec", "ffv1", "-q").returncode == 0
    assert np.array_equal(read_rgb(out / "a.mkv"), read_rgb(single))
    before = (out / "a.mkv").stat().st_mtime_ns
    again = vidgen("interpolate", str(src), "-o", str(out), "--codec", "ffv1")
    assert again.returncode == 1 and "0 done, 2 skipped" in again.stderr
    assert (out / "a.mkv").stat().st_mtime_ns == before


def test_batch_folder_without_videos_is_one_line(tmp_path):
    d = tmp_path / "notes"
    d.mkdir()
    (d / "readme.txt").write_text("hello")
    r = vidgen("enhance", str(d))
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1 and "no videos" in r.stderr


def _kill_after_segments(args: list[str], folder: Path, segments: int) -> None:
    """Start vidgen and SIGKILL it once ``segments`` segments are complete."""
    p = subprocess.Popen([sys.executable, "-m", "vidgen", *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    manifest = folder / "segments.json"
    deadline = time.time() + 120
    while time.time() < deadline and p.poll() is None:
        try:
            if len(json.loads(manifest.read_text())["segments"]) >= segments:
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.02)
    assert p.poll() is None, "the run ended before it could be interrupted"
    p.send_signal(signal.SIGKILL)
    p.wait()


@pytest.mark.parametrize("task", ["interpolate", "deblur"])
def test_resume_after_a_kill_equals_an_uninterrupted_run(tmp_path, task):
    src = make_video(tmp_path / "long.mp4", size="128x96", seconds=2, audio=True)
    whole = tmp_path / "whole.mkv"
    assert vidgen(task, str(src), "-o", str(whole), "--codec", "ffv1", "-q").returncode == 0
    out = tmp_path / "resumed.mkv"
    args = [task, str(src), "-o", str(out), "--codec", "ffv1", "--resume", "--segment", "0.2", "-q"]
    _kill_after_segments(args, tmp_path / ".resumed.mkv.resume", 2)
    assert not out.exists()
    r = vidgen(*args[:-1])
    assert r.returncode == 0, r.stderr
    assert "resuming resumed.mkv" in r.stderr
    assert np.array_equal(read_rgb(out), read_rgb(whole))
    assert "Audio" in stream_lines(out) and abs(duration(out) - duration(whole)) < 0.03
    assert not (tmp_path / ".resumed.mkv.resume").exists()


def test_resume_h264_joins_exactly_and_keeps_audio_and_timing(tmp_path):
    src = make_video(tmp_path / "ntsc.mp4", size="128x96", rate="30000/1001", seconds=2, audio=True)
    ref = tmp_path / "ref.mp4"
    assert vidgen("interpolate", str(src), "-o", str(ref), "--resume", "--segment", "0.25", "-q").returncode == 0
    out = tmp_path / "out.mp4"
    args = ["interpolate", str(src), "-o", str(out), "--resume", "--segment", "0.25", "-q"]
    _kill_after_segments(args, tmp_path / ".out.mp4.resume", 3)
    assert vidgen(*args).returncode == 0
    assert np.array_equal(read_rgb(out), read_rgb(ref))
    assert count_frames(out) == 2 * count_frames(src)
    assert "60000/1001" in ffmpeg_rate(out) and "Audio" in stream_lines(out)
    assert abs(duration(out) - duration(src)) < 0.05


def ffmpeg_rate(path: Path) -> str:
    from vidgen.io.probe import probe

    r = probe(path).fps
    return f"{r.numerator}/{r.denominator}"


def test_resume_with_other_options_starts_over(tmp_path):
    src = make_video(tmp_path / "v.mp4", size="128x96", seconds=2)
    out = tmp_path / "o.mkv"
    _kill_after_segments(["interpolate", str(src), "-o", str(out), "--codec", "ffv1", "--resume", "--segment",
                          "0.2", "-q"], tmp_path / ".o.mkv.resume", 1)
    r = vidgen("interpolate", str(src), "-o", str(out), "--codec", "ffv1", "--resume", "--segment", "0.2",
               "--factor", "3")
    assert r.returncode == 0 and "starting over" in r.stderr
    assert count_frames(out) == 3 * count_frames(src)


def test_presets_each_beat_blending_and_differ(tmp_path):
    """Every preset re-makes dropped frames of moving content better than blending their neighbours."""
    from vidgen.metrics import psnr

    import vidgen
    from vidgen.interpolators.classical import PRESETS

    frames = read_rgb(make_video(tmp_path / "m.mkv", size="640x360", seconds=0.4, rate="25"))  # above every flow size
    kept, truth = frames[0::2], frames[1::2]
    blend = np.mean([psnr(((a.astype(np.uint16) + b) // 2).astype(np.uint8), t)
                     for a, b, t in zip(kept, kept[1:], truth)])
    outs = {}
    for name in PRESETS:
        out = vidgen.interpolate(kept, factor=2, preset=name)
        outs[name] = np.stack(out[1:-1:2])
        score = np.mean([psnr(p, t) for p, t in zip(outs[name], truth)])
        assert score > blend + 1, (name, score, blend)
    assert not np.array_equal(outs["fast"], outs["balanced"])


def test_bad_preset_and_encoder_preset(tmp_path, clip):
    r = vidgen("interpolate", str(clip), "--preset", "ludicrous")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    out = tmp_path / "o.mp4"
    r = vidgen("interpolate", str(clip), "-o", str(out), "--preset", "fast", "--encoder-preset", "ultrafast", "-q")
    assert r.returncode == 0 and count_frames(out) == 2 * count_frames(clip), r.stderr
