"""Deblur and enhance: tiling without seams, the pipelines end to end, degradations, training."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from helpers import count_frames, duration
from vidgen.io import probe
from vidgen.models.restoration import DeblurConfig, DeblurNet, EnhanceConfig, EnhanceNet
from vidgen.models.tiling import tiled
from vidgen.pipelines.restoration import windows
from vidgen.training.degrade import exposure_blur, h264_roundtrip, shake_kernel, sharpness


def randomized(net: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Give a network's zero-initialised output layers weights, so its output is not the identity."""
    g = torch.Generator().manual_seed(seed)
    for p in net.parameters():
        p.data.add_(torch.randn(p.shape, generator=g) * 0.02)
    return net.eval()


def test_tiles_blend_without_seams():
    net = randomized(EnhanceNet(EnhanceConfig(scale=2, width=8, blocks=2)))
    x = torch.rand(1, 9, 150, 230)
    with torch.no_grad():
        whole = net(x)
        parts = tiled(net, x, scale=2, tile=96, overlap=48)
    assert parts.shape == whole.shape == (1, 3, 300, 460)
    # 7 convs and a bicubic upscale reach 9 input px, less than overlap / 4: no output pixel that
    # lacks context gets any weight, so tiling changes nothing
    torch.testing.assert_close(parts, whole, rtol=0, atol=1e-5)


def test_deblur_net_pads_any_size_through_tiling():
    net = randomized(DeblurNet(DeblurConfig(width=8, enc_blocks=(1, 1), middle_blocks=1, dec_blocks=(1, 1))))
    x = torch.rand(1, 9, 90, 161)
    with torch.no_grad():
        y = tiled(net, x, scale=1, tile=1024, multiple=net.multiple)
    assert y.shape == (1, 3, 90, 161)


def test_unshuffled_enhance_net_starts_at_bicubic_and_pads_through_tiling():
    net = EnhanceNet(EnhanceConfig(scale=2, width=8, blocks=1, unshuffle=2)).eval()
    assert net.multiple == 2
    x = torch.rand(1, 9, 44, 60)
    with torch.no_grad():
        ref = torch.nn.functional.interpolate(x[:, 3:6], scale_factor=2, mode="bicubic", align_corners=False)
        torch.testing.assert_close(net(x), ref, rtol=0, atol=1e-5)  # zero-initialised tail: the plain upscale
        randomized(net)
        assert (net(x) - ref).abs().max() > 1e-3
        odd = tiled(net, x[..., :43, :59], scale=2, tile=1024, multiple=net.multiple)  # padded to 2, cropped back
    assert odd.shape == (1, 3, 86, 118)


def test_frame_restorer_channels_last_matches_the_plain_layout():
    from vidgen.pipelines.restoration import FrameRestorer

    net = randomized(EnhanceNet(EnhanceConfig(scale=2, width=8, blocks=2)))
    frame = np.random.default_rng(0).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    x = torch.from_numpy(np.concatenate([frame.astype(np.float32) / 255] * 3, 2).transpose(2, 0, 1).copy())
    with torch.no_grad():
        want = (net(x[None])[0].permute(1, 2, 0).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)
    got = FrameRestorer(net, 2, temporal=False)(frame, frame, frame)  # the net, now channels-last
    assert got.shape == (80, 112, 3)
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1


def test_restore_training_options_are_checked():
    import argparse

    from vidgen.errors import OptionError
    from vidgen.training.config import add_restore_arguments, restore_config_from_args

    p = argparse.ArgumentParser()
    add_restore_arguments(p, "enhance")
    cfg = restore_config_from_args(p.parse_args(["--max-side", "1280", "--width", "16", "--unshuffle", "2"]), "enhance")
    assert (cfg.max_side, cfg.width, cfg.unshuffle) == (1280, 16, 2)
    with pytest.raises(OptionError, match="--unshuffle must divide"):
        restore_config_from_args(p.parse_args(["--crop", "96", "--unshuffle", "32"]), "enhance")
    with pytest.raises(OptionError, match="--max-side"):
        restore_config_from_args(p.parse_args(["--max-side", "10"]), "enhance")


def test_windows_give_neighbours_and_repeat_at_the_ends():
    got = [(p, c, n) for p, c, n in windows(iter([0, 1, 2, 3]))]
    assert got == [(0, 0, 1), (0, 1, 2), (1, 2, 3), (2, 3, 3)]
    assert list(windows(iter([7]))) == [(7, 7, 7)]


def test_shake_kernel_and_exposure_blur():
    rng = np.random.default_rng(0)
    k = shake_kernel(rng, 15)
    assert k.shape == (15, 15) and abs(k.sum() - 1) < 1e-5 and (k > 0).sum() > 10
    ys, xs = np.mgrid[0:15, 0:15]
    assert abs((k * xs).sum() - 7) < 1.0 and abs((k * ys).sum() - 7) < 1.0  # centred: no shift
    sharp = [np.random.default_rng(i).random((64, 64, 3)).astype(np.float32) for i in range(3)]
    blurred = exposure_blur(np.random.default_rng(1), sharp)
    assert blurred.shape == (64, 64, 3)
    assert sharpness((blurred * 255).astype(np.uint8)) < sharpness((sharp[1] * 255).astype(np.uint8))


