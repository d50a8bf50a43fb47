"""Train vidgen's small text-to-video model on procedural captioned videos, with accelerate.

Two phases, each resumable, in ``OUT/vae`` and ``OUT/unet``:

1. the VAE learns to reconstruct frames of the procedural videos (MSE + a light KL term; MSE
   found the frames' colours faster than L1 from scratch); its
   latent scaling factor is then set from the spread of its latents;
2. the 3D U-Net and the CLIP text encoder learn to predict the noise added to VAE latents of whole
   clips (epsilon objective, DDPM schedule), the caption dropped 10% of the time so classifier-free
   guidance works.

The finished pipeline is written to ``OUT/model`` in the diffusers layout.

    vidgen train t2v --out runs/t2v --vae-steps 1000 --unet-steps 3000
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ..errors import OptionError
from ..models.t2v import T2VConfig, clean_latents, encode_clips, small_components
from .t2v_options import ATTRIBUTES, T2VTrainConfig, add_t2v_arguments, check_loss_weights, config_from_args
from .loop import fit, indexed_loader, latest_checkpoint, log_record, lr_lambda, resume_point, training_record
from .shapes import OPPOSITE, PALETTE, SHAPES, WORDS, caption, render_clip, training_combinations


class ShapeClips(Dataset):
    """Sample ``idx`` -> (clip (3, T, H, W) in [-1, 1], caption).

    With ``pair`` (attributes of :data:`ATTRIBUTES`), -> (clip, caption, twin, twin's caption): the twin
    is the same draw (path, size, speed, background, colour noise) with one of those words changed to
    another value that ``combos`` holds, so the two clips differ only by what that word says.
    """

    def __init__(self, combos: list[tuple[str, str, str]], frames: int, size: int, length: int, seed: int,
                 textured: float = 0.5, spread: float = 1.0, pair: tuple[str, ...] = ()):
        self.combos, self.frames, self.size, self.length, self.seed = combos, frames, size, length, seed
        self.textured, self.spread, self.pair = textured, spread, pair

    def __len__(self) -> int:
        return self.length

    def _render(self, state: dict, combo: tuple[str, str, str]):
        rng = np.random.default_rng()
        rng.bit_generator.state = state
        clip = render_clip(rng, *combo, self.frames, self.size, self.textured, self.spread)
        return torch.from_numpy(clip).permute(3, 0, 1, 2).float() / 127.5 - 1, caption(*combo)

    def __getitem__(self, idx: int):
        rng = np.random.default_rng([self.seed, idx])
        combo = self.combos[int(rng.integers(len(self.combos)))]
        state = rng.bit_generator.state
        x, text = self._render(state, combo)
        if not self.pair:
            return x, text
        keep = [i for i, a in enumerate(ATTRIBUTES) if a not in self.pair]
        twins = [c for c in self.combos if sum(a != b for a, b in zip(c, combo)) == 1
                 and all(c[i] == combo[i] for i in keep)]
        twin = twins[int(np.random.default_rng([self.seed, idx, 1]).integers(len(twins)))] if twins else combo
        return (x, text, *self._render(state, twin))


class Frames(Dataset):
    """Single frames of clips in every palette colour and random ones, for the VAE: (3, H, W) in [-1, 1]."""

    def __init__(self, size: int, length: int, seed: int, textured: float = 0.5):
        self.size, self.length, self.seed, self.textured = size, length, seed, textured

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, idx: int):
        rng = np.random.default_rng([self.seed, idx])
        from .shapes import DIRECTIONS

        color = list(PALETTE)[int(rng.integers(len(PALETTE)))]
        clip = render_clip(rng, color, SHAPES[int(rng.integers(3))], DIRECTIONS[int(rng.integers(4))], 4, self.size,
                           self.textured)
        return torch.from_numpy(clip[int(rng.integers(4))]).permute(2, 0, 1).float() / 127.5 - 1


def _accelerator():
    from accelerate import Accelerator

    return Accelerator()


def sobel(x: torch.Tensor) -> torch.Tensor:
    """Horizontal and vertical Sobel gradients of each channel of ``(B, C, H, W)``: ``(B, 2C, H, W)``."""
    k = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], device=x.device, dtype=x.dtype) / 4
    c = x.shape[1]
    weight = torch.stack([k, k.t()]).unsqueeze(1).repeat(c, 1, 1, 1)  # (2C, 1, 3, 3)
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), weight, groups=c)


def train_vae(cfg: T2VTrainConfig, comps: dict, resume: bool, progress: bool, stop_after: int | None):
    """Phase 1. Returns False if stopped early."""
    acc = _accelerator()
    out = Path(cfg.out) / "vae"
    out.mkdir(parents=True, exist_ok=True)
    vae = comps["vae"]
    opt = torch.optim.AdamW(vae.parameters(), lr=cfg.vae_lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(cfg.vae_steps, 50))
    data = Frames(cfg.model.frame_size, cfg.vae_steps * cfg.vae_batch, cfg.seed, cfg.textured)
    val = torch.stack([Frames(cfg.model.frame_size, 32, cfg.seed + 99, cfg.textured)[i] for i in range(32)])
    start, ckpt = resume_point(out, resume)
    loader = indexed_loader(data, start, cfg.vae_batch, 1, cfg.workers)
    vae, opt, loader, sched = acc.prepare(vae, opt, loader, sched)
    if ckpt is not None:
        acc.load_state(str(ckpt))
    net = acc.unwrap_model(vae)

    def step_fn(x) -> float:
        post = vae.encode(x).latent_dist
        rec = vae.decode(post.sample()).sample
        loss = F.mse_loss(rec, x) + 1e-6 * post.kl().mean()
        if cfg.vae_edge_weight > 0:
            loss = loss + cfg.vae_edge_weight * F.l1_loss(sobel(rec), sobel(x))
        acc.backward(loss)
        opt.step()
        sched.step()
        opt.zero_grad()
        return float(loss.detach())

    def eval_fn() -> dict:
        with torch.no_grad():
            rec = net.decode(net.encode(val).latent_dist.mode()).sample.clamp(-1, 1)
        mse = ((rec - val) / 2).pow(2).flatten(1).mean(1)
        return {"val_recon_psnr": round(float((10 * torch.log10(1 / mse.clamp_min(1e-10))).mean()), 3)}

    done = fit(acc, out, cfg.vae_steps, start, loader, [vae], step_fn, eval_fn, cfg.eval_every, cfg.save_every,
               progress, stop_after)
    if done:
        with torch.no_grad():
            lat = torch.cat([net.encode(val[i:i + 8]).latent_dist.mode() for i in range(0, 32, 8)])
        net.register_to_config(scaling_factor=float(1.0 / lat.std()))
        net.save_pretrained(out / "final")
    return done


def object_map(lat: torch.Tensor) -> torch.Tensor:
    """``(B, 1, T, h, w)`` in [0, 1]: how far each latent pixel of ``lat`` (B, C, T, h, w) is from its
    frame's median latent (the background, where the object is small), scaled by the clip's largest."""
    flat = lat.flatten(3)
    dev = (flat - flat.median(dim=3, keepdim=True).values).pow(2).sum(1, keepdim=True).sqrt()
    dev = dev / dev.flatten(1).amax(1).clamp(min=1e-8).view(-1, 1, 1, 1)
    return dev.view(lat.shape[0], 1, *lat.shape[2:])


def train_unet(cfg: T2VTrainConfig, comps: dict, resume: bool, progress: bool, stop_after: int | None):
    """Phase 2. Returns False if stopped early."""
    acc = _accelerator()
    out = Path(cfg.out) / "unet"
    out.mkdir(parents=True, exist_ok=True)
    unet, vae, text_encoder, tok, sched_noise = (comps[k] for k in ("unet", "vae", "text_encoder", "tokenizer",
                                                                    "scheduler"))
    vae.requires_grad_(False).eval()
    params = [p for m in (unet, text_encoder) for p in m.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=1e-2)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(cfg.unet_steps, 100))
    combos = [tuple(c) for c in cfg.combos] or training_combinations(cfg.colors)
    twins = cfg.pair_weight > 0
    data = ShapeClips(combos, cfg.frames, cfg.model.frame_size, cfg.unet_steps * cfg.batch_size, cfg.seed,
                      cfg.textured, cfg.spread, cfg.pair_words if twins else ())
    val_set = ShapeClips(combos, cfg.frames, cfg.model.frame_size, 16, cfg.seed + 99, cfg.textured, cfg.spread)
    val = [val_set[i] for i in range(16)]
    start, ckpt = resume_point(out, resume)
    loader = indexed_loader(data, start, cfg.batch_size, 1, cfg.workers)
    unet, text_encoder, opt, loader, sched = acc.prepare(unet, text_encoder, opt, loader, sched)
    if ckpt is not None:
        acc.load_state(str(ckpt))
    n_train = sched_noise.config.num_train_timesteps

    def embed(texts: list[str]) -> torch.Tensor:
        ids = tok(texts, padding="max_length", max_length=tok.model_max_length, truncation=True,
                  return_tensors="pt").input_ids
        return text_encoder(ids.to(acc.device))[0]

    alpha_bar = sched_noise.alphas_cumprod
    v_pred = sched_noise.config.prediction_type == "v_prediction"

    def loss_on(lat, texts, gen: torch.Generator | None = None, weighted: bool = False,
                context: float = 0.0, twins: bool = False) -> torch.Tensor:
        """The loss on VAE latents ``lat`` (B, C, T, h, w) of clips captioned ``texts``. With ``twins``
        the second half of the batch is the first's twins (ShapeClips ``pair``), noised alike."""
        g = gen if gen is not None else torch.default_generator
        b, _, frames = lat.shape[:3]
        half = b // 2 if twins else b
        noise = torch.randn((half, *lat.shape[1:]), generator=g).to(lat.device)
        t = torch.randint(0, n_train, (half,), generator=g)
        if twins:
            noise, t = noise.repeat(2, 1, 1, 1, 1), t.repeat(2)
        # context frames: some clips keep their first or last 1-4 frames clean and are scored on the
        # rest. Where the object is in a clean frame, the caption's direction says where it is in the
        # noisy ones. With every frame equally noisy the word pays off only at the highest noise (lower,
        # the 16 frames together show the motion; see RESULTS.md), so context clips may be noised at
        # --context-noise-min or more, where the noisy frames hardly show the object at all.
        keep = context_mask(b, frames, context, g)
        use = keep.flatten(1).any(1)
        t = torch.where(use, torch.randint(min(cfg.context_noise_min, n_train - 1), n_train, (b,), generator=g), t)
        keep = keep.to(lat.device)
        noisy = torch.where(keep, lat, sched_noise.add_noise(lat, noise, t))
        pred = unet(noisy, t.to(acc.device), encoder_hidden_states=embed(texts)).sample
        target = sched_noise.get_velocity(lat, noise, t) if v_pred else noise
        scored = (~keep).to(pred.dtype).expand_as(pred)
        if weighted and cfg.object_weight > 0:
            scored = scored * (1 + cfg.object_weight * object_map(lat))
        per_clip = ((pred - target).pow(2) * scored).flatten(1).sum(1) / scored.flatten(1).sum(1)
        x0 = None
        if weighted and (cfg.motion_weight > 0 or twins):  # v-prediction, no context frames (check_loss_weights)
            x0 = clean_latents(noisy, pred, alpha_bar[t].to(pred.device, pred.dtype).view(-1, 1, 1, 1, 1),
                               "v_prediction")
        if weighted and cfg.motion_weight > 0:
            moved = (x0.diff(dim=2) - lat.diff(dim=2)).pow(2).flatten(1).mean(1)
            per_clip = per_clip + cfg.motion_weight * moved
        if weighted and twins:
            return per_clip.mean() + cfg.pair_weight * twin_error(x0, lat, texts)
        w = torch.ones_like(per_clip)
        if weighted and cfg.v_weight_cap > 0:
            # 1 / alpha_bar is the v-prediction loss written in epsilon terms; capped so the noisiest
            # steps do not take over. It gives weight to the high-noise steps where a clip's layout and
            # motion are decided, which the plain epsilon loss scales down by alpha_bar.
            w = (1 / alpha_bar[t]).clamp(max=cfg.v_weight_cap).to(per_clip.device)
        plain = ~use.to(per_clip.device)
        if not (weighted and cfg.context_x0_weight > 0) or bool(plain.all()):
            return (w * per_clip).sum() / w.sum()
        # context clips scored on their clean-latent prediction instead: the epsilon error times
        # (1 - alpha_bar) / alpha_bar, what the prediction of the unseen frames costs in latent units
        # (at t = 950 about 100x the epsilon loss, which the epsilon loss all but ignores there)
        ab = alpha_bar[t].to(per_clip.device)
        x0_err = per_clip * (1 - ab) / ab
        eps_part = (w * per_clip * plain).sum() / (w * plain).sum().clamp(min=1e-8)
        x0_part = x0_err[~plain].mean()
        return eps_part + cfg.context_x0_weight * x0_part

    def step_fn(batch) -> float:
        x, texts = batch[0], list(batch[1])
        if twins:  # a dropped caption drops its twin's too: the pair then teaches nothing (twin_error)
            x, texts = torch.cat([x, batch[2]]), texts + list(batch[3])
        drop = np.random.random(len(x) // 2 if twins else len(x)) < cfg.cfg_dropout
        drop = np.concatenate([drop, drop]) if twins else drop
        texts = ["" if d else s for d, s in zip(drop, texts)]
        loss = loss_on(encode_clips(vae, x.to(acc.device)), texts, weighted=True, context=cfg.context_frames,
                       twins=twins)
        acc.backward(loss)
        opt.step()
        sched.step()
        opt.zero_grad()
        return float(loss.detach())

    def eval_fn() -> dict:
        # val_dir_gain: how much the caption's direction word lowers the loss (same clips, noise and
        # timesteps, the opposite direction in the caption). Zero means the model ignores the word.
        with torch.no_grad():
            # the clips are encoded once: the four losses below differ only in captions and context
            lat = encode_clips(vae, torch.stack([v[0] for v in val]).to(acc.device))
            right_texts = [v[1] for v in val]
            wrong_texts = [_opposite_direction(v[1]) for v in val]
            loss = loss_on(lat, right_texts, torch.Generator().manual_seed(0))
            wrong = loss_on(lat, wrong_texts, torch.Generator().manual_seed(0))
            other_shape = loss_on(lat, [_other_shape(s) for s in right_texts], torch.Generator().manual_seed(0))
            # the same with clean context frames in every clip: does the model use the word when it can?
            ctx = loss_on(lat, right_texts, torch.Generator().manual_seed(0), context=1.0)
            ctx_wrong = loss_on(lat, wrong_texts, torch.Generator().manual_seed(0), context=1.0)
        return {"val_loss": round(float(loss), 5), "val_dir_gain": round(float(wrong - loss), 5),
                "val_shape_gain": round(float(other_shape - loss), 5),
                "val_dir_gain_ctx": round(float(ctx_wrong - ctx), 5)}

    return fit(acc, out, cfg.unet_steps, start, loader, [unet, text_encoder], step_fn, eval_fn, cfg.eval_every,
               cfg.save_every, progress, stop_after)


def warm_start(comps: dict, source) -> dict[str, list[str]]:
    """Copy ``source``'s U-Net and text encoder tensors into ``comps``' wherever name and shape match;
    returns, per component, the names left as they were (printed, so a run says what it did not take).

    Token embeddings are copied by token: a token of this run's vocabulary that the source's also has
    takes its row there, whatever its number; the others (words the source split into pieces, or did
    not know) keep their fresh rows and are printed."""
    own_vocab, their_vocab = comps["tokenizer"].get_vocab(), source.tokenizer.get_vocab()
    shared = {tok: i for tok, i in own_vocab.items() if tok in their_vocab}
    merged = [t for t in own_vocab if len(t.removesuffix("</w>")) > 1 and not t.startswith("<|")]  # not bytes
    if sum(t in their_vocab for t in merged) < len(merged) / 2:
        raise OptionError(f"--warm-start: the model's tokenizer knows {sum(t in their_vocab for t in merged)} "
                          f"of this run's {len(merged)} word pieces: another vocabulary")
    emb_key = next(k for k in comps["text_encoder"].state_dict() if k.endswith("token_embedding.weight"))
    kept = {}
    for name in ("unet", "text_encoder"):
        own, theirs = comps[name].state_dict(), getattr(source, name).state_dict()
        take = {k: v for k, v in theirs.items() if k in own and own[k].shape == v.shape}
        if name == "text_encoder" and own_vocab != their_vocab and emb_key in theirs:
            rows = own[emb_key].clone()
            rows[list(shared.values())] = theirs[emb_key][[their_vocab[t] for t in shared]]
            take[emb_key] = rows
            new = sorted(t for t in own_vocab if t not in their_vocab and t.endswith("</w>"))
            print(f"warm start: {len(shared)} of {len(own_vocab)} tokens from the model; fresh words: "
                  f"{', '.join(t[:-4] for t in new) or 'none'}")
        if len(take) < len(own) // 2:
            raise OptionError(f"--warm-start: the model's {name} matches too little of this one "
                              f"({len(take)} of {len(own)} tensors)")
        comps[name].load_state_dict(take, strict=False)
        kept[name] = sorted(set(own) - set(take))
        print(f"warm start: {name} took {len(take)} of {len(own)} tensors; fresh: {', '.join(kept[name]) or 'none'}")
    return kept


def context_mask(clips: int, frames: int, share: float, gen: torch.Generator, most: int = 4) -> torch.Tensor:
    """Which frames stay clean: ``(clips, 1, frames, 1, 1)`` bool, True for the first or the last 1 to
    ``most`` frames (never all of them) of about ``share`` of the clips, False elsewhere.

    Example: ``context_mask(8, 16, 0.5, torch.Generator().manual_seed(0))``
    """
    use = torch.rand(clips, generator=gen) < share
    n_ctx = torch.randint(1, most + 1, (clips,), generator=gen).clamp(max=frames - 1)
    at_end = torch.rand(clips, generator=gen) < 0.5
    idx = torch.arange(frames)
    keep = torch.where(at_end[:, None], idx[None] >= frames - n_ctx[:, None], idx[None] < n_ctx[:, None])
    return (keep & use[:, None])[:, None, :, None, None]


def _opposite_direction(text: str) -> str:
    head, _, word = text.rpartition(" ")
    return f"{head} {OPPOSITE[word]}" if word in OPPOSITE else text


def _other_shape(text: str) -> str:
    """The caption with its shape word replaced by the next one of SHAPES."""
    words = text.split(" ")
    return " ".join(SHAPES[(SHAPES.index(w) + 1) % len(SHAPES)] if w in SHAPES else w for w in words)


def twin_error(x0: torch.Tensor, lat: torch.Tensor, texts: list[str]) -> torch.Tensor:
    """How far the difference between twins' predicted clean latents is from their true difference,
    as a share of that difference (1 = the prediction ignores the word that tells them apart).

    ``x0`` and ``lat`` are (2B, C, T, h, w), the second half the first's twins (same noise and timestep),
    ``texts`` their captions; pairs whose caption was dropped are left out. The plain loss spends next
    to nothing on a word whose clips differ in a few latent pixels (the shape: 1-2% of a clip's
    variance); this term is all that word.
    """
    b = len(x0) // 2
    kept = torch.tensor([bool(s) for s in texts[:b]], device=x0.device)
    if not kept.any():
        return x0.sum() * 0
    true = (lat[:b] - lat[b:])[kept]
    err = ((x0[:b] - x0[b:])[kept] - true).pow(2).sum()
    return err / true.pow(2).sum().clamp(min=1e-8)


def respread_tokens(text_encoder, tokenizer, words: tuple[str, ...], norm: float, seed: int) -> None:
    """Give each of ``words`` a fresh random token embedding of length ``norm``.

    Why: the text encoder and the U-Net learn together from scratch, and a word's embedding only
    moves once the U-Net finds a use for it. Colour words found one at once (a per-frame colour);
    direction words never did (using them needs the U-Net to coordinate frames), so their encodings
    stayed within 1 of each other where colours differ by 9 (norm 8) and the shipped model's loss was
    the same with the opposite direction in its caption. Spreading them apart gives the U-Net a
    signal it can pick up.
    """
    emb = text_encoder.get_input_embeddings().weight
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for w in words:
            ids = tokenizer(w, add_special_tokens=False).input_ids
            if len(ids) != 1:
                raise OptionError(f"--respread: {w!r} is not one token of this model's tokenizer")
            v = torch.randn(emb.shape[1], generator=gen)
            emb[ids[0]] = (v / v.norm() * norm).to(emb.dtype)


def _model_components(folder) -> dict:
    """The U-Net, VAE, text encoder, tokenizer and scheduler of a text-to-video model folder."""
    from ..pipelines.text_to_video import TextToVideoPipeline

    pipe = TextToVideoPipeline.from_pretrained(folder)
    return {k: getattr(pipe, k) for k in ("unet", "vae", "text_encoder", "tokenizer", "scheduler")}


def train(cfg: T2VTrainConfig, resume: bool = False, progress: bool = True, command: str | None = None,
          stop_after: int | None = None) -> Path:
    """Both phases; returns the model folder (or the last checkpoint when stopped early)."""
    from accelerate.utils import set_seed

    from ..pipelines.text_to_video import TextToVideoPipeline

    if min(cfg.vae_steps, cfg.unet_steps, cfg.batch_size) < 1:
        raise OptionError("steps and batch sizes must be at least 1")
    set_seed(cfg.seed)
    if cfg.model is None:
        cfg.model = T2VConfig(latent_channels=cfg.latent_channels, temporal_text=cfg.temporal_text,
                              frame_text=cfg.frame_text, space_time_text=cfg.space_time_text,
                              prediction=cfg.prediction)
    if not cfg.init:  # a continued model keeps its own target, checked once it is loaded
        check_loss_weights(cfg.model.prediction, cfg.v_weight_cap, cfg.context_x0_weight, cfg.motion_weight,
                           cfg.context_frames, cfg.pair_weight)
    out = Path(cfg.out)
    t0 = time.time()
    # components first and --respread words checked before the run is recorded or trained: a bad --init or
    # word leaves no folder (fresh components write only their tokenizer files)
    if cfg.init:
        comps = _model_components(cfg.init)
        check_loss_weights(comps["scheduler"].config.prediction_type, cfg.v_weight_cap, cfg.context_x0_weight,
                           cfg.motion_weight, cfg.context_frames, cfg.pair_weight)
    else:
        comps = small_components(WORDS, out / "tokenizer_files", cfg.model, cfg.seed)
        if cfg.warm_start:
            warm_start(comps, TextToVideoPipeline.from_pretrained(cfg.warm_start))
    if cfg.respread:
        respread_tokens(comps["text_encoder"], comps["tokenizer"], cfg.respread, cfg.respread_norm, cfg.seed)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=1, default=str))
    if cfg.init:
        comps["unet"].train()
        comps["text_encoder"].train()
    else:
        vae_final = out / "vae" / "final"
        if not vae_final.exists():
            if not train_vae(cfg, comps, resume, progress, stop_after):
                return latest_checkpoint(out / "vae")
            stop_after = None if stop_after is None else max(1, stop_after - cfg.vae_steps)
        comps["vae"] = type(comps["vae"]).from_pretrained(vae_final)
    if not train_unet(cfg, comps, resume, progress, stop_after):
        return latest_checkpoint(out / "unet")
    pipe = TextToVideoPipeline(**comps)
    model_dir = out / "model"
    pipe.save_pretrained(model_dir)
    acc = _accelerator()
    record = training_record(acc, command, cfg.unet_steps, time.time() - t0, ["procedural shapes"], None)
    record.update(vae_steps=str(cfg.vae_steps), frames=str(cfg.frames), held_out="vidgen.training.shapes.HELD_OUT")
    if cfg.init:  # the VAE and the starting point are the continued model's: its record comes along
        before = Path(cfg.init) / "training.json"
        record.update(vae_steps="that of the continued model",
                      continued=json.loads(before.read_text()) if before.is_file() else str(cfg.init))
    (model_dir / "training.json").write_text(json.dumps(record, indent=1))
    log_record(acc, out, {"step": cfg.unet_steps, "saved": str(model_dir)})
    return model_dir


