"""Train (or fine-tune) the deblur and enhance generators, with a GAN phase, on accelerate.

Self-supervised from sharp footage: every sample degrades sharp frames (``degrade.py``) and asks
the generator for the originals. Inputs are three degraded frames, the neighbours aligned to the
centre by DIS flow exactly as ``vidgen.pipelines.restoration`` aligns them in use.

Losses: L1 + ``fft_weight`` x L1 of the spectra; after ``gan_start`` of the steps, plus
``gan_weight`` x a hinge adversarial loss from a spectral-normalised patch discriminator.

    vidgen train deblur --data DIR          (or: accelerate launch -m vidgen.training.restoration deblur --data DIR)
    vidgen train enhance --data DIR
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ..errors import InputError, OptionError
from ..metrics import psnr_batch
from ..weights import DEBLUR
from ..interpolators.classical import FlowAligner
from ..models.restoration import DeblurConfig, DeblurNet, EnhanceConfig, EnhanceNet, PatchDiscriminator
from .config import RestoreTrainConfig, add_restore_arguments, restore_config_from_args
from .data import Clip, load_clips, load_split, photo_textures, synthetic_sequence
from .stills import training_clips
from .degrade import exposure_blur, h264_roundtrip, jpeg, sharpness
from .loop import fit, indexed_loader, latest_checkpoint, log_record, lr_lambda, resume_point, training_record


def _to_chw(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1), dtype=np.float32))


def model_input(aligner: FlowAligner, prev: np.ndarray, cur: np.ndarray, nxt: np.ndarray) -> np.ndarray:
    """``(H, W, 9)`` float32: the neighbours aligned to ``cur``, and ``cur`` (frames float in [0, 1])."""
    return np.concatenate([aligner.align(cur, prev), cur, aligner.align(cur, nxt)], axis=2)


def _flip_time(rng: np.random.Generator, *groups: list[np.ndarray]) -> list[list[np.ndarray]]:
    """The same random flips and time reversal applied to each group of consecutive frames."""
    h, v, t = rng.random() < 0.5, rng.random() < 0.2, rng.random() < 0.5
    out = []
    for frames in groups:
        if h:
            frames = [np.ascontiguousarray(f[:, ::-1]) for f in frames]
        if v:
            frames = [np.ascontiguousarray(f[::-1]) for f in frames]
        out.append(frames[::-1] if t else frames)
    return out


class RestorationSamples(Dataset):
    """Sample ``idx`` -> (input (9, h, w), target (3, H, W)), drawn from a seeded generator."""

    def __init__(self, cfg: RestoreTrainConfig, clips: list[Clip], lq_clips: dict, length: int, seed: int,
                 synthetic_ratio: float, centres: list[np.ndarray] | None = None):
        self.cfg, self.clips, self.lq_clips, self.length, self.seed = cfg, clips, lq_clips, length, seed
        self.synthetic_ratio = synthetic_ratio if clips else 1.0
        self.centres = centres  # per clip, the frame indices a sample may be centred on (fine-tuning)
        self._photos: list[np.ndarray] | None = None
        self._aligner: FlowAligner | None = None

    def __len__(self) -> int:
        return self.length

    def _clip_window(self, rng, radius: int) -> tuple[int, int]:
        while True:
            ci = int(rng.integers(len(self.clips)))
            n = len(self.clips[ci].frames)
            if n < 2 * radius + 1:
                continue
            if self.centres is not None:
                ok = self.centres[ci][(self.centres[ci] >= radius) & (self.centres[ci] < n - radius)]
                if len(ok) == 0:
                    continue
                return ci, int(rng.choice(ok))
            return ci, int(rng.integers(radius, n - radius))

    def _deblur(self, rng) -> tuple[np.ndarray, np.ndarray]:
        crop = self.cfg.crop
        if rng.random() < self.synthetic_ratio:
            times = tuple(np.linspace(0, 1, 5) * rng.uniform(0.2, 0.8))
            frames = synthetic_sequence(rng, times, crop, self._photos, motion_scale=0.5)
        else:
            ci, c = self._clip_window(rng, 2)
            f = self.clips[ci].frames
            h, w = f.shape[1:3]
            y, x = int(rng.integers(0, h - crop + 1)), int(rng.integers(0, w - crop + 1))
            frames = [f[i, y:y + crop, x:x + crop] for i in range(c - 2, c + 3)]
        (frames,) = _flip_time(rng, frames)
        frames = [a.astype(np.float32) / 255 for a in frames]
        if rng.random() < self.cfg.soft_truth:
            # camera footage is softer than photos downscaled: the lens' own softness stays in the truth,
            # so the network learns to undo the shake, not to sharpen every frame it is given
            sigma = rng.uniform(0.4, 1.2)
            frames = [cv2.GaussianBlur(a, (0, 0), sigma) for a in frames]
        blurred = [exposure_blur(rng, frames[i - 1:i + 2]) for i in (1, 2, 3)]
        return model_input(self._aligner, *blurred), frames[2]

    def _enhance(self, rng) -> tuple[np.ndarray, np.ndarray]:
        s, crop = self.cfg.scale, self.cfg.crop
        lcrop = crop // s
        if rng.random() < self.synthetic_ratio:
            times = tuple(np.linspace(0, 1, 3) * rng.uniform(0.1, 0.5))
            hr = synthetic_sequence(rng, times, crop, self._photos, motion_scale=0.5)
            q = int(rng.integers(35, 90))
            lq = [jpeg(cv2.resize(f, (lcrop, lcrop), interpolation=cv2.INTER_AREA), q) for f in hr]
        else:
            ci, c = self._clip_window(rng, 1)
            crf = self.cfg.crfs[int(rng.integers(len(self.cfg.crfs)))]
            low = self.lq_clips[(ci, crf)]
            lh, lw = low.shape[1:3]
            y, x = int(rng.integers(0, lh - lcrop + 1)), int(rng.integers(0, lw - lcrop + 1))
            lq = [low[i, y:y + lcrop, x:x + lcrop] for i in (c - 1, c, c + 1)]
            hr = [self.clips[ci].frames[i, y * s:(y + lcrop) * s, x * s:(x + lcrop) * s] for i in (c - 1, c, c + 1)]
        lq, hr = _flip_time(rng, lq, hr)
        lq = [a.astype(np.float32) / 255 for a in lq]
        return model_input(self._aligner, *lq), hr[1].astype(np.float32) / 255

    def __getitem__(self, idx: int):
        if self._aligner is None:  # OpenCV objects do not pickle: make one per worker
            self._aligner = FlowAligner()
            self._photos = photo_textures()
        rng = np.random.default_rng([self.seed, idx])
        x, y = self._deblur(rng) if self.cfg.task == "deblur" else self._enhance(rng)
        return _to_chw(x), _to_chw(y)


def _lq_versions(cfg: RestoreTrainConfig, clips: list[Clip]) -> dict:
    """Enhance: each clip area-downscaled by ``scale`` and round-tripped through H.264 at each CRF."""
    s = cfg.scale
    out = {}
    for ci, clip in enumerate(clips):
        t, h, w = clip.frames.shape[:3]
        h2, w2 = h // (2 * s) * 2, w // (2 * s) * 2
        clip.frames = clip.frames[:, :h2 * s, :w2 * s]
        small = np.stack([cv2.resize(f, (w2, h2), interpolation=cv2.INTER_AREA) for f in clip.frames])
        for crf in cfg.crfs:
            out[(ci, crf)] = h264_roundtrip(small, crf)
    return out


def build_data(cfg: RestoreTrainConfig) -> tuple[RestorationSamples, list, str]:
    """Training samples, the fixed validation batches, and the name of the baseline they are scored against."""
    split = load_split(cfg.split)
    drop = {k: split["holdout"].get(k, []) + split["val"].get(k, []) for k in set(split["holdout"]) | set(split["val"])}
    clips, val_clips = [], []
    for folder in cfg.data:
        clips += load_clips(folder, cfg.max_side, cfg.max_frames, drop=drop)
        if split["val"]:
            try:
                val_clips += load_clips(folder, cfg.max_side, cfg.max_frames, keep=split["val"], drop=split["holdout"])
            except Exception:  # a folder without validation ranges of its own
                pass
    if cfg.corpus:
        c_train, c_val = training_clips(cfg.corpus, cfg.corpus_clips, 16, 2 * cfg.crop, cfg.seed, cfg.max_side,
                                        cfg.corpus_motion)
        clips += c_train
        val_clips += c_val
    usable = [c for c in clips if min(c.frames.shape[1:3]) >= cfg.crop and len(c.frames) >= 5]
    if clips and not usable:
        raise InputError(f"no video is at least {cfg.crop}x{cfg.crop} with 5 frames in a shot: lower --crop")
    clips = usable
    val_clips = [c for c in val_clips if min(c.frames.shape[1:3]) >= cfg.crop and len(c.frames) >= 5]
    centres = None
    if cfg.sharpest > 0:
        centres = []
        for c in clips:
            sharp = np.array([sharpness(f) for f in c.frames])
            centres.append(np.nonzero(sharp >= np.quantile(sharp, 1 - cfg.sharpest))[0])
    lq = _lq_versions(cfg, clips) if cfg.task == "enhance" else {}
    train = RestorationSamples(cfg, clips, lq, cfg.steps * cfg.batch_size * cfg.grad_accum, cfg.seed,
                               cfg.synthetic_ratio, centres)
    vclips = val_clips or clips
    vcfg = RestoreTrainConfig(**{**asdict(cfg), "crfs": (26,)})
    vlq = _lq_versions(vcfg, vclips) if cfg.task == "enhance" else {}
    val = RestorationSamples(vcfg, vclips, vlq, cfg.val_samples, cfg.seed + 10_000, 0.0 if vclips else 1.0)
    batches = []
    for i in range(0, cfg.val_samples, 8):
        items = [val[j] for j in range(i, min(i + 8, cfg.val_samples))]
        batches.append(tuple(torch.stack(z) for z in zip(*items)))
    return train, batches, ("input" if cfg.task == "deblur" else "bicubic")


def baseline(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """What the generator is measured against: the degraded centre frame, upscaled bicubically if need be."""
    c = x[:, 3:6]
    return c if c.shape[-2:] == size else F.interpolate(c, size=size, mode="bicubic", align_corners=False).clamp(0, 1)


def evaluate(net: torch.nn.Module, batches: list, device) -> tuple[float, float]:
    net.eval()
    ours, base = [], []
    with torch.no_grad():
        for x, y in batches:
            x, y = x.to(device), y.to(device)
            ours.append(psnr_batch(net(x), y))
            base.append(psnr_batch(baseline(x, tuple(y.shape[-2:])), y))
    net.train()
    return float(torch.cat(ours).mean()), float(torch.cat(base).mean())


def fft_l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (torch.fft.rfft2(a, norm="ortho") - torch.fft.rfft2(b, norm="ortho")).abs().mean()


def build_model(cfg: RestoreTrainConfig) -> torch.nn.Module:
    if cfg.task == "deblur":
        return DeblurNet.from_pretrained(cfg.init) if cfg.init else DeblurNet(DeblurConfig())
    if cfg.task == "enhance":
        if cfg.init:
            return EnhanceNet.from_pretrained(cfg.init)
        return EnhanceNet(EnhanceConfig(scale=cfg.scale, width=cfg.width, blocks=cfg.blocks, unshuffle=cfg.unshuffle))
    raise OptionError(f"unknown task {cfg.task!r}: deblur or enhance")


def train(cfg: RestoreTrainConfig, resume: bool = False, progress: bool = True, command: str | None = None,
          stop_after: int | None = None) -> Path:
    """Run (or resume) a deblur/enhance training; returns the final weights file (or last checkpoint)."""
    from accelerate import Accelerator
    from accelerate.utils import set_seed

    if cfg.steps < 1 or cfg.batch_size < 1:
        raise OptionError("--steps and --batch-size must be at least 1")
    accelerator = Accelerator(gradient_accumulation_steps=cfg.grad_accum, mixed_precision=cfg.mixed_precision)
    set_seed(cfg.seed)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    gen = build_model(cfg)
    disc = PatchDiscriminator()
    opt_g = torch.optim.AdamW(gen.parameters(), lr=cfg.lr, betas=(0.9, 0.99), weight_decay=0.0)
    opt_d = torch.optim.AdamW(disc.parameters(), lr=cfg.lr, betas=(0.9, 0.99), weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt_g, lr_lambda(cfg.steps, cfg.warmup))
    train_set, val_batches, base_name = build_data(cfg)
    start, ckpt = resume_point(out, resume)
    loader = indexed_loader(train_set, start, cfg.batch_size, cfg.grad_accum, cfg.workers)
    gen, disc, opt_g, opt_d, loader, sched = accelerator.prepare(gen, disc, opt_g, opt_d, loader, sched)
    if ckpt is not None:
        accelerator.load_state(str(ckpt))
        accelerator.print(f"resumed from {ckpt} at step {start}")
    json.dump(asdict(cfg), open(out / "config.json", "w"), indent=1)
    net = accelerator.unwrap_model(gen)
    state = {"step": start}
    gan_from = int(cfg.gan_start * cfg.steps) if cfg.gan_weight > 0 else None

    def eval_fn() -> dict:
        v, vbase = evaluate(net, val_batches, accelerator.device)
        return {"val_psnr": round(v, 3), f"val_psnr_{base_name}": round(vbase, 3)}

    def step_fn(batch) -> float:
        x, y = batch
        out_img = gen(x)
        loss = F.l1_loss(out_img, y) + cfg.fft_weight * fft_l1(out_img, y)
        adversarial = gan_from is not None and state["step"] >= gan_from
        if adversarial:
            loss = loss - cfg.gan_weight * disc(out_img).mean()  # hinge generator loss
        accelerator.backward(loss)
        opt_g.step()
        sched.step()
        opt_g.zero_grad()
        if adversarial:
            d_loss = F.relu(1 - disc(y)).mean() + F.relu(1 + disc(out_img.detach())).mean()
            accelerator.backward(d_loss)
            opt_d.step()
            opt_d.zero_grad()
        state["step"] += 1
        return float(loss.detach())

    if start == 0:
        log_record(accelerator, out, {"step": 0, **eval_fn()})
    t0 = time.time()
    if not fit(accelerator, out, cfg.steps, start, loader, [gen, disc], step_fn, eval_fn, cfg.eval_every,
               cfg.save_every, progress, stop_after):
        return latest_checkpoint(out)
    record = training_record(accelerator, command, cfg.steps, time.time() - t0, cfg.data, cfg.split, cfg.corpus)
    record["gan"] = f"weight {cfg.gan_weight} from step {gan_from}" if gan_from is not None else "none"
    if accelerator.is_main_process:
        name = DEBLUR if cfg.task == "deblur" else f"enhance_x{cfg.scale}.safetensors"
        path = out / name
        net.save_pretrained(path, extra=record)
        accelerator.print(f"saved {path}")
        return path
    return out


def finetune_split(cfg: RestoreTrainConfig, val_fraction: float = 0.1) -> str:
    from .interpolation import finetune_split as split_interp

    return split_interp(cfg, val_fraction)  # same rule: the last share of each video validates


def main(argv=None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("deblur", "enhance"):
        raise SystemExit("usage: python -m vidgen.training.restoration deblur|enhance --data DIR ...")
    task = argv.pop(0)
    p = argparse.ArgumentParser(prog=f"vidgen.training.restoration {task}")
    add_restore_arguments(p, task)
    a = p.parse_args(argv)
    train(restore_config_from_args(a, task), resume=a.resume,
          command=f"accelerate launch -m vidgen.training.restoration {task} " + shlex.join(argv))


if __name__ == "__main__":
    main()
