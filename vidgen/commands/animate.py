"""``vidgen animate``: a short video from a still image and a prompt (image-to-video)."""

from __future__ import annotations

import argparse

from .common import positive_int, size
from .generate import add_memory_options


def add(sub) -> None:
    p = sub.add_parser("animate", help="make a short video from an image and a prompt",
                       description="Image-to-video with a diffusers model folder (or hub id when online): Wan 2.x "
                                   "I2V (WanImageToVideoPipeline), LTX-Video (its text-to-video folder runs "
                                   "image-to-video too) or CogVideoX I2V (CogVideoXImageToVideoPipeline). The image is "
                                   "the first frame; the prompt says what happens next.",
                       epilog="example:\n  vidgen animate boat.jpg \"the boat sails away\" --model ./LTX-Video "
                              "--size 704x480 --frames 41 -o boat.mp4",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("image", help="the first frame (PNG, JPEG, ...)")
    p.add_argument("prompt", help="what happens in the video")
    p.add_argument("-o", "--output", default=None, help="output file (default: animated.mp4) or a folder for PNGs")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    g = p.add_argument_group("generation")
    g.add_argument("--model", required=True, help="model folder or hub id")
    g.add_argument("--lora", default=None, metavar="FILE", help="LoRA adapter in diffusers' format")
    g.add_argument("--lora-scale", type=float, default=1.0, help="strength of --lora (default 1.0)")
    g.add_argument("--frames", type=positive_int, default=None, help="number of frames (default: the model's)")
    g.add_argument("--size", type=size, default=None, metavar="WxH", help="frame size (default: the model's)")
    g.add_argument("--steps", type=positive_int, default=25, help="denoising steps (default 25)")
    g.add_argument("--guidance", type=float, default=None, help="classifier-free guidance scale (default: the "
                                                                "pipeline's)")
    g.add_argument("--negative-prompt", default=None, help="what the video should not show")
    g.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    g.add_argument("--fps", default=None, help="frame rate of the output (default: the family's)")
    add_memory_options(p, "attention kernel where the model takes vidgen's choice (default auto: the model's own)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..errors import InputError
    from .generate import run_family

    if not Path(args.image).is_file():
        raise InputError(f"no image at {args.image}")
    return run_family(args, image=args.image)
