"""What ``vidgen deblur`` and ``vidgen enhance`` share: their options and how they run a restoration job."""

from __future__ import annotations

import argparse
import functools
import logging

from ..choices import DENOISE_STRENGTH, ENHANCE_SCALES
from ..errors import OptionError
from .common import (adapted, add_common, add_device_options, add_encode_options, add_job_options, each_input,
                     encode_settings, positive_int, resume_key, shown)

log = logging.getLogger("vidgen")


def add_restore(sub, task: str) -> None:
    if task == "deblur":
        p = sub.add_parser("deblur", help="remove camera shake and motion blur",
                           description="Sharpen a video blurred by camera shake or motion, with a network trained by "
                                       "this project (NAFNet-style, three frames in: each frame and its two "
                                       "neighbours aligned by optical flow, for stable results). Audio, frame rate "
                                       "and colour are kept. Works on CPU with no downloads.",
                           epilog="example:\n  vidgen deblur shaky.mp4 -o sharp.mp4",
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    else:
        p = sub.add_parser("enhance", help="upscale x2/x4 and clean up compression and noise",
                           description="Upscale and restore a video: --scale 2 uses the network trained by this "
                                       "project (three frames in, compression and noise removed), --scale 4 adds a "
                                       "Lanczos x2 after it, --scale 1 cleans up at the same size. --model esrgan:PATH "
                                       "runs a Real-ESRGAN checkpoint you have. Audio, frame rate and colour are kept.",
                           epilog="examples:\n  vidgen enhance small.mp4 -o big.mp4\n"
                                  "  vidgen enhance noisy.mp4 --scale 1 --denoise 2\n"
                                  "  vidgen enhance anime.mp4 --scale 4 --model esrgan:realesr-animevideov3.pth",
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common(p)
    m = p.add_argument_group("method")
    if task == "enhance":
        m.add_argument("--scale", type=int, default=2, choices=ENHANCE_SCALES, help="output size / input size (default 2)")
        m.add_argument("--denoise", type=int, default=0, choices=tuple(DENOISE_STRENGTH),
                       help="extra non-local-means denoising before restoration, 0 (off, default) to 3 (strong)")
        m.add_argument("--model", default="learned", metavar="NAME",
                       help="learned (default), classical (Lanczos), or esrgan:PATH for a Real-ESRGAN .pth "
                            "(RealESRGAN_x4plus, x2plus, realesr-general-x4v3, realesr-animevideov3)")
    m.add_argument("--weights", default=None, metavar="FILE",
                   help=f"{task} weights to use instead of the shipped ones (e.g. from 'vidgen finetune {task}')")
    m.add_argument("--adapt", type=positive_int, default=None, metavar="N",
                   help="first fine-tune the network on this video for N steps, self-supervised ("
                        + ("its sharpest frames blurred along their own motion" if task == "deblur" else
                           "a further-degraded copy of it restored to itself") + "), then run with it")
    m.add_argument("--no-temporal", action="store_true",
                   help="restore each frame on its own instead of with its aligned neighbours")
    m.add_argument("--tile", type=positive_int, default=768, metavar="PX",
                   help="frames larger than this are processed in overlapping tiles of this size (default 768)")
    add_device_options(m)
    add_encode_options(p)
    add_job_options(p)
    p.set_defaults(func=run_restore, task=task)


def run_restore(args: argparse.Namespace) -> int:
    if args.adapt and args.task == "enhance" and args.model != "learned":
        raise OptionError("--adapt fine-tunes vidgen's own network: it needs --model learned")
    encode = encode_settings(args)

    @functools.lru_cache(maxsize=1)  # a batch without --adapt loads its model once
    def pipeline(weights: str | None):
        from ..pipelines.restoration import DeblurPipeline, EnhancePipeline

        kw = dict(tile=args.tile, temporal=not args.no_temporal, device=args.device, precision=args.precision)
        if args.task == "deblur":
            return DeblurPipeline.from_pretrained(weights, **kw)
        return EnhancePipeline.from_pretrained(scale=args.scale, model=args.model, weights=weights,
                                               denoise_level=args.denoise, **kw)

    def job(input: str, output: str | None) -> None:
        from ..io.probe import probe
        from ..pipelines.job import parse_rate

        # the input is checked before torch loads (2 s and 250 MB for a one-line error otherwise)
        info = probe(input, parse_rate(args.input_fps) if args.input_fps is not None else None)
        with adapted(args, args.task, args.weights, input) as weights:
            res = pipeline(weights)(info, output, encode=encode, keep_audio=not args.no_audio, progress=not args.quiet,
                                    resume=resume_key(args), segment_seconds=args.segment)
        if not args.quiet:
            log.info(f"wrote {shown(res.path)}: {res.frames} frames, {res.size[0]}x{res.size[1]}, in "
                     f"{res.seconds:.1f} s ({res.seconds / max(res.frames, 1):.2f} s per frame)")

    return each_input(args, "deblurred" if args.task == "deblur" else "enhanced", job)
