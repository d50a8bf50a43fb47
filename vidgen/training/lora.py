"""LoRA fine-tuning of a text-to-video model on your own footage, with peft and accelerate.

    vidgen train lora --data my_clips/ --caption "a purple circle moving left" --steps 300

1. Data: every video under ``--data`` is read once, frame by frame; frames are resized (shorter side
   to the model's frame size, centre crop) and cut into clips of ``--frames`` frames. The frozen VAE
   encodes each clip as it completes and only its latents are kept (16 KB for 16 frames of the
   shipped model), so memory follows the clips' latents, never the videos. Captions come from a CSV
   (``file,caption``) or one ``--caption``; the frozen text encoder embeds each caption once.
2. Adapter: peft LoRA layers on the U-Net's attention projections (spatial and/or temporal); the
   rest of the model stays frozen.
3. Loop (the same on one CPU or many GPUs under ``accelerate launch``): epsilon objective on
   noised latents, learning-rate schedule with warm-up, gradient accumulation, optional gradient
   checkpointing and mixed precision, a checkpoint every ``--save-every`` steps for ``--resume``.
4. ``OUT/lora.safetensors``, loadable by ``vidgen generate --lora`` and diffusers' ``load_lora_weights``.
"""

from __future__ import annotations

import csv
import json
import logging
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ..errors import InputError, OptionError, VidgenError
from .data import list_videos
from .lora_options import LoraTrainConfig
from .loop import fit, indexed_loader, log_record, optimizer_step, resume_point, training_record

log = logging.getLogger("vidgen")


def read_captions(data: Path, videos: list[Path], csv_path: str | None, caption: str | None) -> list[str]:
    """One caption per video, from ``caption`` or a ``file,caption`` CSV that must match the videos exactly."""
    if caption is not None:
        if not caption.strip():
            raise OptionError("--caption is empty")
        return [caption.strip()] * len(videos)
    path = Path(csv_path)
    if not path.is_file():
        raise InputError(f"caption file {path} does not exist")
    try:
        rows = [r for r in csv.reader(path.read_text(encoding="utf-8-sig").splitlines()) if any(c.strip() for c in r)]
    except (UnicodeDecodeError, csv.Error) as e:
        raise InputError(f"{path} is not a readable CSV ({e})") from None
    if rows and [c.strip().lower() for c in rows[0][:2]] == ["file", "caption"]:
        rows = rows[1:]
    by_key: dict[str, str] = {}
    for i, r in enumerate(rows, 1):
        if len(r) < 2 or not r[0].strip() or not r[1].strip():
            raise InputError(f"{path} row {i}: expected 'file,caption', got {','.join(r)!r}")
        by_key[r[0].strip()] = r[1].strip()
    keys = {str(v.relative_to(data)): v for v in videos} | {v.name: v for v in videos}
    unknown = [k for k in by_key if k not in keys]
    if unknown:
        raise InputError(f"{path} names {unknown[0]!r}, which is not a video in {data}"
                         + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""))
    out = []
    for v in videos:
        text = by_key.get(str(v.relative_to(data)), by_key.get(v.name))
        if text is None:
            raise InputError(f"{path} has no caption for {v.relative_to(data)}; add a row '{v.relative_to(data)},...'")
        out.append(text)
    return out


def square_frame(frame: np.ndarray, size: int) -> np.ndarray:
    """``(H, W, 3)`` -> ``(size, size, 3)`` uint8: shorter side scaled to ``size``, centre crop."""
    if frame.dtype != np.uint8:
        frame = (frame / 257).round().astype(np.uint8)
    h, w = frame.shape[:2]
    s = size / min(h, w)
    nh, nw = max(size, round(h * s)), max(size, round(w * s))
    small = cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)
    y, x = (nh - size) // 2, (nw - size) // 2
    return small[y:y + size, x:x + size]


def video_clips(path: Path, frames: int, stride: int, size: int):
    """Yield ``(frames, size, size, 3)`` uint8 clips of one video, streaming (at most one clip + stride in memory)."""
    from ..io.reader import VideoReader

    buf: list[np.ndarray] = []
    skip = 0
    try:
        with VideoReader(path) as reader:
            for f in reader:
                if skip:
                    skip -= 1
                    continue
                buf.append(square_frame(f, size))
                if len(buf) == frames:
                    yield np.stack(buf)
                    buf = buf[stride:] if stride < frames else []
                    skip = max(0, stride - frames)
    except VidgenError as e:
        raise InputError(f"cannot read {path}: {e}") from None


class CachedClips(Dataset):
    """Sample ``idx`` -> (latents ``(C, T, h, w)``, caption index), drawn by a seeded generator."""

    def __init__(self, latents: list[torch.Tensor], caption_ids: list[int], length: int, seed: int):
        self.latents, self.caption_ids, self.length, self.seed = latents, caption_ids, length, seed

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, idx: int):
        k = int(np.random.default_rng([self.seed, idx]).integers(len(self.latents)))
        return self.latents[k], self.caption_ids[k]


