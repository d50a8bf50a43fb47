"""``vidgen train MODEL``: train a model vidgen ships (recipes in training/)."""

from __future__ import annotations

import argparse
import logging
import sys

from .common import Parser

log = logging.getLogger("vidgen")


def add(sub) -> None:
    from ..training.config import add_arguments, add_restore_arguments

    tr = sub.add_parser("train", help="train a model that vidgen ships (recipes in training/)",
                        description="Train a model from scratch on your videos (and generated scenes). Runs on "
                                    "one CPU, or on many GPUs under 'accelerate launch'.")
    trs = tr.add_subparsers(dest="model", metavar="MODEL", parser_class=Parser, required=True)
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
    from ..training.t2v_options import add_t2v_arguments

    add_t2v_arguments(tt)
    tt.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    tt.set_defaults(func=_cmd_train_t2v)

    tg = trs.add_parser("t2v-guide", help="the classifier guidance of the small text-to-video model",
                        description="Train the classifier that steers vidgen's small text-to-video model toward the "
                                    "colour, shape and direction a prompt names: it learns to name them from noisy "
                                    "latents of procedural clips (training combinations only) at every noise level. "
                                    "Writes OUT/model: the --model folder with guide/ added.")
    from ..training.t2v_options import add_guide_arguments

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
    from ..training.lora_options import add_lora_arguments

    add_lora_arguments(tl)
    tl.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    tl.set_defaults(func=_cmd_train_lora)


def _cmd_train_interpolate(args: argparse.Namespace) -> int:
    from ..training.config import config_from_args
    from ..training.interpolation import train

    path = train(config_from_args(args), resume=args.resume, progress=not args.quiet,
                 command="vidgen " + " ".join(sys.argv[1:]))
    log.info(f"wrote {path}")
    return 0


def _cmd_train_restore(args: argparse.Namespace) -> int:
    from ..training.config import restore_config_from_args
    from ..training.restoration import train

    path = train(restore_config_from_args(args, args.task), resume=args.resume, progress=not args.quiet,
                 command="vidgen " + " ".join(sys.argv[1:]))
    log.info(f"wrote {path}")
    return 0


def _cmd_train_t2v(args: argparse.Namespace) -> int:
    from ..training.t2v_options import config_from_args
    from ..training.text_to_video import train

    path = train(config_from_args(args), resume=args.resume, progress=not args.quiet,
                 command="vidgen " + " ".join(sys.argv[1:]))
    log.info(f"wrote {path}")
    return 0


def _cmd_train_t2v_guide(args: argparse.Namespace) -> int:
    from ..training.t2v_options import guide_config_from_args

    cfg = guide_config_from_args(args)  # a bad option is refused before torch loads
    from ..training.t2v_guide import train

    path = train(cfg, resume=args.resume, progress=not args.quiet, command="vidgen " + " ".join(sys.argv[1:]))
    log.info(f"wrote {path}")
    return 0


def _cmd_train_lora(args: argparse.Namespace) -> int:
    from ..training.lora import train
    from ..training.lora_options import config_from_args

    path = train(config_from_args(args), resume=args.resume, progress=not args.quiet,
                 command="vidgen " + " ".join(sys.argv[1:]))
    log.info(f"wrote {path}; use it with: vidgen generate PROMPT --lora {path}")
    return 0
