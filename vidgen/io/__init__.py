"""Video in and out: the only place frames enter or leave vidgen.

The reader and writer (numpy) load on first use, so a probe can start before numpy is imported.
"""

from __future__ import annotations

import importlib

from .probe import VideoInfo, probe

_LAZY = {"VideoReader": "reader", "read_frames": "reader", "VideoWriter": "writer", "EncodeSettings": "writer"}

__all__ = ["VideoInfo", "probe", *_LAZY]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'vidgen.io' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
