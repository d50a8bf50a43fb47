"""A guide classifier for vidgen's small text-to-video model.

Why: the caption's direction word explains about 0.5% of the latent variance of the procedural clips
(colour about 4%; benchmarks/RESULTS.md, session 11), so the denoiser's epsilon loss all but ignores
it: at high noise knowing the direction barely moves the mean clip, at lower noise the clip shows its
own motion. A classifier of noisy latents gets the full signal of a cross-entropy instead.
:class:`LatentAttributeClassifier` reads a noisy latent clip and its timestep and names its colour,
shape and direction. ``TextToVideoPipeline`` uses it twice: the gradient of the prompt's labels'
log-probability steers each step (Dhariwal & Nichol's classifier guidance, written for epsilon
prediction), and of several starts per prompt it keeps the one the classifier reads best.

The labels a prompt names come from its words (:meth:`LatentAttributeClassifier.labels_of`); an
attribute the prompt does not name, or that the config's ``guided`` leaves out, is not used.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn


def _timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    half = dim // 2
    freq = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    arg = t.float()[:, None] * freq[None]
    return torch.cat([torch.sin(arg), torch.cos(arg)], 1)


class _Block(nn.Module):
    """Norm, SiLU, timestep scale/shift, 3x3x3 conv; residual."""

    def __init__(self, c_in: int, c_out: int, temb: int, stride: tuple[int, int, int] = (1, 1, 1)):
        super().__init__()
        self.norm = nn.GroupNorm(8, c_in)
        self.film = nn.Linear(temb, 2 * c_in)
        self.conv = nn.Conv3d(c_in, c_out, 3, stride, 1)
        self.skip = nn.Conv3d(c_in, c_out, 1, stride) if (c_in != c_out or stride != (1, 1, 1)) else nn.Identity()

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        scale, shift = self.film(temb)[:, :, None, None, None].chunk(2, 1)
        h = F.silu(self.norm(x) * (1 + scale) + shift)
        return self.skip(x) + self.conv(h)


class LatentAttributeClassifier(ModelMixin, ConfigMixin):
    """``forward(latents (B, C, T, h, w), timesteps (B,))`` -> ``{attribute: logits (B, n_labels)}``.

    ``attributes`` maps each attribute to its label words, e.g. ``{"color": ["red", ...], ...}``;
    ``guided`` names the attributes sampling steers (None = all), ``default_scale`` the guidance
    strength the pipeline uses when none is given, ``candidates`` how many videos per prompt the
    pipeline starts by default, of which it finishes the one this classifier reads best at
    ``select_timestep`` (read on the clean latents the denoiser predicts there, at timestep 0).
    """

    @register_to_config
    def __init__(self, attributes: dict | None = None, in_channels: int = 4, width: int = 32, temb_dim: int = 128,
                 default_scale: float = 0.0, guided: list | None = None, candidates: int = 1,
                 select_timestep: int = 400):
        super().__init__()
        attributes = attributes or {}
        self.temb = nn.Sequential(nn.Linear(64, temb_dim), nn.SiLU(), nn.Linear(temb_dim, temb_dim))
        # three coordinate channels (frame, row, column in [-1, 1]): where the object is in which frame
        # is what its direction is, and the convolutions alone cannot see absolute positions
        self.head = nn.Conv3d(in_channels + 3, width, 3, 1, 1)
        self.blocks = nn.ModuleList([
            _Block(width, width, temb_dim), _Block(width, 2 * width, temb_dim, (1, 2, 2)),
            _Block(2 * width, 2 * width, temb_dim), _Block(2 * width, 2 * width, temb_dim)])
        self.out_norm = nn.GroupNorm(8, 2 * width)
        # mean and max over frames and positions: the object covers a few of the latent cells
        self.heads = nn.ModuleDict({k: nn.Linear(4 * width, len(v)) for k, v in attributes.items()})

    def forward(self, latents: torch.Tensor, timesteps: torch.Tensor) -> dict[str, torch.Tensor]:
        b, _, t, h, w = latents.shape
        temb = self.temb(_timestep_embedding(timesteps.to(latents.device).reshape(-1).expand(b), 64))
        axes = [torch.linspace(-1, 1, n, device=latents.device, dtype=latents.dtype) for n in (t, h, w)]
        coords = torch.stack(torch.meshgrid(*axes, indexing="ij"))[None].expand(b, 3, t, h, w)
        x = self.head(torch.cat([latents, coords], 1))
        for block in self.blocks:
            x = block(x, temb)
        x = F.silu(self.out_norm(x))
        pooled = torch.cat([x.mean((2, 3, 4)), x.amax((2, 3, 4))], 1)
        return {k: head(pooled) for k, head in self.heads.items()}

    def labels_of(self, prompt: str) -> dict[str, int]:
        """The label index of each attribute the prompt names (its last such word), e.g.
        ``{"color": 0, "direction": 1}`` for "a red thing moving right"."""
        words = prompt.lower().replace(",", " ").split()
        found = {}
        guided = self.config.guided
        for attr, names in self.config.attributes.items():
            if guided is not None and attr not in guided:
                continue
            hits = [names.index(w) for w in words if w in names]
            if hits:
                found[attr] = hits[-1]
        return found

    def log_prob(self, latents: torch.Tensor, timesteps: torch.Tensor, labels: list[dict[str, int]]) -> torch.Tensor:
        """Sum over the named attributes of log p(label | noisy latents), one value per clip."""
        logits = self(latents, timesteps)
        total = latents.new_zeros(latents.shape[0])
        for i, wanted in enumerate(labels):
            for attr in sorted(wanted):  # a fixed order: the saved config sorts its keys
                total[i] = total[i] + F.log_softmax(logits[attr][i], -1)[wanted[attr]]
        return total
