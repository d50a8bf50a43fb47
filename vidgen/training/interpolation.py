"""Train (or fine-tune) the learned interpolator's :class:`FlowRefiner` with accelerate.

The same script runs on one CPU or many GPUs: ``vidgen train interpolate --data DIR`` in a shell,
or ``accelerate launch --config_file training/accelerate/<cfg>.yaml -m vidgen.training.interpolation
--data DIR`` (``torchrun --nproc_per_node 2`` for several CPU processes). The loop is the usual
accelerate one: ``prepare``, ``accumulate``, ``backward``, ``save_state``/``load_state`` for resuming.

Samples are drawn by index from a seeded generator, so a resumed run sees the same data it would
have seen, and the validation set is fixed: held-out footage windows and synthetic scenes, scored
against the classical method on the same samples in every evaluation.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import OptionError
from ..metrics import psnr, psnr_batch
from ..weights import INTERP_REFINER
from ..interpolators.classical import ClassicalConfig, ClassicalInterpolator
from ..interpolators.learned import classical_features, compose, features_to_tensor
from ..models.refiner import FlowRefiner, RefinerConfig
from .config import TrainConfig, parse_args
from .loop import fit, indexed_loader, latest_checkpoint, log_record, lr_lambda, resume_point, training_record
from .stills import training_clips
from .data import FootageWindows, augment, load_clips, load_split, photo_textures, synthetic_sample


class InterpolationSamples(Dataset):
    """Sample ``idx`` -> (refiner input (19, h, w), frame0, frame1, truth) as float tensors."""

    def __init__(self, footage: FootageWindows | None, cfg: TrainConfig, length: int, seed: int,
                 flow_scale: float):
        self.footage, self.cfg, self.length, self.seed, self.flow_scale = footage, cfg, length, seed, flow_scale
        self._photos: list[np.ndarray] | None = None
        self._interp: ClassicalInterpolator | None = None

    def __len__(self) -> int:
        return self.length

    def raw(self, idx: int):
        """The augmented ``(frame0, frame1, truth, t)`` of sample ``idx`` (float32 in [0, 1])."""
        if self._photos is None:
            self._photos = photo_textures()
        rng = np.random.default_rng([self.seed, idx])
        crop = self.cfg.crop
        if self.footage is None or rng.random() < self.cfg.synthetic_ratio:
            f0, f1, gt, t = synthetic_sample(rng, crop, self._photos)
            return augment(rng, f0, f1, gt, t, crop, scale_range=(1.0, 1.0))
        return augment(rng, *self.footage.sample(rng), crop)

    def __getitem__(self, idx: int):
        if self._interp is None:  # OpenCV objects do not pickle: make one per worker
            self._interp = ClassicalInterpolator(ClassicalConfig(flow_max_side=max(512, self.cfg.crop)))
        f0, f1, gt, t = self.raw(idx)
        if self.cfg.classical_flow:
            feat = classical_features(self._interp, f0, f1, t)
        else:  # no prior motion: the network must find the flow itself
            zero = np.zeros(f0.shape[:2] + (2,), np.float32)
            ones = np.ones(f0.shape[:2], np.float32)
            feat = {"ft0": zero, "ft1": zero, "vis0": ones, "vis1": ones, "warped0": f0, "warped1": f1}
        x = features_to_tensor(feat, f0, f1, t, self.flow_scale)
        return x, *(torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1))) for a in (f0, f1, gt))


def log_mse(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Mean over samples of log10(MSE): minus a tenth of the mean PSNR, which is what is scored.

    Batch-mean MSE or L1 let the hardest samples dominate: training with them lowered the mean
    PSNR of the very samples trained on (34.60 -> 34.27-34.54 dB), while this loss raised it.
    """
    return torch.log10(((a - b) ** 2).flatten(1).mean(1) + eps).mean()


