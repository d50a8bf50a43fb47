"""The ``vidgen`` command end to end: the sample clip, every kind of bad input, and Ctrl-C."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from helpers import count_frames, duration, ffmpeg, make_video
from vidgen.io import probe


def vidgen(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vidgen", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def clip(tmp_path, sample) -> Path:
    dst = tmp_path / "bunny.mp4"
    shutil.copy(sample, dst)
    return dst


def test_interpolate_sample_2x_keeps_audio_and_duration(clip):
    before = digest(clip)
    r = vidgen("interpolate", str(clip), "--quiet")
    assert r.returncode == 0, r.stderr
    out = clip.with_name("bunny_2x.mp4")
    info = probe(out)
    assert info.fps == 50 and count_frames(out) == 100
    assert abs(duration(out) - duration(clip)) < 1 / 50 + 0.03  # audio may end a few ms later
    assert [s.codec for s in info.audio] == ["aac"]
    assert digest(clip) == before  # input untouched
    assert not [p for p in clip.parent.iterdir() if ".partial-" in p.name]


def test_interpolate_to_a_target_rate_and_lossless(clip, tmp_path):
    out = tmp_path / "o.mkv"
    r = vidgen("interpolate", str(clip), "-o", str(out), "--fps", "60000/1001", "--codec", "ffv1", "--quiet")
    assert r.returncode == 0, r.stderr
    info = probe(out)
    assert info.fps == Fraction(60000, 1001) and info.codec == "ffv1" and info.pix_fmt == "yuv420p"
    # 50 frames at 25 fps -> ceil(50 * (60000/1001) / 25) frames
    assert count_frames(out) == 120


def test_slowmo_keeps_rate_and_drops_audio_with_a_notice(clip, tmp_path):
    out = tmp_path / "slow.mp4"
    r = vidgen("interpolate", str(clip), "-o", str(out), "--factor", "4", "--slowmo", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "audio" in r.stderr and "dropped" in r.stderr
    info = probe(out)
    assert info.fps == 25 and count_frames(out) == 200 and info.audio == []


def run_in_terminal(*args: str) -> tuple[int, str]:
    """Run vidgen with stderr on a pseudo-terminal, as a user at a shell sees it."""
    import fcntl
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    p = subprocess.Popen([sys.executable, "-m", "vidgen", *args], stdout=subprocess.DEVNULL, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    return p.wait(), b"".join(chunks).decode("utf-8", "replace")


def test_progress_bar_and_summary_unless_quiet(clip, tmp_path):
    code, err = run_in_terminal("interpolate", str(clip), "-o", str(tmp_path / "p.mp4"))
    assert code == 0
    assert "frame/s" in err and "100/100" in err and "wrote" in err
    code, err = run_in_terminal("interpolate", str(clip), "-o", str(tmp_path / "q.mp4"), "--quiet")
    assert code == 0 and err == ""
    # without a terminal (a log, CI) no bar, only the summary
    r = vidgen("interpolate", str(clip), "-o", str(tmp_path / "r.mp4"))
    assert "frame/s" not in r.stderr and "wrote" in r.stderr


def test_png_frames_out_and_back_in(clip, tmp_path):
    frames = tmp_path / "frames"
    r = vidgen("interpolate", str(clip), "-o", str(frames), "--quiet")
    assert r.returncode == 0, r.stderr
    assert len(list(frames.glob("*.png"))) == 100
    back = tmp_path / "back.mp4"
    r = vidgen("interpolate", str(frames), "-o", str(back), "--input-fps", "50", "--quiet")
    assert r.returncode == 0, r.stderr
    assert probe(back).fps == 100 and count_frames(back) == 200


def test_help_explains_the_options():
    r = vidgen("interpolate", "--help")
    assert r.returncode == 0
    for word in ("--factor", "--fps", "--slowmo", "--codec", "--crf", "ffv1", "--no-dedup", "--quiet", "scene"):
        assert word in r.stdout


def test_generate_help_offers_no_input_options():
    r = vidgen("generate", "--help")
    assert r.returncode == 0 and "--codec" in r.stdout
    assert "--no-audio" not in r.stdout and "input" not in r.stdout.split("output encoding")[1]


def test_target_rate_equal_to_the_input_keeps_every_real_frame(tmp_path):
    from helpers import read_rgb

    # every frame shown twice (10 fps content at 20 fps): a 2x would re-time around the repeats
    src = make_video(tmp_path / "rep.mkv", rate="10", seconds=1, vcodec=("-c:v", "ffv1", "-pix_fmt", "bgr0"),
                     extra=("-vf", "fps=20"))
    out = tmp_path / "same.mkv"
    r = vidgen("interpolate", str(src), "-o", str(out), "--fps", "20", "--codec", "ffv1", "--quiet")
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(read_rgb(out), read_rgb(src))


@pytest.mark.parametrize("kind", ["gif", "png"])
def test_rgb_and_palette_inputs_come_out_limited_range_yuv420p(tmp_path, kind):
    if kind == "gif":
        src = tmp_path / "a.gif"
        ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x90:rate=10:duration=1", str(src))
    else:
        src = tmp_path / "frames"
        src.mkdir()
        ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x90:rate=10:duration=1", str(src / "f%03d.png"))
    out = tmp_path / "o.mp4"
    r = vidgen("interpolate", str(src), "-o", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    info = probe(out)
    assert info.pix_fmt == "yuv420p" and info.color_range != "pc"


def screen_lines(text: str) -> list[str]:
    """The non-blank lines a terminal shows for ``text``: a carriage return rewrites its line."""
    return [ln.split("\r")[-1] for ln in text.split("\n") if ln.split("\r")[-1].strip()]


def _assert_clean_failure(r: subprocess.CompletedProcess, out_dir: Path, expect: str):
    assert r.returncode != 0
    lines = screen_lines(r.stderr)
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert expect.lower() in lines[0].lower(), lines[0]
    leftovers = [p.name for p in out_dir.iterdir() if ".partial-" in p.name or p.name.startswith("out")]
    assert leftovers == [], leftovers


def _bad_inputs(tmp: Path) -> dict[str, tuple[Path, str]]:
    text = tmp / "notes.mp4"
    text.write_text("this is not a video\n")
    empty = tmp / "empty.mp4"
    empty.touch()
    audio = tmp / "audio.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", str(audio))
    full = make_video(tmp / "full.mp4", seconds=2, extra=("-movflags", "+faststart"))
    truncated = tmp / "truncated.mp4"
    truncated.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    no_frames = tmp / "noframes.mp4"
    data = full.read_bytes()
    no_frames.write_bytes(data[: data.index(b"mdat") + 4])  # the index says 2 s; no frame data follows
    no_images = tmp / "emptydir"
    no_images.mkdir()
    return {
        "missing": (tmp / "nope.mp4", "does not exist"),
        "folder-without-images": (no_images, "no images"),
        "device": (Path("/dev/null"), "not a regular file"),
        "text": (text, "not a video"),
        "empty": (empty, "empty"),
        "audio-only": (audio, "no video stream"),
        "truncated": (truncated, "truncated"),
        "zero-frames": (no_frames, "no frame"),
    }


@pytest.mark.parametrize("case", ["missing", "folder-without-images", "device", "text", "empty", "audio-only",
                                  "truncated", "zero-frames"])
def test_bad_input_gets_one_clear_line(tmp_path, case):
    src_dir, out_dir = tmp_path / "in", tmp_path / "out"
    src_dir.mkdir()
    out_dir.mkdir()
    path, expect = _bad_inputs(src_dir)[case]
    before = digest(path) if path.is_file() and path.parent == src_dir else None
    r = vidgen("interpolate", str(path), "-o", str(out_dir / "out.mp4"))
    _assert_clean_failure(r, out_dir, expect)
    if before is not None:
        assert digest(path) == before


@pytest.mark.parametrize("args,expect", [
    (["--factor", "0"], "from 2 to 64"),
    (["--factor", "1"], "from 2 to 64"),
    (["--factor", "65"], "from 2 to 64"),
    (["--factor", "64"], "at most 1000 fps"),
    (["--fps", "1001"], "(0, 1000]"),
    (["--factor", "abc"], "not a whole number"),
    (["--fps", "-5"], "out of range"),
    (["--fps", "fast"], "not a frame rate"),
    (["--fps", "0"], "out of range"),
    (["--factor", "2", "--fps", "60"], "either --factor or --fps"),
    (["--crf", "99"], "between 0 and 51"),
    (["--codec", "ffv1", "--crf", "10"], "lossless"),
    (["--codec", "xvid"], "invalid choice"),
    (["--bogus"], "unrecognized"),
])
def test_invalid_options_get_one_clear_line(clip, tmp_path, args, expect):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    r = vidgen("interpolate", str(clip), "-o", str(out_dir / "out.mp4"), *args)
    _assert_clean_failure(r, out_dir, expect)


@pytest.mark.parametrize("args,expect", [
    (["--candidates", "0"], "between 1 and 64"),
    (["--select-timestep", "1000"], "0 to 999"),
    (["--default-scale", "-1"], "0 or more"),
    (["--guided", "size"], "invalid choice"),
])
def test_guide_training_options_get_one_clear_line(tmp_path, args, expect):
    r = vidgen("train", "t2v-guide", "--out", str(tmp_path / "out"), *args)
    _assert_clean_failure(r, tmp_path, expect)


@pytest.mark.parametrize("target,expect", [
    ("missing_dir/out.mp4", "does not exist"),
    ("afile/out.mp4", "not a folder"),
    ("out.xyz", "cannot write '.xyz'"),
    ("out.webm", "h264 cannot go into .webm"),
])
def test_unwritable_outputs_get_one_clear_line(clip, tmp_path, target, expect):
    out_dir = tmp_path / "o"
    out_dir.mkdir()
    (out_dir / "afile").write_text("x")
    r = vidgen("interpolate", str(clip), "-o", str(out_dir / target))
    _assert_clean_failure(r, out_dir, expect)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into a read-only folder")
def test_read_only_folder(clip, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        r = vidgen("interpolate", str(clip), "-o", str(ro / "out.mp4"))
        _assert_clean_failure(r, ro, "not writable")
    finally:
        ro.chmod(0o755)


def test_an_ffmpeg_that_cannot_start_is_one_line(clip, tmp_path):
    env = {**os.environ, "VIDGEN_FFMPEG": str(tmp_path / "no-such-ffmpeg")}
    r = subprocess.run([sys.executable, "-m", "vidgen", "interpolate", str(clip), "-o", str(tmp_path / "o.mp4")],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "could not start" in r.stderr and "VIDGEN_FFMPEG" in r.stderr
    assert not (tmp_path / "o.mp4").exists()


def test_output_equal_to_input_is_refused(clip):
    before = digest(clip)
    r = vidgen("interpolate", str(clip), "-o", str(clip))
    assert r.returncode != 0 and "is the input" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert digest(clip) == before
    # the same file under another spelling of its path
    (clip.parent / "sub").mkdir()
    r = vidgen("interpolate", "bunny.mp4", "-o", "./sub/../bunny.mp4", cwd=clip.parent)
    assert r.returncode != 0 and "is the input" in r.stderr
    assert digest(clip) == before


def test_ctrl_c_leaves_no_output(tmp_path):
    src = make_video(tmp_path / "long.mp4", size="640x360", seconds=20)
    out = tmp_path / "out.mp4"
    # a job started in the background by a non-interactive shell inherits SIGINT ignored, and so would
    # this child: give it the default disposition, as a terminal's Ctrl-C finds it
    p = subprocess.Popen([sys.executable, "-m", "vidgen", "interpolate", str(src), "-o", str(out)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 60
    while time.time() < deadline and not list(tmp_path.glob(".out.mp4.partial-*")):
        time.sleep(0.05)
    assert list(tmp_path.glob(".out.mp4.partial-*")), "the run should have started writing"
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert not out.exists()
    assert not list(tmp_path.glob(".out.mp4.partial-*"))


def _start_writing(tmp_path, src, out):
    p = subprocess.Popen([sys.executable, "-m", "vidgen", "interpolate", str(src), "-o", str(out)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not list(tmp_path.glob(f".{out.name}.partial-*")):
        time.sleep(0.05)
    assert list(tmp_path.glob(f".{out.name}.partial-*")), "the run should have started writing"
    time.sleep(0.3)
    return p


def test_sigterm_exits_143_and_leaves_no_output(tmp_path):
    src = make_video(tmp_path / "long.mp4", size="640x360", seconds=20)
    out = tmp_path / "out.mp4"
    p = _start_writing(tmp_path, src, out)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 143, err
    assert "terminated" in err and "Traceback" not in err
    assert not out.exists() and not list(tmp_path.glob(".out.mp4.partial-*"))


def test_partial_output_of_a_killed_run_is_removed_by_the_next_run(tmp_path):
    src = make_video(tmp_path / "long.mp4", size="640x360", seconds=20)
    out = tmp_path / "out.mp4"
    p = _start_writing(tmp_path, src, out)
    p.kill()  # SIGKILL: no chance to clean up
    p.communicate(timeout=60)
    left = list(tmp_path.glob(".out.mp4.partial-*"))
    assert left, "a SIGKILLed run leaves its partial file"
    other = tmp_path / ".other.mp4.partial-1-abcdef.mp4"  # another output's partial is not ours to touch
    other.write_bytes(b"x")
    small = make_video(tmp_path / "small.mp4", seconds=0.4)
    r = vidgen("interpolate", str(small), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert out.exists() and not any(p.exists() for p in left) and other.exists()


@pytest.mark.parametrize("tile", ["1", "32", "100"])
def test_too_small_tile_is_refused_in_one_line(tmp_path, sample, tile):
    r = vidgen("enhance", str(sample), "-o", str(tmp_path / "o.mp4"), "--tile", tile)
    assert r.returncode == 2 and "--tile" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_parser_of_one_command_parses_as_the_whole_one():
    from vidgen.cli import COMMANDS, build_parser

    cases = [["interpolate", "in.mp4", "--factor", "3", "-o", "o.mkv"], ["deblur", "in.mp4", "--quiet"],
             ["enhance", "in.mp4", "--scale", "4", "--denoise", "2"], ["generate", "a red circle moving left"],
             ["animate", "first.png", "the boat sails", "--model", "m", "--frames", "9"],
             ["train", "lora", "--data", "d", "--caption", "a purple circle"], ["train", "t2v", "--context-frames", "0.5"],
             ["finetune", "deblur", "--data", "d"], ["compare", "a.mp4", "b.mp4", "--mode", "wipe"]]
    assert {c[0] for c in cases} == set(COMMANDS)
    for argv in cases:
        assert vars(build_parser(argv[0]).parse_args(argv)) == vars(build_parser().parse_args(argv))


@pytest.mark.parametrize("job", [["interpolate"], ["enhance", "--scale", "2"], ["deblur"]])
def test_pixel_aspect_ratio_is_kept(tmp_path, job):
    src = make_video(tmp_path / "sar.mp4", size="96x54", seconds=0.4, extra=("-vf", "setsar=4/3"))
    assert probe(src).sar == Fraction(4, 3)
    out = tmp_path / "o.mkv"
    r = vidgen(job[0], str(src), "-o", str(out), "--codec", "ffv1", "--quiet", *job[1:])
    assert r.returncode == 0, r.stderr
    assert probe(out).sar == Fraction(4, 3)  # DAR 64:27 at either size, as the input displays


@pytest.mark.parametrize("args,expect", [
    (["interpolate", "--device", "cuda"], "runs on the CPU"),
    (["interpolate", "--model", "rife:x.pkl", "--flow-max-side", "256"], "RIFE estimates its own flow"),
    (["interpolate", "--model", "learned", "--precision", "fp16", "--device", "cpu"], "needs a CUDA device"),
    (["deblur", "--precision", "bf16", "--device", "cpu"], "needs a CUDA device"),
    (["deblur", "--device", "tpu9"], "unknown device"),
])
def test_device_and_precision_follow_one_rule(tmp_path, sample, args, expect):
    r = vidgen(args[0], str(sample), "-o", str(tmp_path / "o.mp4"), *args[1:])
    assert r.returncode == 2 and expect in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_generate_refuses_half_precision_on_the_cpu(tmp_path):
    r = vidgen("generate", "a red circle moving left", "-o", str(tmp_path / "g.mp4"), "--device", "cpu",
               "--precision", "fp16")
    assert r.returncode == 2 and "needs a CUDA device" in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_compare_side_by_side_with_per_frame_psnr_and_a_plot(tmp_path):
    from helpers import read_rgb

    rgb = ("-c:v", "ffv1", "-pix_fmt", "bgr0")
    a = make_video(tmp_path / "a.mkv", size="96x54", seconds=0.4, vcodec=rgb)
    b = make_video(tmp_path / "b.mkv", size="96x54", seconds=0.4, vcodec=rgb, extra=("-vf", "noise=alls=20:allf=t"))
    out, png = tmp_path / "ab.mkv", tmp_path / "q.png"
    r = vidgen("compare", str(a), str(b), "-o", str(out), "--codec", "ffv1", "--plot", str(png))
    assert r.returncode == 0, r.stderr
    fa, fb = read_rgb(a).astype(float), read_rgb(b).astype(float)
    want = [10 * np.log10(255 ** 2 / np.mean((x - y) ** 2)) for x, y in zip(fa, fb)]
    got = [float(line.split("\t")[1]) for line in r.stdout.strip().splitlines()]
    assert np.allclose(got, want, atol=1e-3) and len(got) == len(fa)
    side = read_rgb(out)
    np.testing.assert_array_equal(side[:, :, :96], read_rgb(a))
    np.testing.assert_array_equal(side[:, :, 96:], read_rgb(b))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_compare_diff_of_a_video_with_itself_is_black_and_lengths_must_match(tmp_path):
    from helpers import read_rgb

    a = make_video(tmp_path / "a.mkv", size="96x54", seconds=0.4, vcodec=("-c:v", "ffv1", "-pix_fmt", "bgr0"))
    r = vidgen("compare", str(a), str(a), "-o", str(tmp_path / "d.mkv"), "--mode", "diff", "--codec", "ffv1")
    assert r.returncode == 0, r.stderr
    assert read_rgb(tmp_path / "d.mkv").max() == 0
    short = make_video(tmp_path / "s.mkv", size="96x54", seconds=0.2)
    r = vidgen("compare", str(a), str(short), "-o", str(tmp_path / "x.mp4"))
    assert r.returncode == 1 and "same length" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.mp4").exists() and not list(tmp_path.glob(".x.mp4*"))
