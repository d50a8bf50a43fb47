"""LoRA adapters on a 3D U-Net's attention projections: choose, add (peft), save, load and merge.

File layout (safetensors), the one diffusers' ``load_lora_weights`` reads:

- tensors ``unet.<module>.lora_A.weight`` ``(rank, in)`` and ``unet.<module>.lora_B.weight``
  ``(out, rank)`` for every adapted ``nn.Linear`` (``to_q``, ``to_k``, ``to_v``, ``to_out.0``);
- metadata ``lora_adapter_metadata``: the peft ``LoraConfig`` with keys prefixed ``unet.``
  (diffusers reads rank and alpha from it), and ``vidgen``: rank, alpha, targets, caption, steps.

Loading merges ``scale * alpha / rank * B @ A`` into the base weights, so generation costs the same
as without an adapter.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
import torch.nn as nn

from ..errors import WeightsError

PROJECTIONS = ("to_q", "to_k", "to_v", "to_out.0")


def is_temporal(name: str) -> bool:
    """Temporal attention in diffusers' UNet3DConditionModel: ``temp_attentions`` and ``transformer_in``."""
    return ".temp_attentions." in f".{name}" or name.startswith("transformer_in.")


def cross_attention_kv(unet: nn.Module) -> set[str]:
    """Names of the key and value projections of the attention layers that read the text."""
    return {f"{name}.{p}" for name, m in unet.named_modules()
            if getattr(m, "is_cross_attention", False) for p in ("to_k", "to_v")}


def lora_targets(unet: nn.Module, targets: tuple[str, ...] = ("spatial", "temporal")) -> list[str]:
    """Names of the attention projections (``nn.Linear``) to adapt.

    ``spatial`` and ``temporal``: every projection of those attention layers. ``cross``: only the
    key and value projections of the cross-attention (the layers that map the text), as Custom
    Diffusion adapts for a new concept: the empty prompt's keys and values barely move, so the
    unconditional branch of classifier-free guidance stays the base model's.
    """
    cross = cross_attention_kv(unet) if "cross" in targets else set()
    names = []
    for name, m in unet.named_modules():
        if isinstance(m, nn.Linear) and any(name.endswith("." + p) for p in PROJECTIONS):
            if ("temporal" if is_temporal(name) else "spatial") in targets or name in cross:
                names.append(name)
    return names


def add_lora(unet: nn.Module, rank: int, alpha: float, targets: tuple[str, ...]) -> list[str]:
    """Inject peft LoRA layers (B initialised to zero, so the model starts unchanged); freeze the rest.

    Returns the adapted module names.
    """
    from peft import LoraConfig, inject_adapter_in_model

    names = lora_targets(unet, targets)
    if not names:
        raise WeightsError(f"the U-Net has no {'/'.join(targets)} attention projections to adapt")
    inject_adapter_in_model(LoraConfig(r=rank, lora_alpha=alpha, target_modules=names, lora_dropout=0.0), unet)
    for n, p in unet.named_parameters():
        p.requires_grad_("lora_" in n)
    return names


def set_adapters(unet: nn.Module, enabled: bool) -> None:
    """Switch every injected peft LoRA layer on or off (off = the base model's output)."""
    from peft.tuners.tuners_utils import BaseTunerLayer

    for m in unet.modules():
        if isinstance(m, BaseTunerLayer):
            m.enable_adapters(enabled)


def lora_state_dict(unet: nn.Module) -> dict[str, torch.Tensor]:
    """The adapter tensors in the file layout (``unet.`` prefix, no peft adapter name)."""
    from peft import get_peft_model_state_dict

    return {f"unet.{k}": v.detach().float().cpu().contiguous() for k, v in get_peft_model_state_dict(unet).items()}


def save_lora(unet: nn.Module, path: str | os.PathLike, rank: int, alpha: float, names: list[str],
              info: dict[str, str] | None = None) -> None:
    """Write the adapter to ``path`` (a temporary name first, renamed when complete)."""
    from safetensors.torch import save_file

    peft_meta = {"unet.r": rank, "unet.lora_alpha": alpha, "unet.target_modules": names, "unet.lora_dropout": 0.0,
                 "unet.bias": "none", "unet.use_dora": False, "unet.use_rslora": False}
    meta = {"format": "pt", "lora_adapter_metadata": json.dumps(peft_meta, sort_keys=True),
            "vidgen": json.dumps({"rank": rank, "alpha": alpha, **(info or {})})}
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    save_file(lora_state_dict(unet), str(tmp), metadata=meta)
    os.replace(tmp, path)


def read_lora(path: str | os.PathLike) -> tuple[dict[str, tuple[torch.Tensor, torch.Tensor]], float | None]:
    """``{module name: (A (rank, in), B (out, rank))}`` and alpha (None when the file does not say)."""
    from .weights import read_safetensors

    path = Path(path)
    tensors, meta = read_safetensors(path, "LoRA file")
    pairs: dict[str, dict[str, torch.Tensor]] = {}
    for key, t in tensors.items():
        name = key.removeprefix("unet.")
        for part in ("lora_A", "lora_B"):
            if f".{part}." in name:
                pairs.setdefault(name.split(f".{part}.")[0], {})[part] = t
                break
        else:
            raise WeightsError(f"{path}: '{key}' is not a U-Net LoRA tensor (vidgen loads U-Net LoRA only)")
    broken = [n for n, p in pairs.items() if len(p) != 2]
    if broken or not pairs:
        raise WeightsError(f"{path}: incomplete LoRA pairs ({', '.join(broken[:3]) or 'no tensors'})")
    alpha = None
    if "vidgen" in meta:
        alpha = float(json.loads(meta["vidgen"])["alpha"])
    elif "lora_adapter_metadata" in meta:
        alpha = json.loads(meta["lora_adapter_metadata"]).get("unet.lora_alpha")
    return {n: (p["lora_A"], p["lora_B"]) for n, p in pairs.items()}, alpha


@torch.no_grad()
def merge_lora(unet: nn.Module, path: str | os.PathLike, scale: float = 1.0) -> int:
    """Add ``scale * alpha / rank * B @ A`` to each adapted weight; returns how many layers changed."""
    pairs, alpha = read_lora(path)
    modules = dict(unet.named_modules())
    for name, (a, b) in pairs.items():
        m = modules.get(name)
        if not isinstance(m, nn.Linear):
            raise WeightsError(f"{path}: the U-Net has no linear layer '{name}'; the LoRA was made for another model")
        rank = a.shape[0]
        if a.shape != (rank, m.in_features) or b.shape != (m.out_features, rank):
            raise WeightsError(f"{path}: '{name}' has LoRA shapes {tuple(a.shape)}, {tuple(b.shape)}, "
                               f"the layer is {m.in_features} -> {m.out_features}")
        factor = scale * (alpha if alpha is not None else rank) / rank
        m.weight += (factor * (b.float() @ a.float())).to(m.weight.dtype)
    return len(pairs)