def export_checkpoint(run: str | os.PathLike, step: int, out: str | os.PathLike) -> Path:
    """Step ``step`` of a ``vidgen train t2v`` run's U-Net phase as a model folder at ``out``: the run's
    VAE (``run/vae/final``), tokenizer and model config, the checkpoint's U-Net and text encoder
    (accelerate's ``model.safetensors`` and ``model_1.safetensors``); a run that continued a model
    (``--init``) takes everything else from that model's folder. For scoring a run part way, or
    warm-starting another from it (``--warm-start``)."""
    from safetensors.torch import load_file

    from ..errors import InputError
    from ..pipelines.text_to_video import TextToVideoPipeline

    run = Path(run)
    ckpt = run / "unet" / "checkpoints" / f"step_{step}"
    cfg = json.loads((run / "config.json").read_text()) if (run / "config.json").is_file() else None
    if cfg is None or not (cfg.get("init") or (run / "vae" / "final").is_dir()):
        raise InputError(f"{run}: not a vidgen train t2v run with a finished VAE phase (config.json, vae/final) "
                         "or a model it continued (--init)")
    if not (ckpt / "model.safetensors").is_file():
        raise InputError(f"{run}: no U-Net checkpoint at step {step}")
    if cfg.get("init"):
        comps = _model_components(cfg["init"])
    else:
        comps = small_components(WORDS, run / "tokenizer_files", T2VConfig(**cfg["model"]), cfg.get("seed", 0))
        comps["vae"] = type(comps["vae"]).from_pretrained(run / "vae" / "final")
    comps["unet"].load_state_dict(load_file(ckpt / "model.safetensors"))
    comps["text_encoder"].load_state_dict(load_file(ckpt / "model_1.safetensors"))
    TextToVideoPipeline(**comps).save_pretrained(out)
    return Path(out)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="vidgen.training.text_to_video")
    add_t2v_arguments(p)
    a = p.parse_args(argv)
    train(config_from_args(a), resume=a.resume,
          command="accelerate launch -m vidgen.training.text_to_video " + shlex.join(sys.argv[1:]))


if __name__ == "__main__":
    main()
