"""The ``vidgen`` command line.

Every subcommand prints a mistake the user can fix (a bad path, option or file) as one line on
stderr and exits non-zero; a Ctrl-C leaves no partial output and exits 130.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .errors import OptionError, VidgenError, WeightsError

log = logging.getLogger("vidgen")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad option in one line instead of usage plus error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {v}")
    return v


def _add_encode_options(p: argparse.ArgumentParser, has_input: bool = True) -> None:
    g = p.add_argument_group("output encoding")
    g.add_argument("--codec", default="h264", choices=["h264", "h265", "vp9", "ffv1"],
                   help="video codec (default h264 in .mp4). ffv1 is lossless (.mkv)"
                        + (" and keeps the input's pixel format, RGB included" if has_input else ""))
    g.add_argument("--crf", type=int, default=None,
                   help="quality for h264/h265/vp9, lower is better (defaults 18 / 20 / 24)")
    g.add_argument("--preset", default="medium", help="x264/x265 speed preset (default medium)")
    g.add_argument("--pix-fmt", default=None,
                   help="output pixel format (default yuv420p" + ("; ffv1 keeps the input's)" if has_input else ")"))
    if has_input:
        g.add_argument("--no-audio", action="store_true", help="do not copy audio from the input")


def _add_device_options(g) -> None:
    from .devices import DEVICE_HELP, PRECISIONS

    g.add_argument("--device", default="auto", help=DEVICE_HELP)
    g.add_argument("--precision", default="auto", choices=PRECISIONS,
                   help="fp16/bf16 need CUDA; auto = fp16 on CUDA, fp32 on CPU")


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", help="video file, or a folder of images (png, jpg, tif) in name order")
    p.add_argument("-o", "--output", default=None,
                   help="output file (.mp4 .mkv .mov .webm .avi) or a new folder for PNG frames "
                        "(default: beside the input, named after it). Never the input itself")
    p.add_argument("--input-fps", default=None, metavar="F",
                   help="frame rate of an image-folder input (default 25)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")


COMMANDS = ("interpolate", "deblur", "enhance", "generate", "train", "finetune")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The ``vidgen`` argument parser; with ``only`` (one of :data:`COMMANDS`), just that command's part.

    :func:`main` builds only the command it was given: the whole tree of commands took 50 ms to
    build (training options and argparse's gettext lookups), a tenth of a small clip's whole run.
    """
    parser = _Parser(prog="vidgen", description="Generative video synthesis and restoration.")
    parser.add_argument("--version", action="version", version=f"vidgen {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    adders = {"interpolate": _add_interpolate_command, "deblur": lambda s: _add_restore_command(s, "deblur"),
              "enhance": lambda s: _add_restore_command(s, "enhance"), "generate": _add_generate_command,
              "train": _add_train_command, "finetune": _add_finetune_command}
    for name in COMMANDS:
        if only is None or only == name:
            adders[name](sub)
    return parser


