"""Text-to-video: latent video diffusion with a 3D U-Net (spatial self/cross attention and temporal
attention), a VAE, a CLIP text encoder and a DDIM or DPM-Solver scheduler.

It loads the diffusers layout of the ModelScope text-to-video and Zeroscope repositories
(``model_index.json``, ``unet/``, ``vae/``, ``text_encoder/``, ``tokenizer/``, ``scheduler/``) from
a folder, or from a hub id when the machine can reach the hub. With no ``--model``, vidgen's own
small model (``vidgen/weights/t2v``, recipe in ``training/text_to_video``) is used.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from ..attention import set_attention_backend
from ..choices import SCHEDULERS
from ..errors import OptionError, WeightsError
from .hub import from_hub, hub_id, quiet_loading

log = logging.getLogger("vidgen")
DEFAULT_GUIDANCE = 7.5  # classifier-free guidance for models that name none (diffusers' text-to-video default)


@dataclass
class TextToVideoOutput:
    """``frames``: ``(B, 3, T, H, W)`` float in [0, 1]."""

    frames: torch.Tensor


def make_scheduler(name: str, config: dict):
    """A DDIM or DPM-Solver++ scheduler built from another scheduler's config (same noise schedule)."""
    from diffusers import DDIMScheduler, DPMSolverMultistepScheduler

    if name == "ddim":
        return DDIMScheduler.from_config(config)
    if name == "dpm":
        return DPMSolverMultistepScheduler.from_config(config, algorithm_type="dpmsolver++")
    raise OptionError(f"unknown scheduler '{name}': choose one of {', '.join(SCHEDULERS)}")


def _scheduler_from_folder(folder: Path):
    from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler, PNDMScheduler

    known = {c.__name__: c for c in (DDIMScheduler, DPMSolverMultistepScheduler, PNDMScheduler, DDPMScheduler)}
    config = json.loads((folder / "scheduler_config.json").read_text())
    cls = known.get(config.get("_class_name"))
    if cls is None:
        raise WeightsError(f"{folder}: scheduler {config.get('_class_name')!r} is not one of {', '.join(known)}")
    return cls.from_config(config)


def vae_class(folder: Path):
    """The VAE class a model folder names: diffusers' AutoencoderKL (ModelScope, Zeroscope) or vidgen's ShapeVAE."""
    from diffusers import AutoencoderKL

    from ..models.vae import ShapeVAE

    try:
        name = json.loads((folder / "config.json").read_text()).get("_class_name", "AutoencoderKL")
    except (OSError, ValueError):
        return AutoencoderKL  # from_pretrained reports what is missing
    choices = {"AutoencoderKL": AutoencoderKL, "ShapeVAE": ShapeVAE}
    if name not in choices:
        raise WeightsError(f"{folder}: VAE class {name} is not supported (choose from {', '.join(choices)})")
    return choices[name]


@contextlib.contextmanager
def _diffusers_errors_only() -> Iterator[None]:
    from diffusers.utils import logging as df_logging

    level = df_logging.get_verbosity()
    df_logging.set_verbosity_error()
    try:
        yield
    finally:
        df_logging.set_verbosity(level)


def _restore_temporal_text(unet, folder: Path, mode) -> None:
    """Add :func:`vidgen.models.t2v.add_temporal_text`'s projections to a loaded U-Net and fill them from
    its weights file, where diffusers' loader left them out as unknown."""
    from safetensors.torch import load_file

    from ..models.t2v import add_temporal_text, temporal_text_tensors

    if mode not in (True, "frames", "spacetime"):
        raise WeightsError(f"{folder.parent / 'model_index.json'}: vidgen_temporal_text must be true, \"frames\" "
                           f"or \"spacetime\", not {mode!r}")
    add_temporal_text(unet, unet.config.cross_attention_dim, mode == "frames", mode == "spacetime")
    files = sorted(folder.glob("*.safetensors"))
    saved = {}
    for f in files:
        saved.update(temporal_text_tensors(load_file(f)))
    wanted = temporal_text_tensors(unet.state_dict())
    if set(saved) != set(wanted):
        raise WeightsError(f"{folder}: model_index.json names vidgen_temporal_text but the U-Net's weights hold "
                           f"{len(saved)} of its {len(wanted)} caption projections")
    dtype = next(iter(wanted.values())).dtype
    unet.load_state_dict({k: v.to(dtype) for k, v in saved.items()}, strict=False)


