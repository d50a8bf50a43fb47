"""ComfyUI custom nodes: vidgen's jobs on ComfyUI ``IMAGE`` batches.

    import vidgen.comfyui as pack
    pack.NODE_CLASS_MAPPINGS        # {"VidgenInterpolate": ..., "VidgenDeblur": ..., ...}

Works with or without ComfyUI installed: nothing of ComfyUI (nor torch) is imported until a node
runs. To install, put ``plugins/comfyui/vidgen_nodes/`` of the vidgen repository (three lines that
re-export these mappings) into ``ComfyUI/custom_nodes/`` and ``pip install`` vidgen into ComfyUI's
Python; see the README.

Every node runs the frame-level API (:mod:`vidgen.frames`) on the batch, one frame at a time: a
frame goes in as 16-bit RGB converted from the batch's float32 on the fly, and each output frame is
written straight into the one output tensor, so no second float32 copy of the batch is ever made
(ComfyUI-Frame-Interpolation's ``torch.cat`` of the outputs doubles it). Progress goes to
ComfyUI's progress bar and a cancel in ComfyUI stops the node, when ComfyUI is present.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import numpy as np

from .errors import InputError

CATEGORY = "vidgen"


# -- ComfyUI's progress bar and cancel button, when ComfyUI is there ------------------------------------

class _Progress:
    """ComfyUI's progress bar (``comfy.utils.ProgressBar``) and its interrupt check, or nothing."""

    def __init__(self, total: int):
        try:
            import comfy.model_management as mm
            import comfy.utils
        except ImportError:
            self._bar, self._check = None, None
            return
        self._bar = comfy.utils.ProgressBar(max(1, total))
        self._check = mm.throw_exception_if_processing_interrupted

    def step(self) -> None:
        if self._check is not None:
            self._check()  # raises ComfyUI's own InterruptProcessingException on a cancel
        if self._bar is not None:
            self._bar.update(1)


# -- IMAGE batches <-> frames ---------------------------------------------------------------------------

def _check_images(images: Any, name: str = "images") -> None:
    import torch

    if not isinstance(images, torch.Tensor):
        raise InputError(f"{name} must be an IMAGE batch (a torch tensor), not {type(images).__name__}")
    if images.ndim == 3:
        raise InputError(f"{name} is a MASK {tuple(images.shape)}, not an IMAGE: connect an image batch "
                         "[frames, height, width, 3]")
    if images.ndim != 4 or images.shape[-1] not in (3, 4):
        raise InputError(f"{name} must be an IMAGE batch [frames, height, width, 3], not {tuple(images.shape)}")
    if images.shape[0] == 0:
        raise InputError(f"{name} is an empty batch: there are no frames to process")


def _frames(images) -> Iterator[np.ndarray]:
    """The batch's frames one at a time as 16-bit RGB (alpha dropped); only one is converted at a time."""
    for i in range(images.shape[0]):
        f = images[i, :, :, :3].detach().float().clamp(0, 1).cpu().numpy()
        yield (f * 65535 + 0.5).astype(np.uint16)


def _collect(frames: Iterator[np.ndarray], count: int, progress: _Progress):
    """Write ``count`` frames (uint16 RGB) into one float32 IMAGE batch, as they come."""
    import torch

    out = None
    n = 0
    for f in frames:
        if out is None:
            out = torch.empty((count, *f.shape), dtype=torch.float32)
        if n == count:
            raise RuntimeError(f"the job made more than the {count} frames it was expected to")
        out[n] = torch.from_numpy(f.astype(np.float32) / 65535)
        n += 1
        progress.step()
    if out is None:
        raise InputError("the job made no frames")
    return out[:n]


def _rate(text: str) -> Fraction | None:
    """A frame rate typed into a node (``24``, ``23.976``, ``24000/1001``); None for an empty field."""
    from .pipelines.job import parse_rate

    return parse_rate(text) if str(text).strip() else None


# -- nodes ------------------------------------------------------------------------------------------------

