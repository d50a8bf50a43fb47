"""Video I/O: probing, streaming decode and atomic encode, with what must survive a round trip."""

from __future__ import annotations

import errno
import importlib
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from helpers import count_frames, duration, ffmpeg, make_video, psnr, read_rgb, stream_lines
from vidgen.errors import InputError, OutputError, VidgenError
from vidgen.io import EncodeSettings, VideoReader, VideoWriter, probe
from vidgen.io.probe import probe_soon


def copy_video(src: Path, dst: Path, **kw) -> Path:
    """Decode ``src`` and re-encode every frame unchanged (the identity pipeline)."""
    with VideoReader(src) as r, VideoWriter(dst, r.info.width, r.info.height, r.info.fps, source=r.info,
                                            deep=r.dtype == np.uint16, **kw) as w:
        for f in r:
            w.write(f)
    return dst


@pytest.mark.parametrize("rate", ["30000/1001", "24000/1001", "25", "60"])
def test_probe_reads_exact_rational_rates(tmp_path, rate):
    v = make_video(tmp_path / "v.mp4", rate=rate, seconds=0.5)
    info = probe(v)
    n, _, d = rate.partition("/")
    assert info.fps == Fraction(int(n), int(d or 1))
    assert (info.width, info.height) == (160, 90)
    assert not info.variable_frame_rate


def test_round_trip_keeps_count_rate_duration_audio(tmp_path, ntsc_video):
    out = copy_video(ntsc_video, tmp_path / "out.mp4")
    src, dst = probe(ntsc_video), probe(out)
    assert dst.fps == Fraction(30000, 1001)
    assert count_frames(out) == count_frames(ntsc_video) == 30
    assert abs(duration(out) - duration(ntsc_video)) < 1 / 29.97
    assert [s.codec for s in dst.audio] == ["aac"]
    assert src.audio[0].codec == "aac"
    # default encode: H.264, yuv420p
    assert dst.codec == "h264" and dst.pix_fmt == "yuv420p"


def test_round_trip_frames_match_original(tmp_path, sample):
    """Passing frames through unchanged gives back the same picture (colour and all)."""
    out = copy_video(sample, tmp_path / "same.mp4", settings=EncodeSettings(crf=10))
    a, b = read_rgb(sample), read_rgb(out)
    assert a.shape == b.shape
    assert psnr(a, b) > 38, "a re-encoded original must look like the original"
    # no colour shift: per-channel means agree to a fraction of a level
    assert np.abs(a.reshape(-1, 3).mean(0) - b.reshape(-1, 3).mean(0)).max() < 0.5


def test_colour_metadata_is_carried(tmp_path):
    src = make_video(tmp_path / "hd.mp4", size="320x180",
                     vcodec=("-c:v", "libx264", "-pix_fmt", "yuv420p"),
                     extra=("-vf", "setparams=colorspace=bt709:color_primaries=bt709:color_trc=bt709:range=pc"))
    info = probe(src)
    assert (info.color_space, info.color_primaries, info.color_trc, info.color_range) == ("bt709", "bt709", "bt709", "pc")
    out = probe(copy_video(src, tmp_path / "out.mkv"))
    assert (out.color_space, out.color_primaries, out.color_trc, out.color_range) == ("bt709", "bt709", "bt709", "pc")


def test_untagged_input_gets_the_matrix_players_assume(tmp_path):
    src = make_video(tmp_path / "sd.mp4", size="320x240")
    assert probe(src).color_space is None
    out = probe(copy_video(src, tmp_path / "out.mp4"))
    assert out.color_space == "smpte170m"


def test_ffv1_is_lossless_for_rgb(tmp_path):
    src = make_video(tmp_path / "rgb.mkv", vcodec=("-c:v", "ffv1", "-pix_fmt", "bgr0"))
    assert probe(src).pix_fmt == "bgr0"
    out = copy_video(src, tmp_path / "out.mkv", settings=EncodeSettings(codec="ffv1"))
    assert probe(out).pix_fmt == "bgr0"
    np.testing.assert_array_equal(read_rgb(out), read_rgb(src))


def test_ten_bit_input_is_read_deep_and_kept_by_ffv1(tmp_path):
    src = make_video(tmp_path / "10bit.mkv", vcodec=("-c:v", "ffv1", "-pix_fmt", "yuv420p10le"))
    info = probe(src)
    assert info.bit_depth == 10
    with VideoReader(src) as r:
        first = next(iter(r))
    assert first.dtype == np.uint16 and first.max() > 255
    out = copy_video(src, tmp_path / "out.mkv", settings=EncodeSettings(codec="ffv1"))
    assert probe(out).pix_fmt == "yuv420p10le"
    assert psnr(read_rgb(out), read_rgb(src)) > 40  # testsrc2 chroma edges are the worst case (see io/color.py)


