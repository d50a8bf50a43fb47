"""The frame-level API: the same frames as the file CLI, the same kind out as in, clear errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

import vidgen
from helpers import make_video, read_rgb

RGB = ("-c:v", "ffv1", "-pix_fmt", "bgr0")  # lossless RGB: the CLI's output decodes to exactly its frames


@pytest.fixture(scope="module")
def rgb_clip(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("f") / "in.mkv", size="96x54", seconds=0.4, vcodec=RGB)


@pytest.mark.parametrize("job,args,call", [
    ("interpolate", ["--factor", "3"], lambda f: vidgen.interpolate(f, factor=3)),
    ("deblur", [], lambda f: vidgen.deblur(f)),
    ("enhance", ["--scale", "2"], lambda f: vidgen.enhance(f, scale=2)),
])
def test_frames_equal_the_file_commands(rgb_clip, tmp_path, job, args, call):
    out = tmp_path / "o.mkv"
    r = subprocess.run([sys.executable, "-m", "vidgen", job, str(rgb_clip), "-o", str(out), "--codec", "ffv1",
                        "--quiet", *args], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(call(read_rgb(rgb_clip)), read_rgb(out))


def test_the_kind_that_goes_in_comes_out(rgb_clip):
    frames = read_rgb(rgb_clip)  # (T, H, W, 3) uint8
    as_list = vidgen.interpolate(list(frames))
    as_gen = vidgen.interpolate(iter(frames))
    as_arr = vidgen.interpolate(frames)
    assert isinstance(as_list, list) and not isinstance(as_gen, (list, np.ndarray)) and isinstance(as_arr, np.ndarray)
    gen = list(as_gen)
    assert len(as_list) == len(gen) == len(as_arr) == 2 * len(frames)
    assert all(np.array_equal(a, b) for a, b in zip(as_list, as_arr))
    assert all(np.array_equal(a, b) for a, b in zip(gen, as_arr))
    np.testing.assert_array_equal(as_arr[::2], frames)  # real frames pass through untouched
    video = torch.from_numpy(frames.copy()).float().div(255).permute(3, 0, 1, 2)[None]  # (1, 3, T, H, W)
    out = vidgen.interpolate(video)
    assert out.shape == (1, 3, 2 * len(frames), 54, 96) and out.dtype == torch.float32
    assert torch.allclose(out[:, :, ::2], video, atol=1e-4)


def test_target_rate_needs_the_frames_rate(rgb_clip):
    frames = read_rgb(rgb_clip)
    assert len(vidgen.interpolate(frames, fps="50", in_fps="25")) == 2 * len(frames)
    with pytest.raises(vidgen.OptionError, match="in_fps"):
        vidgen.interpolate(frames, fps=50)
    with pytest.raises(vidgen.OptionError, match="from 2 to 64"):
        vidgen.interpolate(frames, factor=1)


@pytest.mark.parametrize("bad,expect", [
    (np.zeros((3, 4, 4), np.uint8), "(T, H, W, 3)"),
    ([np.zeros((4, 4, 3), np.float32)], "uint8 or uint16"),
    ([np.zeros((4, 4), np.uint8)], "uint8 or uint16"),
    ([], "no frames"),
    (5, "not frames"),
    (torch.zeros(3, 4, 4, 3), "(B, 3, T, H, W)"),
])
def test_bad_frames_are_clear_errors(bad, expect):
    with pytest.raises(vidgen.InputError, match=expect.replace("(", r"\(").replace(")", r"\)")):
        vidgen.deblur(bad)


def test_public_api_names():
    for name in ("InterpolationPipeline", "DeblurPipeline", "EnhancePipeline", "TextToVideoPipeline",
                 "interpolate", "deblur", "enhance"):
        obj = getattr(vidgen, name)
        assert obj.__doc__ and len(obj.__doc__) > 80, name


def test_metrics():
    from vidgen.metrics import psnr, psnr_batch, ssim

    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-8, 9, a.shape), 0, 255).astype(np.uint8)
    mse = np.mean((a.astype(float) - b) ** 2)
    assert abs(psnr(a, b) - 10 * np.log10(255 ** 2 / mse)) < 1e-9
    ta, tb = (torch.from_numpy(x).permute(2, 0, 1)[None].float() / 255 for x in (a, b))
    assert abs(float(psnr_batch(ta, tb)[0]) - psnr(a, b)) < 1e-3
    assert ssim(a, a) == pytest.approx(1.0)
    noisy = np.clip(a.astype(int) + rng.integers(-60, 61, a.shape), 0, 255).astype(np.uint8)
    assert 0 < ssim(a, noisy) < ssim(a, b) < 1
    skm = pytest.importorskip("skimage.metrics")  # an independent implementation, where installed
    import cv2

    ya, yn = (cv2.cvtColor(x, cv2.COLOR_RGB2GRAY) for x in (a, noisy))
    ref = skm.structural_similarity(ya, yn, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                    data_range=255)
    assert ssim(a, noisy) == pytest.approx(ref, abs=0.01)
