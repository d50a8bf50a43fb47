"""Making fine-tuning adapters for the refiner: LoRA through peft, or a full-weight delta.

The file format, and applying an adapter at inference, are in :mod:`vidgen.models.adapters`.
"""

from __future__ import annotations

import json
import os

import torch
import torch.nn as nn

from ..errors import WeightsError
from ..models.adapters import FORMAT, weights_hash


def conv_targets(model: nn.Module) -> list[str]:
    return [name for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]


def add_lora(model: nn.Module, rank: int, alpha: float | None = None) -> nn.Module:
    """Wrap every convolution in a rank-``rank`` LoRA; only the LoRA weights stay trainable."""
    from peft import LoraConfig, inject_adapter_in_model

    cfg = LoraConfig(r=rank, lora_alpha=alpha or rank, target_modules=conv_targets(model), lora_dropout=0.0)
    model = inject_adapter_in_model(cfg, model)
    for name, p in model.named_parameters():
        p.requires_grad = "lora_" in name
    model._vidgen_lora = {"rank": rank, "alpha": alpha or rank, "targets": cfg.target_modules}  # type: ignore[attr-defined]
    return model


def save_adapter(model: nn.Module, path: str | os.PathLike, base_state: dict[str, torch.Tensor] | None,
                 record: dict[str, str] | None = None) -> None:
    """Write ``model``'s adapter: its LoRA weights if it has them, else its delta from ``base_state``."""
    from safetensors.torch import save_file

    if base_state is None:
        raise WeightsError("an adapter needs the base weights it was fine-tuned from")
    meta = {"format": FORMAT, "base_hash": weights_hash(base_state), **(record or {})}
    lora = getattr(model, "_vidgen_lora", None)
    if lora is not None:
        from peft import get_peft_model_state_dict

        tensors = get_peft_model_state_dict(model)
        meta.update(kind="lora", rank=str(lora["rank"]), alpha=str(lora["alpha"]),
                    targets=json.dumps(sorted(lora["targets"])))
    else:
        state = model.state_dict()
        tensors = {k: (state[k] - base_state[k]).contiguous() for k in base_state}
        meta["kind"] = "delta"
    save_file({k: v.detach().contiguous() for k, v in tensors.items()}, str(path), metadata=meta)
