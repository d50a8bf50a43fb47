"""Frame interpolation methods: each has ``prepare(frame0, frame1)`` and ``interpolate(state, t)``."""

from __future__ import annotations

from pathlib import Path

from ..errors import OptionError

MODEL_CHOICES = "classical, learned, rife:PATH/flownet.pkl"


def make_interpolator(spec: str = "classical", *, flow_max_side: int | None = None, adapter: str | None = None):
    """Build the interpolator a ``--model`` value names (``flow_max_side=None``: the model's default).

    ``classical`` (DIS flow, no weights), ``learned`` (the weights vidgen ships, optionally with a
    fine-tuned ``adapter``), or ``rife:PATH`` (a Practical-RIFE v4.6/v4.25 ``flownet.pkl``).
    """
    if adapter is not None and spec != "learned":
        raise OptionError("--adapter applies to --model learned")
    flow = {} if flow_max_side is None else {"flow_max_side": flow_max_side}  # else each model's own default
    if spec == "classical":
        from .classical import ClassicalConfig, ClassicalInterpolator

        return ClassicalInterpolator(ClassicalConfig(**flow))
    if spec == "learned":
        from .learned import LearnedInterpolator

        return LearnedInterpolator.from_pretrained(adapter=adapter, **flow)
    if spec.startswith("rife:"):
        from .rife import RIFEInterpolator

        return RIFEInterpolator.from_checkpoint(Path(spec[len("rife:"):]).expanduser())
    raise OptionError(f"unknown --model '{spec}': choose one of {MODEL_CHOICES}")
