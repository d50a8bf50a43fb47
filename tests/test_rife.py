"""Practical-RIFE v4.x checkpoints: layouts, strict loading, safe unpickling, use in the pipeline."""

from __future__ import annotations

import pickle
import sys
import subprocess

import numpy as np
import pytest
import torch

from vidgen.errors import WeightsError
from vidgen.interpolators.rife import RIFEInterpolator
from vidgen.models.rife import IFNet, RIFEConfig, load_rife


def save_ddp_checkpoint(net: IFNet, path) -> dict:
    """Save like Practical-RIFE's training does: a DDP model's state dict, keys prefixed 'module.'."""
    state = {f"module.{k}": v.clone() for k, v in net.state_dict().items()}
    torch.save(state, path)
    return state


@pytest.mark.parametrize("make,blocks,head", [(RIFEConfig.v4_6, 4, False), (RIFEConfig.v4_25, 5, True)])
def test_random_checkpoint_round_trips_exactly(tmp_path, make, blocks, head):
    torch.manual_seed(0)
    net = IFNet(make())
    for p in net.parameters():  # not the init values, so a mix-up of tensors would show
        p.data.normal_(0, 0.05)
    path = tmp_path / "flownet.pkl"
    saved = save_ddp_checkpoint(net, path)
    assert "module.block0.conv0.0.0.weight" in saved and "module.block0.convblock.0.beta" in saved
    assert ("module.encode.cnn0.weight" in saved) == head
    loaded = load_rife(path)
    assert loaded.config == make() and len(loaded.blocks) == blocks
    ref = net.state_dict()
    got = loaded.state_dict()
    assert ref.keys() == got.keys()
    for k in ref:
        assert torch.equal(ref[k], got[k]), k
    x0, x1 = torch.rand(1, 3, 128, 128), torch.rand(1, 3, 128, 128)
    with torch.no_grad():
        assert torch.equal(net.eval()(x0, x1, 0.3), loaded(x0, x1, 0.3))


def test_parameter_counts_match_practical_rife():
    # Field notes: Practical-RIFE v4.x has about 5.3-5.7 M parameters.
    for make in (RIFEConfig.v4_6, RIFEConfig.v4_25):
        n = sum(p.numel() for p in IFNet(make()).parameters())
        assert 5.0e6 < n < 6.0e6, (make().name, n)


def test_mismatched_checkpoints_are_refused_with_the_keys(tmp_path):
    net = IFNet(RIFEConfig.v4_6())
    state = save_ddp_checkpoint(net, tmp_path / "ok.pkl")
    missing = dict(state)
    del missing["module.block3.lastconv.0.bias"]
    torch.save(missing, tmp_path / "missing.pkl")
    with pytest.raises(WeightsError, match="block3.lastconv.0.bias"):
        load_rife(tmp_path / "missing.pkl")
    wrong = dict(state)
    assert state["module.block1.conv0.0.0.weight"].shape == (64, 12, 3, 3)
    wrong["module.block1.conv0.0.0.weight"] = torch.zeros(64, 13, 3, 3)
    torch.save(wrong, tmp_path / "shape.pkl")
    with pytest.raises(WeightsError, match="block1.conv0.0.0.weight is"):
        load_rife(tmp_path / "shape.pkl")
    extra = dict(state)
    extra["module.block_tea.conv0.0.0.weight"] = torch.zeros(1)
    torch.save(extra, tmp_path / "extra.pkl")
    with pytest.raises(WeightsError, match="unexpected"):
        load_rife(tmp_path / "extra.pkl")


class Evil:
    def __reduce__(self):
        return (print, ("this would run code",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_unsafe_pickle_is_refused(tmp_path):
    path = tmp_path / "evil.pkl"
    with open(path, "wb") as f:
        pickle.dump({"module.block0.conv0.0.0.weight": Evil()}, f)
    with pytest.raises(WeightsError, match="refused"):
        load_rife(path)
    (tmp_path / "junk.pkl").write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError):
        load_rife(tmp_path / "junk.pkl")
    with pytest.raises(WeightsError, match="no checkpoint"):
        load_rife(tmp_path / "absent.pkl")


def test_interpolator_pads_and_crops_any_size():
    torch.manual_seed(0)
    interp = RIFEInterpolator(IFNet(RIFEConfig.v4_25()))
    a = np.random.default_rng(0).integers(0, 255, (90, 161, 3), dtype=np.uint8)
    out = interp.interpolate(interp.prepare(a, a), 0.5)
    assert out.shape == a.shape and out.dtype == np.uint8


def test_cli_uses_a_rife_checkpoint(tmp_path, sample):
    save_ddp_checkpoint(IFNet(RIFEConfig.v4_6()), tmp_path / "flownet.pkl")
    out = tmp_path / "o.mp4"
    r = subprocess.run([sys.executable, "-m", "vidgen", "interpolate", str(sample), "-o", str(out),
                        "--model", f"rife:{tmp_path / 'flownet.pkl'}", "--quiet"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert out.exists()
    bad = subprocess.run([sys.executable, "-m", "vidgen", "interpolate", str(sample), "-o", str(tmp_path / "x.mp4"),
                          "--model", "rife:/nonexistent/flownet.pkl"], capture_output=True, text=True)
    assert bad.returncode != 0 and "no checkpoint" in bad.stderr and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
