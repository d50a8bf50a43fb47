"""ShapeVAE: the small convolutional VAE of vidgen's own text-to-video model.

Why not diffusers' ``AutoencoderKL``: trained from scratch on the procedural shape videos (mostly
flat colours), it stayed at 12-14 dB reconstruction PSNR for 300 steps (L1 or MSE, with or without
its middle attention, sampled or mean latents), below the 19.2 dB of painting each frame its mean
colour; ``AutoencoderTiny`` did the same (13.2 dB at 400 steps). Its group norms flatten constant
regions, which is all these frames are. A plain conv stack without normalisation reached 23 dB in
500 steps (benchmarks/RESULTS.md has the figures). ShapeVAE is that stack, with a Gaussian posterior,
in the interface the pipeline uses (``encode(x).latent_dist``, ``decode(z).sample``,
``config.scaling_factor``, slicing and tiling) and saved as a diffusers model folder.

With ``text_dim`` > 0 the decoder also reads the caption (:class:`CaptionFiLM`): an 8x8 latent holds a
12-16 px shape in one or two latent pixels, too coarse for its corners, and a denoiser that settles the
shape early, following the latents more than the caption, often draws another (benchmarks/RESULTS.md,
session 24). A decoder that knows the caption draws that detail, as the text-conditioned
super-resolution stages of cascaded video models (Imagen Video) do.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.autoencoders.vae import DecoderOutput, DiagonalGaussianDistribution
from diffusers.models.modeling_outputs import AutoencoderKLOutput
from diffusers.models.modeling_utils import ModelMixin

from .tiling import tiled


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride, 1)


class CaptionFiLM(nn.Module):
    """Per-channel scale and shift of each decoder stage from the mean of a caption's text-encoder states.

    ``forward(text)``: ``(N, L, text_dim)`` -> one ``(N, 2 * c, 1, 1)`` per stage of ``channels``. The heads
    start at zero, so a decoder that gains one decodes exactly as before until it is trained.
    """

    def __init__(self, text_dim: int, channels: list[int], hidden: int = 128):
        super().__init__()
        self.embed = nn.Sequential(nn.Linear(text_dim, hidden), nn.SiLU())
        self.heads = nn.ModuleList(nn.Linear(hidden, 2 * c) for c in channels)
        for head in self.heads:
            nn.init.zeros_(head.weight)
            nn.init.zeros_(head.bias)

    def forward(self, text: torch.Tensor) -> list[torch.Tensor]:
        h = self.embed(text.mean(1))
        return [head(h)[:, :, None, None] for head in self.heads]


class ShapeVAE(ModelMixin, ConfigMixin):
    """Frames ``(B, 3, H, W)`` in [-1, 1] <-> latents ``(B, latent_channels, H / f, W / f)``, f = 2**(levels-1).

    Example::

        vae = ShapeVAE(block_out_channels=(32, 64, 64, 64))          # 64x64 frames -> 8x8 latents
        z = vae.encode(x).latent_dist.mode() * vae.config.scaling_factor
        x_hat = vae.decode(z / vae.config.scaling_factor).sample
        # text_dim > 0: the caption's text-encoder states (N, L, text_dim), one per latent frame
        x_hat = vae.decode(z / vae.config.scaling_factor, text_embeds=states).sample
    """

    @register_to_config
    def __init__(self, in_channels: int = 3, out_channels: int = 3, latent_channels: int = 4,
                 block_out_channels: tuple[int, ...] = (32, 64, 64, 64), scaling_factor: float = 1.0,
                 initial_log_variance: float = -6.0, text_dim: int = 0):
        super().__init__()
        ch = list(block_out_channels)
        enc: list[nn.Module] = [_conv(in_channels, ch[0]), nn.SiLU()]
        for a, b in zip(ch[:-1], ch[1:]):
            enc += [_conv(a, b, 2), nn.SiLU(), _conv(b, b), nn.SiLU()]
        enc.append(_conv(ch[-1], 2 * latent_channels))  # mean and log-variance
        self.encoder = nn.Sequential(*enc)
        dec: list[nn.Module] = [_conv(latent_channels, ch[-1]), nn.SiLU()]
        for a, b in zip(ch[::-1][:-1], ch[::-1][1:]):
            dec += [nn.Upsample(scale_factor=2, mode="nearest"), _conv(a, b), nn.SiLU(), _conv(b, b), nn.SiLU()]
        dec.append(_conv(ch[0], out_channels))
        self.decoder = nn.Sequential(*dec)
        # the caption modulates the output of each stage: the first conv, then each upsampling block
        self._film_after = [1] + [6 + 5 * i for i in range(len(ch) - 1)]
        self.caption_film = CaptionFiLM(text_dim, ch[::-1]) if text_dim > 0 else None
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                # variance-keeping init: with PyTorch's default (std 1/sqrt(3 fan_in)) the 16-conv
                # stack started with outputs that did not depend on the input and stayed at the
                # 10.7 dB of a black frame for 400 steps
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
        for m in (self.encoder[-1], self.decoder[-1]):
            nn.init.xavier_uniform_(m.weight)  # the outputs have no activation after them
        with torch.no_grad():
            # start with small posterior noise: unit noise on untrained latents drowns what they carry
            self.encoder[-1].bias[latent_channels:] = initial_log_variance
        self.use_slicing = False
        self.use_tiling = False

    def encode(self, x: torch.Tensor) -> AutoencoderKLOutput:
        return AutoencoderKLOutput(latent_dist=DiagonalGaussianDistribution(self.encoder(x)))

    def decode(self, z: torch.Tensor, text_embeds: torch.Tensor | None = None) -> DecoderOutput:
        """``z`` (N, C, h, w) -> frames (N, 3, H, W). ``text_embeds`` (N, L, D): the caption of each latent
        frame, read by a decoder with ``text_dim`` > 0 (None: decoded without it, as before it was trained)."""
        if text_embeds is not None and self.caption_film is None:
            text_embeds = None  # a decoder that does not read captions
        if text_embeds is not None and len(text_embeds) != len(z):
            raise ValueError(f"text_embeds holds {len(text_embeds)} captions for {len(z)} latent frames")
        if self.use_slicing and z.shape[0] > 1:
            parts = [self._decode(z[i:i + 1], None if text_embeds is None else text_embeds[i:i + 1])
                     for i in range(z.shape[0])]
            return DecoderOutput(sample=torch.cat(parts))
        return DecoderOutput(sample=self._decode(z, text_embeds))

    def _decode(self, z: torch.Tensor, text_embeds: torch.Tensor | None) -> torch.Tensor:
        films = None if text_embeds is None else self.caption_film(text_embeds.to(z.dtype))

        def run(x: torch.Tensor) -> torch.Tensor:
            for i, layer in enumerate(self.decoder):
                x = layer(x)
                if films is not None and i in self._film_after:
                    scale, shift = films[self._film_after.index(i)].chunk(2, dim=1)
                    x = x * (1 + scale) + shift
            return x

        if self.use_tiling:
            # 32x32-latent tiles: the decoder sees < 3 latents around each output, inside the 4-latent
            # margin of a 16-latent overlap, so tiles blend into the untiled result (the caption's
            # scale and shift are the same for every tile)
            f = 2 ** (len(self.config.block_out_channels) - 1)
            return tiled(run, z, scale=f, tile=32, overlap=16)
        return run(z)

    def enable_slicing(self) -> None:
        self.use_slicing = True

    def enable_tiling(self) -> None:
        self.use_tiling = True
