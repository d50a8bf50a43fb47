"""Options of ``vidgen train lora``, free of torch so the CLI can list them without importing it."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

SCHEDULES = ("constant", "constant_with_warmup", "cosine", "linear")
TARGETS = ("spatial", "temporal", "cross")


@dataclass
class LoraTrainConfig:
    """One LoRA run on a text-to-video model (saved beside its checkpoints)."""

    data: str = ""  # folder of videos
    out: str = "runs/lora"
    base: str | None = None  # model folder or hub id; None = vidgen's shipped model
    captions: str | None = None  # CSV: file,caption (file relative to data, or its name)
    caption: str | None = None  # one caption for every video
    steps: int = 500
    rank: int = 8
    alpha: float | None = None  # LoRA scale numerator (update = alpha / rank * B A); None = rank
    # which attention layers get adapters: spatial and/or temporal (all their projections), or cross
    # (only the cross-attention keys and values)
    targets: tuple[str, ...] = ("spatial", "temporal")
    lr: float = 1e-3
    lr_schedule: str = "cosine"
    warmup: int = 20
    batch_size: int = 4
    grad_accum: int = 1
    gradient_checkpointing: bool = False
    mixed_precision: str = "no"  # no | fp16 | bf16 (where the device supports it)
    frames: int | None = None  # frames per clip; None = 16
    stride: int | None = None  # frames between clip starts; None = frames (no overlap)
    size: int | None = None  # clip side for diffusers family bases (Wan, LTX, ...); None = 256. vidgen's own: its size
    # > 0: also keep the adapted U-Net's predictions for the empty prompt and ``preserve_prompts`` equal
    # to the base model's (a prior-preservation loss against the base itself, adapters off), this weight
    preserve: float = 0.0
    preserve_prompts: tuple[str, ...] = ()
    eval_every: int = 50
    save_every: int = 50
    seed: int = 0


def add_lora_arguments(p: argparse.ArgumentParser) -> None:
    d = LoraTrainConfig()
    p.add_argument("--data", required=True, metavar="DIR", help="folder of videos (any length and size)")
    p.add_argument("--base", default=None, metavar="MODEL",
                   help="model folder or hub id to adapt (default: vidgen's shipped model)")
    cap = p.add_mutually_exclusive_group(required=True)
    cap.add_argument("--captions", metavar="CSV", help="CSV with columns file,caption; one row per video")
    cap.add_argument("--caption", metavar="TEXT", help="one caption for every video")
    p.add_argument("--out", default=d.out, help="output folder: OUT/lora.safetensors, checkpoints, log.jsonl")
    p.add_argument("--steps", type=int, default=d.steps)
    p.add_argument("--rank", type=int, default=d.rank)
    p.add_argument("--alpha", type=float, default=None, help="LoRA alpha (default: the rank, a scale of 1)")
    p.add_argument("--targets", default=",".join(d.targets),
                   help="attention layers to adapt, comma-separated: spatial and temporal (all their projections; "
                        "default spatial,temporal), or cross (only the cross-attention keys and values, which read "
                        "the text: the choice for a new word, leaving unprompted generation as it was)")
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--lr-schedule", choices=SCHEDULES, default=d.lr_schedule)
    p.add_argument("--warmup", type=int, default=d.warmup, help="warm-up steps of the schedule")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="clips per step and process")
    p.add_argument("--grad-accum", type=int, default=d.grad_accum, help="gradient accumulation steps")
    p.add_argument("--gradient-checkpointing", action="store_true", help="recompute activations to save memory")
    p.add_argument("--mixed-precision", choices=("no", "fp16", "bf16"), default=d.mixed_precision,
                   help="fp16 needs CUDA; bf16 needs a GPU or CPU that supports it")
    p.add_argument("--frames", type=int, default=None, help="frames per clip (default: 16)")
    p.add_argument("--stride", type=int, default=None, help="frames between clip starts (default: --frames)")
    p.add_argument("--size", type=int, default=None, metavar="PX",
                   help="square clip side for Wan, LTX-Video, CogVideoX and AnimateDiff bases (default 256); "
                        "vidgen's own and ModelScope-style models train at their frame size")
    p.add_argument("--preserve", type=float, default=d.preserve, metavar="WEIGHT",
                   help="weight of a loss keeping the adapted model's predictions for the empty prompt (the "
                        "baseline of classifier-free guidance) and any --preserve-prompt equal to the base "
                        "model's (0 = off), so the adapter cannot turn every video into the new concept")
    p.add_argument("--preserve-prompt", action="append", default=[], metavar="TEXT",
                   help="a prompt the base model already handles, to keep as it is (repeatable)")
    p.add_argument("--preserve-file", metavar="FILE", help="more prompts to keep, one per line")
    p.add_argument("--eval-every", type=int, default=d.eval_every)
    p.add_argument("--save-every", type=int, default=d.save_every)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --out")


def config_from_args(a: argparse.Namespace) -> LoraTrainConfig:
    from ..errors import OptionError

    targets = tuple(t.strip() for t in a.targets.split(",") if t.strip())
    bad = [t for t in targets if t not in TARGETS]
    if bad or not targets:
        raise OptionError(f"--targets: choose from {', '.join(TARGETS)} (comma-separated), not '{a.targets}'")
    for name in ("steps", "rank", "batch_size", "grad_accum", "eval_every", "save_every"):
        if getattr(a, name) < 1:
            raise OptionError(f"--{name.replace('_', '-')} must be at least 1")
    if a.frames is not None and a.frames < 2:
        raise OptionError("--frames must be at least 2")
    if a.stride is not None and a.stride < 1:
        raise OptionError("--stride must be at least 1")
    if a.size is not None and a.size < 16:
        raise OptionError("--size must be at least 16")
    if a.lr <= 0:
        raise OptionError("--lr must be positive")
    if a.preserve < 0:
        raise OptionError("--preserve must be 0 or more")
    keep = list(a.preserve_prompt)
    if a.preserve_file:
        try:
            with open(a.preserve_file, encoding="utf-8") as f:
                keep += [line.strip() for line in f if line.strip()]
        except (OSError, UnicodeDecodeError) as e:
            raise OptionError(f"--preserve-file: cannot read {a.preserve_file} ({e.__class__.__name__})") from None
    if keep and a.preserve <= 0:
        raise OptionError("--preserve-prompt / --preserve-file need --preserve WEIGHT > 0")
    return LoraTrainConfig(data=a.data, out=a.out, base=a.base, captions=a.captions, caption=a.caption,
                           steps=a.steps, rank=a.rank, alpha=a.alpha, targets=targets, lr=a.lr,
                           lr_schedule=a.lr_schedule, warmup=a.warmup, batch_size=a.batch_size,
                           grad_accum=a.grad_accum, gradient_checkpointing=a.gradient_checkpointing,
                           mixed_precision=a.mixed_precision, frames=a.frames, stride=a.stride, size=a.size,
                           preserve=a.preserve, preserve_prompts=tuple(keep),
                           eval_every=a.eval_every, save_every=a.save_every, seed=a.seed)