def _add_interpolate_command(sub) -> None:
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
    _add_common(p)
    t = p.add_argument_group("timing")
    t.add_argument("--factor", type=_whole_number, default=None,
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
    m.add_argument("--adapt", type=_positive_int, default=None, metavar="N",
                   help="first fine-tune the learned model on this video for N steps (self-supervised: it re-makes "
                        "frames it drops from the input), then interpolate with it; implies --model learned "
                        "(about 0.5 s per step on 2 CPU cores)")
    m.add_argument("--no-dedup", action="store_true",
                   help="treat repeated frames as motion stops instead of re-timing around them")
    m.add_argument("--max-dup-run", type=_positive_int, default=3, metavar="N",
                   help="a run of more than N repeated frames is a real still and is held (default 3)")
    m.add_argument("--no-scene-detect", action="store_true", help="interpolate across scene cuts too")
    m.add_argument("--flow-max-side", type=_positive_int, default=None, metavar="PX",
                   help="estimate motion on frames scaled to this longer side; warping stays at full "
                        "resolution (default 960 for classical, 512 for learned; higher is slower and finer)")
    _add_device_options(m)
    _add_encode_options(p)
    p.set_defaults(func=_cmd_interpolate)


def _add_train_command(sub) -> None:
    from .training.config import add_arguments, add_restore_arguments

    tr = sub.add_parser("train", help="train a model that vidgen ships (recipes in training/)",
                        description="Train a model from scratch on your videos (and generated scenes). Runs on "
                                    "one CPU, or on many GPUs under 'accelerate launch'.")
    trs = tr.add_subparsers(dest="model", metavar="MODEL", parser_class=_Parser, required=True)
    ti = trs.add_parser("interpolate", help="the learned interpolator's refiner network",
                        description="Train the refiner of --model learned: self-supervised from a folder of "
                                    "videos (frames between two others are the truth) plus synthetic moving layers. "
                                    "Writes OUT/interp_refiner.safetensors, checkpoints for --resume, and "
                                    "OUT/log.jsonl with loss and validation PSNR beside the classical method's.")
    add_arguments(ti, finetune=False)
    ti.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    ti.set_defaults(func=_cmd_train_interpolate)
    for task, what in (("deblur", "the deblurring generator"), ("enhance", "the x2 enhancement generator")):
        tr_t = trs.add_parser(task, help=what,
                              description=f"Train {what} with a GAN: sharp frames from a folder of videos are "
                                          "degraded (camera shake, exposure averaging, noise"
                                          + (", downscaling, real H.264 round trips" if task == "enhance" else "")
                                          + ") and the network learns to undo it. Writes OUT/*.safetensors, "
                                          "checkpoints for --resume and OUT/log.jsonl.")
        add_restore_arguments(tr_t, task)
        tr_t.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
        tr_t.set_defaults(func=_cmd_train_restore, task=task)

    tt = trs.add_parser("t2v", help="the small text-to-video model",
                        description="Train vidgen's small text-to-video model (VAE, then 3D U-Net and text encoder) "
                                    "on procedural videos captioned 'a {colour} {shape} moving {direction}'. Some "
                                    "combinations are held out for evaluation. Writes OUT/model (diffusers layout).")
    from .training.t2v_options import add_t2v_arguments

    add_t2v_arguments(tt)
    tt.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    tt.set_defaults(func=_cmd_train_t2v)

    tg = trs.add_parser("t2v-guide", help="the classifier guidance of the small text-to-video model",
                        description="Train the classifier that steers vidgen's small text-to-video model toward the "
                                    "colour, shape and direction a prompt names: it learns to name them from noisy "
                                    "latents of procedural clips (training combinations only) at every noise level. "
                                    "Writes OUT/model: the --model folder with guide/ added.")
    from .training.t2v_options import add_guide_arguments

    add_guide_arguments(tg)
    tg.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    tg.set_defaults(func=_cmd_train_t2v_guide)

    tl = trs.add_parser("lora", help="a LoRA adapter for a text-to-video model, from your footage",
                        description="Teach a text-to-video model (vidgen's shipped one or --base) a new concept from "
                                    "a folder of videos: they are cut into clips of --frames frames at the model's "
                                    "size, encoded once by the frozen VAE (cached latents), and peft LoRA layers on "
                                    "the U-Net's attention projections learn to denoise them given their captions. "
                                    "Shows steps/s, loss and ETA; --resume continues an interrupted run. Writes "
                                    "OUT/lora.safetensors for 'vidgen generate --lora', in the layout diffusers' "
                                    "load_lora_weights reads. Under 'accelerate launch -m vidgen.training.lora' "
                                    "the same run uses several GPUs.",
                        epilog="example:\n  vidgen train lora --data purple_clips/ --caption \"a purple circle moving "
                               "left\" --steps 300\n  vidgen generate \"a purple circle moving left\" --lora "
                               "runs/lora/lora.safetensors --lora-scale 0.8",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    from .training.lora_options import add_lora_arguments

    add_lora_arguments(tl)
    tl.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    tl.set_defaults(func=_cmd_train_lora)


def _add_finetune_command(sub) -> None:
    from .training.config import add_arguments, add_restore_arguments

    ft = sub.add_parser("finetune", help="adapt a shipped model to your own footage",
                        description="Fine-tune a shipped model on a folder of your videos and write an adapter "
                                    "file that the matching command loads with --adapter.")
    fts = ft.add_subparsers(dest="model", metavar="MODEL", parser_class=_Parser, required=True)
    fi = fts.add_parser("interpolate", help="adapt --model learned to your footage",
                        description="Fine-tune the learned interpolator on your videos (self-supervised: frames "
                                    "between two others are the truth; the last 10%% of each video is held out "
                                    "for validation). Writes OUT/adapter.safetensors; use it with "
                                    "'vidgen interpolate --model learned --adapter OUT/adapter.safetensors'.")
    add_arguments(fi, finetune=True)
    fi.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    fi.set_defaults(func=_cmd_finetune_interpolate)
    for task in ("deblur", "enhance"):
        ft_t = fts.add_parser(task, help=f"adapt the {task} model to your footage",
                              description=f"Fine-tune the shipped {task} model on your videos, self-supervised: "
                                          "your sharpest frames are degraded the way training degrades footage. "
                                          f"Writes OUT/{'deblur' if task == 'deblur' else 'enhance_x2'}.safetensors "
                                          f"for 'vidgen {task} --weights FILE'.")
        add_restore_arguments(ft_t, task, finetune=True)
        ft_t.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
        ft_t.set_defaults(func=_cmd_finetune_restore, task=task)


def _add_restore_command(sub, task: str) -> None:
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
    _add_common(p)
    m = p.add_argument_group("method")
    if task == "enhance":
        m.add_argument("--scale", type=int, default=2, choices=[1, 2, 4], help="output size / input size (default 2)")
        m.add_argument("--denoise", type=int, default=0, choices=[0, 1, 2, 3],
                       help="extra non-local-means denoising before restoration, 0 (off, default) to 3 (strong)")
        m.add_argument("--model", default="learned", metavar="NAME",
                       help="learned (default), classical (Lanczos), or esrgan:PATH for a Real-ESRGAN .pth "
                            "(RealESRGAN_x4plus, x2plus, realesr-general-x4v3, realesr-animevideov3)")
    m.add_argument("--weights", default=None, metavar="FILE",
                   help=f"{task} weights to use instead of the shipped ones (e.g. from 'vidgen finetune {task}')")
    m.add_argument("--adapt", type=_positive_int, default=None, metavar="N",
                   help="first fine-tune the network on this video for N steps, self-supervised ("
                        + ("its sharpest frames blurred along their own motion" if task == "deblur" else
                           "a further-degraded copy of it restored to itself") + "), then run with it")
    m.add_argument("--no-temporal", action="store_true",
                   help="restore each frame on its own instead of with its aligned neighbours")
    m.add_argument("--tile", type=_positive_int, default=768, metavar="PX",
                   help="frames larger than this are processed in overlapping tiles of this size (default 768)")
    _add_device_options(m)
    _add_encode_options(p)
    p.set_defaults(func=_cmd_restore, task=task)


def _size(text: str) -> tuple[int, int]:
    try:
        w, _, h = text.lower().partition("x")
        return int(w), int(h or w)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a size: write 64 or 256x144") from None


def _add_generate_command(sub) -> None:
    p = sub.add_parser("generate", help="make a short video from a text prompt",
                       description="Text-to-video with latent video diffusion (3D U-Net with temporal attention). "
                                   "With no --model, vidgen's own small model runs: it knows prompts like "
                                   "'a red circle moving left' (colours red, green, blue, yellow, white; circle, "
                                   "square, triangle; left, right, up, down); its guide classifier steers each video "
                                   "toward the colour and direction the prompt names and keeps the best of "
                                   "--candidates starts. --model takes a diffusers-layout folder "
                                   "(ModelScope text-to-video, Zeroscope) or a hub id when online.",
                       epilog="examples:\n  vidgen generate \"a yellow triangle moving up\" -o tri.mp4\n"
                              "  vidgen generate \"a boat at sea\" --model ./zeroscope_v2_576w --size 576x320 --steps 30",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("prompt", help="what the video shows")
    p.add_argument("-o", "--output", default=None, help="output file (default: generated.mp4) or a folder for PNGs")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    g = p.add_argument_group("generation")
    g.add_argument("--model", default=None, help="model folder or hub id (default: vidgen's small shipped model)")
    g.add_argument("--lora", default=None, metavar="FILE", help="LoRA adapter (.safetensors, from 'vidgen train lora' "
                                                                 "or diffusers) merged into the U-Net")
    g.add_argument("--lora-scale", type=float, default=1.0, help="strength of --lora (default 1.0)")
    g.add_argument("--frames", type=_positive_int, default=16, help="number of frames (default 16)")
    g.add_argument("--size", type=_size, default=None, metavar="WxH", help="frame size (default: the model's)")
    g.add_argument("--steps", type=_positive_int, default=25, help="denoising steps (default 25)")
    g.add_argument("--guidance", type=float, default=None,
                   help="classifier-free guidance scale (1 = off; default: the model's own, 4 for vidgen's, else 7.5)")
    g.add_argument("--classifier-guidance", type=float, default=None, metavar="SCALE",
                   help="steer toward the colour, shape and direction the prompt names with the model's guide "
                        "classifier (models that have one, like vidgen's own; default: the model's setting; 0 = off)")
    g.add_argument("--candidates", type=int, default=None, metavar="N",
                   help="start N videos and finish the one the guide classifier reads best for the prompt "
                        "(models with one; default: the model's setting, 8 for vidgen's own; 1 = off)")
    g.add_argument("--negative-prompt", default=None, help="what the video should not show")
    g.add_argument("--seed", type=int, default=0, help="random seed: the same seed gives the same video (default 0)")
    g.add_argument("--scheduler", default="ddim", choices=["ddim", "dpm"], help="sampler (default ddim)")
    g.add_argument("--fps", default="8", help="frame rate of the output (default 8)")
    r = p.add_argument_group("memory and speed")
    r.add_argument("--attention", default="auto", choices=["auto", "sdpa", "chunked", "xformers", "naive"],
                   help="attention kernel (default auto: xformers on CUDA if installed, else PyTorch SDPA)")
    r.add_argument("--vae-slicing", action="store_true", help="decode one frame at a time")
    r.add_argument("--vae-tiling", action="store_true", help="decode each frame in tiles (large sizes)")
    r.add_argument("--cpu-offload", action="store_true", help="keep weights in RAM, move each model to the GPU as it runs")
    _add_device_options(r)
    _add_encode_options(p, has_input=False)
    p.set_defaults(func=_cmd_generate)


def _cmd_generate(args: argparse.Namespace) -> int:
    import time

    from .devices import choose
    from .io.tensors import video_frames
    from .io.writer import write_video
    from .pipelines.job import parse_rate
    from .pipelines.text_to_video import TextToVideoPipeline

    started = time.perf_counter()
    fps = parse_rate(args.fps)
    settings = _encode_settings(args)
    if args.lora and not Path(args.lora).is_file():
        raise WeightsError(f"no LoRA file at {args.lora}")
    device, dtype = choose(args.device, args.precision)
    pipe = TextToVideoPipeline.from_pretrained(args.model, torch_dtype=dtype)
    if args.lora:
        pipe.load_lora(args.lora, scale=args.lora_scale)
    if args.cpu_offload:
        pipe.enable_cpu_offload(str(device) if device.type == "cuda" else "cuda")
    else:
        pipe.to(device)
    pipe.set_scheduler(args.scheduler)
    pipe.set_attention(args.attention)
    if args.vae_slicing:
        pipe.enable_vae_slicing()
    if args.vae_tiling:
        pipe.enable_vae_tiling()
    w, h = args.size if args.size else (None, None)
    out = pipe(args.prompt, negative_prompt=args.negative_prompt, num_frames=args.frames, height=h, width=w,
               num_inference_steps=args.steps, guidance_scale=args.guidance, seed=args.seed,
               progress=not args.quiet, classifier_scale=args.classifier_guidance,
               candidates=args.candidates).frames
    path = args.output or "generated.mp4"
    n = write_video(path, video_frames(out[0].float().cpu()), fps, settings)
    if not args.quiet:
        log.info(f"wrote {path}: {n} frames, {out.shape[-1]}x{out.shape[-2]}, "
                 f"in {time.perf_counter() - started:.1f} s")
    return 0


def _cmd_restore(args: argparse.Namespace) -> int:
    from .io.probe import probe
    from .pipelines.job import parse_rate

    # the input is checked before torch loads (2 s and 250 MB for a one-line error otherwise)
    info = probe(args.input, parse_rate(args.input_fps) if args.input_fps is not None else None)
    from .pipelines.restoration import DeblurPipeline, EnhancePipeline

    kw = dict(tile=args.tile, temporal=not args.no_temporal, device=args.device, precision=args.precision)
    encode = _encode_settings(args)
    if args.adapt and args.task == "enhance" and args.model != "learned":
        raise OptionError("--adapt fine-tunes vidgen's own network: it needs --model learned")
    with _adapted(args, args.task, args.weights) as weights:
        if args.task == "deblur":
            pipe = DeblurPipeline.from_pretrained(weights, **kw)
        else:
            pipe = EnhancePipeline.from_pretrained(scale=args.scale, model=args.model, weights=weights,
                                                   denoise_level=args.denoise, **kw)
        res = pipe(info, args.output, encode=encode, keep_audio=not args.no_audio, progress=not args.quiet)
    if not args.quiet:
        log.info(f"wrote {res.path}: {res.frames} frames, {res.size[0]}x{res.size[1]}, in {res.seconds:.1f} s "
                 f"({res.seconds / max(res.frames, 1):.2f} s per frame)")
    return 0


def _encode_settings(args: argparse.Namespace):
    from .io.writer import EncodeSettings

    s = EncodeSettings(codec=args.codec, crf=args.crf, preset=args.preset, pix_fmt=args.pix_fmt)
    s.validate()
    return s


def _adapted(args: argparse.Namespace, task: str, weights: str | None):
    """A context giving the weights to run with: ``weights`` as given, or, with ``--adapt N``, weights
    fine-tuned on the input for N steps (removed when the context ends)."""
    import contextlib

    if not args.adapt:
        return contextlib.nullcontext(weights)
    from .training.adapt import adapted_weights

    return adapted_weights(task, args.input, args.adapt, base=weights, progress=not args.quiet)


def _cmd_interpolate(args: argparse.Namespace) -> int:
    from .interpolators import make_interpolator
    from .pipelines.interpolation import InterpolationPipeline

    if args.adapt:
        if args.model not in ("classical", "learned"):
            raise OptionError(f"--adapt fine-tunes vidgen's learned model; it cannot adapt --model {args.model}")
        if args.adapter:
            raise OptionError("--adapt and --adapter: give one (--adapt makes its own adapter)")
        args.model = "learned"
    encode = _encode_settings(args)
    with _adapted(args, "interpolate", args.adapter) as adapter:
        interp = make_interpolator(args.model, flow_max_side=args.flow_max_side, adapter=adapter,
                                   device=args.device, precision=args.precision)
        pipe = InterpolationPipeline(interp, dedup=not args.no_dedup, max_duplicate_run=args.max_dup_run,
                                     detect_cuts=not args.no_scene_detect)
        res = pipe(args.input, args.output, factor=args.factor, fps=args.fps, slowmo=args.slowmo,
                   encode=encode, keep_audio=not args.no_audio, progress=not args.quiet,
                   image_fps=args.input_fps)
    if not args.quiet:
        s = res.stats
        log.info(f"wrote {res.path}: {s.frames_out} frames at {float(res.fps):.6g} fps from {s.frames_in} "
                 f"({s.interpolated} generated, {s.cuts} scene cuts, {s.duplicates} repeated frames re-timed) "
                 f"in {res.seconds:.1f} s")
    return 0


def _cmd_train_interpolate(args: argparse.Namespace) -> int:
    from .training.config import config_from_args
    from .training.interpolation import train

    path = train(config_from_args(args), resume=args.resume, progress=not args.quiet,
                 command="vidgen " + " ".join(sys.argv[1:]))
    log.info(f"wrote {path}")
    return 0


def _cmd_finetune_interpolate(args: argparse.Namespace) -> int:
    from .training.config import config_from_args
    from .training.interpolation import finetune_split, train

    cfg = config_from_args(args, finetune=True)
    cfg.split = finetune_split(cfg)
    path = train(cfg, resume=args.resume, progress=not args.quiet, command="vidgen " + " ".join(sys.argv[1:]))
    log.info(f"wrote {path}; use it with: vidgen interpolate IN --model learned --adapter {path}")
    return 0


def _cmd_train_restore(args: argparse.Namespace) -> int:
    from .training.config import restore_config_from_args
    from .training.restoration import train

    path = train(restore_config_from_args(args, args.task), resume=args.resume, progress=not args.quiet,
                 command="vidgen " + " ".join(sys.argv[1:]))
    log.info(f"wrote {path}")
    return 0


def _cmd_train_t2v(args: argparse.Namespace) -> int:
    from .training.t2v_options import config_from_args
    from .training.text_to_video import train

    path = train(config_from_args(args), resume=args.resume, progress=not args.quiet,
                 command="vidgen " + " ".join(sys.argv[1:]))
    log.info(f"wrote {path}")
    return 0


def _cmd_train_t2v_guide(args: argparse.Namespace) -> int:
    from .training.t2v_options import guide_config_from_args

    cfg = guide_config_from_args(args)  # a bad option is refused before torch loads
    from .training.t2v_guide import train

    path = train(cfg, resume=args.resume, progress=not args.quiet, command="vidgen " + " ".join(sys.argv[1:]))
    log.info(f"wrote {path}")
    return 0


def _cmd_train_lora(args: argparse.Namespace) -> int:
    from .training.lora import train
    from .training.lora_options import config_from_args

    path = train(config_from_args(args), resume=args.resume, progress=not args.quiet,
                 command="vidgen " + " ".join(sys.argv[1:]))
    log.info(f"wrote {path}; use it with: vidgen generate PROMPT --lora {path}")
    return 0


def _cmd_finetune_restore(args: argparse.Namespace) -> int:
    from .training.config import restore_config_from_args
    from .training.restoration import finetune_split, train

    cfg = restore_config_from_args(args, args.task, finetune=True)
    cfg.split = finetune_split(cfg)
    path = train(cfg, resume=args.resume, progress=not args.quiet, command="vidgen " + " ".join(sys.argv[1:]))
    log.info(f"wrote {path}; use it with: vidgen {args.task} IN --weights {path}")
    return 0


class _Terminated(KeyboardInterrupt):
    """SIGTERM: unwinds like Ctrl-C (no partial output stays), but exits 143 as shells expect."""


def _on_sigterm(signum, frame):
    raise _Terminated


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # the command comes first; anything else (vidgen -h, a typo) gets the whole parser and its help
    parser = build_parser(argv[0] if argv and argv[0] in COMMANDS else None)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("vidgen: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    log.propagate = False
    signal.signal(signal.SIGTERM, _on_sigterm)
    if args.command in ("interpolate", "deblur", "enhance") and getattr(args, "input_fps", None) is None:
        from .io.probe import probe_soon

        probe_soon(args.input)  # ffmpeg probes the input while numpy and OpenCV import
    try:
        return args.func(args)
    except VidgenError as e:
        print(f"vidgen {args.command}: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt as e:
        print(f"vidgen {args.command}: {'terminated' if isinstance(e, _Terminated) else 'interrupted'}; "
              "no output was written", file=sys.stderr)
        return 143 if isinstance(e, _Terminated) else 130
    except BrokenPipeError:
        return 1
    except OSError as e:  # the system's refusal (disk full, I/O error), not a bug: one line, no traceback
        print(f"vidgen {args.command}: error: {e}", file=sys.stderr)
        return 1


def run() -> None:
    """The ``vidgen`` command: :func:`main`, then exit.

    When torch was never imported (interpolate, the classical restorers, --help, errors), everything
    is written, closed and waited for by the time main returns, so the process ends at once with
    ``os._exit`` instead of tearing down numpy and OpenCV, which took 40-60 ms, a tenth of a small
    clip's whole run. With torch (or accelerate) loaded, the normal exit runs their atexit hooks.
    """
    code = main()
    if "torch" in sys.modules:
        sys.exit(code)
    logging.shutdown()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):  # a reader that went away, or a stream already closed
        pass
    os._exit(code)


if __name__ == "__main__":
    run()
