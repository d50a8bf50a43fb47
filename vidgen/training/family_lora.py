"""LoRA on the denoiser of a diffusers video family (Wan, LTX-Video, CogVideoX, AnimateDiff), on your footage.

    vidgen train lora --base ./Wan2.1-T2V-1.3B-Diffusers --data my_clips/ --caption "a paper boat" --size 480

The same skeleton as vidgen's own LoRA run (:mod:`vidgen.training.lora`): every video is cut into clips
(shorter side scaled to ``--size``, centre crop, ``--frames`` frames fitting the family's VAE) and
encoded once by the frozen VAE, the frozen text encoder embeds each caption once, and peft LoRA layers
on the denoiser's attention projections (:data:`vidgen.pipelines.video_models.FAMILIES` names them per
family) learn the family's own objective:

- Wan and LTX-Video: flow matching (``x_t = (1 - s) x0 + s noise``, the network predicts ``noise - x0``);
- CogVideoX and AnimateDiff: their DDPM schedule's objective (v-prediction for CogVideoX, epsilon for
  AnimateDiff), read from the scheduler's ``prediction_type``.

The adapter is saved with the family pipeline's ``save_lora_weights`` (diffusers' format), so
``pipe.load_lora_weights(OUT)`` and ``vidgen generate --lora OUT/pytorch_lora_weights.safetensors``
load it back. Checkpoints, ``--resume`` and ``accelerate launch`` work as in vidgen's own run.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import OptionError
from .lora import CachedClips, encode_footage, make_accelerator
from .lora_options import LoraTrainConfig
from .loop import fit, indexed_loader, log_record, optimizer_step, resume_point, training_record

LORA_FILE = "pytorch_lora_weights.safetensors"  # the name diffusers' save_lora_weights writes
DEFAULT_FRAMES = {"wan": 17, "ltx": 17, "cogvideox": 13, "animatediff": 16}


class FamilyOps:
    """What differs between the families: how clips become latents, captions embeddings, and how the
    denoiser is called and trained."""

    def __init__(self, model):
        self.model = model
        self.pipe = model.pipe
        self.key = model.family_key
        self.denoiser = model.denoiser

    # -- latents ---------------------------------------------------------------------------------------
    @torch.no_grad()
    def encode(self, clip: np.ndarray) -> torch.Tensor:
        """``(T, H, W, 3)`` uint8 -> the latents the denoiser works on (no batch dimension)."""
        vae = self.pipe.vae
        x = torch.from_numpy(clip).float().div(127.5).sub(1).permute(3, 0, 1, 2)[None]  # (1, 3, T, H, W)
        x = x.to(vae.device, vae.dtype)
        if self.key == "animatediff":  # an image VAE, frame by frame
            frames = x[0].permute(1, 0, 2, 3)
            lat = vae.encode(frames).latent_dist.mode() * vae.config.scaling_factor
            return lat.permute(1, 0, 2, 3).float()  # (C, T, h, w)
        lat = vae.encode(x).latent_dist.mode()
        if self.key == "wan":
            mean = torch.tensor(vae.config.latents_mean).view(1, -1, 1, 1, 1).to(lat)
            std = torch.tensor(vae.config.latents_std).view(1, -1, 1, 1, 1).to(lat)
            lat = (lat - mean) / std
        elif self.key == "ltx":
            lat = self.pipe._normalize_latents(lat, vae.latents_mean, vae.latents_std, vae.config.scaling_factor)
        elif self.key == "cogvideox":
            lat = lat * vae.config.scaling_factor
        return lat[0].float()  # (C, T', h, w)

    @torch.no_grad()
    def embed(self, captions: list[str]) -> dict:
        """Frozen text embeddings of ``captions`` (and LTX's attention mask), one row per caption."""
        p, dev = self.pipe, self.denoiser.device
        if self.key == "animatediff":
            emb, _ = p.encode_prompt(captions, dev, 1, False)
            return {"emb": emb.float()}
        if self.key == "ltx":
            emb, mask, _, _ = p.encode_prompt(captions, do_classifier_free_guidance=False, device=dev,
                                              max_sequence_length=128)
            return {"emb": emb.float(), "mask": mask}
        kw = {"max_sequence_length": self.denoiser.config.max_text_seq_length} if self.key == "cogvideox" else {}
        emb, _ = p.encode_prompt(captions, do_classifier_free_guidance=False, device=dev, **kw)
        return {"emb": emb.float()}

    # -- the objective ---------------------------------------------------------------------------------
    def noised(self, x0: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(noisy latents, timesteps, target) for a batch of clean latents ``(B, C, T, h, w)``."""
        noise = torch.randn(x0.shape, generator=gen).to(x0)
        b = x0.shape[0]
        if self.key in ("wan", "ltx"):  # flow matching
            s = torch.rand(b, generator=gen).to(x0)
            s_ = s.view(b, 1, 1, 1, 1)
            return (1 - s_) * x0 + s_ * noise, s * 1000, noise - x0
        sched = self.pipe.scheduler
        t = torch.randint(0, sched.config.num_train_timesteps, (b,), generator=gen).to(x0.device)
        noisy = sched.add_noise(x0, noise, t)
        target = sched.get_velocity(x0, noise, t) if sched.config.prediction_type == "v_prediction" else noise
        return noisy, t, target

    def predict(self, noisy: torch.Tensor, t: torch.Tensor, text: dict) -> torch.Tensor:
        """The denoiser's output for ``(B, C, T, h, w)`` latents, in that layout."""
        net, emb = self.denoiser, text["emb"]
        if self.key == "wan":
            return net(hidden_states=noisy, timestep=t, encoder_hidden_states=emb, return_dict=False)[0]
        if self.key == "animatediff":  # the pipeline hands the U-Net one text row per frame
            return net(noisy, t, encoder_hidden_states=emb.repeat_interleave(noisy.shape[2], dim=0)).sample
        if self.key == "cogvideox":
            x = noisy.permute(0, 2, 1, 3, 4)  # (B, T, C, h, w)
            rope = None
            if net.config.use_rotary_positional_embeddings:
                s = self.pipe.vae_scale_factor_spatial
                rope = self.pipe._prepare_rotary_positional_embeddings(x.shape[3] * s, x.shape[4] * s, x.shape[1],
                                                                        x.device)
            out = net(hidden_states=x, encoder_hidden_states=emb, timestep=t, image_rotary_emb=rope,
                      return_dict=False)[0]
            return out.permute(0, 2, 1, 3, 4)
        # ltx: packed tokens
        p = self.pipe
        b, c, f, h, w = noisy.shape
        packed = p._pack_latents(noisy, p.transformer_spatial_patch_size, p.transformer_temporal_patch_size)
        scale = (p.vae_temporal_compression_ratio / 25, p.vae_spatial_compression_ratio,
                 p.vae_spatial_compression_ratio)
        out = net(hidden_states=packed, encoder_hidden_states=emb, timestep=t, encoder_attention_mask=text["mask"],
                  num_frames=f, height=h, width=w, rope_interpolation_scale=scale, return_dict=False)[0]
        return p._unpack_latents(out, f, h, w, p.transformer_spatial_patch_size, p.transformer_temporal_patch_size)

    # -- saving ----------------------------------------------------------------------------------------
    def save(self, folder: Path, state: dict, lora_config: dict) -> Path:
        """The adapter in diffusers' format, its LoRA config (rank, alpha, targets) in the file's metadata
        so ``load_lora_weights`` applies the alpha it was trained with."""
        part = "unet" if self.key == "animatediff" else "transformer"
        type(self.pipe).save_lora_weights(str(folder), **{f"{part}_lora_layers": state,
                                                          f"{part}_lora_adapter_metadata": lora_config})
        return folder / LORA_FILE


def train(cfg: LoraTrainConfig, resume: bool = False, progress: bool = True, command: str | None = None,
          stop_after: int | None = None) -> Path:
    """LoRA on ``cfg.base`` (a family folder); returns ``OUT/pytorch_lora_weights.safetensors``."""
    from accelerate.utils import set_seed
    from diffusers.optimization import get_scheduler
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    from ..pipelines.video_models import VideoModel

    if cfg.preserve > 0:
        raise OptionError("--preserve is for vidgen's own and ModelScope-style models")
    set_seed(cfg.seed)
    t0 = time.time()
    out = Path(cfg.out)
    acc = make_accelerator(cfg)
    model = VideoModel.from_pretrained(cfg.base)
    ops = FamilyOps(model)
    frames = cfg.frames or DEFAULT_FRAMES[ops.key]
    model.check_frames(frames)
    size = cfg.size or 256
    latents, ids, unique = encode_footage(cfg, ops.encode, frames, size, progress and acc.is_main_process)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps({**asdict(cfg), "size": size, "frames": frames}, indent=1))
    text = ops.embed(unique)
    net = ops.denoiser
    net.requires_grad_(False)
    alpha = float(cfg.alpha if cfg.alpha is not None else cfg.rank)
    net.add_adapter(LoraConfig(r=cfg.rank, lora_alpha=alpha, target_modules=list(model.family.lora_targets),
                               init_lora_weights="gaussian"))
    net.train()
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=1e-2)
    sched = get_scheduler(cfg.lr_schedule, opt, num_warmup_steps=cfg.warmup * acc.num_processes,
                          num_training_steps=cfg.steps * acc.num_processes)
    data = CachedClips(latents, ids, cfg.steps * cfg.batch_size * cfg.grad_accum * acc.num_processes, cfg.seed)
    start, ckpt = resume_point(out, resume)
    loader = indexed_loader(data, start, cfg.batch_size, cfg.grad_accum, 0)
    net, opt, loader, sched = acc.prepare(net, opt, loader, sched)
    if ckpt is not None:
        acc.load_state(str(ckpt))
    micro = [start * cfg.grad_accum]

    def loss_on(lat, cid, gen) -> torch.Tensor:
        noisy, t, target = ops.noised(lat, gen)
        rows = {k: v[cid] for k, v in text.items()}
        return F.mse_loss(ops.predict(noisy, t, rows).float(), target.float())

    def step_fn(batch) -> float:
        lat, cid = batch
        gen = torch.Generator().manual_seed(hash((cfg.seed, acc.process_index, micro[0])) % 2**63)
        micro[0] += 1
        loss = loss_on(lat.to(acc.device), cid, gen)
        return optimizer_step(acc, loss, params, opt, sched)

    val = torch.stack(latents[:4])
    val_ids = torch.tensor(ids[:4])

    def eval_fn() -> dict:
        with torch.no_grad():
            loss = loss_on(val.to(acc.device), val_ids, torch.Generator().manual_seed(0))
        return {"val_loss": round(float(loss), 5)}

    if not fit(acc, out, cfg.steps, start, loader, [net], step_fn, eval_fn, cfg.eval_every, cfg.save_every,
               progress, stop_after):
        return out / "checkpoints" / f"step_{start + stop_after}"
    path = out / LORA_FILE
    if acc.is_main_process:
        trained = acc.unwrap_model(net)
        path = ops.save(out, get_peft_model_state_dict(trained), trained.peft_config["default"].to_dict())
        record = training_record(acc, command, cfg.steps, time.time() - t0, [cfg.data], None)
        record.update(base=str(cfg.base), family=model.family.name, captions=json.dumps(unique),
                      clips=str(len(latents)))
        (out / "training.json").write_text(json.dumps(record, indent=1))
    log_record(acc, out, {"step": cfg.steps, "saved": str(path)})
    return path
