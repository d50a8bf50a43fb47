"""Teach the VAE decoder of vidgen's small text-to-video model to read the caption, with accelerate.

The model's 8x8 latents hold a 12-16 px shape in one or two latent pixels, and its U-Net settles the
shape early in denoising, following the latents more than the shape word: given another shape's latents
noised to t = 561 and the caption, it kept the caption's shape 40% of the time (benchmarks/RESULTS.md,
session 24, ``benchmarks/t2v_decoder_shapes.py``). The decoder gains a caption
input (:class:`vidgen.models.vae.CaptionFiLM`, starting at zero) and learns to draw the shape the
caption names from latents that do not settle it: each clip comes with its twin (the same draw in
another shape, :class:`ShapeClips` ``pair``) and a share of clips is decoded from a random mixture of
the two latents, with noise, while the target stays the clip. The encoder stays frozen, so the U-Net's
latents keep their meaning. Clips come from the training combinations only.

The finished model folder ``OUT/model`` is the input model with the new VAE; a decoder that already
reads the caption (the shipped model's) is trained on from where it is.

    vidgen train t2v-decoder --model MODEL --out runs/t2v_decoder      # 4000 steps, --mix 0.8
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch
import torch.nn.functional as F

from .loop import fit, indexed_loader, latest_checkpoint, log_record, lr_lambda, resume_point, training_record
from .shapes import training_combinations
from .t2v_options import DecoderTrainConfig, add_decoder_arguments, decoder_config_from_args
from .text_to_video import ShapeClips, sobel


def captioned_vae(vae, text_dim: int):
    """``vae`` (a ShapeVAE) with a decoder that reads captions of width ``text_dim``: itself if it already
    does, else a copy with the same weights and a fresh :class:`CaptionFiLM` (which starts at zero)."""
    from ..errors import WeightsError
    from ..models.vae import ShapeVAE

    if not isinstance(vae, ShapeVAE):
        raise WeightsError(f"the model's VAE is {type(vae).__name__}; only vidgen's ShapeVAE gains a caption input")
    if vae.caption_film is not None:
        return vae
    new = ShapeVAE(**{**{k: v for k, v in vae.config.items() if not k.startswith("_")}, "text_dim": text_dim})
    missing, unexpected = new.load_state_dict(vae.state_dict(), strict=False)
    assert not unexpected and all(k.startswith("caption_film.") for k in missing)
    return new


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR in dB of frames in [-1, 1] (:func:`vidgen.metrics.psnr` with their peak-to-peak range of 2)."""
    from ..metrics import psnr as psnr_of

    return psnr_of(a.clamp(-1, 1).cpu().numpy(), b.cpu().numpy(), peak=2.0)


