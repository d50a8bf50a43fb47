"""Saving and loading vidgen's own models: safetensors, with the config and a format tag in the metadata."""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Callable, Sequence
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


def read_pickled_state_dict(path: str | os.PathLike,
                            prefer: tuple[str, ...] = ("params_ema", "params", "state_dict")) -> dict[str, torch.Tensor]:
    """A third-party ``.pth``/``.pkl`` checkpoint's state dict, unpickled with ``weights_only=True`` (a
    pickle that would run code is refused). The first of ``prefer`` that holds a dict is taken (EMA
    weights first); a DDP ``module.`` prefix is stripped."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"no checkpoint at {path}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise WeightsError(f"{path} holds more than tensors (it would run code when unpickled), so it is "
                           f"refused: {str(e).splitlines()[0]}") from None
    except (RuntimeError, EOFError, OSError) as e:
        raise WeightsError(f"{path} is not a readable PyTorch checkpoint: {str(e).splitlines()[0]}") from None
    if isinstance(obj, dict):
        for key in prefer:
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(f"{path} is not a state dict of tensors")
    return {k.removeprefix("module."): v for k, v in obj.items()}


def layout_differences(expected: dict[str, torch.Size], found: dict[str, torch.Tensor]) -> list[str]:
    """How ``found`` differs from the keys and shapes a network expects (empty: it fits exactly)."""
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    shapes = sorted(k for k in set(expected) & set(found) if tuple(found[k].shape) != tuple(expected[k]))
    out = []
    if missing:
        out.append(f"{len(missing)} missing (e.g. {', '.join(missing[:3])})")
    if unexpected:
        out.append(f"{len(unexpected)} unexpected (e.g. {', '.join(unexpected[:3])})")
    for k in shapes[:3]:
        out.append(f"{k} is {tuple(found[k].shape)}, expected {tuple(expected[k])}")
    return out


def load_known_layout(path: str | os.PathLike, layouts: Sequence[tuple[str, Callable[[], nn.Module]]],
                      family: str, detail: int = 3) -> tuple[nn.Module, int]:
    """Load a third-party checkpoint into the first of ``layouts`` (name, builder) whose every key and
    shape it matches; returns the network (eval mode) and that layout's index. None matching is a
    :class:`WeightsError` that says, per layout, what differs."""
    state = read_pickled_state_dict(path)
    report = []
    for i, (name, build) in enumerate(layouts):
        with torch.device("meta"):
            expected = {k: v.shape for k, v in build().state_dict().items()}
        diff = layout_differences(expected, state)
        if not diff:
            net = build()
            net.load_state_dict(state, strict=True)
            return net.eval(), i
        report.append(f"{name}: " + "; ".join(diff[:detail]))
    raise WeightsError(f"{path} matches no supported {family} layout: " + " | ".join(report))
