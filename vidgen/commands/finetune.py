"""``vidgen finetune MODEL``: adapt a shipped model to your own footage."""

from __future__ import annotations

import argparse
import logging
import sys

from .common import Parser

log = logging.getLogger("vidgen")


def add(sub) -> None:
    from ..training.config import add_arguments, add_restore_arguments

    ft = sub.add_parser("finetune", help="adapt a shipped model to your own footage",
                        description="Fine-tune a shipped model on a folder of your videos and write an adapter "
                                    "file that the matching command loads with --adapter.")
    fts = ft.add_subparsers(dest="model", metavar="MODEL", parser_class=Parser, required=True)
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


def _cmd_finetune_interpolate(args: argparse.Namespace) -> int:
    from ..training.config import config_from_args
    from ..training.interpolation import finetune_split, train

    cfg = config_from_args(args, finetune=True)
    cfg.split = finetune_split(cfg)
    path = train(cfg, resume=args.resume, progress=not args.quiet, command="vidgen " + " ".join(sys.argv[1:]))
    log.info(f"wrote {path}; use it with: vidgen interpolate IN --model learned --adapter {path}")
    return 0


def _cmd_finetune_restore(args: argparse.Namespace) -> int:
    from ..training.config import restore_config_from_args
    from ..training.restoration import finetune_split, train

    cfg = restore_config_from_args(args, args.task, finetune=True)
    cfg.split = finetune_split(cfg)
    path = train(cfg, resume=args.resume, progress=not args.quiet, command="vidgen " + " ".join(sys.argv[1:]))
    log.info(f"wrote {path}; use it with: vidgen {args.task} IN --weights {path}")
    return 0