def pick_frames(clips: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``(B, 3, T, H, W)`` clips, ``(B, K)`` frame indices -> ``(B * K, 3, H, W)`` frames."""
    b, _, _, h, w = clips.shape
    idx = index[:, None, :, None, None].expand(b, 3, index.shape[1], h, w)
    return clips.gather(2, idx).permute(0, 2, 1, 3, 4).reshape(-1, 3, h, w)


def decoder_input(z: torch.Tensor, z_twin: torch.Tensor, weight: torch.Tensor, noise_std: torch.Tensor,
                  gen: torch.Generator) -> torch.Tensor:
    """``weight * z + (1 - weight) * z_twin`` plus Gaussian noise of ``noise_std``, per frame (``(N,)`` each)."""
    w, s = weight.view(-1, 1, 1, 1), noise_std.view(-1, 1, 1, 1)
    return w * z + (1 - w) * z_twin + s * torch.randn(z.shape, generator=gen).to(z.device, z.dtype)


def shape_region(a: torch.Tensor, b: torch.Tensor, threshold: float = 0.1) -> torch.Tensor:
    """``(N, 1, H, W)`` 1 where frames ``a`` and ``b`` (``(N, 3, H, W)`` in [-1, 1]) differ by more than
    ``threshold`` in any channel, grown by one pixel, else 0: where a clip and its shape twin differ."""
    differ = ((a - b).abs().amax(1, keepdim=True) > threshold).float()
    return F.max_pool2d(differ, 3, 1, 1)


def train(cfg: DecoderTrainConfig, resume: bool = False, progress: bool = True, command: str | None = None,
          stop_after: int | None = None) -> Path:
    """Returns the model folder with the captioned decoder (or the last checkpoint when stopped early)."""
    from accelerate import Accelerator
    from accelerate.utils import set_seed

    from ..pipelines.text_to_video import TextToVideoPipeline, default_model_dir

    t0 = time.time()
    set_seed(cfg.seed)
    pipe = TextToVideoPipeline.from_pretrained(cfg.model)
    vae = captioned_vae(pipe.vae, pipe.text_encoder.config.hidden_size)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=1))
    frames, size = 16, pipe.unet.config.sample_size * pipe.vae_scale_factor
    combos = training_combinations()
    data = ShapeClips(combos, frames, size, cfg.steps * cfg.batch_size, cfg.seed, cfg.textured, cfg.spread,
                      pair=("shape",))
    val_set = ShapeClips(combos, frames, size, 16, cfg.seed + 99, cfg.textured, cfg.spread, pair=("shape",))
    val = [val_set[i] for i in range(16)]
    text_encoder, tok = pipe.text_encoder.requires_grad_(False).eval(), pipe.tokenizer
    vae.encoder.requires_grad_(False)
    params = [p for p in vae.parameters() if p.requires_grad]
    acc = Accelerator()
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=1e-2)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(cfg.steps, 50))
    start, ckpt = resume_point(out, resume)
    loader = indexed_loader(data, start, cfg.batch_size, 1, cfg.workers)
    vae, opt, loader, sched = acc.prepare(vae, opt, loader, sched)
    if ckpt is not None:
        acc.load_state(str(ckpt))
    net = acc.unwrap_model(vae)
    text_encoder.to(acc.device)
    scale = net.config.scaling_factor
    gen = torch.Generator().manual_seed(cfg.seed * 7919 + start)

    def states(texts: list[str]) -> torch.Tensor:
        ids = tok(texts, padding="max_length", max_length=tok.model_max_length, truncation=True,
                  return_tensors="pt").input_ids
        with torch.no_grad():
            return text_encoder(ids.to(acc.device))[0]

    def encode(frames_: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return net.encode(frames_.to(acc.device)).latent_dist.mode()

    def loss_of(rec: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        # weight (N, 1, H, W): per pixel, normalised so that its mean is 1 in every frame
        weight = weight / weight.mean((2, 3), keepdim=True)
        return ((rec - target).pow(2) * weight).mean() + \
            cfg.edge_weight * ((sobel(rec) - sobel(target)).abs() * weight).mean()

    def step_fn(batch) -> float:
        x, texts, twin, _ = batch
        b = len(x)
        index = torch.stack([torch.randperm(frames, generator=gen)[:cfg.frames] for _ in range(b)])
        target, twin_frames = pick_frames(x, index).to(acc.device), pick_frames(twin, index).to(acc.device)
        z, z_twin = encode(target), encode(twin_frames)
        drop = torch.rand(b, generator=gen) < cfg.caption_dropout
        mixed = (torch.rand(b, generator=gen) < cfg.mix) & ~drop
        weight = torch.where(mixed, torch.rand(b, generator=gen), torch.ones(b))
        noise_std = torch.rand(b, generator=gen) * cfg.latent_noise / scale
        rep = cfg.frames
        zin = decoder_input(z, z_twin, weight.repeat_interleave(rep), noise_std.repeat_interleave(rep), gen)
        emb = states(["" if d else s for d, s in zip(drop.tolist(), texts)]).repeat_interleave(rep, 0)
        weight = 1 + cfg.shape_weight * shape_region(target, twin_frames)
        loss = loss_of(net.decode(zin, text_embeds=emb).sample, target, weight)
        acc.backward(loss)
        opt.step()
        sched.step()
        opt.zero_grad()
        return float(loss.detach())

    def eval_fn() -> dict:
        # val_psnr: the clip's own latents and caption; val_twin_psnr: its twin's latents (another shape)
        # with the clip's caption, against the clip: how far the caption alone draws the shape
        # (the decoder before training scores the twin's own shape there); val_twin_region_psnr: the same
        # where the two shapes differ
        net.eval()
        x = torch.stack([v[0] for v in val])
        twin = torch.stack([v[2] for v in val])
        index = torch.arange(0, frames, 4).repeat(len(val), 1)
        target = pick_frames(x, index).to(acc.device)
        emb = states([v[1] for v in val]).repeat_interleave(index.shape[1], 0)
        twin_frames = pick_frames(twin, index).to(acc.device)
        with torch.no_grad():
            own = net.decode(encode(target), text_embeds=emb).sample
            swapped = net.decode(encode(twin_frames), text_embeds=emb).sample
        net.train()
        region = shape_region(target, twin_frames).expand_as(target).bool()  # val_twin_region_psnr: there only
        return {"val_psnr": round(psnr(own, target), 2), "val_twin_psnr": round(psnr(swapped, target), 2),
                "val_twin_region_psnr": round(psnr(swapped[region], target[region]), 2)}

    if not fit(acc, out, cfg.steps, start, loader, [vae], step_fn, eval_fn, cfg.eval_every, cfg.save_every,
               progress, stop_after):
        return latest_checkpoint(out)
    pipe.vae = net.eval()
    model_dir = out / "model"
    pipe.save_pretrained(model_dir)
    record = training_record(acc, command, cfg.steps, time.time() - t0, ["procedural shapes"], None)
    record.update(held_out="vidgen.training.shapes.HELD_OUT", phase="VAE decoder with caption input (t2v-decoder)")
    before = Path(cfg.model or default_model_dir()) / "training.json"
    if before.is_file():
        record["continued"] = json.loads(before.read_text())
    (model_dir / "training.json").write_text(json.dumps(record, indent=1))
    log_record(acc, out, {"step": cfg.steps, "saved": str(model_dir)})
    return model_dir


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="vidgen.training.t2v_decoder")
    add_decoder_arguments(p)
    a = p.parse_args(argv)
    train(decoder_config_from_args(a), resume=a.resume,
          command="accelerate launch -m vidgen.training.t2v_decoder " + shlex.join(sys.argv[1:]))


if __name__ == "__main__":
    main()