def build_data(cfg: TrainConfig, flow_scale: float) -> tuple[InterpolationSamples, list]:
    """The training dataset and the fixed validation batch list."""
    split = load_split(cfg.split)
    train_clips, val_clips = [], []
    for folder in cfg.data:
        val_ranges = split["val"]
        drop = {k: split["holdout"].get(k, []) + val_ranges.get(k, []) for k in set(split["holdout"]) | set(val_ranges)}
        train_clips += load_clips(folder, cfg.max_side, cfg.max_frames, drop=drop)
        if val_ranges:
            try:
                val_clips += load_clips(folder, cfg.max_side, cfg.max_frames, keep=val_ranges,
                                        drop=split["holdout"])
            except Exception:  # a folder without validation ranges of its own
                pass
    if cfg.corpus:
        c_train, c_val = training_clips(cfg.corpus, cfg.corpus_clips, 16, cfg.crop + cfg.crop // 3, cfg.seed,
                                        cfg.max_side, cfg.corpus_motion)
        train_clips += c_train
        val_clips += c_val
    footage = FootageWindows(train_clips, cfg.max_span) if train_clips else None
    if footage is None and cfg.synthetic_ratio < 1:
        cfg.synthetic_ratio = 1.0
    train = InterpolationSamples(footage, cfg, cfg.steps * cfg.batch_size * cfg.grad_accum, cfg.seed, flow_scale)
    # Validation: held-out footage when the split names some, else later frames of the training data
    # drawn with another seed (then it measures fit, not generalisation), plus synthetic scenes.
    val_footage = FootageWindows(val_clips, cfg.max_span) if val_clips else footage
    vcfg = TrainConfig(**{**asdict(cfg), "synthetic_ratio": 0.25 if val_footage is not None else 1.0})
    val = InterpolationSamples(val_footage, vcfg, cfg.val_samples, cfg.seed + 10_000, flow_scale)
    batches = []
    for i in range(0, cfg.val_samples, 8):
        items = [val[j] for j in range(i, min(i + 8, cfg.val_samples))]
        batches.append(tuple(torch.stack(z) for z in zip(*items)))
    return train, batches


def evaluate(model: torch.nn.Module, batches: list, device) -> tuple[float, float]:
    """Mean validation PSNR of the model and of the classical method (zero corrections)."""
    model.eval()
    net = model
    ours, base = [], []
    with torch.no_grad():
        for x, f0, f1, gt in batches:
            x, f0, f1, gt = x.to(device), f0.to(device), f1.to(device), gt.to(device)
            ours.append(psnr_batch(compose(net, x, f0, f1, net.config.flow_scale), gt))
            base.append(psnr_batch(_classical_output(x, f0, f1, net.config.flow_scale), gt))
    model.train()
    return float(torch.cat(ours).mean()), float(torch.cat(base).mean())


def _classical_output(x, f0, f1, flow_scale):
    from ..interpolators.learned import prior_logit
    from ..models.warp import backward_warp

    mask = torch.sigmoid(prior_logit(x[:, 16:17], x[:, 17:18], x[:, 18:19]))
    out = backward_warp(f0, x[:, 12:14] * flow_scale) * mask + backward_warp(f1, x[:, 14:16] * flow_scale) * (1 - mask)
    return out.clamp(0, 1)