def default_model_dir() -> Path:
    from ..weights import T2V, shipped

    return shipped(T2V)


class TextToVideoPipeline:
    """Generate a short video from a text prompt.

    Example::

        pipe = TextToVideoPipeline.from_pretrained()                 # vidgen's small shipped model
        video = pipe("a red circle moving left", num_frames=16, seed=0).frames   # (1, 3, 16, 64, 64)
    """

    def __init__(self, unet, vae, text_encoder, tokenizer, scheduler, guide=None,
                 guidance_scale: float = DEFAULT_GUIDANCE):
        self.unet, self.vae, self.text_encoder, self.tokenizer, self.scheduler = (
            unet, vae, text_encoder, tokenizer, scheduler)
        # the classifier-free guidance scale __call__ uses when given none: the model's own
        # (``vidgen_guidance_scale`` in model_index.json), else diffusers' usual 7.5
        self.guidance_scale = guidance_scale
        # optional LatentAttributeClassifier (vidgen/models/t2v_guide.py): classifier guidance for the
        # attributes a prompt names; vidgen's shipped model has one, ModelScope and Zeroscope do not
        self.guide = guide
        self.vae_scale_factor = 2 ** (len(vae.config.block_out_channels) - 1)
        self.device = torch.device("cpu")

    # -- loading and saving --------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, model: str | os.PathLike | None = None, torch_dtype: torch.dtype | None = None,
                        local_files_only: bool | None = None) -> TextToVideoPipeline:
        """Load a diffusers-layout folder, a hub id (``org/name``), or vidgen's shipped model."""
        from diffusers import UNet3DConditionModel
        from transformers import CLIPTextModel, CLIPTokenizer

        path = Path(model) if model is not None else default_model_dir()
        if not path.exists():
            repo = hub_id(model) if model is not None else None
            if repo is None:
                raise WeightsError(f"no model at {path} (a folder with model_index.json, unet/, vae/, text_encoder/, "
                                   "tokenizer/, scheduler/, or a hub id like org/name)")
            path = from_hub(repo, local_files_only, allow_patterns=["model_index.json", "unet/*", "vae/*",
                                                                    "text_encoder/*", "tokenizer/*", "scheduler/*"])
        if not (path / "model_index.json").is_file():
            raise WeightsError(f"{path} has no model_index.json: not a diffusers text-to-video model folder")
        kw = {"torch_dtype": torch_dtype} if torch_dtype is not None else {}
        index = json.loads((path / "model_index.json").read_text())
        try:
            with quiet_loading():
                # diffusers warns of the caption projections as unused weights; _restore_temporal_text loads them
                with _diffusers_errors_only() if index.get("vidgen_temporal_text") else contextlib.nullcontext():
                    unet = UNet3DConditionModel.from_pretrained(path / "unet", **kw)
                vae = vae_class(path / "vae").from_pretrained(path / "vae", **kw)
                text_encoder = CLIPTextModel.from_pretrained(path / "text_encoder", **kw)
                tokenizer = CLIPTokenizer.from_pretrained(path / "tokenizer")
        except (OSError, ValueError) as e:
            raise WeightsError(f"{path}: {str(e).splitlines()[0]}") from None
        scheduler = _scheduler_from_folder(path / "scheduler")
        if index.get("vidgen_temporal_text"):
            _restore_temporal_text(unet, path / "unet", index["vidgen_temporal_text"])
        elif index.get("vidgen_frame_positions"):
            from ..models.t2v import add_frame_positions

            add_frame_positions(unet)
        guide = None
        if index.get("guide"):
            from ..models.t2v_guide import LatentAttributeClassifier

            try:
                # float32 whatever torch_dtype says: it is small, and its gradient steers the latents
                guide = LatentAttributeClassifier.from_pretrained(path / "guide").eval()
            except (OSError, ValueError) as e:
                raise WeightsError(f"{path / 'guide'}: {str(e).splitlines()[0]}") from None
        scale = index.get("vidgen_guidance_scale", DEFAULT_GUIDANCE)
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or scale < 0:
            raise WeightsError(f"{path / 'model_index.json'}: vidgen_guidance_scale must be a number >= 0, "
                               f"not {scale!r}")
        return cls(unet.eval(), vae.eval(), text_encoder.eval(), tokenizer, scheduler, guide, float(scale))

    def save_pretrained(self, path: str | os.PathLike) -> None:
        """Write the diffusers layout: model_index.json and one folder per component."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        for name in ("unet", "vae", "text_encoder", "tokenizer", "scheduler"):
            getattr(self, name).save_pretrained(path / name)
        index = {"_class_name": "TextToVideoSDPipeline", "_diffusers_version": "0.42.1",
                 "unet": ["diffusers", "UNet3DConditionModel"], "vae": [type(self.vae).__module__.split(".")[0], type(self.vae).__name__],
                 "text_encoder": ["transformers", "CLIPTextModel"], "tokenizer": ["transformers", "CLIPTokenizer"],
                 "scheduler": ["diffusers", type(self.scheduler).__name__]}
        if getattr(self.unet, "vidgen_frame_positions", False):
            index["vidgen_frame_positions"] = True  # vidgen.models.t2v.add_frame_positions, applied on load
        if getattr(self.unet, "vidgen_temporal_text", False):
            # vidgen.models.t2v.add_temporal_text, restored on load: True, "frames" (frame-wise projections)
            # or "spacetime" (SpaceTimeText fields)
            index["vidgen_temporal_text"] = self.unet.vidgen_temporal_text
        if self.guidance_scale != DEFAULT_GUIDANCE:
            index["vidgen_guidance_scale"] = self.guidance_scale
        if self.guide is not None:
            self.guide.save_pretrained(path / "guide")
            index["guide"] = ["vidgen", type(self.guide).__name__]
        (path / "model_index.json").write_text(json.dumps(index, indent=2))

    # -- memory and speed features ---------------------------------------------------------------
    def load_lora(self, path: str | os.PathLike, scale: float = 1.0) -> int:
        """Merge a U-Net LoRA (``vidgen train lora`` or diffusers layout) at ``scale``; returns layers changed."""
        from ..models.unet_lora import merge_lora

        return merge_lora(self.unet, path, scale)

    def to(self, device: str | torch.device) -> TextToVideoPipeline:
        self.device = torch.device(device)
        for m in (self.unet, self.vae, self.text_encoder, self.guide):
            if m is not None:
                m.to(self.device)
        return self

    def set_scheduler(self, name: str) -> None:
        self.scheduler = make_scheduler(name, self.scheduler.config)

    def set_attention(self, backend: str = "auto", q_chunk: int = 1024, k_chunk: int = 4096) -> None:
        """Attention backend for the U-Net and VAE: auto, xformers, sdpa, chunked (see vidgen.attention)."""
        set_attention_backend(self.unet, backend, q_chunk, k_chunk)
        set_attention_backend(self.vae, backend, q_chunk, k_chunk)

    def enable_vae_slicing(self) -> None:
        """Decode latents a frame at a time (diffusers 0.42 moved this to the VAE itself)."""
        self.vae.enable_slicing()

    def enable_vae_tiling(self) -> None:
        """Decode each frame in overlapping tiles: bounded memory for large frames."""
        self.vae.enable_tiling()

    def enable_forward_chunking(self, chunk_size: int = 1) -> None:
        """Run the U-Net's feed-forward layers a chunk of tokens at a time."""
        self.unet.enable_forward_chunking(chunk_size=chunk_size, dim=1)

    def enable_cpu_offload(self, device: str = "cuda") -> None:
        """Keep the weights in CPU memory and move each model to ``device`` only while it runs
        (accelerate's offload hooks), for GPUs with little memory. Needs CUDA."""
        if not torch.cuda.is_available():
            raise OptionError("CPU offload moves models onto a GPU as they run; this machine has no CUDA device")
        from accelerate import cpu_offload

        for m in (self.text_encoder, self.unet, self.vae):
            cpu_offload(m, execution_device=torch.device(device))
        if self.guide is not None:
            self.guide.to(device)  # a few MB: not worth offloading
        self.device = torch.device(device)

    # -- the steps of __call__ -------------------------------------------------------------------
    def check_inputs(self, prompt, num_frames: int, height: int, width: int, num_inference_steps: int,
                     guidance_scale: float, classifier_scale: float | None = None,
                     candidates: int | None = None, callback_tensor_inputs: Sequence[str] = ()) -> None:
        if not isinstance(prompt, (str, list)) or not prompt:
            raise OptionError("the prompt must be a non-empty string")
        m = self.vae_scale_factor
        if height % m or width % m or height < m or width < m:
            raise OptionError(f"--size must be a positive multiple of {m} for this model, not {width}x{height}")
        if not 1 <= num_frames <= 256:
            raise OptionError(f"--frames must be between 1 and 256, not {num_frames}")
        if not 1 <= num_inference_steps <= 1000:
            raise OptionError(f"--steps must be between 1 and 1000, not {num_inference_steps}")
        if guidance_scale < 0:
            raise OptionError(f"--guidance must be 0 or more, not {guidance_scale}")
        if classifier_scale is not None and classifier_scale < 0:
            raise OptionError(f"--classifier-guidance must be 0 or more, not {classifier_scale}")
        if candidates is not None and not 1 <= candidates <= 64:
            raise OptionError(f"--candidates must be between 1 and 64, not {candidates}")
        unknown = [k for k in callback_tensor_inputs if k not in self.callback_tensor_inputs]
        if unknown:
            raise OptionError(f"callback_on_step_end_tensor_inputs: {unknown} not among {self.callback_tensor_inputs}")

    def encode_prompt(self, prompts: list[str], negative: list[str] | None) -> torch.Tensor:
        """Text embeddings ``(B, L, D)``; with ``negative``, the unconditional half comes first."""
        texts = (negative + prompts) if negative is not None else prompts
        tok = self.tokenizer(texts, padding="max_length", max_length=self.tokenizer.model_max_length,
                             truncation=True, return_tensors="pt")
        emb = self.text_encoder(tok.input_ids.to(self.device))[0]
        return emb

    callback_tensor_inputs = ("latents", "noise_pred", "pred_clean")

    def latents_shape(self, batch: int, num_frames: int, height: int, width: int) -> tuple[int, ...]:
        return (batch, self.unet.config.in_channels, num_frames, height // self.vae_scale_factor,
                width // self.vae_scale_factor)

    def prepare_latents(self, batch: int, num_frames: int, height: int, width: int,
                        generator: torch.Generator) -> torch.Tensor:
        shape = self.latents_shape(batch, num_frames, height, width)
        latents = torch.randn(shape, generator=generator, dtype=torch.float32)
        return (latents * self.scheduler.init_noise_sigma).to(self.device, self.unet.dtype)

    def decode_latents(self, latents: torch.Tensor, text: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, C, T, h, w)`` latents -> ``(B, 3, T, H, W)`` frames in [0, 1]. ``text``: the prompts'
        embeddings ``(B, L, D)``, for a VAE whose decoder reads the caption (ShapeVAE ``text_dim``)."""
        b, c, t, h, w = latents.shape
        flat = (latents / self.vae.config.scaling_factor).permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)
        reads = text is not None and getattr(self.vae.config, "text_dim", 0)  # other VAEs take no caption
        caption = {"text_embeds": text.repeat_interleave(t, 0).to(self.vae.dtype)} if reads else {}
        images = self.vae.decode(flat.to(self.vae.dtype), **caption).sample.float()
        frames = images.reshape(b, t, 3, images.shape[-2], images.shape[-1]).permute(0, 2, 1, 3, 4)
        return ((frames + 1) / 2).clamp(0, 1).cpu()

    def guide_settings(self, prompts: list[str], classifier_scale: float | None = None,
                       candidates: int | None = None) -> tuple[list[dict], float, int]:
        """Each prompt's labels for the guide, the guidance scale and the candidates per prompt to use
        (None: the guide's own defaults). No guide, or prompts naming nothing it knows: no guidance,
        one candidate (nothing to choose by)."""
        labels = [self.guide.labels_of(p) for p in prompts] if self.guide is not None else []
        if not any(labels):
            return labels, 0.0, 1
        scale = self.guide.config.default_scale if classifier_scale is None else classifier_scale
        return labels, scale, (self.guide.config.candidates if candidates is None else candidates)

    def classifier_guided(self, noise: torch.Tensor, latents: torch.Tensor, t, labels: list[dict],
                          scale: float) -> torch.Tensor:
        """The denoiser's output moved along the gradient of log p(labels | latents at t): for epsilon
        prediction eps - scale * sqrt(1 - alpha_bar_t) * grad (classifier guidance); a v prediction moves
        by the same shift of eps over sqrt(alpha_bar_t), since v = (eps - sqrt(1 - alpha_bar) x_t) / sqrt(alpha_bar)
        at fixed x_t."""
        alpha_bar = float(self.scheduler.alphas_cumprod[int(t)])
        with torch.enable_grad():
            x = latents.detach().float().requires_grad_(True)
            ts = torch.full((x.shape[0],), int(t), device=x.device)
            grad, = torch.autograd.grad(self.guide.log_prob(x, ts, labels).sum(), x)
        shift = scale * (1 - alpha_bar) ** 0.5 * grad.to(noise.dtype)
        if self.scheduler.config.prediction_type == "v_prediction":
            shift = shift / alpha_bar ** 0.5
        return noise - shift

    def predicted_clean(self, latents: torch.Tensor, model_output: torch.Tensor, t) -> torch.Tensor:
        """The clean latents the denoiser's output at timestep ``t`` points to (the scheduler's
        ``pred_original_sample``): ``latents`` and ``model_output`` are ``(B, C, T, h, w)``, so is the result.

            x0 = pipe.predicted_clean(latents, noise_pred, t)   # epsilon: (x_t - sqrt(1 - abar) eps) / sqrt(abar)
        """
        from ..models.t2v import clean_latents

        return clean_latents(latents, model_output, float(self.scheduler.alphas_cumprod[int(t)]),
                             self.scheduler.config.prediction_type)

    @torch.no_grad()
    def pick_candidates(self, latents: torch.Tensor, t, labels: list[dict], n: int) -> torch.Tensor:
        """Indices of the best of each prompt's ``n`` consecutive candidates by log p(labels | latents at t)."""
        ts = torch.full((latents.shape[0],), int(t), device=latents.device)
        score = self.guide.log_prob(latents.float(), ts, labels).view(-1, n)
        return score.argmax(1).cpu() + torch.arange(score.shape[0]) * n

    def _select_scheduler_state(self, keep: torch.Tensor) -> None:
        """Multistep schedulers (DPM-Solver) remember earlier outputs of the whole batch: keep those rows."""
        outputs = getattr(self.scheduler, "model_outputs", None)
        if outputs is not None:
            self.scheduler.model_outputs = [o[keep.to(o.device)] if torch.is_tensor(o) else o for o in outputs]

    @torch.no_grad()
    def __call__(self, prompt: str | list[str], negative_prompt: str | list[str] | None = None, num_frames: int = 16,
                 height: int | None = None, width: int | None = None, num_inference_steps: int = 25,
                 guidance_scale: float | None = None, seed: int | None = None, generator: torch.Generator | None = None,
                 progress: bool = False, classifier_scale: float | None = None,
                 candidates: int | None = None, latents: torch.Tensor | None = None,
                 callback_on_step_end: Callable[[TextToVideoPipeline, int, torch.Tensor, dict], dict] | None = None,
                 callback_on_step_end_tensor_inputs: Sequence[str] = ("latents",)) -> TextToVideoOutput:
        """``guidance_scale``: classifier-free guidance (None = the model's own, :attr:`guidance_scale`;
        1 = off). ``classifier_scale``: strength of the classifier guidance toward the attributes the prompt
        names (models with a ``guide/``; None = the model's own default, 0 = off). ``candidates``:
        start this many videos per prompt and finish the one the guide reads best once the noise is
        down to its ``select_timestep``, on the clean latents the denoiser predicts there (None = the
        model's default; 1 = off).

        As in diffusers: ``latents`` are the starting noise ``(B * candidates, C, T, h, w)`` (instead of
        drawing it from the seed); ``callback_on_step_end(pipe, i, t, kwargs)`` runs after step ``i``
        with ``kwargs`` holding the tensors named in ``callback_on_step_end_tensor_inputs`` (any of
        :attr:`callback_tensor_inputs`: ``latents`` after the step, ``noise_pred`` the guided noise the
        step used, ``pred_clean`` the clean latents the denoiser predicted before it, from the
        classifier-free-guided noise) and may return ``{"latents": ...}`` to replace them."""
        from ..progress import progress_bar

        size = self.unet.config.sample_size * self.vae_scale_factor
        height, width = height or size, width or size
        if guidance_scale is None:
            guidance_scale = self.guidance_scale
        # 1. check inputs
        self.check_inputs(prompt, num_frames, height, width, num_inference_steps, guidance_scale, classifier_scale,
                          candidates, callback_on_step_end_tensor_inputs)
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        labels, scale, n_cand = self.guide_settings(prompts, classifier_scale, candidates)
        # 2. encode the prompt (and the negative prompt, for classifier-free guidance)
        do_cfg = guidance_scale > 1.0
        negative = None
        if do_cfg:
            negative = [negative_prompt or ""] * len(prompts) if not isinstance(negative_prompt, list) else negative_prompt
        text = self.encode_prompt(prompts, negative)
        # 3. timesteps
        self.scheduler.set_timesteps(num_inference_steps, device=self.device)
        # 4. initial noise: same seed, same video; with candidates, several per prompt (prompt-major)
        if generator is None:
            generator = torch.Generator().manual_seed(0 if seed is None else seed)
        shape = self.latents_shape(len(prompts) * n_cand, num_frames, height, width)
        if latents is None:
            latents = self.prepare_latents(len(prompts) * n_cand, num_frames, height, width, generator)
        elif tuple(latents.shape) != shape:
            raise OptionError(f"latents must be {shape} for these prompts, candidates, frames and size, not "
                              f"{tuple(latents.shape)}")
        else:
            latents = latents.to(self.device, self.unet.dtype)
        batch_text, batch_labels = text, labels
        if n_cand > 1:
            halves = text.chunk(2) if do_cfg else (text,)
            batch_text = torch.cat([h.repeat_interleave(n_cand, 0) for h in halves])
            batch_labels = [lab for lab in labels for _ in range(n_cand)]
        select_at = self.guide.config.select_timestep if self.guide is not None else 0
        # 5. denoising loop
        with progress_bar(num_inference_steps, "generate", enabled=progress, unit="step") as bar:
            for i, t in enumerate(self.scheduler.timesteps):
                inp = torch.cat([latents] * 2) if do_cfg else latents
                inp = self.scheduler.scale_model_input(inp, t)
                noise = self.unet(inp, t, encoder_hidden_states=batch_text).sample
                if do_cfg:
                    uncond, cond = noise.chunk(2)
                    noise = uncond + guidance_scale * (cond - uncond)
                if n_cand > 1 and int(t) <= select_at:
                    # keep each prompt's candidate the guide reads best; finish only those. It reads the clean
                    # latents the denoiser predicts, not the noisy ones: its own gradient has already moved
                    # every noisy candidate toward the wanted label, so those all look right to it.
                    keep = self.pick_candidates(self.predicted_clean(latents, noise, t), 0, batch_labels, n_cand)
                    latents, noise, batch_text, batch_labels, n_cand = latents[keep], noise[keep], text, labels, 1
                    self._select_scheduler_state(keep)
                pred_clean = self.predicted_clean(latents, noise, t) \
                    if "pred_clean" in callback_on_step_end_tensor_inputs and callback_on_step_end else None
                if scale > 0:
                    noise = self.classifier_guided(noise, latents, t, batch_labels, scale)
                latents = self.scheduler.step(noise, t, latents).prev_sample
                if callback_on_step_end is not None:
                    named = {"latents": latents, "noise_pred": noise, "pred_clean": pred_clean}
                    out = callback_on_step_end(self, i, t, {k: named[k] for k in callback_on_step_end_tensor_inputs})
                    latents = (out or {}).get("latents", latents)
                bar.update(1)
        if n_cand > 1:  # fewer steps than reach the selection timestep: choose at the end
            latents = latents[self.pick_candidates(latents, 0, batch_labels, n_cand)]
        # 6. decode (a decoder that reads the caption gets the prompts', not the negative ones)
        return TextToVideoOutput(self.decode_latents(latents, text.chunk(2)[1] if do_cfg else text))
