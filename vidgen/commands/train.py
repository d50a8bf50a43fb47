"""``vidgen train MODEL``: train a model vidgen ships (recipes in training/)."""

from __future__ import annotations

import argparse

from .common import add_model_command, add_models_group, run_training


def add(sub) -> None:
    from ..training.config import add_arguments, add_restore_arguments

    trs = add_models_group(sub, "train", help="train a model that vidgen ships (recipes in training/)",
                           description="Train a model from scratch on the training corpus or your videos. Runs on "
                                       "one CPU, or on many GPUs under 'accelerate launch'.")
    add_model_command(trs, "interpolate", lambda p: add_arguments(p, finetune=False), _cmd_train_interpolate,
                      help="the learned interpolator's refiner network",
                      description="Train the refiner of --model learned: self-supervised from the training corpus "
                                  "(--corpus) or a folder of videos (frames between two others are the truth). "
                                  "Writes OUT/interp_refiner.safetensors, checkpoints for --resume, and "
                                  "OUT/log.jsonl with loss and validation PSNR beside the classical method's.")
    for task, what in (("deblur", "the deblurring generator"), ("enhance", "the x2 enhancement generator")):
        add_model_command(trs, task, lambda p, task=task: add_restore_arguments(p, task), _cmd_train_restore,
                          {"task": task}, help=what,
                          description=f"Train {what} with a GAN: sharp frames from the training corpus (--corpus) "
                                      "or a folder of videos are degraded (camera shake, exposure averaging, noise"
                                      + (", downscaling, real H.264 round trips" if task == "enhance" else "")
                                      + ") and the network learns to undo it. Writes OUT/*.safetensors, "
                                        "checkpoints for --resume and OUT/log.jsonl.")

    from ..training.lora_options import add_lora_arguments
    from ..training.t2v_options import add_decoder_arguments, add_guide_arguments, add_t2v_arguments

    add_model_command(trs, "t2v", add_t2v_arguments, _cmd_train_t2v, help="the small text-to-video model",
                      description="Train vidgen's small text-to-video model (VAE, then 3D U-Net and text encoder) "
                                  "on procedural videos captioned 'a {colour} {shape} moving {direction}'. Some "
                                  "combinations are held out for evaluation. Writes OUT/model (diffusers layout).")
    add_model_command(trs, "t2v-guide", add_guide_arguments, _cmd_train_t2v_guide,
                      help="the classifier guidance of the small text-to-video model",
                      description="Train the classifier that steers vidgen's small text-to-video model toward the "
                                  "colour, shape and direction a prompt names: it learns to name them from noisy "
                                  "latents of procedural clips (training combinations only) at every noise level. "
                                  "Writes OUT/model: the --model folder with guide/ added.")
    add_model_command(trs, "t2v-decoder", add_decoder_arguments, _cmd_train_t2v_decoder,
                      help="a VAE decoder for the small text-to-video model that reads the caption",
                      description="Fine-tune the VAE decoder of vidgen's small text-to-video model (--model) to "
                                  "read the caption as well as the latents, so it draws the shape the prompt "
                                  "names where the latents are too coarse to settle it. Each procedural clip "
                                  "comes with a twin in another shape; some are decoded from a mixture of the "
                                  "two latents, the target staying the captioned clip. The encoder stays frozen. "
                                  "Writes OUT/model: the --model folder with the new VAE.")
    add_model_command(trs, "lora", add_lora_arguments, _cmd_train_lora,
                      help="a LoRA adapter for a text-to-video model, from your footage",
                      description="Teach a text-to-video model (vidgen's shipped one or --base: a ModelScope-style, "
                                  "Wan, LTX-Video, CogVideoX or AnimateDiff folder) a new concept from "
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


def _cmd_train_interpolate(args: argparse.Namespace) -> int:
    from ..training.config import config_from_args
    from ..training.interpolation import train

    return run_training(train, config_from_args(args), args)


def _cmd_train_restore(args: argparse.Namespace) -> int:
    from ..training.config import restore_config_from_args
    from ..training.restoration import train

    return run_training(train, restore_config_from_args(args, args.task), args)


def _cmd_train_t2v(args: argparse.Namespace) -> int:
    from ..training.t2v_options import config_from_args
    from ..training.text_to_video import train

    return run_training(train, config_from_args(args), args)


def _cmd_train_t2v_guide(args: argparse.Namespace) -> int:
    from ..training.t2v_options import guide_config_from_args

    cfg = guide_config_from_args(args)  # a bad option is refused before torch loads
    from ..training.t2v_guide import train

    return run_training(train, cfg, args)


def _cmd_train_t2v_decoder(args: argparse.Namespace) -> int:
    from ..training.t2v_options import decoder_config_from_args

    cfg = decoder_config_from_args(args)  # a bad option is refused before torch loads
    from ..training.t2v_decoder import train

    return run_training(train, cfg, args)


def _cmd_train_lora(args: argparse.Namespace) -> int:
    from ..training.lora_options import config_from_args

    cfg = config_from_args(args)
    from ..pipelines.video_models import family_class

    if family_class(args.base) is not None:  # Wan, LTX-Video, CogVideoX, AnimateDiff
        from ..training import family_lora

        return run_training(family_lora.train, cfg, args,
                            f"; use it with: vidgen generate PROMPT --model {args.base} --lora {{path}}")
    if cfg.size is not None:
        from ..errors import OptionError

        raise OptionError("--size is for Wan, LTX-Video, CogVideoX and AnimateDiff bases; this model trains at its "
                          "own frame size")
    from ..training.lora import train

    return run_training(train, cfg, args, "; use it with: vidgen generate PROMPT --lora {path}")
