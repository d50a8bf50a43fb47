"""The diffusers video families (Wan, LTX-Video, CogVideoX, AnimateDiff) on tiny random components
built from their configs offline: generate and animate end to end through the CLI and the Python API,
one-line errors, attention choices."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import tiny_video_models as tiny
from helpers import count_frames, read_rgb, stream_lines
from vidgen.errors import OptionError, WeightsError
from vidgen.pipelines.video_models import FAMILIES, VideoModel

SMALL = {"wan": ("9", "32x32"), "ltx": ("9", "32x32"), "cogvideox": ("9", "32x32"), "animatediff": ("8", "32x32")}


def vidgen(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vidgen", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("families")
    return {name: build(root) for name, build in tiny.BUILDERS.items()}


@pytest.fixture(scope="module")
def i2v_models(tmp_path_factory):
    root = tmp_path_factory.mktemp("families_i2v")
    return {"wan": tiny.wan(root, i2v=True), "cogvideox": tiny.cogvideox(root, i2v=True)}


@pytest.fixture
def image(tmp_path):
    from PIL import Image

    path = tmp_path / "still.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (16, 16, 3), np.uint8)).save(path)
    return path


def api_frames(folder, task="t2v", prompt="a red circle moving left", **kw) -> np.ndarray:
    model = VideoModel.from_pretrained(folder, task=task)
    video = model.generate(prompt, steps=2, seed=1, progress=False, **kw)
    frames = np.stack(list(video.frames))
    assert frames.shape[0] == video.count and frames.shape[1:] == (video.height, video.width, 3)
    return frames


@pytest.mark.parametrize("family", list(SMALL))
def test_generate_runs_each_family_through_the_cli_as_the_api_does(models, family, tmp_path):
    frames, size = SMALL[family]
    out = tmp_path / "g.mkv"
    r = vidgen("generate", "a red circle moving left", "--model", str(models[family]), "--frames", frames, "--size",
               size, "--steps", "2", "--seed", "1", "--codec", "ffv1", "-o", str(out), "-q")
    assert r.returncode == 0, r.stderr
    w, h = (int(v) for v in size.split("x"))
    api = api_frames(models[family], num_frames=int(frames), width=w, height=h)
    got = read_rgb(out)
    assert got.shape == api.shape and count_frames(out) == len(api)
    assert np.array_equal(got, api)  # ffv1 keeps the frames exactly: the CLI runs the API's generation
    assert f"{FAMILIES[family].fps} fps" in stream_lines(out)
    assert got.std() > 1  # random weights still make a picture that varies, not a blank


def test_same_seed_same_video_other_seed_other_video(models):
    a = api_frames(models["wan"], num_frames=5, width=32, height=32)
    b = api_frames(models["wan"], num_frames=5, width=32, height=32)
    assert np.array_equal(a, b)
    other = VideoModel.from_pretrained(models["wan"]).generate("a red circle moving left", num_frames=5, width=32,
                                                               height=32, steps=2, seed=2, progress=False)
    assert not np.array_equal(a, np.stack(list(other.frames)))


def test_animate_ltx_from_its_text_to_video_folder(models, image, tmp_path):
    out = tmp_path / "a.mkv"
    r = vidgen("animate", str(image), "the circle moves", "--model", str(models["ltx"]), "--frames", "9", "--size",
               "32x32", "--steps", "2", "--seed", "1", "--codec", "ffv1", "-o", str(out), "-q")
    assert r.returncode == 0, r.stderr
    api = api_frames(models["ltx"], task="i2v", prompt="the circle moves", image=image, num_frames=9, width=32,
                     height=32)
    assert np.array_equal(read_rgb(out), api)


def test_the_image_conditions_the_video(i2v_models, image, tmp_path):
    from PIL import Image

    other = tmp_path / "other.png"
    Image.new("RGB", (16, 16), (250, 250, 250)).save(other)
    a, b = (api_frames(i2v_models["cogvideox"], task="i2v", image=im, num_frames=9, width=16, height=16)
            for im in (image, other))
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("family,frames,size", [("wan", "9", "32x32"), ("cogvideox", "9", "16x16")])
def test_animate_with_i2v_folders(i2v_models, family, frames, size, image, tmp_path):
    out = tmp_path / "a.mp4"
    r = vidgen("animate", str(image), "the circle moves", "--model", str(i2v_models[family]), "--frames", frames,
               "--size", size, "--steps", "2", "-o", str(out), "-q")
    assert r.returncode == 0, r.stderr
    assert count_frames(out) == int(frames)


def test_one_line_errors(models, i2v_models, image, tmp_path):
    cases = [
        ("animate", str(image), "go", "--model", str(models["wan"])),  # a Wan t2v folder cannot animate
        ("animate", str(image), "go", "--model", str(models["animatediff"])),  # no i2v in the family
        ("generate", "go", "--model", str(i2v_models["wan"])),  # an i2v folder needs an image
        ("generate", "go", "--model", str(models["wan"]), "--frames", "10"),  # Wan makes 4k+1 frames
        ("generate", "go", "--model", str(models["wan"]), "--scheduler", "dpm"),
        ("generate", "go", "--model", str(models["wan"]), "--attention", "chunked"),
        ("animate", str(tmp_path / "missing.png"), "go", "--model", str(models["ltx"])),
        ("animate", str(models["ltx"] / "model_index.json"), "go", "--model", str(models["ltx"])),  # not an image
        ("generate", "go", "--model", str(models["wan"]), "--lora", str(tmp_path / "none.safetensors")),
    ]
    for args in cases:
        r = vidgen(*args, "-o", str(tmp_path / "x.mp4"), "-q")
        assert r.returncode != 0, args
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in r.stderr, (args, r.stderr)
        assert not (tmp_path / "x.mp4").exists()


def test_unknown_pipeline_class_is_one_error(models, tmp_path):
    import json
    import shutil

    folder = tmp_path / "odd"
    shutil.copytree(models["wan"], folder)
    index = json.loads((folder / "model_index.json").read_text())
    index["_class_name"] = "FluxPipeline"
    (folder / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(WeightsError, match="not one vidgen runs"):
        VideoModel.from_pretrained(folder)


def test_attention_choice_reaches_each_kind_of_denoiser(models):
    """U-Net families take vidgen's processors (chunked included); transformer families take diffusers'
    dispatch backends. Every kernel gives the same video; unsupported ones are refused."""
    ref = api_frames(models["animatediff"], num_frames=8, width=32, height=32)
    model = VideoModel.from_pretrained(models["animatediff"])
    model.set_attention("chunked")
    from vidgen.attention import VidgenAttnProcessor

    assert any(isinstance(p, VidgenAttnProcessor) for p in model.denoiser.attn_processors.values())
    video = np.stack(list(model.generate("a red circle moving left", num_frames=8, width=32, height=32, steps=2,
                                         seed=1, progress=False).frames))
    assert np.abs(video.astype(int) - ref).max() <= 1

    ref = api_frames(models["wan"], num_frames=5, width=32, height=32)
    model = VideoModel.from_pretrained(models["wan"])
    model.set_attention("naive")
    video = np.stack(list(model.generate("a red circle moving left", num_frames=5, width=32, height=32, steps=2,
                                         seed=1, progress=False).frames))
    assert np.abs(video.astype(int) - ref).max() <= 1
    with pytest.raises(OptionError, match="chunked"):
        model.set_attention("chunked")


def test_vae_slicing_and_tiling_switch_on(models):
    for family in ("wan", "ltx", "cogvideox", "animatediff"):
        model = VideoModel.from_pretrained(models[family])
        model.enable_vae_slicing() if hasattr(model.pipe.vae, "enable_slicing") else None
        model.enable_vae_tiling()
        assert getattr(model.pipe.vae, "use_tiling", True)


@pytest.mark.parametrize("family", list(SMALL))
def test_lora_trains_on_each_family_and_loads_back_in_diffusers(models, family, tmp_path):
    """One LoRA step on a clip through the CLI; the file loads with diffusers' load_lora_weights and gives
    exactly the denoiser that merging its own tensors by hand (W + alpha / r * B A) gives."""
    import json

    import torch
    from safetensors import safe_open

    from helpers import make_video
    from vidgen.training.family_lora import DEFAULT_FRAMES, FamilyOps

    data = tmp_path / "clips"
    data.mkdir()
    frames = DEFAULT_FRAMES[family]
    make_video(data / "c.mp4", size="48x32", rate="8", seconds=frames / 8 + 0.5)
    out = tmp_path / "lora"
    r = vidgen("train", "lora", "--base", str(models[family]), "--data", str(data), "--caption", "a red boat",
               "--size", "32", "--steps", "1", "--warmup", "0", "--rank", "4", "--alpha", "8", "--lr", "0.01", "--out",
               str(out), "-q")
    assert r.returncode == 0, r.stderr
    path = out / "pytorch_lora_weights.safetensors"
    with safe_open(str(path), "pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        meta = f.metadata() or {}
    assert tensors and any("lora_B" in k for k in tensors)
    assert any(t.abs().sum() > 0 for k, t in tensors.items() if "lora_B" in k)  # the step moved the adapter

    loaded = VideoModel.from_pretrained(models[family])
    loaded.pipe.load_lora_weights(str(path))
    merged = VideoModel.from_pretrained(models[family])
    base = VideoModel.from_pretrained(models[family])
    # the adapter's LoRA config travels in the file's metadata, keys prefixed with the component
    config = {k.split(".", 1)[1]: v for k, v in json.loads(meta["lora_adapter_metadata"]).items()}
    scale = config["lora_alpha"] / config["r"]
    assert scale == 2.0
    modules = dict(merged.denoiser.named_modules())
    prefix = "unet." if family == "animatediff" else "transformer."
    n = 0
    for key, a in tensors.items():
        if key.endswith("lora_A.weight"):
            name = key[len(prefix):-len(".lora_A.weight")]
            b = tensors[key.replace("lora_A", "lora_B")]
            with torch.no_grad():
                modules[name].weight += scale * b @ a
            n += 1
    assert n > 0
    fused = VideoModel.from_pretrained(models[family])
    fused.load_lora(path, scale=1.0)  # what `vidgen generate --lora` does: load, then fuse
    ops = {k: FamilyOps(m) for k, m in (("loaded", loaded), ("merged", merged), ("base", base), ("fused", fused))}
    x0 = torch.stack([ops["base"].encode(np.random.default_rng(0).integers(0, 255, (frames, 32, 32, 3), np.uint8))])
    noisy, t, _ = ops["base"].noised(x0, torch.Generator().manual_seed(0))
    with torch.no_grad():
        pred = {k: o.predict(noisy, t, o.embed(["a red boat"])) for k, o in ops.items()}
    torch.testing.assert_close(pred["loaded"], pred["merged"], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(pred["fused"], pred["merged"], rtol=1e-4, atol=1e-5)
    assert (pred["loaded"] - pred["base"]).abs().max() > 1e-6


def test_frame_api_and_comfyui_node_take_the_families(models, i2v_models, image):
    """vidgen.generate and the ComfyUI Text to Video node run a family folder as the CLI does."""
    import importlib.util

    import torch
    from PIL import Image

    import vidgen
    from helpers import ROOT

    ref = api_frames(models["wan"], num_frames=5, width=32, height=32)
    calls = []
    got = vidgen.generate("a red circle moving left", model=str(models["wan"]), frames=5, size=(32, 32), steps=2,
                          seed=1, on_step=lambda: calls.append(1))
    assert np.array_equal(np.stack(got), ref) and len(calls) == 2

    spec = importlib.util.spec_from_file_location("vidgen_nodes_fam", ROOT / "plugins/comfyui/vidgen_nodes/__init__.py")
    pack = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pack)
    node = pack.NODE_CLASS_MAPPINGS["VidgenTextToVideo"]()
    (out,) = node.run("a red circle moving left", seed=1, steps=2, frames=5, width=32, height=32,
                      model_folder=str(models["wan"]))
    assert out.shape == (5, 32, 32, 3) and torch.equal((out * 255).round().byte(), torch.from_numpy(ref))

    still = np.array(Image.open(image).convert("RGB"))
    (anim,) = node.run("the circle moves", seed=1, steps=2, frames=9, width=16, height=16,
                       model_folder=str(i2v_models["cogvideox"]), image=torch.from_numpy(still)[None].float() / 255)
    api = api_frames(i2v_models["cogvideox"], task="i2v", prompt="the circle moves", image=still, num_frames=9,
                     width=16, height=16)
    assert torch.equal((anim * 255).round().byte(), torch.from_numpy(api))
    with pytest.raises(OptionError, match="image-to-video"):
        vidgen.generate("a red circle", image=still)  # vidgen's own model makes video from text only
