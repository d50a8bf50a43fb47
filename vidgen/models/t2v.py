"""Components of vidgen's own small text-to-video models, in diffusers / transformers classes.

:func:`small_components` builds a fresh, seeded set (3D U-Net, VAE, CLIP text encoder, offline
tokenizer, DDPM-trained DDIM scheduler; the VAE is vidgen's ShapeVAE, see vidgen/models/vae.py) in the shapes vidgen trains and ships; the tests use the
same function with tinier sizes.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class T2VConfig:
    """Sizes of a small text-to-video model."""

    frame_size: int = 64  # frames are frame_size x frame_size
    # VAE blocks; the latent is frame_size / 2**(blocks-1). Four blocks make 64 px frames 8x8 latents,
    # as Stable Diffusion's VAE does: on 2 CPU cores a U-Net step on 16x16 latents took 5x as long.
    vae_channels: tuple[int, ...] = (32, 64, 64, 64)
    latent_channels: int = 4
    # U-Net blocks (all but the last with cross-attention); measured 2.0 s per training step of 8 clips
    # x 16 frames on one core against 4.3 s for (64, 128, 128), which buys 2x the steps in the same time.
    unet_channels: tuple[int, ...] = (32, 64, 64)
    head_dim: int = 8  # attention channels per head (diffusers' UNet3D calls this attention_head_dim)
    norm_groups: int = 16
    text_dim: int = 64  # CLIP text encoder width = cross-attention width
    text_layers: int = 2
    text_heads: int = 4
    max_tokens: int = 16  # prompts are short: "a red circle moving left"
    # Sinusoidal frame positions in the U-Net's temporal attention (see add_frame_positions). Without
    # them the shipped model's direction accuracy stayed at chance after 3000 steps.
    frame_positions: bool = True
    # The caption in the temporal attention too (see add_temporal_text; implies frame positions).
    # diffusers' UNet3D gives the text only to its per-frame spatial cross-attention, so where a shape
    # goes from frame to frame is decided without the direction word.
    temporal_text: bool = False
    # With temporal_text: also the caption times each frame's sinusoidal position (CaptionedFramePositions'
    # frame_proj), so a word can shift each frame differently, which is what a direction asks of a frame.
    frame_text: bool = False
    # With temporal_text: a text-dependent field over space and time added to every temporal block's output
    # (SpaceTimeText), so a word can say where the object is in which frame; implies temporal_text.
    space_time_text: bool = False
    # What the U-Net predicts: "epsilon" (the noise) or "v_prediction" (sqrt(abar) eps - sqrt(1 - abar) x0,
    # Salimans & Ho 2022). At the noisiest steps, where sampling starts, epsilon asks for nearly the input
    # itself, which a U-Net without an input-to-output path learns slowly: the 16-channel runs of sessions
    # 18 and 19 predicted it worse than the latents' mean does (RESULTS.md). v asks for about -x0 there.
    prediction: str = "epsilon"


class FramePositions(nn.Module):
    """Adds the sinusoidal position of each frame to ``(batch, frames, channels)`` hidden states.

    Parameter-free and computed for any number of frames, so weights saved with or without it load
    the same and ``--frames`` is not capped.
    """

    @staticmethod
    def table(t: int, c: int, device) -> torch.Tensor:
        """``(t, c)`` float32: the sinusoidal position of each of ``t`` frames in ``c`` channels."""
        pos = torch.arange(t, device=device, dtype=torch.float32)[:, None]
        freq = torch.exp(torch.arange(0, c, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / c))
        pe = torch.zeros(t, c, device=device)
        pe[:, 0::2] = torch.sin(pos * freq)
        pe[:, 1::2] = torch.cos(pos * freq)[:, : c // 2]
        return pe

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, t, c = x.shape
        return x + self.table(t, c, x.device).to(x.dtype)


def add_frame_positions(unet: nn.Module) -> int:
    """Give every temporal transformer block of a diffusers ``UNet3DConditionModel`` frame positions.

    diffusers' UNet3D attends over frames with no positional signal: its temporal attention is
    permutation-equivariant, so only the 3-tap temporal convolutions see frame order, and "moving
    left" cannot be told from "moving right" easily. This sets the blocks' own ``pos_embed`` hook
    (diffusers' ``positional_embeddings="sinusoidal"`` option, which UNet3D does not expose) to
    :class:`FramePositions`. Returns the number of blocks changed; ``unet.vidgen_frame_positions``
    marks the model so the pipeline saves the setting in ``model_index.json``.
    """
    from diffusers.models.transformers.transformer_temporal import TransformerTemporalModel

    n = 0
    for module in unet.modules():
        if isinstance(module, TransformerTemporalModel):
            for block in module.transformer_blocks:
                block.pos_embed = FramePositions()
                block.positional_embeddings = "sinusoidal"
                n += 1
    unet.vidgen_frame_positions = True
    return n


@torch.no_grad()
def encode_clips(vae, clips: torch.Tensor) -> torch.Tensor:
    """``(B, 3, T, H, W)`` clips in [-1, 1] -> scaled VAE latents ``(B, C, T, h, w)`` (posterior means),
    the training-side counterpart of ``TextToVideoPipeline.decode_latents``."""
    b, c, t, h, w = clips.shape
    flat = clips.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w).to(vae.dtype)
    lat = vae.encode(flat).latent_dist.mode() * vae.config.scaling_factor
    return lat.reshape(b, t, *lat.shape[1:]).permute(0, 2, 1, 3, 4)


class CaptionedFramePositions(FramePositions):
    """:class:`FramePositions` plus the caption: a learned projection of the mean of the caption's token
    embeddings, added to every frame of every pixel's sequence ``(batch * h * w, frames, channels)``.

    The projection starts at zero, so a model given it computes what it did before until training
    moves it. The caption comes from ``holder["text"]``, which :func:`add_temporal_text`'s hook
    sets from the U-Net's ``encoder_hidden_states`` at every call.
    """

    def __init__(self, text_dim: int, channels: int, holder: dict, frame_wise: bool = False):
        super().__init__()
        self.proj = nn.Linear(text_dim, channels)
        # frame_wise: a second projection, multiplied by each frame's position: the caption then adds a
        # different vector to each frame (the first adds the same one to all)
        self.frame_proj = nn.Linear(text_dim, channels) if frame_wise else None
        for m in (self.proj, self.frame_proj):
            if m is not None:
                nn.init.zeros_(m.weight)
                nn.init.zeros_(m.bias)
        self._holder = holder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = super().forward(x)
        text = self._holder.get("text")
        if text is None:
            return x
        pooled = text.mean(1).to(self.proj.weight.dtype)
        per_clip = self.proj(pooled)[:, None, :]  # (batch, 1, channels)
        if self.frame_proj is not None:
            pe = self.table(x.shape[1], x.shape[2], x.device).to(per_clip.dtype)
            per_clip = per_clip + self.frame_proj(pooled)[:, None, :] * pe  # (batch, frames, channels)
        return x + per_clip.to(x.dtype).repeat_interleave(x.shape[0] // text.shape[0], dim=0)


class SpaceTimeText(nn.Module):
    """A field over a clip's latent pixels and frames that the caption sets, added to the output of a
    temporal transformer block ``(batch * h * w, frames, channels)``.

    diffusers' UNet3D tells no layer where a latent pixel is or which frame it is in together, and the
    caption reaches only the per-frame cross-attention: "moving left" has to become "the object is here
    in frame 0 and there in frame 15" through layers that see neither. Video transformers give every
    token a space-time position (Wan's and CogVideoX's 3D rotary embeddings); this gives the UNet's
    temporal blocks the same, bilinear in the caption: each hidden unit is a caption-weighted sum of
    Fourier features of (x, y, frame), so a direction word can turn the unit's response to position
    with time. The output layer starts at zero (the model computes what it did before it).
    """

    freqs = 3  # sin, cos of pi * k * v for k = 1..freqs, beside v itself, for each of x, y and frame

    def __init__(self, text_dim: int, channels: int, hidden: int = 64):
        super().__init__()
        self.n_feat = 1 + 3 * (1 + 2 * self.freqs)
        self.hidden = hidden
        self.coef = nn.Linear(text_dim, self.n_feat * hidden)
        self.out = nn.Linear(hidden, channels)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def features(self, t: int, h: int, w: int, device) -> torch.Tensor:
        """``(h * w * t, n_feat)``: a constant and Fourier features of each (y, x, frame) in [-1, 1], in the
        order of TransformerTemporalModel's rows (pixel-major, frames within)."""
        def axis(n):
            return torch.linspace(-1, 1, n, device=device) if n > 1 else torch.zeros(1, device=device)
        y, x, f = torch.meshgrid(axis(h), axis(w), axis(t), indexing="ij")
        cols = [torch.ones_like(x)]
        for v in (x, y, f):
            cols.append(v)
            for k in range(1, self.freqs + 1):
                cols += [torch.sin(math.pi * k * v), torch.cos(math.pi * k * v)]
        return torch.stack(cols, -1).reshape(h * w * t, self.n_feat)

    def forward(self, text: torch.Tensor, t: int, h: int, w: int) -> torch.Tensor:
        """``(batch * h * w, t, channels)`` for pooled captions ``text`` (batch, text_dim)."""
        b = text.shape[0]
        coef = self.coef(text).view(b, self.n_feat, self.hidden)
        feats = self.features(t, h, w, text.device).to(coef.dtype)
        units = torch.nn.functional.gelu(torch.einsum("nf,bfk->bnk", feats, coef))
        return self.out(units).reshape(b * h * w, t, -1)


def clean_latents(latents: torch.Tensor, model_output: torch.Tensor, alpha_bar, kind: str) -> torch.Tensor:
    """The clean latents a denoiser's output points to (diffusers' ``pred_original_sample``), for a
    prediction of ``kind`` ('epsilon', 'v_prediction' or 'sample') at noise level ``alpha_bar``: a float,
    or a tensor that broadcasts against ``latents`` (one level per clip in training).

        x0 = clean_latents(x_t, v, scheduler.alphas_cumprod[t].view(-1, 1, 1, 1, 1), "v_prediction")
    """
    if kind == "epsilon":
        return (latents - (1 - alpha_bar) ** 0.5 * model_output) / alpha_bar ** 0.5
    if kind == "v_prediction":
        return alpha_bar ** 0.5 * latents - (1 - alpha_bar) ** 0.5 * model_output
    if kind == "sample":
        return model_output
    raise ValueError(f"prediction_type {kind!r}: expected 'epsilon', 'v_prediction' or 'sample'")


def add_temporal_text(unet: nn.Module, text_dim: int, frame_wise: bool = False, space_time: bool = False) -> int:
    """Give every temporal transformer block of a diffusers ``UNet3DConditionModel`` frame positions
    and the caption (:class:`CaptionedFramePositions`, in the blocks' ``pos_embed`` hook that
    :func:`add_frame_positions` uses). Returns the number of blocks changed; marks the model with
    ``unet.vidgen_temporal_text`` (True, "frames" with ``frame_wise``, see :class:`CaptionedFramePositions`,
    or "spacetime" with ``space_time``: a :class:`SpaceTimeText` on each block's output, held as the
    block's ``pos_embed.space_time``) so the pipeline saves the setting and restores the projections on
    load (diffusers' own loader does not know them).
    """
    from diffusers.models.transformers.transformer_temporal import TransformerTemporalModel

    holder: dict = {}

    def keep_text(module, args, kwargs):
        holder["text"] = kwargs.get("encoder_hidden_states", args[2] if len(args) > 2 else None)

    def keep_size(module, args, kwargs):
        holder["hw"] = tuple((args[0] if args else kwargs["hidden_states"]).shape[-2:])

    def add_field(block, args, output):
        text, (h, w) = holder.get("text"), holder["hw"]
        if text is None:
            return output
        st = block.pos_embed.space_time
        field = st(text.mean(1).to(st.out.weight.dtype), output.shape[1], h, w)
        return output + field.to(output.dtype)

    n = 0
    for module in unet.modules():
        if isinstance(module, TransformerTemporalModel):
            if space_time:
                module.register_forward_pre_hook(keep_size, with_kwargs=True)
            for block in module.transformer_blocks:
                channels = block.norm1.normalized_shape[0]
                block.pos_embed = CaptionedFramePositions(text_dim, channels, holder, frame_wise)
                block.positional_embeddings = "sinusoidal"
                if space_time:
                    block.pos_embed.space_time = SpaceTimeText(text_dim, channels)
                    block.register_forward_hook(add_field)
                n += 1
    unet.register_forward_pre_hook(keep_text, with_kwargs=True)
    unet.vidgen_frame_positions = True
    unet.vidgen_temporal_text = "spacetime" if space_time else "frames" if frame_wise else True
    return n


def temporal_text_tensors(state: dict) -> dict:
    """The entries of a U-Net state dict that :func:`add_temporal_text` adds."""
    return {k: v for k, v in state.items() if ".pos_embed." in k}


def small_components(words: list[str], tokenizer_dir: str | os.PathLike, cfg: T2VConfig | None = None,
                     seed: int = 0) -> dict:
    """A fresh set of pipeline components for vocabulary ``words`` (tokenizer files go to ``tokenizer_dir``)."""
    from diffusers import DDIMScheduler, UNet3DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from .tokenizer import build_clip_tokenizer
    from .vae import ShapeVAE

    cfg = cfg or T2VConfig()
    torch.manual_seed(seed)
    tokenizer = build_clip_tokenizer(words, tokenizer_dir, max_length=cfg.max_tokens)
    n_vae = len(cfg.vae_channels)
    vae = ShapeVAE(latent_channels=cfg.latent_channels, block_out_channels=cfg.vae_channels)
    n_unet = len(cfg.unet_channels)
    unet = UNet3DConditionModel(
        sample_size=cfg.frame_size // 2 ** (n_vae - 1), in_channels=cfg.latent_channels,
        out_channels=cfg.latent_channels, block_out_channels=cfg.unet_channels, layers_per_block=1,
        down_block_types=("CrossAttnDownBlock3D",) * (n_unet - 1) + ("DownBlock3D",),
        up_block_types=("UpBlock3D",) + ("CrossAttnUpBlock3D",) * (n_unet - 1),
        attention_head_dim=cfg.head_dim, norm_num_groups=cfg.norm_groups, cross_attention_dim=cfg.text_dim)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=len(tokenizer), hidden_size=cfg.text_dim, intermediate_size=4 * cfg.text_dim,
        num_hidden_layers=cfg.text_layers, num_attention_heads=cfg.text_heads,
        max_position_embeddings=cfg.max_tokens, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id))
    if cfg.temporal_text or cfg.frame_text or cfg.space_time_text:
        add_temporal_text(unet, cfg.text_dim, cfg.frame_text, cfg.space_time_text)
    elif cfg.frame_positions:
        add_frame_positions(unet)
    scheduler = DDIMScheduler(num_train_timesteps=1000, beta_schedule="scaled_linear", beta_start=0.00085,
                              beta_end=0.012, clip_sample=False, set_alpha_to_one=False, steps_offset=1,
                              prediction_type=cfg.prediction)
    return {"unet": unet, "vae": vae, "text_encoder": text_encoder, "tokenizer": tokenizer, "scheduler": scheduler}