def test_odd_size_is_kept_by_ffv1_and_padded_for_h264(tmp_path, caplog):
    src = make_video(tmp_path / "odd.mkv", size="320x180", vcodec=("-c:v", "ffv1", "-pix_fmt", "yuv444p"),
                     extra=("-vf", "format=rgb24,crop=161:91"))
    assert (probe(src).width, probe(src).height) == (161, 91)
    out = probe(copy_video(src, tmp_path / "odd_out.mkv", settings=EncodeSettings(codec="ffv1")))
    assert (out.width, out.height) == (161, 91)
    with caplog.at_level("WARNING", logger="vidgen"):
        h264 = probe(copy_video(src, tmp_path / "odd.mp4"))
    assert (h264.width, h264.height) == (162, 92)
    assert "padded" in caplog.text


def test_rotation_metadata_gives_upright_frames(tmp_path):
    base = make_video(tmp_path / "base.mp4", size="160x90")
    rotated = tmp_path / "rot.mp4"
    ffmpeg("-display_rotation", "90", "-i", str(base), "-c", "copy", str(rotated))
    info = probe(rotated)
    assert info.rotation == 90 and (info.width, info.height) == (90, 160)
    with VideoReader(rotated) as r:
        assert next(iter(r)).shape == (160, 90, 3)
    out = probe(copy_video(rotated, tmp_path / "out.mp4"))
    assert (out.width, out.height, out.rotation) == (90, 160, 0)


def test_variable_frame_rate_becomes_constant_with_same_duration(tmp_path):
    vfr = tmp_path / "vfr.mp4"
    # 1 s at 30 fps, then 3 s at 10 fps (mp4 keeps the average rate that tells it apart)
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x90:rate=30,trim=duration=2,"
           "setpts='if(lt(N,30),N/30,1+(N-30)/10)/TB'", "-fps_mode", "vfr", "-c:v", "libx264", str(vfr))
    info = probe(vfr)
    assert info.variable_frame_rate and info.fps == 30
    out = copy_video(vfr, tmp_path / "cfr.mkv", settings=EncodeSettings(codec="ffv1"))
    assert not probe(out).variable_frame_rate
    # The source shows 30 frames in 1 s, then 30 frames for 0.1 s each: 4.0 s in all.
    assert abs(duration(out) - 4.0) <= 1 / 30 + 1e-6
    assert count_frames(out) == 120  # each 10 fps frame is shown 3 times at 30 fps


def test_subtitles_are_copied_and_converted_for_mp4(tmp_path):
    srt = tmp_path / "s.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:00,800\nhello\n")
    base = make_video(tmp_path / "base.mp4", audio=True)
    mkv = tmp_path / "subs.mkv"
    ffmpeg("-i", str(base), "-i", str(srt), "-map", "0", "-map", "1", "-c", "copy", "-c:s", "srt", str(mkv))
    assert [s.codec for s in probe(mkv).subtitles] == ["subrip"]
    out = probe(copy_video(mkv, tmp_path / "out.mp4"))
    assert [s.codec for s in out.subtitles] == ["mov_text"]
    assert [s.codec for s in out.audio] == ["aac"]
    out_mkv = probe(copy_video(mkv, tmp_path / "out.mkv"))
    assert [s.codec for s in out_mkv.subtitles] == ["subrip"]


def test_pcm_audio_is_reencoded_only_where_the_container_needs_it(tmp_path, caplog):
    src = tmp_path / "pcm.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=1", "-f", "lavfi", "-i",
           "sine=duration=1", "-c:v", "libx264", "-c:a", "pcm_s16le", str(src))
    assert probe(copy_video(src, tmp_path / "o.mkv")).audio[0].codec == "pcm_s16le"
    with caplog.at_level("WARNING", logger="vidgen"):
        assert probe(copy_video(src, tmp_path / "o.mp4")).audio[0].codec == "aac"
    assert "re-encoded" in caplog.text


def test_image_sequence_in_and_out(tmp_path, sample):
    frames_dir = tmp_path / "frames"
    with VideoReader(sample) as r, VideoWriter(frames_dir, r.info.width, r.info.height, r.info.fps) as w:
        originals = []
        for i, f in enumerate(r):
            if i < 5:
                originals.append(f.copy())
                w.write(f)
    files = sorted(frames_dir.glob("*.png"))
    assert len(files) == 5
    info = probe(frames_dir, image_fps=Fraction(24000, 1001))
    assert info.is_image_sequence and info.fps == Fraction(24000, 1001) and info.frame_count == 5
    with VideoReader(frames_dir, image_fps=Fraction(24)) as r:
        back = list(r)
    for a, b in zip(originals, back):
        np.testing.assert_array_equal(a, b)  # PNG is lossless