def test_h264_roundtrip_is_lossy_but_close():
    frames = (np.random.default_rng(0).random((4, 64, 96, 3)) * 255).astype(np.uint8)
    frames = np.stack([np.clip(f.astype(int) // 4 * 4, 0, 255).astype(np.uint8) for f in frames])
    out = h264_roundtrip(frames, crf=30)
    assert out.shape == frames.shape and not np.array_equal(out, frames)


@pytest.fixture
def tiny_weights(tmp_path):
    deblur = randomized(DeblurNet(DeblurConfig(width=8, enc_blocks=(1, 1), middle_blocks=1, dec_blocks=(1, 1))))
    enhance = randomized(EnhanceNet(EnhanceConfig(scale=2, width=8, blocks=1)))
    deblur.save_pretrained(tmp_path / "deblur.safetensors")
    enhance.save_pretrained(tmp_path / "enhance.safetensors")
    return tmp_path


def vidgen(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vidgen", *args], capture_output=True, text=True, timeout=600)


def test_deblur_cli_keeps_size_rate_audio(tmp_path, sample, tiny_weights):
    out = tmp_path / "d.mp4"
    r = vidgen("deblur", str(sample), "-o", str(out), "--weights", str(tiny_weights / "deblur.safetensors"), "--quiet")
    assert r.returncode == 0, r.stderr
    info = probe(out)
    assert (info.width, info.height, info.fps) == (320, 180, 25) and count_frames(out) == 50
    assert info.audio and abs(duration(out) - duration(sample)) < 0.05


def test_enhance_cli_scales(tmp_path, sample, tiny_weights):
    w = str(tiny_weights / "enhance.safetensors")
    for scale, size in ((2, (640, 360)), (4, (1280, 720)), (1, (320, 180))):
        out = tmp_path / f"e{scale}.mkv"
        r = vidgen("enhance", str(sample), "-o", str(out), "--scale", str(scale), "--weights", w, "--quiet",
                   "--codec", "ffv1")
        assert r.returncode == 0, r.stderr
        info = probe(out)
        assert (info.width, info.height) == size and count_frames(out) == 50


def test_enhance_classical_with_denoise(tmp_path, sample):
    out = tmp_path / "c.mp4"
    r = vidgen("enhance", str(sample), "-o", str(out), "--model", "classical", "--denoise", "1", "--quiet")
    assert r.returncode == 0, r.stderr
    assert (probe(out).width, probe(out).height) == (640, 360)


def test_enhance_with_a_real_esrgan_checkpoint(tmp_path, sample):
    from vidgen.models.esrgan import KNOWN_LAYOUTS

    layout = next(l for l in KNOWN_LAYOUTS if l.name == "realesr-animevideov3")
    torch.save({"params": randomized(layout.build()).state_dict()}, tmp_path / "anime.pth")
    clip = tmp_path / "short.mkv"
    subprocess.run([sys.executable, "-m", "vidgen", "interpolate", str(sample), "-o", str(clip), "--fps", "5",
                    "--codec", "ffv1", "--quiet"], check=True)  # 10 frames keep the test quick
    out = tmp_path / "x2.mp4"
    r = vidgen("enhance", str(clip), "-o", str(out), "--scale", "2", "--model", f"esrgan:{tmp_path / 'anime.pth'}",
               "--quiet")
    assert r.returncode == 0, r.stderr
    assert (probe(out).width, probe(out).height) == (640, 360)


@pytest.mark.parametrize("args,expect", [
    (["enhance", "--scale", "3"], "invalid choice"),
    (["enhance", "--denoise", "9"], "invalid choice"),
    (["enhance", "--model", "magic"], "unknown --model"),
    (["deblur", "--weights", "/nope.safetensors"], "no weights"),
    (["deblur", "--precision", "fp16", "--device", "cpu"], "needs a CUDA"),
])
def test_bad_restore_options_get_one_line(tmp_path, sample, args, expect):
    r = vidgen(args[0], str(sample), "-o", str(tmp_path / "o.mp4"), *args[1:])
    assert r.returncode != 0 and expect in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o.mp4").exists()


@pytest.mark.parametrize("task", ["deblur", "enhance"])
def test_restoration_training_runs_and_resumes(tmp_path, sample, task):
    from vidgen.training.config import RestoreTrainConfig
    from vidgen.training.restoration import train

    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(sample, data / "clip.mp4")

    def cfg(out):
        return RestoreTrainConfig(task=task, data=[str(data)], out=str(tmp_path / out), steps=4, batch_size=2, crop=64,
                                  eval_every=2, save_every=2, val_samples=2, workers=0, synthetic_ratio=0.5,
                                  gan_weight=0.01, gan_start=0.5, warmup=1, crfs=(26,))

    full = train(cfg("a"), progress=False)
    assert full.exists()
    train(cfg("b"), progress=False, stop_after=2)
    resumed = train(cfg("b"), resume=True, progress=False)
    cls = DeblurNet if task == "deblur" else EnhanceNet
    a, b = cls.from_pretrained(full).state_dict(), cls.from_pretrained(resumed).state_dict()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5)
