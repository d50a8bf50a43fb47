"""The ComfyUI node pack: loaded by path as ComfyUI loads custom nodes, checked against ComfyUI's node
rules, run on small IMAGE batches, and compared with the frame-level API."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

import vidgen
from helpers import ROOT, tiny_t2v_model

PACK = ROOT / "plugins" / "comfyui" / "vidgen_nodes"
WIDGETS = {"INT", "FLOAT", "STRING", "BOOLEAN"}
COMFY_TYPES = {"IMAGE", "MASK", "LATENT", "MODEL", "CLIP", "VAE", "CONDITIONING"}


def load_pack():
    """As ComfyUI's ``load_custom_node``: the folder's ``__init__.py`` imported under the folder's name."""
    spec = importlib.util.spec_from_file_location(PACK.name, PACK / "__init__.py",
                                                  submodule_search_locations=[str(PACK)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[PACK.name] = module
    spec.loader.exec_module(module)
    return module


def test_pack_imports_without_comfyui_or_torch():
    code = ("import sys, vidgen.comfyui as pack; assert set(pack.NODE_CLASS_MAPPINGS) == "
            "set(pack.NODE_DISPLAY_NAME_MAPPINGS); assert 'torch' not in sys.modules and 'comfy' not in sys.modules; "
            "print(len(pack.NODE_CLASS_MAPPINGS))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "4", r.stderr


def test_every_node_follows_comfyui_rules():
    pack = load_pack()
    assert set(pack.NODE_CLASS_MAPPINGS) == {"VidgenInterpolate", "VidgenDeblur", "VidgenEnhance", "VidgenTextToVideo"}
    for name, cls in pack.NODE_CLASS_MAPPINGS.items():
        spec = cls.INPUT_TYPES()
        assert set(spec) <= {"required", "optional", "hidden"} and "required" in spec, name
        for group in ("required", "optional"):
            for arg, entry in spec.get(group, {}).items():
                assert isinstance(entry, tuple) and 1 <= len(entry) <= 2, (name, arg)
                kind = entry[0]
                opts = entry[1] if len(entry) == 2 else {}
                if isinstance(kind, list):  # a combo: the default is one of its choices
                    assert kind and all(isinstance(c, str) for c in kind), (name, arg)
                    assert opts.get("default", kind[0]) in kind, (name, arg)
                else:
                    assert kind in WIDGETS | COMFY_TYPES, (name, arg, kind)
                    if kind in ("INT", "FLOAT") and "default" in opts:
                        assert opts.get("min", -1e18) <= opts["default"] <= opts.get("max", 1e18), (name, arg)
        assert isinstance(cls.RETURN_TYPES, tuple) and all(isinstance(t, str) for t in cls.RETURN_TYPES)
        assert len(getattr(cls, "RETURN_NAMES", cls.RETURN_TYPES)) == len(cls.RETURN_TYPES)
        assert isinstance(cls.CATEGORY, str) and cls.CATEGORY
        assert callable(getattr(cls, cls.FUNCTION)), name
        # every input the node declares is a parameter of its function, and no required one is missing
        import inspect

        params = inspect.signature(getattr(cls, cls.FUNCTION)).parameters
        declared = {**spec["required"], **spec.get("optional", {})}
        assert set(declared) <= set(params), name
        for p in list(params)[1:]:
            assert p in declared, (name, p)


def _batch(n=6, h=48, w=64, seed=0):
    """A moving gradient batch [n, h, w, 3] float32 (ComfyUI's IMAGE)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    frames = [np.stack([(np.sin((xx + 3 * t) / 7) + 1) / 2, (np.cos((yy - 2 * t) / 5) + 1) / 2,
                        ((xx + yy + 4 * t) % 32) / 32], -1) for t in range(n)]
    return torch.from_numpy(np.stack(frames).astype(np.float32))


def _as_u16(images):
    return (images.numpy() * 65535 + 0.5).astype(np.uint16)


def _as_float(frames):
    return torch.from_numpy(np.stack(frames).astype(np.float32) / 65535)


def test_interpolate_node_equals_the_frame_api_and_doubles_by_default():
    pack = load_pack()
    images = _batch()
    out, fps, exact = pack.NODE_CLASS_MAPPINGS["VidgenInterpolate"]().run(images)
    assert out.shape == (12, 48, 64, 3) and out.dtype == torch.float32
    assert fps == 48.0 and exact == "48"
    ref = _as_float(vidgen.interpolate(_as_u16(images), factor=2))
    assert torch.equal(out, ref)
    assert torch.equal(out[0], _as_float([_as_u16(images)[0]])[0])  # real frames pass through


def test_interpolate_node_exact_ntsc_rates():
    pack = load_pack()
    images = _batch(n=5)
    out, fps, exact = pack.NODE_CLASS_MAPPINGS["VidgenInterpolate"]().run(
        images, source_fps="24000/1001", target_fps="60000/1001")
    assert exact == "60000/1001" and abs(fps - 59.94006) < 1e-4
    ref = vidgen.interpolate(_as_u16(images), fps="60000/1001", in_fps="24000/1001")
    assert out.shape[0] == len(ref) == 13  # ceil(5 * 60 / 24)
    assert torch.equal(out, _as_float(ref))


@pytest.mark.parametrize("node, api", [("VidgenDeblur", lambda f: vidgen.deblur(f)),
                                       ("VidgenEnhance", lambda f: vidgen.enhance(f, scale=2))])
def test_restoration_nodes_equal_the_frame_api(node, api):
    pack = load_pack()
    images = _batch(n=3)
    (out,) = pack.NODE_CLASS_MAPPINGS[node]().run(images)
    ref = _as_float(api(_as_u16(images)))
    assert out.shape == ref.shape and torch.equal(out, ref)


def test_text_to_video_node_equals_the_pipeline(tmp_path):
    from vidgen.pipelines.text_to_video import TextToVideoPipeline

    model = tiny_t2v_model(tmp_path / "tiny")
    pack = load_pack()
    (out,) = pack.NODE_CLASS_MAPPINGS["VidgenTextToVideo"]().run("a red circle moving left", seed=3, steps=2,
                                                                 frames=4, model_folder=str(model))
    ref = TextToVideoPipeline.from_pretrained(str(model))("a red circle moving left", num_frames=4,
                                                          num_inference_steps=2, seed=3).frames[0]
    assert out.shape == (4, ref.shape[-2], ref.shape[-1], 3)
    assert torch.equal(out, ref.float().permute(1, 2, 3, 0))


@pytest.mark.parametrize("bad, words", [(torch.zeros(0, 8, 8, 3), "empty batch"), (torch.zeros(4, 8, 8), "MASK"),
                                        (np.zeros((2, 8, 8, 3)), "IMAGE")])
def test_bad_batches_get_one_clear_message(bad, words):
    from vidgen.errors import InputError

    pack = load_pack()
    for name in ("VidgenInterpolate", "VidgenDeblur", "VidgenEnhance"):
        with pytest.raises(InputError, match=words):
            pack.NODE_CLASS_MAPPINGS[name]().run(bad)


def test_progress_and_cancel_reach_comfyui(monkeypatch):
    """With ComfyUI's modules present, each output frame ticks its progress bar and a cancel stops the node."""
    import types

    ticks = []
    state = {"cancel_after": None}

    class Bar:
        def __init__(self, total):
            self.total = total

        def update(self, n):
            ticks.append(n)

    class Interrupted(Exception):
        pass

    def check():
        if state["cancel_after"] is not None and len(ticks) >= state["cancel_after"]:
            raise Interrupted

    comfy = types.ModuleType("comfy")
    comfy.utils = types.SimpleNamespace(ProgressBar=Bar)
    comfy.model_management = types.SimpleNamespace(throw_exception_if_processing_interrupted=check)
    monkeypatch.setitem(sys.modules, "comfy", comfy)
    monkeypatch.setitem(sys.modules, "comfy.utils", comfy.utils)
    monkeypatch.setitem(sys.modules, "comfy.model_management", comfy.model_management)
    pack = load_pack()
    pack.NODE_CLASS_MAPPINGS["VidgenInterpolate"]().run(_batch())
    assert len(ticks) == 12
    ticks.clear()
    state["cancel_after"] = 3
    with pytest.raises(Interrupted):
        pack.NODE_CLASS_MAPPINGS["VidgenInterpolate"]().run(_batch())
    assert len(ticks) == 3


def test_example_workflow_is_valid_api_json(tmp_path):
    """plugins/comfyui/workflow_api.json: every node known, every input declared and in range, every link
    to an existing node's output of the right type; then run, as ComfyUI would, with fewer steps."""
    pack = load_pack()
    graph = json.loads((ROOT / "plugins" / "comfyui" / "workflow_api.json").read_text())
    core = {"SaveImage": {"required": {"images": ("IMAGE",), "filename_prefix": ("STRING",)}}}
    results = {}
    for nid in sorted(graph, key=int):
        node = graph[nid]
        cls = pack.NODE_CLASS_MAPPINGS.get(node["class_type"])
        spec = cls.INPUT_TYPES() if cls else core[node["class_type"]]
        declared = {**spec["required"], **spec.get("optional", {})}
        assert set(spec["required"]) <= set(node["inputs"]) <= set(declared), nid
        kwargs = {}
        for k, v in node["inputs"].items():
            if isinstance(v, list):  # a link [node id, output index]
                src = pack.NODE_CLASS_MAPPINGS[graph[v[0]]["class_type"]]
                assert int(v[0]) < int(nid) and src.RETURN_TYPES[v[1]] == declared[k][0]
                kwargs[k] = results[v[0]][v[1]]
            else:
                kind = declared[k][0]
                assert (v in kind) if isinstance(kind, list) else kind in WIDGETS
                kwargs[k] = v
        if cls is None:
            assert kwargs["images"].ndim == 4
            continue
        if node["class_type"] == "VidgenTextToVideo":
            kwargs.update(steps=2, frames=4, width=32, height=32)
        results[nid] = getattr(cls(), cls.FUNCTION)(**kwargs)
    assert results["4"][0].shape == (8, 64, 64, 3)