def test_writer_error_leaves_nothing_under_the_output_name(tmp_path):
    out = tmp_path / "o.mp4"
    with pytest.raises(RuntimeError):
        with VideoWriter(out, 64, 48, Fraction(25)) as w:
            w.write(np.zeros((48, 64, 3), np.uint8))
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_writer_refuses_the_input_as_output(tmp_path, sample):
    info = probe(sample)
    with pytest.raises(OutputError, match="is the input"):
        VideoWriter(sample, info.width, info.height, info.fps, source=info)


def test_truncated_file_is_an_input_error(tmp_path):
    full = make_video(tmp_path / "full.mp4", seconds=2, extra=("-movflags", "+faststart"))
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(InputError, match="truncated"):
        with VideoReader(cut) as r:
            for _ in r:
                pass


def test_early_probe_gives_the_same_answer_and_the_same_errors(tmp_path):
    v = make_video(tmp_path / "v.mp4", rate="30000/1001", seconds=0.5)
    want = probe(v)
    probe_soon(v)
    assert probe(v) == want
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    probe_soon(bad)
    with pytest.raises(InputError, match="not a video"):
        probe(bad)
    probe_soon(v)
    v.write_bytes(bad.read_bytes())  # the file changed after the early probe: it is probed again
    with pytest.raises(InputError, match="not a video"):
        probe(v)
    probe_soon(tmp_path / "missing.mp4")  # nothing to start; probe() reports it as before
    with pytest.raises(InputError, match="does not exist"):
        probe(tmp_path / "missing.mp4")


def test_early_probe_that_could_not_start_ffmpeg_is_redone(tmp_path, monkeypatch):
    """CI once saw exec of ffmpeg fail with EFAULT in the early-probe thread; probe() then probes itself."""
    probe_mod = importlib.import_module("vidgen.io.probe")  # vidgen.io.probe the name is the function

    v = make_video(tmp_path / "v.mp4", seconds=0.5)
    want = probe(v)
    real = probe_mod._probe
    calls = []

    def flaky(path, image_fps):
        calls.append(path)
        if len(calls) == 1:
            raise OSError(errno.EFAULT, "Bad address")
        return real(path, image_fps)

    monkeypatch.setattr(probe_mod, "_probe", flaky)
    probe_soon(v)
    assert probe(v) == want and len(calls) == 2


def test_starting_ffmpeg_retries_a_transient_failure_and_names_a_lasting_one(monkeypatch):
    import subprocess

    import vidgen.io.ffmpeg as ff

    ff.ffmpeg_exe()  # found before Popen is patched: imageio-ffmpeg runs the binary to check it
    real = subprocess.Popen
    calls = []

    def flaky(cmd, **kw):
        calls.append(cmd)
        if len(calls) == 1:
            raise OSError(errno.EFAULT, "Bad address")
        return real(cmd, **kw)

    monkeypatch.setattr(ff.subprocess, "Popen", flaky)
    res = ff.run_ffmpeg(["-version"])
    assert res.returncode == 0 and len(calls) == 2

    def broken(cmd, **kw):
        calls.append(cmd)
        raise OSError(errno.EFAULT, "Bad address")

    monkeypatch.setattr(ff.subprocess, "Popen", broken)
    calls.clear()
    with pytest.raises(VidgenError, match="could not start .*Bad address"):
        ff.run_ffmpeg(["-version"])
    assert len(calls) == 3
    monkeypatch.setattr(ff.subprocess, "Popen", real)
    raw = ff.run_ffmpeg(["-v", "error", "-f", "lavfi", "-i", "color=c=red:s=16x16:d=0.04", "-frames:v", "1",
                         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], text=False).stdout  # stdout as bytes
    assert len(raw) == 16 * 16 * 3 and raw[0] > 240 and raw[1] < 16 and raw[2] < 16


def test_ffmpeg_binary_found_without_running_it_is_imageio_ffmpegs(monkeypatch):
    import imageio_ffmpeg

    import vidgen.io.ffmpeg as ff

    monkeypatch.delenv("IMAGEIO_FFMPEG_EXE", raising=False)
    assert ff._imageio_ffmpeg_binary() == imageio_ffmpeg.get_ffmpeg_exe()
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", "/somewhere/else/ffmpeg")
    assert ff._imageio_ffmpeg_binary() is None  # then imageio-ffmpeg decides


def test_stream_lines_helper_sees_streams(tmp_path, ntsc_video):
    assert "Audio: aac" in stream_lines(ntsc_video)
