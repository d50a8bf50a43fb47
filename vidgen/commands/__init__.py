"""The ``vidgen`` commands: one module each, found through :data:`COMMANDS`.

A command module has ``add(subparsers)``, which adds its parser and sets ``func`` (what runs it), and
may set ``PROBES_INPUT = True`` when its first argument is an input video (the CLI then starts
probing it while the heavy imports run). Only the module of the command given is imported, so a
command starts as fast as it did alone. Shared options are in :mod:`vidgen.commands.common`.

Adding a command: one module here and one line below.
"""

from __future__ import annotations

import importlib
from types import ModuleType

COMMANDS = {
    "interpolate": "vidgen.commands.interpolate",
    "deblur": "vidgen.commands.deblur",
    "enhance": "vidgen.commands.enhance",
    "generate": "vidgen.commands.generate",
    "animate": "vidgen.commands.animate",
    "train": "vidgen.commands.train",
    "finetune": "vidgen.commands.finetune",
    "compare": "vidgen.commands.compare",
}


def command_module(name: str) -> ModuleType:
    """The module of command ``name``; an unknown name lists the choices."""
    if name not in COMMANDS:
        raise KeyError(f"unknown command {name!r}: choose from {', '.join(COMMANDS)}")
    return importlib.import_module(COMMANDS[name])
