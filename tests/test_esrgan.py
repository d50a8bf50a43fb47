"""Real-ESRGAN checkpoints: each known layout round-trips from a random checkpoint saved as upstream saves it."""

from __future__ import annotations

import pickle

import pytest
import torch

from vidgen.errors import WeightsError
from vidgen.models.esrgan import KNOWN_LAYOUTS, load_esrgan

# Parameter counts the field notes give for the released models.
EXPECTED_PARAMS = {"RealESRGAN_x4plus": 16.7e6, "realesr-general-x4v3": 1.21e6, "realesr-animevideov3": 0.62e6}


@pytest.mark.parametrize("layout", KNOWN_LAYOUTS, ids=lambda l: l.name)
def test_random_checkpoint_round_trips(tmp_path, layout):
    torch.manual_seed(0)
    net = layout.build()
    for p in net.parameters():
        p.data.normal_(0, 0.01)
    n = sum(p.numel() for p in net.parameters())
    if layout.name in EXPECTED_PARAMS:
        assert abs(n - EXPECTED_PARAMS[layout.name]) / EXPECTED_PARAMS[layout.name] < 0.02, n
    path = tmp_path / f"{layout.name}.pth"
    torch.save({"params_ema": net.state_dict(), "params": {k: v * 0 for k, v in net.state_dict().items()}}, path)
    loaded, found = load_esrgan(path)
    assert found == layout
    for k, v in net.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k]), k  # the EMA weights, not "params"
    x = torch.rand(1, 3, 16, 20)
    with torch.no_grad():
        y = loaded(x)
    assert y.shape == (1, 3, 16 * layout.scale, 20 * layout.scale)
    assert torch.equal(y, net.eval()(x))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_wrong_shapes_and_unsafe_pickles_are_refused(tmp_path):
    layout = KNOWN_LAYOUTS[3]
    state = layout.build().state_dict()
    state["body.2.weight"] = torch.zeros(64, 64, 5, 5)
    torch.save({"params": state}, tmp_path / "bad.pth")
    with pytest.raises(WeightsError, match="body.2.weight is"):
        load_esrgan(tmp_path / "bad.pth")

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with open(tmp_path / "evil.pth", "wb") as f:
        pickle.dump({"params": {"body.0.weight": Evil()}}, f)
    with pytest.raises(WeightsError, match="refused"):
        load_esrgan(tmp_path / "evil.pth")
