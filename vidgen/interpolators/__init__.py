"""Frame interpolation methods: each has ``prepare(frame0, frame1)`` and ``interpolate(state, t)``."""

from __future__ import annotations

from pathlib import Path

from ..errors import OptionError

MODEL_CHOICES = "classical, learned, rife:PATH/flownet.pkl"


def make_interpolator(spec: str = "classical", *, flow_max_side: int | None = None, adapter: str | None = None,
                      device: str = "auto", precision: str = "auto", preset: str = "balanced"):
    """Build the interpolator a ``--model`` value names (``flow_max_side=None``: the preset's or model's
    default; ``preset``: fast, balanced or best, the classical method's speed/quality settings).

    ``classical`` (DIS flow, no weights, on the CPU), ``learned`` (the weights vidgen ships, optionally
    with a fine-tuned ``adapter``), or ``rife:PATH`` (a Practical-RIFE v4.6/v4.25 ``flownet.pkl``);
    the networks run on ``device`` in ``precision`` (see :func:`vidgen.devices.choose`).
    """
    if adapter is not None and spec != "learned":
        raise OptionError("--adapter applies to --model learned")
    flow = {} if flow_max_side is None else {"flow_max_side": flow_max_side}  # else each model's own default
    if spec == "classical":
        from .classical import ClassicalConfig, ClassicalInterpolator

        if device not in ("auto", "cpu") or precision not in ("auto", "fp32"):
            raise OptionError("--model classical runs on the CPU in fp32 (OpenCV); --device and --precision are "
                              "for learned and rife:PATH")
        return ClassicalInterpolator(ClassicalConfig.preset(preset, **flow))
    if spec == "learned":
        from .learned import LearnedInterpolator

        return LearnedInterpolator.from_pretrained(adapter=adapter, device=device, precision=precision, **flow)
    if spec.startswith("rife:"):
        from .rife import RIFEInterpolator

        if flow_max_side is not None:
            raise OptionError("--flow-max-side is for classical and learned: RIFE estimates its own flow (at half "
                              "size above 2560 px)")
        return RIFEInterpolator.from_checkpoint(Path(spec[len("rife:"):]).expanduser(), device=device,
                                                precision=precision)
    raise OptionError(f"unknown --model '{spec}': choose one of {MODEL_CHOICES}")
