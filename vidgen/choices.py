"""The values users choose among, in one torch-free place: the library checks them and the CLI offers
them, so a command's ``choices`` and the library never disagree (and ``vidgen --help`` needs no torch)."""

from __future__ import annotations

CODECS = ("h264", "h265", "vp9", "ffv1")  # --codec: libx264, libx265, libvpx-vp9, ffv1
ATTENTION_BACKENDS = ("auto", "xformers", "sdpa", "chunked", "naive")  # vidgen.attention
SCHEDULERS = ("ddim", "dpm")  # text-to-video samplers: DDIM, DPM-Solver++
ENHANCE_SCALES = (1, 2, 4)  # vidgen enhance --scale
DENOISE_STRENGTH = {0: 0, 1: 3, 2: 6, 3: 10}  # vidgen enhance --denoise LEVEL -> OpenCV non-local means h
