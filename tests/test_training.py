"""Training the refiner: a step moves the loss, a resumed run continues the same curve, adapters
round-trip, data problems get clear errors, and fine-tuning on footage beats the base model on
held-out frames of that footage."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from vidgen.errors import InputError, WeightsError
from vidgen.models.refiner import FlowRefiner
from vidgen.models.adapters import apply_adapter
from vidgen.training.adapters import add_lora, save_adapter
from vidgen.training.config import TrainConfig
from vidgen.training.data import augment, synthetic_sample
from vidgen.training.interpolation import InterpolationSamples, train


def tiny(tmp_path, **kw) -> TrainConfig:
    base = dict(data=[], out=str(tmp_path / "run"), steps=4, batch_size=2, crop=64, eval_every=2, save_every=2,
                val_samples=4, workers=0, warmup=1, synthetic_ratio=1.0)
    base.update(kw)
    return TrainConfig(**base)


def test_synthetic_sample_is_deterministic_and_moves():
    a = synthetic_sample(np.random.default_rng(3), 96)
    b = synthetic_sample(np.random.default_rng(3), 96)
    for x, y in zip(a[:3], b[:3]):
        np.testing.assert_array_equal(x, y)
    f0, f1, gt, t = a
    assert 0.1 <= t <= 0.9 and f0.shape == (96, 96, 3)
    assert not np.array_equal(f0, f1) and not np.array_equal(f0, gt)


def test_time_reversal_keeps_truth_between():
    rng = np.random.default_rng(0)
    f0, f1, gt, t = synthetic_sample(rng, 96)
    for seed in range(8):
        a0, a1, agt, at = augment(np.random.default_rng(seed), f0, f1, gt, t, 96, scale_range=(1, 1))
        assert at in (pytest.approx(t), pytest.approx(1 - t))
        assert a0.dtype == np.float32 and a0.max() <= 1


def test_dataset_gives_refiner_inputs(tmp_path):
    ds = InterpolationSamples(None, tiny(tmp_path), length=3, seed=0, flow_scale=16.0)
    x, f0, f1, gt = ds[1]
    assert x.shape == (19, 64, 64) and f0.shape == gt.shape == (3, 64, 64)
    x2, *_ = ds[1]
    torch.testing.assert_close(x, x2, rtol=0, atol=1e-6)  # sample i is the same every time it is drawn


def test_training_steps_write_weights_log_and_checkpoints(tmp_path):
    path = train(tiny(tmp_path), progress=False)
    assert path.name == "interp_refiner.safetensors" and path.exists()
    net = FlowRefiner.from_pretrained(path)
    assert any(p.abs().sum() > 0 for n, p in net.named_parameters() if n.startswith("head"))  # heads moved off 0
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [2, 4]
    assert all("val_psnr" in r and "val_psnr_classical" in r for r in log)
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir()) == ["step_2", "step_4"]


def test_resume_continues_the_same_run(tmp_path):
    full = train(tiny(tmp_path, out=str(tmp_path / "a")), progress=False)
    train(tiny(tmp_path, out=str(tmp_path / "b")), progress=False, stop_after=2)
    assert not (tmp_path / "b" / "interp_refiner.safetensors").exists()
    resumed = train(tiny(tmp_path, out=str(tmp_path / "b")), resume=True, progress=False)
    a, b = FlowRefiner.from_pretrained(full).state_dict(), FlowRefiner.from_pretrained(resumed).state_dict()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-6)
    la = [json.loads(s)["loss"] for s in (tmp_path / "a" / "log.jsonl").read_text().splitlines()]
    lb = [json.loads(s)["loss"] for s in (tmp_path / "b" / "log.jsonl").read_text().splitlines()]
    assert la[-1] == pytest.approx(lb[-1], rel=1e-4)


@pytest.mark.parametrize("lora", [0, 4])
def test_adapter_round_trip(tmp_path, lora):
    torch.manual_seed(0)
    base = FlowRefiner()
    for p in base.parameters():
        p.data.normal_(0, 0.02)
    base_state = {k: v.clone() for k, v in base.state_dict().items()}
    tuned = FlowRefiner()
    tuned.load_state_dict(base_state)
    if lora:
        tuned = add_lora(tuned, lora)
    for n, p in tuned.named_parameters():
        if p.requires_grad:
            p.data.add_(torch.randn_like(p) * 0.01)
    x = torch.randn(1, 19, 32, 48)
    with torch.no_grad():
        want = tuned(x)
    save_adapter(tuned, tmp_path / "a.safetensors", base_state)
    fresh = FlowRefiner()
    fresh.load_state_dict(base_state)
    merged = apply_adapter(fresh, tmp_path / "a.safetensors")
    with torch.no_grad():
        got = merged(x)
    for w, g in zip(want, got):
        torch.testing.assert_close(w, g, rtol=1e-4, atol=1e-5)
    other = FlowRefiner()  # different base weights
    with pytest.raises(WeightsError, match="other base"):
        apply_adapter(other, tmp_path / "a.safetensors")


def test_empty_or_unreadable_data_is_a_clear_error(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no videos"):
        train(tiny(tmp_path, data=[str(empty)], synthetic_ratio=0.0), progress=False)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "x.mp4").write_text("not a video")
    with pytest.raises(InputError, match="cannot train on x.mp4"):
        train(tiny(tmp_path, data=[str(broken)], synthetic_ratio=0.0), progress=False)
    r = subprocess.run([sys.executable, "-m", "vidgen", "finetune", "interpolate", "--data", str(empty)],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "no videos" in r.stderr and "Traceback" not in r.stderr


def _pan_footage(folder, speed: int = 12, frames: int = 50):
    """'User footage': a fast horizontal camera pan over a picture (from the sample clip)."""
    from fractions import Fraction

    import cv2

    from helpers import SAMPLE
    from vidgen.io import EncodeSettings, VideoReader, VideoWriter

    with VideoReader(SAMPLE) as r:
        picture = next(iter(r))
    tex = cv2.resize(np.array(picture), (1600, 720), interpolation=cv2.INTER_CUBIC)
    folder.mkdir()
    path = folder / "pan.mkv"
    with VideoWriter(path, 320, 180, Fraction(25), settings=EncodeSettings(codec="ffv1")) as w:
        for k in range(frames):
            w.write(np.ascontiguousarray(tex[200:380, k * speed:k * speed + 320]))
    return path


def test_finetuned_adapter_beats_the_base_model_on_held_out_frames(tmp_path):
    """Measured when written: base 42.05 dB, adapter 42.34 dB on frames 45-50 (never trained on)."""
    from vidgen.interpolators.learned import LearnedInterpolator
    from vidgen.training.interpolation import heldout_psnr

    video = _pan_footage(tmp_path / "footage")
    out = tmp_path / "ft"
    r = subprocess.run([sys.executable, "-m", "vidgen", "finetune", "interpolate", "--data", str(tmp_path / "footage"),
                        "--out", str(out), "--steps", "150", "--batch-size", "4", "--crop", "128", "--lr", "1e-3",
                        "--max-span", "2", "--val-samples", "8", "--workers", "0", "--quiet"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    adapter = out / "adapter.safetensors"
    split = json.loads((out / "split.json").read_text())
    assert split["val"] == {"pan.mkv": [[45, 50]]}  # the last 10% is held out of training
    base = heldout_psnr(LearnedInterpolator.from_pretrained(), video, 45, 50)
    tuned = heldout_psnr(LearnedInterpolator.from_pretrained(adapter=adapter), video, 45, 50)
    assert tuned > base + 0.1, (base, tuned)
    # and the CLI interpolates with it
    o = tmp_path / "o.mp4"
    r = subprocess.run([sys.executable, "-m", "vidgen", "interpolate", str(video), "-o", str(o), "--model", "learned",
                        "--adapter", str(adapter), "--quiet"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert o.exists()
