"""Training options, kept free of torch so the CLI can describe them without importing it."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from ..errors import OptionError
from ..weights import DEBLUR, ENHANCE_X2, INTERP_REFINER, shipped


@dataclass
class TrainConfig:
    """Everything one training run depends on (saved beside its checkpoints)."""

    data: list[str] = field(default_factory=list)  # folders of videos; may be empty with synthetic data
    corpus: str | None = None  # a built training corpus (python -m vidgen.training.corpus build DIR)
    corpus_clips: int = 256  # clips rendered from its photos for training (an eighth more for validation)
    corpus_motion: tuple[float, float] = (0.3, 1.5)  # motion scales of the rendered clips (log-uniform)
    out: str = "runs/interpolate"  # checkpoints, log and final weights go here
    steps: int = 4000  # optimizer steps
    batch_size: int = 8
    crop: int = 192  # training crops are crop x crop at the refiner's working resolution
    lr: float = 3e-4
    warmup: int = 100  # linear warm-up steps, then cosine decay to 5% of lr
    synthetic_ratio: float = 0.2  # share of samples from the synthetic layer generator
    split: str | None = None  # JSON: {"holdout": {file: [[a, b]]}, "val": {file: [[a, b]]}}
    val_samples: int = 48
    eval_every: int = 250
    save_every: int = 250
    seed: int = 0
    init: str | None = None  # start from these refiner weights (fine-tuning)
    lora_rank: int = 0  # > 0: train a LoRA adapter of this rank on the convolutions instead of all weights
    workers: int = 1  # data-loading processes
    max_side: int = 720  # videos are decoded at most this large
    max_frames: int = 600  # frames used from each video
    max_span: int = 6  # widest training window, in frames
    classical_flow: bool = True  # start from the classical motion; False learns flow end to end from zero
    grad_accum: int = 1
    mixed_precision: str = "no"  # "bf16"/"fp16" where the device supports it


def add_corpus_arguments(p: argparse.ArgumentParser) -> None:
    """``--corpus DIR`` and ``--corpus-clips N``, shared by every trainer of video models."""
    p.add_argument("--corpus", default=None, metavar="DIR",
                   help="a built training corpus (python -m vidgen.training.corpus build DIR): clips rendered "
                        "from its photos, and its videos, split by source into training and validation")
    p.add_argument("--corpus-clips", type=int, default=TrainConfig.corpus_clips, metavar="N",
                   help=f"clips rendered from the corpus photos for training (default {TrainConfig.corpus_clips})")
    p.add_argument("--corpus-motion", type=float, nargs=2, default=None, metavar=("LO", "HI"),
                   help="range of motion scales of the rendered clips (1: a background moving about 6 px per "
                        "frame at the clip's size; default 0.3 1.5)")


def corpus_from_args(a: argparse.Namespace, cfg) -> None:
    """Copy the corpus options onto a training config (absent on fine-tuning parsers)."""
    cfg.corpus = getattr(a, "corpus", None)
    cfg.corpus_clips = getattr(a, "corpus_clips", cfg.corpus_clips)
    if cfg.corpus_clips < 1:
        raise OptionError("--corpus-clips must be at least 1")
    motion = getattr(a, "corpus_motion", None)
    if motion is not None:
        if not 0 < motion[0] <= motion[1]:
            raise OptionError("--corpus-motion needs 0 < LO <= HI")
        cfg.corpus_motion = tuple(motion)


def parse_args(argv=None, finetune: bool = False) -> tuple[TrainConfig, bool]:
    p = argparse.ArgumentParser(prog="vidgen finetune interpolate" if finetune else "vidgen train interpolate")
    add_arguments(p, finetune)
    a = p.parse_args(argv)
    return config_from_args(a, finetune), a.resume


def add_arguments(p: argparse.ArgumentParser, finetune: bool = False) -> None:
    d = TrainConfig()
    p.add_argument("--data", action="append", default=[], metavar="DIR",
                   help="folder of videos (repeatable)" + ("" if finetune else "; none = synthetic scenes only"),
                   required=finetune)
    if not finetune:
        add_corpus_arguments(p)
    p.add_argument("--out", default="runs/finetune" if finetune else d.out, help="output folder")
    p.add_argument("--steps", type=int, default=300 if finetune else d.steps)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--crop", type=int, default=d.crop)
    p.add_argument("--lr", type=float, default=1e-4 if finetune else d.lr)
    p.add_argument("--synthetic-ratio", type=float, default=0.0 if finetune else d.synthetic_ratio)
    p.add_argument("--split", default=None, help="JSON of frame ranges to hold out / validate on")
    p.add_argument("--eval-every", type=int, default=100 if finetune else d.eval_every)
    p.add_argument("--save-every", type=int, default=100 if finetune else d.save_every)
    p.add_argument("--val-samples", type=int, default=d.val_samples)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--workers", type=int, default=d.workers)
    p.add_argument("--max-frames", type=int, default=d.max_frames, help="frames used from each video")
    p.add_argument("--max-span", type=int, default=d.max_span,
                   help="widest training window in frames (2 = midpoints of consecutive pairs only)")
    p.add_argument("--mixed-precision", default="no", choices=["no", "bf16", "fp16"])
    p.add_argument("--grad-accum", type=int, default=1)
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --out")
    if finetune:
        p.add_argument("--lora-rank", type=int, default=0,
                       help="train a LoRA adapter of this rank instead of all weights (default 0: all weights, "
                            "which measured better; see training/interpolation/README.md)")
        p.add_argument("--base", default=None, help="refiner weights to start from (default: the shipped ones)")
    else:
        p.add_argument("--init", default=None, help="start from these refiner weights")


def config_from_args(a: argparse.Namespace, finetune: bool = False) -> TrainConfig:
    cfg = TrainConfig(data=a.data, out=a.out, steps=a.steps, batch_size=a.batch_size, crop=a.crop, lr=a.lr,
                      synthetic_ratio=a.synthetic_ratio, split=a.split, eval_every=a.eval_every,
                      save_every=a.save_every, val_samples=a.val_samples, seed=a.seed, workers=a.workers,
                      max_frames=a.max_frames, max_span=a.max_span, mixed_precision=a.mixed_precision,
                      grad_accum=a.grad_accum,
                      warmup=min(100, max(1, a.steps // 10)))
    corpus_from_args(a, cfg)
    if finetune:
        cfg.init = a.base or str(shipped(INTERP_REFINER))
        cfg.lora_rank = a.lora_rank
    else:
        cfg.init = a.init
    if not 0 <= cfg.synthetic_ratio <= 1:
        raise OptionError("--synthetic-ratio must be between 0 and 1")
    if cfg.crop < 64 or cfg.crop % 8:
        raise OptionError("--crop must be a multiple of 8 and at least 64")
    return cfg




@dataclass
class RestoreTrainConfig:
    """One deblur or enhance training run (saved beside its checkpoints)."""

    task: str = "deblur"  # "deblur" or "enhance"
    data: list[str] = field(default_factory=list)  # folders of sharp videos
    corpus: str | None = None  # a built training corpus (python -m vidgen.training.corpus build DIR)
    corpus_clips: int = 256  # clips rendered from its photos for training (an eighth more for validation)
    corpus_motion: tuple[float, float] = (0.3, 1.5)  # motion scales of the rendered clips (log-uniform)
    out: str = "runs/restore"
    steps: int = 3000
    batch_size: int = 8
    crop: int = 128  # size of the target crops (the enhance input is crop / scale)
    scale: int = 2  # enhance: output size / input size
    lr: float = 5e-4
    warmup: int = 100
    fft_weight: float = 0.05  # L1 of the spectra, next to L1 of the pixels
    gan_weight: float = 0.002  # adversarial loss weight once the GAN phase starts (0: no GAN)
    gan_start: float = 0.6  # share of the steps trained on L1 + frequency loss before the GAN phase
    synthetic_ratio: float = 0.25  # share of generated scenes (photos moving as layers)
    crfs: tuple[int, ...] = (20, 26, 32)  # enhance: H.264 round trips the low-quality footage gets
    sharpest: float = 0.0  # fine-tuning: train only on the sharpest share of frames (0: all)
    soft_truth: float = 0.0  # deblur: share of samples whose sharp frames first get a lens softness (kept in the truth)
    split: str | None = None
    val_samples: int = 32
    eval_every: int = 250
    save_every: int = 250
    seed: int = 0
    init: str | None = None
    workers: int = 1
    max_side: int = 1920  # footage is decoded at its own size up to this (a downscaled video is a different task)
    max_frames: int = 600
    grad_accum: int = 1
    mixed_precision: str = "no"
    width: int = 32  # enhance, a new network (no --init): channels, residual blocks, body at 1/unshuffle size
    blocks: int = 5
    unshuffle: int = 1


def add_restore_arguments(p: argparse.ArgumentParser, task: str, finetune: bool = False) -> None:
    d = RestoreTrainConfig()
    p.add_argument("--data", action="append", default=[], metavar="DIR", required=finetune,
                   help="folder of sharp videos (repeatable)")
    if not finetune:
        add_corpus_arguments(p)
    p.add_argument("--out", default=f"runs/{'finetune' if finetune else 'train'}_{task}", help="output folder")
    p.add_argument("--steps", type=int, default=300 if finetune else d.steps)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--crop", type=int, default=d.crop)
    p.add_argument("--lr", type=float, default=1e-4 if finetune else d.lr)
    p.add_argument("--gan-weight", type=float, default=d.gan_weight, help="adversarial loss weight (0: no GAN)")
    p.add_argument("--synthetic-ratio", type=float, default=0.0 if finetune else d.synthetic_ratio)
    p.add_argument("--split", default=None, help="JSON of frame ranges to hold out / validate on")
    p.add_argument("--eval-every", type=int, default=100 if finetune else d.eval_every)
    p.add_argument("--save-every", type=int, default=100 if finetune else d.save_every)
    p.add_argument("--val-samples", type=int, default=d.val_samples)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--workers", type=int, default=d.workers)
    p.add_argument("--max-frames", type=int, default=d.max_frames)
    p.add_argument("--max-side", type=int, default=d.max_side,
                   help=f"decode videos at their own size up to this longer side (default {d.max_side})")
    p.add_argument("--mixed-precision", default="no", choices=["no", "bf16", "fp16"])
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --out")
    if task == "deblur":
        p.add_argument("--soft-truth", type=float, default=d.soft_truth, metavar="P",
                       help="share of samples whose sharp frames first get a lens softness kept in the truth, so the "
                            "network does not sharpen footage that is merely soft (default 0)")
    if task == "enhance" and not finetune:
        p.add_argument("--width", type=int, default=d.width, help=f"channels of a new network (default {d.width})")
        p.add_argument("--blocks", type=int, default=d.blocks, help=f"residual blocks of a new network (default {d.blocks})")
        p.add_argument("--unshuffle", type=int, default=d.unshuffle,
                       help=f"a new network's body works at 1/N of the input size (default {d.unshuffle})")
    if finetune:
        p.add_argument("--base", default=None, help="weights to start from (default: the shipped ones)")
        p.add_argument("--sharpest", type=float, default=0.5,
                       help="train on this share of each video's sharpest frames (default 0.5)")
    else:
        p.add_argument("--init", default=None, help="start from these weights")


RESTORE_WEIGHTS = {"deblur": DEBLUR, "enhance": ENHANCE_X2}


def restore_config_from_args(a: argparse.Namespace, task: str, finetune: bool = False) -> RestoreTrainConfig:
    cfg = RestoreTrainConfig(task=task, data=a.data, out=a.out, steps=a.steps, batch_size=a.batch_size, crop=a.crop,
                             lr=a.lr, gan_weight=a.gan_weight, synthetic_ratio=a.synthetic_ratio, split=a.split,
                             eval_every=a.eval_every, save_every=a.save_every, val_samples=a.val_samples,
                             seed=a.seed, workers=a.workers, max_frames=a.max_frames,
                             max_side=a.max_side, mixed_precision=a.mixed_precision,
                             warmup=min(100, max(1, a.steps // 10)),
                             width=getattr(a, "width", RestoreTrainConfig.width),
                             blocks=getattr(a, "blocks", RestoreTrainConfig.blocks),
                             unshuffle=getattr(a, "unshuffle", RestoreTrainConfig.unshuffle))
    corpus_from_args(a, cfg)
    cfg.soft_truth = getattr(a, "soft_truth", cfg.soft_truth)
    if not 0 <= cfg.soft_truth <= 1:
        raise OptionError("--soft-truth must be between 0 and 1")
    if finetune:
        cfg.init = a.base or str(shipped(RESTORE_WEIGHTS[task]))
        cfg.sharpest = a.sharpest
    else:
        cfg.init = a.init
    if cfg.crop < 64 or cfg.crop % 32:
        raise OptionError("--crop must be a multiple of 32 and at least 64")
    if not 0 <= cfg.synthetic_ratio <= 1:
        raise OptionError("--synthetic-ratio must be between 0 and 1")
    if cfg.width < 1 or cfg.blocks < 0 or cfg.unshuffle < 1 or (cfg.crop // cfg.scale) % cfg.unshuffle:
        raise OptionError("--width and --unshuffle must be at least 1, --blocks at least 0, and --unshuffle must divide"
                          " the input crop (--crop / scale)")
    if cfg.max_side < 64:
        raise OptionError("--max-side must be at least 64")
    return cfg
