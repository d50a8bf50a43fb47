"""Fine-tuning adapters for the refiner, as inference reads them: LoRA or a full-weight delta.

An adapter file is safetensors with ``format = vidgen.adapter`` in its metadata and either
``kind = lora`` (peft LoRA weights on the convolutions, with their rank and targets) or
``kind = delta`` (fine-tuned minus base weights for every tensor). Both record a hash of the base
weights they were trained from and refuse any other base. Applying one merges it into the base
weights, so inference costs the same as without. ``vidgen.training.adapters`` writes them.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
import torch.nn as nn

from ..errors import WeightsError
from .weights import read_safetensors

FORMAT = "vidgen.adapter"


def weights_hash(state: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for k in sorted(state):
        h.update(k.encode())
        h.update(state[k].detach().float().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def apply_adapter(model: nn.Module, path: str | os.PathLike) -> nn.Module:
    """Merge an adapter file into ``model`` (in place) and return it."""
    path = Path(path)
    tensors, meta = read_safetensors(path, "adapter")
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
