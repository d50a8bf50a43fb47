"""``vidgen finetune MODEL``: adapt a shipped model to your own footage."""

from __future__ import annotations

import argparse

from .common import add_model_command, add_models_group, run_training


def add(sub) -> None:
    from ..training.config import RESTORE_WEIGHTS, add_arguments, add_restore_arguments

    fts = add_models_group(sub, "finetune", help="adapt a shipped model to your own footage",
                           description="Fine-tune a shipped model on a folder of your videos and write an adapter "
                                       "file that the matching command loads with --adapter.")
    add_model_command(fts, "interpolate", lambda p: add_arguments(p, finetune=True), _cmd_finetune_interpolate,
                      help="adapt --model learned to your footage",
                      description="Fine-tune the learned interpolator on your videos (self-supervised: frames "
                                  "between two others are the truth; the last 10%% of each video is held out "
                                  "for validation). Writes OUT/adapter.safetensors; use it with "
                                  "'vidgen interpolate --model learned --adapter OUT/adapter.safetensors'.")
    for task in ("deblur", "enhance"):
        add_model_command(fts, task, lambda p, task=task: add_restore_arguments(p, task, finetune=True),
                          _cmd_finetune_restore, {"task": task}, help=f"adapt the {task} model to your footage",
                          description=f"Fine-tune the shipped {task} model on your videos, self-supervised: "
                                      "your sharpest frames are degraded the way training degrades footage. "
                                      f"Writes OUT/{RESTORE_WEIGHTS[task]} for 'vidgen {task} --weights FILE'.")


def _cmd_finetune_interpolate(args: argparse.Namespace) -> int:
    from ..training.config import config_from_args
    from ..training.interpolation import finetune_split, train

    cfg = config_from_args(args, finetune=True)
    cfg.split = finetune_split(cfg)
    return run_training(train, cfg, args, "; use it with: vidgen interpolate IN --model learned --adapter {path}")


def _cmd_finetune_restore(args: argparse.Namespace) -> int:
    from ..training.config import restore_config_from_args
    from ..training.restoration import finetune_split, train

    cfg = restore_config_from_args(args, args.task, finetune=True)
    cfg.split = finetune_split(cfg)
    return run_training(train, cfg, args, f"; use it with: vidgen {args.task} IN --weights {{path}}")
