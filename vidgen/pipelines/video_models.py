"""The video diffusion models people run today, through diffusers: Wan 2.x, LTX-Video, CogVideoX and
AnimateDiff, text-to-video and (where the family has it) image-to-video.

A model is a diffusers folder (``model_index.json`` and one folder per component) or a hub id when
the machine can reach the hub; ``model_index.json``'s ``_class_name`` names the pipeline and so the
family. vidgen adds to diffusers' own pipeline: one-line errors, its progress bar, its attention
choice where the model's attention layers take it, VAE slicing and tiling, CPU offload on a GPU,
LoRA files, and frames handed to the writer one at a time. (ModelScope and Zeroscope folders run
through :mod:`vidgen.pipelines.text_to_video`, as vidgen's own model does.) Example::

    model = VideoModel.load("./Wan2.1-T2V-1.3B-Diffusers", attention="sdpa", vae_tiling=True)
    video = model.generate("a boat at sea", num_frames=33, height=480, width=832, steps=30)
    for frame in video.frames:          # (H, W, 3) uint8, one at a time
        ...

Frames: diffusers' pipelines decode the whole clip before returning, so the decoded clip (float32)
is in memory once; it is converted and written a frame at a time from there.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, OptionError, WeightsError
from ..io.tensors import from_float
from .hub import from_hub, hub_id, quiet_loading

log = logging.getLogger("vidgen")


@dataclass(frozen=True)
class Family:
    """What vidgen knows of one family of diffusers video pipelines."""

    name: str
    t2v: str | None  # text-to-video pipeline class (model_index.json's _class_name)
    i2v: str | None  # image-to-video pipeline class
    i2v_shares_t2v: bool  # the image-to-video pipeline runs on a text-to-video folder's components
    denoiser: str  # the pipeline attribute holding the denoiser: "transformer" or "unet"
    fps: int  # the rate the family's examples write their videos at
    frames_rule: tuple[int, int]  # (k, r): num_frames % k == r (the VAE's temporal compression)
    attention_layers: str  # "dispatch" (diffusers' attention backends) or "processors" (vidgen's own)
    lora_targets: tuple[str, ...]  # peft target modules of the denoiser


FAMILIES: dict[str, Family] = {
    "wan": Family("Wan 2.x", "WanPipeline", "WanImageToVideoPipeline", False, "transformer", 16, (4, 1), "dispatch",
                  ("to_q", "to_k", "to_v", "to_out.0")),
    "ltx": Family("LTX-Video", "LTXPipeline", "LTXImageToVideoPipeline", True, "transformer", 24, (8, 1), "dispatch",
                  ("to_q", "to_k", "to_v", "to_out.0")),
    "cogvideox": Family("CogVideoX", "CogVideoXPipeline", "CogVideoXImageToVideoPipeline", False, "transformer", 8,
                        (4, 1), "dispatch", ("to_q", "to_k", "to_v", "to_out.0")),
    "animatediff": Family("AnimateDiff", "AnimateDiffPipeline", None, False, "unet", 8, (1, 0), "processors",
                          ("to_q", "to_k", "to_v", "to_out.0")),
}

# vidgen's --attention names -> diffusers' attention-dispatch backends
_DISPATCH = {"sdpa": "native", "xformers": "xformers", "naive": "_native_math"}


def family_of(class_name: str) -> tuple[str, str] | None:
    """``(family key, "t2v" or "i2v")`` of a pipeline class name, or None if no family has it."""
    for key, fam in FAMILIES.items():
        if class_name == fam.t2v:
            return key, "t2v"
        if class_name == fam.i2v:
            return key, "i2v"
    return None


def read_index(path: Path) -> dict:
    try:
        index = json.loads((path / "model_index.json").read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise WeightsError(f"{path / 'model_index.json'} is not readable JSON ({type(e).__name__})") from None
    if not isinstance(index, dict):
        raise WeightsError(f"{path / 'model_index.json'} is not a diffusers model index")
    return index


def resolve(model: str | os.PathLike, local_files_only: bool | None = None) -> Path:
    """The local folder of ``model``: the folder itself, or a hub id fetched (or found in the cache)."""
    path = Path(model).expanduser()
    if path.exists():
        if not (path / "model_index.json").is_file():
            raise WeightsError(f"{path} has no model_index.json: not a diffusers model folder")
        return path
    repo = hub_id(model)
    if repo is None:
        raise WeightsError(f"no model at {path} (a diffusers folder with model_index.json, or a hub id like org/name)")
    return from_hub(repo, local_files_only)


def index_class(model: str | os.PathLike, local_files_only: bool | None = None) -> str | None:
    """The pipeline class ``model_index.json`` names, for a folder or a hub id (only that file is fetched),
    or None where there is no index to read (the loader that runs next reports it)."""
    path = Path(model).expanduser()
    if not path.exists():
        repo = hub_id(model)
        if repo is None:
            return None
        path = from_hub(repo, local_files_only, filename="model_index.json").parent
    if not (path / "model_index.json").is_file():
        return None
    return str(read_index(path).get("_class_name", ""))


def family_class(model: str | os.PathLike | None) -> str | None:
    """The pipeline class ``model`` names when it is one of :data:`FAMILIES`, else None (no model: vidgen's
    own; a ModelScope-style folder; no index at all)."""
    name = index_class(model) if model is not None else None
    return name if name is not None and family_of(name) is not None else None


@dataclass
class GeneratedVideo:
    frames: Iterator[np.ndarray]  # (H, W, 3) uint8, one at a time
    count: int
    width: int
    height: int
    fps: int  # the family's usual rate


class VideoModel:
    """One diffusers video pipeline of a known family (see :data:`FAMILIES`), loaded from a folder."""

    def __init__(self, pipe: Any, family: str, task: str):
        self.pipe = pipe
        self.family_key = family
        self.family = FAMILIES[family]
        self.task = task  # "t2v" or "i2v": what the loaded pipeline does
        pipe.set_progress_bar_config(disable=True)  # vidgen shows its own

    @property
    def denoiser(self):
        return getattr(self.pipe, self.family.denoiser)

    # -- loading -----------------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, model: str | os.PathLike, task: str = "t2v", torch_dtype=None,
                        local_files_only: bool | None = None) -> VideoModel:
        """Load a family's pipeline for ``task`` ("t2v" or "i2v") from a folder or hub id."""
        import diffusers

        path = resolve(model, local_files_only)
        index = read_index(path)
        class_name = str(index.get("_class_name", ""))
        found = family_of(class_name)
        if found is None:
            known = ", ".join(f"{f.name} ({', '.join(c for c in (f.t2v, f.i2v) if c)})" for f in FAMILIES.values())
            raise WeightsError(f"{path}: pipeline {class_name or '(none named)'} is not one vidgen runs here; "
                               f"known: {known}")
        key, kind = found
        fam = FAMILIES[key]
        if task == "i2v" and kind == "t2v" and not fam.i2v_shares_t2v:
            what = f"{fam.name} has no image-to-video pipeline" if fam.i2v is None else \
                f"this is a {fam.name} text-to-video model; image-to-video needs a {fam.i2v} folder"
            raise OptionError(f"{path}: {what}")
        if task == "t2v" and kind == "i2v":
            raise OptionError(f"{path} is a {fam.name} image-to-video model ({class_name}): use "
                              f"'vidgen animate IMAGE PROMPT --model {model}'")
        kw = {"torch_dtype": torch_dtype} if torch_dtype is not None else {}
        try:
            with quiet_loading():
                pipe = getattr(diffusers, class_name).from_pretrained(path, **kw)
        except (OSError, ValueError, TypeError, KeyError) as e:
            raise WeightsError(f"{path}: {str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}") \
                from None
        if task == "i2v" and kind == "t2v":  # LTX: the same components run image-to-video
            pipe = getattr(diffusers, fam.i2v)(**pipe.components)
        return cls(pipe, key, task)

    @classmethod
    def load(cls, model: str | os.PathLike, task: str = "t2v", device: str = "auto", precision: str = "auto",
             lora: str | os.PathLike | None = None, lora_scale: float = 1.0, attention: str = "auto",
             vae_slicing: bool = False, vae_tiling: bool = False, cpu_offload: bool = False) -> VideoModel:
        """:meth:`from_pretrained`, then the settings every door offers: the attention kernel, a LoRA fused
        at ``lora_scale``, the device (or CPU offload onto the GPU), VAE slicing and tiling."""
        from ..devices import choose

        dev, dtype = choose(device, precision)
        model = cls.from_pretrained(model, task=task, torch_dtype=dtype)
        model.set_attention(attention)
        if lora:
            model.load_lora(lora, scale=lora_scale)
        if cpu_offload:
            model.enable_cpu_offload(str(dev) if dev.type == "cuda" else "cuda")
        else:
            model.pipe.to(dev)
        if vae_slicing:
            model.enable_vae_slicing()
        if vae_tiling:
            model.enable_vae_tiling()
        return model

    # -- memory and speed --------------------------------------------------------------------------
    def set_attention(self, backend: str = "auto") -> None:
        """vidgen's attention choice where the model's attention layers take it: U-Net families (AnimateDiff)
        take vidgen's processors (every backend, chunked included); transformer families run diffusers'
        attention dispatch, which has sdpa, xformers and naive but no chunked kernel."""
        if backend == "auto":
            return
        if self.family.attention_layers == "processors":
            from ..attention import set_attention_backend

            set_attention_backend(self.denoiser, backend)
            return
        if backend not in _DISPATCH:
            raise OptionError(f"--attention {backend} is not available for {self.family.name}: its attention runs "
                              f"through diffusers' dispatch; choose {', '.join(['auto', *_DISPATCH])}")
        if backend == "xformers":
            from ..attention import xformers_available

            if not xformers_available():
                raise OptionError("--attention xformers needs the xformers package and a CUDA GPU")
        self.denoiser.set_attention_backend(_DISPATCH[backend])

    def enable_vae_slicing(self) -> None:
        vae = self.pipe.vae
        if not hasattr(vae, "enable_slicing"):
            raise OptionError(f"{self.family.name}'s VAE ({type(vae).__name__}) has no slicing")
        vae.enable_slicing()

    def enable_vae_tiling(self) -> None:
        vae = self.pipe.vae
        if not hasattr(vae, "enable_tiling"):
            raise OptionError(f"{self.family.name}'s VAE ({type(vae).__name__}) has no tiling")
        vae.enable_tiling()

    def enable_cpu_offload(self, device: str = "cuda", sequential: bool = False) -> None:
        """Keep weights in RAM and move each model (``sequential``: each layer) to the GPU as it runs."""
        import torch

        if not torch.cuda.is_available():
            raise OptionError("CPU offload moves models onto a GPU as they run; this machine has no CUDA device")
        if sequential:
            self.pipe.enable_sequential_cpu_offload(device=device)
        else:
            self.pipe.enable_model_cpu_offload(device=device)

    def load_lora(self, path: str | os.PathLike, scale: float = 1.0) -> None:
        """A LoRA file in diffusers' format (``load_lora_weights``), fused at ``scale``."""
        if not Path(path).is_file():
            raise WeightsError(f"no LoRA file at {path}")
        try:
            self.pipe.load_lora_weights(str(path), adapter_name="vidgen")
            self.pipe.fuse_lora(lora_scale=scale, adapter_names=["vidgen"])
        except (ValueError, KeyError, RuntimeError, OSError) as e:
            raise WeightsError(f"{path} does not fit this {self.family.name} model: "
                               f"{str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}") from None

    # -- running -----------------------------------------------------------------------------------
    def check_frames(self, num_frames: int | None) -> None:
        k, r = self.family.frames_rule
        if num_frames is not None and (num_frames < 1 or num_frames % k != r % k):
            raise OptionError(f"{self.family.name} makes {k}k+{r} frames (its VAE compresses time {k}x): "
                              f"--frames {num_frames} is not one; try {max(r, num_frames - (num_frames - r) % k)}")

    def generate(self, prompt: str, image: Any = None, negative_prompt: str | None = None,
                 num_frames: int | None = None, height: int | None = None, width: int | None = None, steps: int = 25,
                 guidance: float | None = None, seed: int = 0, progress: bool = True, on_step=None,
                 **extra) -> GeneratedVideo:
        """Run the pipeline: text-to-video, or image-to-video with ``image`` (a PIL image, an ``(H, W, 3)``
        uint8 array or a path). ``None`` settings take the pipeline's own defaults; ``on_step()`` is called
        after each denoising step; ``extra`` goes to the pipeline as is."""
        import torch

        from ..progress import progress_bar

        if not prompt or not prompt.strip():
            raise OptionError("the prompt is empty")
        self.check_frames(num_frames)
        if (image is None) != (self.task == "t2v"):
            raise OptionError("image-to-video needs an image" if image is None else
                              "this model makes video from text; give no image")
        kwargs: dict[str, Any] = dict(extra)
        for name, value in (("negative_prompt", negative_prompt), ("num_frames", num_frames), ("height", height),
                            ("width", width), ("guidance_scale", guidance)):
            if value is not None:
                kwargs[name] = value
        if image is not None:
            kwargs["image"] = load_image(image)
        text_len = getattr(self.denoiser.config, "max_text_seq_length", None)  # CogVideoX: fixed by the model
        if text_len and "max_sequence_length" not in kwargs:
            kwargs["max_sequence_length"] = text_len
        gen = torch.Generator("cpu").manual_seed(seed)
        with progress_bar(steps, f"generate ({self.family.name})", enabled=progress, unit="step") as bar:
            def step_done(pipe, i, t, callback_kwargs):
                bar.update(1)
                if on_step is not None:
                    on_step()
                return callback_kwargs

            try:
                out = self.pipe(prompt=prompt, num_inference_steps=steps, generator=gen, output_type="np",
                                callback_on_step_end=step_done, callback_on_step_end_tensor_inputs=[], **kwargs)
            except (ValueError, TypeError) as e:  # diffusers' check_inputs: sizes, frames, prompt lengths
                raise OptionError(f"{self.family.name}: {str(e).strip().splitlines()[0]}") from None
        video = out.frames
        video = video[0] if isinstance(video, (list, tuple)) or getattr(video, "ndim", 0) == 5 else video
        video = np.asarray(video)
        if video.ndim != 4:
            raise InputError(f"{self.family.name} returned frames of shape {video.shape}, not (frames, H, W, 3)")
        if video.shape[-1] != 3 and video.shape[1] == 3:  # (F, C, H, W)
            video = video.transpose(0, 2, 3, 1)
        n, h, w = video.shape[:3]

        return GeneratedVideo((from_float(f, np.uint8) for f in video), n, w, h, self.family.fps)


def load_image(image: Any):
    """A PIL RGB image from a path, a PIL image or an ``(H, W, 3)`` uint8 array, with one line for a file
    that is not an image."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(image, Image.Image):
        return image.convert("RGB")
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise InputError(f"the image must be an (H, W, 3) uint8 array, not {image.shape} {image.dtype}")
        return Image.fromarray(image)
    path = Path(image)
    if not path.is_file():
        raise InputError(f"no image at {path}")
    try:
        with Image.open(path) as im:
            return im.convert("RGB")
    except (UnidentifiedImageError, OSError) as e:
        raise InputError(f"{path} is not a readable image ({type(e).__name__})") from None
