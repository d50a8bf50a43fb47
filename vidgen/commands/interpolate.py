"""``vidgen interpolate``: raise the frame rate, or make slow motion."""

from __future__ import annotations

import argparse
import functools
import logging

from ..errors import OptionError
from .common import (adapted, add_common, add_device_options, add_encode_options, add_job_options, each_input,
                     encode_settings, positive_int, resume_key, shown, whole_number)

log = logging.getLogger("vidgen")
PROBES_INPUT = True  # the CLI starts probing the input while the imports run


def add(sub) -> None:
    p = sub.add_parser(
        "interpolate", help="raise the frame rate, or make slow motion, by generating in-between frames",
        description="Generate frames between the real ones: 2x, 3x, 4x... the frame rate (--factor), any "
                    "target rate (--fps 60, --fps 60000/1001), or slow motion (--slowmo). Audio and subtitles "
                    "are kept (except with --slowmo) and the duration stays the same. Scene cuts are never "
                    "interpolated across, and repeated frames (animation on twos, stalls) are re-timed so "
                    "motion stays even. Works on CPU with no downloads.",
        epilog="examples:\n  vidgen interpolate clip.mp4                 # 2x, writes clip_2x.mp4\n"
               "  vidgen interpolate clip.mp4 --fps 60 -o clip60.mp4\n"
               "  vidgen interpolate clip.mp4 --factor 4 --slowmo\n"
               "  vidgen interpolate clip.mkv --codec ffv1 -o lossless.mkv",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common(p)
    t = p.add_argument_group("timing")
    t.add_argument("--factor", type=whole_number, default=None,
                   help="multiply the frame rate by N (2, 3, 4, 8...; default 2)")
    t.add_argument("--fps", default=None, metavar="F", help="target frame rate instead of --factor: 60, 59.94, 60000/1001")
    t.add_argument("--slowmo", action="store_true",
                   help="keep the input's frame rate and stretch time instead (audio is dropped)")
    m = p.add_argument_group("method")
    m.add_argument("--model", default="classical", metavar="NAME",
                   help="classical (default: optical flow, no weights), learned (the network vidgen ships), "
                        "or rife:PATH for a Practical-RIFE v4.6/v4.25 train_log/flownet.pkl you have")
    m.add_argument("--adapter", default=None, metavar="FILE",
                   help="fine-tuned weights from 'vidgen finetune interpolate' (with --model learned)")
    m.add_argument("--adapt", type=positive_int, default=None, metavar="N",
                   help="first fine-tune the learned model on this video for N steps (self-supervised: it re-makes "
                        "frames it drops from the input), then interpolate with it; implies --model learned "
                        "(about 0.5 s per step on 2 CPU cores)")
    m.add_argument("--preset", default="balanced", choices=("fast", "balanced", "best"),
                   help="speed/quality of the classical method: fast (about 0.35x ffmpeg minterpolate's time "
                        "on the shared benchmark's clips), balanced (default; about 0.5x, 0.4x at 1080p), best "
                        "(the finest flow, about 0.85x); the settings and figures are in the README")
    m.add_argument("--no-dedup", action="store_true",
                   help="treat repeated frames as motion stops instead of re-timing around them")
    m.add_argument("--max-dup-run", type=positive_int, default=3, metavar="N",
                   help="a run of more than N repeated frames is a real still and is held (default 3)")
    m.add_argument("--no-scene-detect", action="store_true", help="interpolate across scene cuts too")
    m.add_argument("--flow-max-side", type=positive_int, default=None, metavar="PX",
                   help="estimate motion on frames scaled to this longer side; warping stays at full "
                        "resolution (default: the preset's for classical, 512 for learned)")
    add_device_options(m)
    add_encode_options(p)
    add_job_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..interpolators import make_interpolator
    from ..pipelines.interpolation import InterpolationPipeline

    if args.adapt:
        if args.model not in ("classical", "learned"):
            raise OptionError(f"--adapt fine-tunes vidgen's learned model; it cannot adapt --model {args.model}")
        if args.adapter:
            raise OptionError("--adapt and --adapter: give one (--adapt makes its own adapter)")
        args.model = "learned"
    InterpolationPipeline.check_inputs(args.factor, args.fps)
    encode = encode_settings(args)

    @functools.lru_cache(maxsize=1)  # a batch without --adapt loads its model once
    def pipeline(adapter: str | None) -> InterpolationPipeline:
        interp = make_interpolator(args.model, flow_max_side=args.flow_max_side, adapter=adapter, device=args.device,
                                   precision=args.precision, preset=args.preset)
        return InterpolationPipeline(interp, dedup=not args.no_dedup, max_duplicate_run=args.max_dup_run,
                                     detect_cuts=not args.no_scene_detect)

    def job(input: str, output: str | None) -> None:
        with adapted(args, "interpolate", args.adapter, input) as adapter:
            res = pipeline(adapter)(input, output, factor=args.factor, fps=args.fps, slowmo=args.slowmo,
                                    encode=encode, keep_audio=not args.no_audio, progress=not args.quiet,
                                    image_fps=args.input_fps, resume=resume_key(args), segment_seconds=args.segment)
        if not args.quiet:
            s = res.stats
            log.info(f"wrote {shown(res.path)}: {res.frames} frames at {float(res.fps):.6g} fps from {s.frames_in} "
                     f"({s.interpolated} generated, {s.cuts} scene cuts, {s.duplicates} repeated frames re-timed) "
                     f"in {res.seconds:.1f} s")

    return each_input(args, "interpolated", job)