class VidgenInterpolate:
    """Raise the frame rate of a batch: ``multiplier`` times, or from ``source_fps`` to ``target_fps``
    (exact rationals: 24000/1001 -> 60000/1001). Scene cuts are not blended across and repeated frames
    are re-timed, as the CLI does. The defaults double the frame rate."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "images": ("IMAGE",),
                "multiplier": ("INT", {"default": 2, "min": 2, "max": 64, "step": 1}),
                "method": (["classical", "learned"], {"default": "classical"}),
                "preset": (["balanced", "fast", "best"], {"default": "balanced"}),
            },
            "optional": {
                "source_fps": ("STRING", {"default": "24",
                                          "tooltip": "the batch's frame rate: 24, 23.976, 24000/1001"}),
                "target_fps": ("STRING", {"default": "", "tooltip": "a frame rate instead of the multiplier "
                                                                     "(empty: use the multiplier)"}),
                "rife_checkpoint": ("STRING", {"default": "", "tooltip": "path of a Practical-RIFE flownet.pkl "
                                                                          "(instead of the method)"}),
                "scene_detect": ("BOOLEAN", {"default": True}),
                "dedup": ("BOOLEAN", {"default": True}),
            },
        }

    RETURN_TYPES = ("IMAGE", "FLOAT", "STRING")
    RETURN_NAMES = ("images", "fps", "fps_exact")
    FUNCTION = "run"
    CATEGORY = CATEGORY
    DESCRIPTION = "vidgen frame interpolation: a multiplier or an exact target frame rate, scene-cut aware."

    def run(self, images, multiplier: int = 2, method: str = "classical", preset: str = "balanced",
            source_fps: str = "24", target_fps: str = "", rife_checkpoint: str = "", scene_detect: bool = True,
            dedup: bool = True):
        from . import frames as api
        from .pipelines.interpolation import InterpolationPipeline

        _check_images(images)
        src = _rate(source_fps) or Fraction(24)
        target = _rate(target_fps)
        model = f"rife:{rife_checkpoint}" if rife_checkpoint.strip() else method
        factor = None if target is not None else multiplier
        out_fps, step = InterpolationPipeline.timing(src, factor, target, slowmo=False)
        count = math.ceil(images.shape[0] / step)
        progress = _Progress(count)
        kw = dict(fps=target, in_fps=src) if target is not None else dict(factor=multiplier)
        frames = api.interpolate(_frames(images), model=model, preset=preset, scene_detect=scene_detect, dedup=dedup,
                                 **kw)
        out = _collect(frames, count, progress)
        exact = f"{out_fps.numerator}" if out_fps.denominator == 1 else f"{out_fps.numerator}/{out_fps.denominator}"
        return (out, float(out_fps), exact)


# what both restoration nodes take besides their own inputs: tile size and the aligned neighbours
_RESTORE_OPTIONS = {"tile": ("INT", {"default": 768, "min": 128, "max": 4096, "step": 64}),
                    "temporal": ("BOOLEAN", {"default": True})}


class VidgenImageBatchNode:
    """What every vidgen node that returns one IMAGE batch declares to ComfyUI."""

    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("images",)
    FUNCTION = "run"
    CATEGORY = CATEGORY


class VidgenDeblur(VidgenImageBatchNode):
    """Remove camera shake and motion blur from a batch (vidgen's network, or a weights file)."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {"images": ("IMAGE",)},
            "optional": {
                "weights": ("STRING", {"default": "", "tooltip": "deblur .safetensors (empty: vidgen's own)"}),
                **_RESTORE_OPTIONS,
            },
        }

    DESCRIPTION = "vidgen deblurring: each frame restored with its two aligned neighbours."

    def run(self, images, weights: str = "", tile: int = 768, temporal: bool = True):
        from . import frames as api

        _check_images(images)
        progress = _Progress(images.shape[0])
        out = api.deblur(_frames(images), weights=weights.strip() or None, tile=tile, temporal=temporal)
        return (_collect(out, images.shape[0], progress),)


