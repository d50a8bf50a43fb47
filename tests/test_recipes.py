"""The recipes in pipelines/ run on the sample clip."""

from __future__ import annotations

import importlib.util
import shutil

from helpers import ROOT, count_frames
from vidgen.io import probe


def load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "pipelines" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_to_60fps(tmp_path, sample):
    out = tmp_path / "o.mp4"
    load("to_60fps").main([str(sample), str(out), "--fps", "60"])
    assert probe(out).fps == 60 and count_frames(out) == 120 and probe(out).audio


def test_anime_smooth(tmp_path, sample):
    src = tmp_path / "in.mp4"
    shutil.copy(sample, src)
    res = load("anime_smooth").main([str(src)])
    assert res.path == tmp_path / "in_2x.mkv" and probe(res.path).codec == "ffv1"
