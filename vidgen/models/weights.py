"""Saving and loading vidgen's own models: safetensors, with the config and a format tag in the metadata."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, fields
from pathlib import Path
from typing import TypeVar

import torch
import torch.nn as nn

from ..errors import WeightsError

M = TypeVar("M", bound=nn.Module)


def save_model(model: nn.Module, path: str | os.PathLike, fmt: str, extra: dict[str, str] | None = None) -> None:
    """Write ``model``'s weights and its ``model.config`` dataclass to a safetensors file."""
    from safetensors.torch import save_file

    meta = {"format": fmt, "config": json.dumps(asdict(model.config))}
    meta.update(extra or {})
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(path), metadata=meta)


def read_safetensors(path: str | os.PathLike, what: str = "weights file") -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The tensors and metadata of a safetensors file; a missing or unreadable file is a
    :class:`WeightsError` naming ``what`` it should have been."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"no {what} at {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = dict(f.metadata() or {})
            state = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises its own error types for a bad header
        raise WeightsError(f"{path} is not a readable safetensors {what}: {e}") from None
    return state, meta


def load_model(cls: type[M], config_cls, path: str | os.PathLike, fmt: str) -> M:
    """Build ``cls(config)`` from a file written by :func:`save_model`, checking every key and shape."""
    path = Path(path)
    state, meta = read_safetensors(path)
    if meta.get("format") != fmt:
        raise WeightsError(f"{path} holds {meta.get('format')!r} weights, not {fmt!r}")
    raw = json.loads(meta["config"])
    kwargs = {}
    for f in fields(config_cls):
        if f.name in raw:
            v = raw[f.name]
            kwargs[f.name] = tuple(v) if isinstance(v, list) else v
    model = cls(config_cls(**kwargs))
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(expected) & set(state) if expected[k].shape != state[k].shape)
    if missing or unexpected or wrong:
        raise WeightsError(f"{path} does not match {cls.__name__}: missing {missing[:3]}, unexpected {unexpected[:3]}, "
                           f"wrong shape {wrong[:3]}")
    model.load_state_dict(state)
    return model.eval()


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def describe(model: nn.Module) -> str:
    """``ClassName(1.23 M parameters)``, for logs."""
    return f"{type(model).__name__}({_count(model) / 1e6:.2f} M parameters)"


