"""Fine-tuning adapters for the refiner: LoRA through peft, or a full-weight delta.

An adapter file is safetensors with ``format = vidgen.adapter`` in its metadata and either
``kind = lora`` (peft LoRA weights on the convolutions, with their rank and targets) or
``kind = delta`` (fine-tuned minus base weights for every tensor). Both record a hash of the base
weights they were trained from and refuse any other base. Applying one merges it into the base
weights, so inference costs the same as without.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
import torch.nn as nn

from ..errors import WeightsError

FORMAT = "vidgen.adapter"


def weights_hash(state: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for k in sorted(state):
        h.update(k.encode())
        h.update(state[k].detach().float().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


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


def apply_adapter(model: nn.Module, path: str | os.PathLike) -> nn.Module:
    """Merge an adapter file into ``model`` (in place) and return it."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"no adapter at {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises its own error types for a bad header
        raise WeightsError(f"{path} is not a safetensors adapter: {e}") from None
    if meta.get("format") != FORMAT:
        raise WeightsError(f"{path} is not a vidgen adapter")
    base = model.state_dict()
    if meta.get("base_hash") != weights_hash(base):
        raise WeightsError(f"{path} was fine-tuned from other base weights than these")
    if meta.get("kind") == "delta":
        if set(tensors) != set(base) or any(tensors[k].shape != base[k].shape for k in base):
            raise WeightsError(f"{path} does not match the model's tensors")
        model.load_state_dict({k: base[k] + tensors[k] for k in base})
        return model
    if meta.get("kind") == "lora":
        from peft import LoraConfig, inject_adapter_in_model, set_peft_model_state_dict

        rank, alpha = int(meta["rank"]), float(meta["alpha"])
        cfg = LoraConfig(r=rank, lora_alpha=alpha, target_modules=json.loads(meta["targets"]), lora_dropout=0.0)
        model = inject_adapter_in_model(cfg, model)
        result = set_peft_model_state_dict(model, tensors)
        if getattr(result, "unexpected_keys", None):
            raise WeightsError(f"{path} has LoRA weights the model lacks: {result.unexpected_keys[:3]}")
        for m in model.modules():
            if hasattr(m, "merge") and hasattr(m, "lora_A"):
                m.merge()
        return model.eval()
    raise WeightsError(f"{path}: unknown adapter kind {meta.get('kind')!r}")
