"""Where a network runs and in which precision: one rule for every job.

    device, dtype = choose("auto", "auto")   # cuda + float16 where CUDA is, else cpu + None (fp32)

``auto`` picks the first CUDA device when torch sees one, else the CPU; precision ``auto`` is fp16 on
CUDA and fp32 on the CPU. Half precision on the CPU is refused: its convolutions are missing or slow
there (``slow_conv2d_cpu not implemented for 'Half'``).
"""

from __future__ import annotations

from .errors import OptionError

DEVICE_HELP = "cpu, cuda, cuda:1 ... (default auto: cuda if available)"
PRECISIONS = ("auto", "fp32", "fp16", "bf16")


def choose(device: str = "auto", precision: str = "auto"):
    """``(torch.device, dtype)`` for a device and precision name; dtype is None for fp32."""
    import torch

    if precision not in PRECISIONS:
        raise OptionError(f"unknown precision {precision!r}: choose from {', '.join(PRECISIONS)}")
    name = device if device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise OptionError(f"unknown device {device!r}: {DEVICE_HELP}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise OptionError(f"--device {device}: this torch sees no CUDA device")
    if precision == "auto":
        precision = "fp16" if dev.type == "cuda" else "fp32"
    if precision != "fp32" and dev.type != "cuda":
        raise OptionError(f"--precision {precision} needs a CUDA device; on the {dev.type.upper()} vidgen runs in fp32")
    return dev, {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]