class VidgenEnhance(VidgenImageBatchNode):
    """Upscale a batch x1/x2/x4 and clean up compression and noise (vidgen's network, Lanczos, or a
    Real-ESRGAN checkpoint)."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "images": ("IMAGE",),
                "scale": (["2", "1", "4"], {"default": "2"}),
                "model": (["learned", "classical"], {"default": "learned"}),
            },
            "optional": {
                "denoise": ("INT", {"default": 0, "min": 0, "max": 3, "step": 1}),
                "esrgan_checkpoint": ("STRING", {"default": "", "tooltip": "path of a Real-ESRGAN .pth (instead of "
                                                                            "the model)"}),
                **_RESTORE_OPTIONS,
            },
        }

    DESCRIPTION = "vidgen enhancement: upscaling with compression and noise clean-up."

    def run(self, images, scale: str = "2", model: str = "learned", denoise: int = 0, esrgan_checkpoint: str = "",
            tile: int = 768, temporal: bool = True):
        from . import frames as api

        _check_images(images)
        progress = _Progress(images.shape[0])
        name = f"esrgan:{esrgan_checkpoint}" if esrgan_checkpoint.strip() else model
        out = api.enhance(_frames(images), scale=int(scale), denoise=denoise, model=name, tile=tile,
                          temporal=temporal)
        return (_collect(out, images.shape[0], progress),)


class VidgenTextToVideo(VidgenImageBatchNode):
    """Generate a clip from a prompt with vidgen's model or a diffusers text-to-video folder."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "prompt": ("STRING", {"multiline": True, "default": "a red circle moving left"}),
                "seed": ("INT", {"default": 0, "min": 0, "max": 2 ** 32 - 1}),
                "steps": ("INT", {"default": 25, "min": 1, "max": 500}),
                "frames": ("INT", {"default": 16, "min": 1, "max": 512}),
            },
            "optional": {
                "negative_prompt": ("STRING", {"multiline": True, "default": ""}),
                "guidance": ("FLOAT", {"default": 0.0, "min": 0.0, "max": 30.0, "step": 0.1,
                                       "tooltip": "classifier-free guidance (0: the model's own)"}),
                "width": ("INT", {"default": 0, "min": 0, "max": 4096, "step": 8, "tooltip": "0: the model's size"}),
                "height": ("INT", {"default": 0, "min": 0, "max": 4096, "step": 8}),
                "model_folder": ("STRING", {"default": "", "tooltip": "a diffusers folder or hub id (empty: vidgen's "
                                            "own): ModelScope, Zeroscope, Wan, LTX-Video, CogVideoX, AnimateDiff"}),
                "image": ("IMAGE", {"tooltip": "first frame, for image-to-video (Wan I2V, LTX-Video, CogVideoX I2V)"}),
                "lora": ("STRING", {"default": "", "tooltip": "a LoRA .safetensors to merge"}),
                "lora_scale": ("FLOAT", {"default": 1.0, "min": -4.0, "max": 4.0, "step": 0.05}),
            },
        }

    DESCRIPTION = "vidgen text-to-video."

    def run(self, prompt: str, seed: int = 0, steps: int = 25, frames: int = 16, negative_prompt: str = "",
            guidance: float = 0.0, width: int = 0, height: int = 0, model_folder: str = "", lora: str = "",
            lora_scale: float = 1.0, image=None):
        from .devices import choose
        from .pipelines.text_to_video import TextToVideoPipeline
        from .pipelines.video_models import family_class

        if not prompt.strip():
            raise InputError("the prompt is empty")
        if image is not None or family_class(model_folder.strip() or None) is not None:
            return self._family(prompt, seed, steps, frames, negative_prompt, guidance, width, height,
                                model_folder.strip(), lora.strip(), lora_scale, image)
        device, dtype = choose("auto", "auto")
        pipe = TextToVideoPipeline.from_pretrained(model_folder.strip() or None, torch_dtype=dtype)
        if lora.strip():
            pipe.load_lora(lora.strip(), scale=lora_scale)
        pipe.to(device)
        progress = _Progress(steps)

        def on_step(p, i, t, kw):
            progress.step()
            return kw

        out = pipe(prompt, negative_prompt=negative_prompt or None, num_frames=frames, height=height or None,
                   width=width or None, num_inference_steps=steps, guidance_scale=guidance or None, seed=seed,
                   callback_on_step_end=on_step).frames
        return (out[0].float().cpu().permute(1, 2, 3, 0).contiguous(),)  # (3, T, H, W) -> (T, H, W, 3)

    @staticmethod
    def _family(prompt, seed, steps, frames, negative_prompt, guidance, width, height, model, lora, lora_scale,
                image):
        """A Wan / LTX-Video / CogVideoX / AnimateDiff model through the frame-level API."""
        import numpy as np
        import torch

        from .frames import generate
        from .io.tensors import from_float

        first = None
        if image is not None:
            _check_images(image, "image")
            first = from_float(image[0].float().cpu().numpy(), np.uint8)
        progress = _Progress(steps)
        out = generate(prompt, model=model or None, image=first, frames=frames, steps=steps, seed=seed,
                       size=(width, height) if width and height else None, guidance=guidance or None,
                       negative_prompt=negative_prompt or None, lora=lora or None, lora_scale=lora_scale,
                       on_step=progress.step)
        return (torch.from_numpy(np.stack(out)).float() / 255,)


NODE_CLASS_MAPPINGS = {
    "VidgenInterpolate": VidgenInterpolate,
    "VidgenDeblur": VidgenDeblur,
    "VidgenEnhance": VidgenEnhance,
    "VidgenTextToVideo": VidgenTextToVideo,
}
NODE_DISPLAY_NAME_MAPPINGS = {
    "VidgenInterpolate": "Vidgen Interpolate",
    "VidgenDeblur": "Vidgen Deblur",
    "VidgenEnhance": "Vidgen Enhance",
    "VidgenTextToVideo": "Vidgen Text to Video",
}
