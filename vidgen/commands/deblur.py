"""``vidgen deblur``: remove camera shake and motion blur. Options and running: :mod:`vidgen.commands.restore`."""

from __future__ import annotations

from .restore import add_restore

PROBES_INPUT = True  # the CLI starts probing the input while the imports run


def add(sub) -> None:
    add_restore(sub, "deblur")