@torch.no_grad()
def encode_footage(cfg: LoraTrainConfig, encode: Callable[[np.ndarray], torch.Tensor], frames: int, size: int,
                   progress: bool) -> tuple[list[torch.Tensor], list[int], list[str]]:
    """Read, cut (``frames`` per clip, ``size`` square) and encode every video with ``encode`` (a
    ``(T, H, W, 3)`` uint8 clip -> its latents): (clip latents, caption index per clip, captions)."""
    from ..progress import progress_bar

    data = Path(cfg.data)
    videos = list_videos(data)
    captions = read_captions(data, videos, cfg.captions, cfg.caption)
    stride = cfg.stride or frames
    unique = sorted(set(captions))
    latents, ids = [], []
    with progress_bar(len(videos), "encode clips", enabled=progress, unit="video") as bar:
        for video, text in zip(videos, captions):
            for clip in video_clips(video, frames, stride, size):
                latents.append(encode(clip))
                ids.append(unique.index(text))
            bar.update(1)
    if not latents:
        raise InputError(f"no video in {data} has {frames} frames; use shorter --frames or longer videos")
    log.info("%d clips of %d frames from %d videos, %d captions", len(latents), frames, len(videos), len(unique))
    return latents, ids, unique


def vae_encoder(pipe) -> Callable[[np.ndarray], torch.Tensor]:
    """The frozen VAE of vidgen's own / ModelScope-style pipeline as :func:`encode_footage`'s ``encode``."""
    from ..models.t2v import encode_clips

    def encode(clip: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(clip).permute(3, 0, 1, 2).float()[None] / 127.5 - 1  # (1, 3, T, H, W)
        return encode_clips(pipe.vae, x)[0].float().contiguous()  # (C, T, h, w)
    return encode


def checkpoint_blocks(unet: torch.nn.Module) -> int:
    """Recompute each U-Net block's activations in the backward pass instead of storing them.

    diffusers' ``UNet3DConditionModel`` refuses ``enable_gradient_checkpointing`` (0.42), so its
    down, mid and up blocks are wrapped here with non-reentrant ``torch.utils.checkpoint``, which
    keeps gradients flowing to adapter weights even though the blocks' inputs need none.
    """
    from functools import partial

    from torch.utils.checkpoint import checkpoint

    blocks = [*unet.down_blocks, unet.mid_block, *unet.up_blocks]
    for block in blocks:
        inner = block.forward

        def forward(*args, _inner=inner, **kwargs):
            if not torch.is_grad_enabled():
                return _inner(*args, **kwargs)
            return checkpoint(partial(_inner, **kwargs), *args, use_reentrant=False)

        block.forward = forward
    return len(blocks)


def make_accelerator(cfg: LoraTrainConfig):
    from accelerate import Accelerator

    if cfg.mixed_precision == "fp16" and not torch.cuda.is_available():
        raise OptionError("--mixed-precision fp16 needs a CUDA GPU; use bf16 or no")
    try:
        return Accelerator(gradient_accumulation_steps=cfg.grad_accum, mixed_precision=cfg.mixed_precision)
    except ValueError as e:
        raise OptionError(f"--mixed-precision {cfg.mixed_precision}: {e}") from None


def train(cfg: LoraTrainConfig, resume: bool = False, progress: bool = True, command: str | None = None,
          stop_after: int | None = None) -> Path:
    """Train a LoRA on ``cfg.data``; returns ``OUT/lora.safetensors`` (or the last checkpoint when stopped early)."""
    from accelerate.utils import set_seed
    from diffusers.optimization import get_scheduler

    from ..models.unet_lora import add_lora, save_lora, set_adapters
    from ..pipelines.text_to_video import TextToVideoPipeline

    set_seed(cfg.seed)
    t0 = time.time()
    out = Path(cfg.out)
    acc = make_accelerator(cfg)
    pipe = TextToVideoPipeline.from_pretrained(cfg.base)
    latents, ids, captions = encode_footage(cfg, vae_encoder(pipe), cfg.frames or 16,
                                            pipe.unet.config.sample_size * pipe.vae_scale_factor,
                                            progress and acc.is_main_process)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=1))
    with torch.no_grad():
        text = pipe.encode_prompt(captions, None).float()  # (captions, L, D), frozen
        # row 0: the empty prompt, always kept when preserving; then the user's prompts
        kept = pipe.encode_prompt(["", *cfg.preserve_prompts], None).float() if cfg.preserve > 0 else None
    unet, noise_sched = pipe.unet, pipe.scheduler
    alpha = float(cfg.alpha if cfg.alpha is not None else cfg.rank)
    names = add_lora(unet, cfg.rank, alpha, cfg.targets)
    if cfg.gradient_checkpointing:
        checkpoint_blocks(unet)
    unet.train()
    params = [p for p in unet.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=1e-2)
    sched = get_scheduler(cfg.lr_schedule, opt, num_warmup_steps=cfg.warmup * acc.num_processes,
                          num_training_steps=cfg.steps * acc.num_processes)
    length = cfg.steps * cfg.batch_size * cfg.grad_accum * acc.num_processes
    data = CachedClips(latents, ids, length, cfg.seed)
    val_idx = list(range(min(8, len(latents))))
    val_lat = torch.stack([latents[i] for i in val_idx])
    val_text = text[[ids[i] for i in val_idx]]
    start, ckpt = resume_point(out, resume)
    loader = indexed_loader(data, start, cfg.batch_size, cfg.grad_accum, 0)
    unet, opt, loader, sched = acc.prepare(unet, opt, loader, sched)
    if ckpt is not None:
        acc.load_state(str(ckpt))
    n_train = noise_sched.config.num_train_timesteps
    text = text.to(acc.device)
    kept = kept.to(acc.device) if kept is not None else None

    def loss_on(lat: torch.Tensor, emb: torch.Tensor, gen: torch.Generator | None = None,
                preserve: bool = False) -> torch.Tensor:
        noise = torch.randn(lat.shape, generator=gen).to(lat.device)
        t = torch.randint(0, n_train, (lat.shape[0],), generator=gen).to(lat.device)
        noisy = noise_sched.add_noise(lat, noise, t)
        # the base model's own objective: the noise, or v for a v-prediction model
        truth = noise_sched.get_velocity(lat, noise, t) if noise_sched.config.prediction_type == "v_prediction" \
            else noise
        if not preserve:
            pred = unet(noisy, t, encoder_hidden_states=emb).sample
            return F.mse_loss(pred.float(), truth.float())
        # prior preservation against the base model itself: the same noisy clips under a preserved prompt
        # must get the prediction the base (adapters off) gives them. Half the samples keep the empty
        # prompt, the rest a random one of the user's (if any). One forward for both halves, so DDP sees
        # a single forward per backward.
        k = torch.zeros(lat.shape[0], dtype=torch.long)
        if len(kept) > 1:
            others = torch.randint(1, len(kept), (lat.shape[0],), generator=gen)
            k = torch.where(torch.rand(lat.shape[0], generator=gen) < 0.5, k, others)
        k = k.to(lat.device)
        base_unet = acc.unwrap_model(unet)
        with torch.no_grad():
            set_adapters(base_unet, False)
            target = base_unet(noisy, t, encoder_hidden_states=kept[k]).sample
            set_adapters(base_unet, True)
        pred = unet(torch.cat([noisy, noisy]), torch.cat([t, t]), encoder_hidden_states=torch.cat([emb, kept[k]])).sample
        fit_loss = F.mse_loss(pred[: len(lat)].float(), truth.float())
        return fit_loss + cfg.preserve * F.mse_loss(pred[len(lat):].float(), target.float())

    micro = [start * cfg.grad_accum]  # micro-batches done: seeds each one's noise and timesteps

    def step_fn(batch) -> float:
        lat, cid = batch
        # a generator per micro-batch, not the global RNG: a resumed run draws what the uninterrupted one
        # drew (creating the data iterator after load_state takes a number from the global RNG)
        gen = torch.Generator().manual_seed(hash((cfg.seed, acc.process_index, micro[0])) % 2**63)
        micro[0] += 1
        loss = loss_on(lat, text[cid.to(acc.device)], gen, preserve=kept is not None)
        return optimizer_step(acc, loss, params, opt, sched)

    def eval_fn() -> dict:
        with torch.no_grad():
            loss = loss_on(val_lat.to(acc.device), val_text.to(acc.device), torch.Generator().manual_seed(0))
        return {"val_loss": round(float(loss), 5), "lr": float(f"{sched.get_last_lr()[0]:.3g}")}

    if not fit(acc, out, cfg.steps, start, loader, [unet], step_fn, eval_fn, cfg.eval_every, cfg.save_every,
               progress, stop_after):
        return out / "checkpoints" / f"step_{start + stop_after}"
    path = out / "lora.safetensors"
    if acc.is_main_process:
        record = training_record(acc, command, cfg.steps, time.time() - t0, [cfg.data], None)
        record.update(base=str(cfg.base or "vidgen shipped model"), captions=json.dumps(captions),
                      targets=",".join(cfg.targets), clips=str(len(latents)))
        save_lora(acc.unwrap_model(unet), path, cfg.rank, alpha, names, record)
    log_record(acc, out, {"step": cfg.steps, "saved": str(path)})
    return path


def main(argv=None) -> None:
    import argparse

    from .lora_options import add_lora_arguments, config_from_args

    p = argparse.ArgumentParser(prog="vidgen.training.lora")
    add_lora_arguments(p)
    a = p.parse_args(argv)
    train(config_from_args(a), resume=a.resume,
          command="accelerate launch -m vidgen.training.lora " + shlex.join(sys.argv[1:]))


if __name__ == "__main__":
    main()