def train(cfg: TrainConfig, resume: bool = False, progress: bool = True, command: str | None = None,
          stop_after: int | None = None) -> Path:
    """Run (or resume) training; returns the path of the final weights (or adapter) file.

    ``stop_after`` ends this process after that many steps (a checkpoint is saved there), as an
    interrupted run would; ``resume=True`` continues from the last checkpoint.
    """
    from accelerate import Accelerator
    from accelerate.utils import set_seed

    from .adapters import add_lora, save_adapter

    if cfg.steps < 1 or cfg.batch_size < 1:
        raise OptionError("--steps and --batch-size must be at least 1")
    accelerator = Accelerator(gradient_accumulation_steps=cfg.grad_accum, mixed_precision=cfg.mixed_precision)
    set_seed(cfg.seed)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    model = FlowRefiner.from_pretrained(cfg.init) if cfg.init else FlowRefiner(RefinerConfig())
    base_state = {k: v.clone() for k, v in model.state_dict().items()} if cfg.init else None
    if cfg.lora_rank > 0:
        model = add_lora(model, cfg.lora_rank)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(cfg.steps, cfg.warmup))
    train_set, val_batches = build_data(cfg, model.config.flow_scale)
    start, ckpt = resume_point(out, resume)
    loader = indexed_loader(train_set, start, cfg.batch_size, cfg.grad_accum, cfg.workers)
    model, opt, loader, sched = accelerator.prepare(model, opt, loader, sched)
    if ckpt is not None:
        accelerator.load_state(str(ckpt))
        accelerator.print(f"resumed from {ckpt} at step {start}")
    json.dump(asdict(cfg), open(out / "config.json", "w"), indent=1)
    net = accelerator.unwrap_model(model)
    flow_scale = net.config.flow_scale

    def eval_fn() -> dict:
        v, vbase = evaluate(net, val_batches, accelerator.device)
        return {"val_psnr": round(v, 3), "val_psnr_classical": round(vbase, 3)}

    def step_fn(batch) -> float:
        x, f0, f1, gt = batch
        loss = log_mse(compose(model, x, f0, f1, flow_scale), gt)
        accelerator.backward(loss)
        opt.step()
        sched.step()
        opt.zero_grad()
        return float(loss.detach())

    if start == 0 and cfg.init:  # where fine-tuning starts from
        log_record(accelerator, out, {"step": 0, **eval_fn()})
    t0 = time.time()
    if not fit(accelerator, out, cfg.steps, start, loader, [model], step_fn, eval_fn, cfg.eval_every,
               cfg.save_every, progress, stop_after):
        return latest_checkpoint(out)
    record = training_record(accelerator, command, cfg.steps, time.time() - t0, cfg.data, cfg.split, cfg.corpus)
    if accelerator.is_main_process:
        if cfg.lora_rank > 0 or cfg.init:
            path = out / "adapter.safetensors"
            save_adapter(net, path, base_state, record)
        else:
            path = out / INTERP_REFINER
            net.save_pretrained(path, extra=record)
        accelerator.print(f"saved {path}")
        return path
    return out


def heldout_psnr(interp, video: str | os.PathLike, start: int, end: int, span: int = 2) -> float:
    """Mean PSNR of re-making each frame i + span/2 from frames i and i + span, for windows in
    ``[start, end)`` of ``video`` (frames as the reader decodes them)."""
    from ..io.reader import VideoReader

    frames = []
    with VideoReader(video) as r:
        for i, f in enumerate(r):
            if i >= end:
                break
            if i >= start:
                frames.append(np.array(f))
    scores = []
    for i in range(0, len(frames) - span):
        out = interp.interpolate(interp.prepare(frames[i], frames[i + span]), 0.5)
        scores.append(psnr(out, frames[i + span // 2]))
    return float(np.mean(scores))


def finetune_split(cfg: TrainConfig, val_fraction: float = 0.1) -> str:
    """Write a split that validates on the last ``val_fraction`` of each video; returns its path."""
    from ..io.probe import probe
    from .data import list_videos

    val = {}
    for folder in cfg.data:
        for path in list_videos(folder):
            n = min(probe(path).frame_count or 0, cfg.max_frames)
            if n >= 10:
                val[path.name] = [[int(n * (1 - val_fraction)), n]]
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    split = out / "split.json"
    split.write_text(json.dumps({"holdout": {}, "val": val}, indent=1))
    return str(split)


def main(argv=None) -> None:
    cfg, resume = parse_args(argv)
    train(cfg, resume=resume, command="accelerate launch -m vidgen.training.interpolation " +
          shlex.join(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()
