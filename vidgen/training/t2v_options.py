"""Options of the text-to-video training, free of torch so the CLI can list them without importing it."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from .palette import COLORS

# the words of a caption "a {colour} {shape} moving {direction}", in its order
ATTRIBUTES = ("color", "shape", "direction")


@dataclass
class T2VTrainConfig:
    """One text-to-video training run (saved beside its checkpoints)."""

    out: str = "runs/t2v"
    vae_steps: int = 1500
    unet_steps: int = 3000
    vae_batch: int = 8
    batch_size: int = 8
    frames: int = 16  # frames per training clip
    lr: float = 3e-4
    vae_lr: float = 1e-3
    # > 0: the VAE's loss adds this times the L1 error of the frames' Sobel gradients. Plain MSE all but
    # ignores the outline of a shape a few hundred pixels large, and a VAE trained on it alone lost the
    # shape: the detector read it on 33.3% of the shipped VAE's round trips (chance) against 95% of
    # the originals (benchmarks/t2v_vae_shapes.py).
    vae_edge_weight: float = 0.0
    latent_channels: int = 4  # VAE latent channels (the model's T2VConfig.latent_channels)
    temporal_text: bool = False  # the caption in the U-Net's temporal attention too (T2VConfig.temporal_text)
    frame_text: bool = False  # and a frame-wise term of it (T2VConfig.frame_text; implies temporal_text)
    space_time_text: bool = False  # and a caption-set field over space and time (T2VConfig.space_time_text)
    prediction: str = "epsilon"  # the U-Net's target: epsilon or v_prediction (T2VConfig.prediction)
    # Share of training clips (VAE and U-Net) over a textured background, the rest plain. The captions
    # never name the background; a texture the 16-channel VAE keeps is most of what the U-Net must
    # learn from its latents, and the caption's words a small part of it (RESULTS.md, session 18).
    textured: float = 0.5
    # Share (0-1] of each range of what the captions do not name, the path's length and where it lies,
    # that the U-Net's training clips draw from about its middle (shapes.render_clip). At 1 the path can
    # be anywhere, and the mask of the moving shape is 9% explained by the direction word and 0.8% by the shape word;
    # at 0.3, 41% and 1.4% (RESULTS.md, session 20): the word then decides where the clip's mass goes.
    spread: float = 1.0
    cfg_dropout: float = 0.1  # share of captions replaced by "" (for classifier-free guidance)
    colors: tuple[str, ...] = tuple(COLORS)  # colours the U-Net is trained on
    combos: list = field(default_factory=list)  # explicit (colour, shape, direction) list; empty = all but held out
    eval_every: int = 250
    save_every: int = 250
    seed: int = 0
    workers: int = 1
    # Start from this model folder (diffusers layout: U-Net, VAE, text encoder, tokenizer) instead of
    # fresh components; the VAE phase is skipped and the U-Net phase runs its own LR schedule.
    init: str | None = None
    # Start the U-Net and text encoder of a fresh run from this model folder's weights wherever their
    # shapes match (everything but the U-Net's first and last convolutions when the VAE's latent
    # channels differ). The VAE phase runs as without it: what carries over is the text encoder's words
    # and the U-Net's inner layers, so a model with a new VAE need not learn them from scratch.
    warm_start: str | None = None
    # Words whose token embeddings get fresh random vectors of norm ``respread_norm`` before the U-Net
    # phase, for words a model has collapsed (see text_to_video.respread_tokens).
    respread: tuple[str, ...] = ()
    respread_norm: float = 1.0
    # > 0: weight each clip's epsilon loss by min(1 / alpha_bar_t, cap) (see train_unet); 0 = plain
    v_weight_cap: float = 0.0
    # share of clips that keep their first or last 1-4 frames clean (context) and are scored on the
    # others, so the direction word pays off at every noise level (see train_unet); 0 = off
    context_frames: float = 0.0
    context_noise_min: int = 0  # context clips are noised at a timestep drawn from [this, 1000)
    context_x0_weight: float = 0.0  # > 0: context clips add this times their clean-latent (x0) error; 0 = epsilon loss
    # > 0: add this times the error of the frame-to-frame differences of the clean latents the U-Net
    # predicts (v-prediction only). A plain background does not change between frames, so this part
    # of the loss is all the moving shape: where it goes (the direction word) and its outline.
    motion_weight: float = 0.0
    # > 0: weight each latent pixel's error by 1 + this x how far its clean latent is from its frame's
    # median (0-1 per clip), so the object (a few of the 64 latent pixels; its shape is a small part of
    # them) counts for more than the flat background around it
    object_weight: float = 0.0
    # > 0: every training clip comes with its twin, the same draw with one of ``pair_words``' words
    # changed, and the loss adds this times the error of the difference between the two clips' predicted
    # clean latents as a share of their true difference (text_to_video.twin_error; v-prediction only).
    pair_weight: float = 0.0
    pair_words: tuple[str, ...] = ("shape",)  # which words a twin may change (color, shape, direction)
    model: object = None  # vidgen.models.t2v.T2VConfig; None = its defaults


def add_t2v_arguments(p: argparse.ArgumentParser) -> None:
    d = T2VTrainConfig()
    p.add_argument("--out", default=d.out)
    p.add_argument("--vae-steps", type=int, default=d.vae_steps)
    p.add_argument("--unet-steps", type=int, default=d.unet_steps)
    p.add_argument("--vae-batch", type=int, default=d.vae_batch, help="frames per VAE step")
    p.add_argument("--vae-edge-weight", type=float, default=d.vae_edge_weight, metavar="W",
                   help="add W x the L1 error of the frames' gradients to the VAE's loss, so it keeps the outlines "
                        "of small shapes (0 = MSE alone)")
    p.add_argument("--latent-channels", type=int, default=d.latent_channels, help="VAE latent channels (default 4)")
    p.add_argument("--temporal-text", action="store_true",
                   help="a fresh model whose temporal attention sees the caption too (zero-initialised, so "
                        "--warm-start from a model without it starts where that model is)")
    p.add_argument("--frame-text", action="store_true",
                   help="--temporal-text plus a term of the caption times each frame's position, so a word can "
                        "move each frame differently (zero-initialised like it)")
    p.add_argument("--space-time-text", action="store_true",
                   help="--temporal-text plus a field over each latent pixel and frame that the caption sets, "
                        "added to every temporal block (zero-initialised like it)")
    p.add_argument("--prediction", default=d.prediction, choices=("epsilon", "v_prediction"),
                   help="what a fresh model's U-Net learns to predict: the noise (default) or v, which asks for "
                        "about the clean clip at the noisiest steps where sampling starts")
    p.add_argument("--textured", type=float, default=d.textured, metavar="SHARE",
                   help="share of training clips (0-1) over a textured background, the rest plain (default 0.5)")
    p.add_argument("--spread", type=float, default=d.spread, metavar="SHARE",
                   help="middle share (0-1] of the ranges of path length and position that the U-Net's "
                        "training clips draw from: 1 (default) anywhere in frame, smaller keeps paths closer to the centre")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="clips per U-Net step")
    p.add_argument("--frames", type=int, default=d.frames)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--eval-every", type=int, default=d.eval_every)
    p.add_argument("--save-every", type=int, default=d.save_every)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--workers", type=int, default=d.workers)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--init", default=d.init, metavar="MODEL_DIR",
                   help="continue training this model folder (skips the VAE phase; a fresh LR schedule)")
    p.add_argument("--warm-start", default=d.warm_start, metavar="MODEL_DIR",
                   help="a fresh run (own VAE phase) whose U-Net and text encoder start from this model's weights "
                        "where the shapes match, e.g. the shipped model when the new VAE has other latent channels")
    p.add_argument("--respread", nargs="+", default=list(d.respread), metavar="WORD",
                   help="give these words fresh, distinct token embeddings before training (words the text "
                        "encoder has collapsed, e.g. left right up down)")
    p.add_argument("--respread-norm", type=float, default=d.respread_norm,
                   help="norm of those embeddings (the trained ones are about 0.2)")
    p.add_argument("--v-weight-cap", type=float, default=d.v_weight_cap, metavar="CAP",
                   help="weight each clip's loss by min(1/alpha_bar_t, CAP), the v-prediction weighting capped: more "
                        "weight on the noisy steps where layout and motion are decided (0 = plain epsilon loss)")
    p.add_argument("--context-frames", type=float, default=d.context_frames, metavar="SHARE",
                   help="share of clips (0-1) that keep their first or last 1-4 frames clean and are scored on the "
                        "rest: the caption's direction then says where the object goes, at every noise level")
    p.add_argument("--context-noise-min", type=int, default=d.context_noise_min, metavar="T",
                   help="noise the context clips at a timestep of at least T (0-999): high noise hides the "
                        "object in the other frames, so only the caption tells where it goes")
    p.add_argument("--context-x0-weight", type=float, default=d.context_x0_weight, metavar="W",
                   help="score the context clips by their predicted clean latents, weighted W beside the other "
                        "clips' epsilon loss (0 = the epsilon loss for every clip)")
    p.add_argument("--motion-weight", type=float, default=d.motion_weight, metavar="W",
                   help="v-prediction models: add W x the error of the frame-to-frame differences of the "
                        "predicted clean latents, the part of a clip that is its moving shape (0 = off)")
    p.add_argument("--object-weight", type=float, default=d.object_weight, metavar="W",
                   help="weight each latent pixel's error by 1 + W x how far it stands out of its frame, so the "
                        "object counts for more than the background (0 = off)")
    p.add_argument("--pair-weight", type=float, default=d.pair_weight, metavar="W",
                   help="v-prediction models: train each clip beside its twin, the same clip with one word changed "
                        "(--pair-words), and add W x the error of the difference between their predicted clean "
                        "latents, so the model learns what that word changes (0 = off; batches hold "
                        "--batch-size pairs)")
    p.add_argument("--pair-words", nargs="+", default=list(d.pair_words), choices=ATTRIBUTES,
                   help="the words a twin may change (default: shape)")


def check_loss_weights(prediction: str | None, v_weight_cap: float, context_x0_weight: float,
                       motion_weight: float = 0.0, context_frames: float = 0.0, pair_weight: float = 0.0) -> None:
    """Refuse the epsilon-loss weightings for a v-prediction model (its loss already weights that way),
    and the motion and pair losses for an epsilon model or with context frames. ``prediction`` None
    (a model continued with --init, whose target is known once it is loaded) checks only the latter."""
    from ..errors import OptionError

    if motion_weight and context_frames:
        raise OptionError("--motion-weight scores every frame; it does not combine with --context-frames")
    if pair_weight and context_frames:
        raise OptionError("--pair-weight scores every frame; it does not combine with --context-frames")
    if prediction is None:
        return
    if prediction != "epsilon" and (v_weight_cap or context_x0_weight):
        raise OptionError("--v-weight-cap and --context-x0-weight weight the epsilon loss; the v loss is that "
                          "weighting already")
    if motion_weight and prediction != "v_prediction":
        raise OptionError("--motion-weight needs --prediction v_prediction (an epsilon model's clean latents are "
                          "unstable at the noisiest steps)")
    if pair_weight and prediction != "v_prediction":
        raise OptionError("--pair-weight needs --prediction v_prediction (it compares predicted clean latents)")


def config_from_args(a: argparse.Namespace) -> T2VTrainConfig:
    from ..errors import OptionError

    if a.respread_norm <= 0:
        raise OptionError("--respread-norm must be positive")
    if a.v_weight_cap < 0:
        raise OptionError("--v-weight-cap must be 0 (off) or more")
    if not 0 <= a.context_frames <= 1:
        raise OptionError("--context-frames must be a share between 0 and 1")
    if not 0 <= a.context_noise_min <= 999:
        raise OptionError("--context-noise-min must be a timestep from 0 to 999")
    if a.context_x0_weight < 0:
        raise OptionError("--context-x0-weight must be 0 (off) or more")
    if a.vae_edge_weight < 0:
        raise OptionError("--vae-edge-weight must be 0 (off) or more")
    if a.init and a.warm_start:
        raise OptionError("--init continues a model and --warm-start begins a new one from it: give one of them")
    if a.init and (a.temporal_text or a.frame_text or a.space_time_text):
        raise OptionError("--temporal-text, --frame-text and --space-time-text build a fresh model: add them to "
                          "an existing one with --warm-start MODEL_DIR")
    if a.object_weight < 0:
        raise OptionError("--object-weight must be 0 (off) or more")
    if a.latent_channels < 1:
        raise OptionError("--latent-channels must be at least 1")
    if a.prediction != "epsilon" and a.init:
        raise OptionError("--prediction sets a fresh model's target; --init continues a model with its own")
    if a.motion_weight < 0 or a.pair_weight < 0:
        raise OptionError("--motion-weight and --pair-weight must be 0 (off) or more")
    check_loss_weights(None if a.init else a.prediction, a.v_weight_cap, a.context_x0_weight, a.motion_weight,
                       a.context_frames, a.pair_weight)
    if not 0 <= a.textured <= 1:
        raise OptionError("--textured must be a share between 0 and 1")
    if not 0 < a.spread <= 1:
        raise OptionError("--spread must be a share above 0 and at most 1")
    return T2VTrainConfig(out=a.out, vae_steps=a.vae_steps, unet_steps=a.unet_steps, vae_batch=a.vae_batch,
                          batch_size=a.batch_size,
                          frames=a.frames, lr=a.lr, eval_every=a.eval_every, save_every=a.save_every, seed=a.seed,
                          workers=a.workers, init=a.init, warm_start=a.warm_start, respread=tuple(a.respread),
                          respread_norm=a.respread_norm,
                          v_weight_cap=a.v_weight_cap, context_frames=a.context_frames,
                          context_noise_min=a.context_noise_min, context_x0_weight=a.context_x0_weight,
                          vae_edge_weight=a.vae_edge_weight, latent_channels=a.latent_channels,
                          temporal_text=a.temporal_text, frame_text=a.frame_text,
                          space_time_text=a.space_time_text, textured=a.textured, prediction=a.prediction,
                          spread=a.spread, motion_weight=a.motion_weight, object_weight=a.object_weight,
                          pair_weight=a.pair_weight, pair_words=tuple(a.pair_words))


@dataclass
class GuideTrainConfig:
    model: str | None = None  # model folder (default: vidgen's shipped model)
    out: str = "runs/t2v_guide"
    steps: int = 1500
    batch_size: int = 64
    clips: int = 3072  # training clips encoded once (each step draws fresh noise and timesteps)
    lr: float = 1e-3
    default_scale: float = 0.0  # classifier_scale the model uses when none is given
    guided: tuple[str, ...] = ATTRIBUTES  # attributes sampling steers and selects by
    candidates: int = 1  # videos started per prompt by default (the guide keeps the best)
    select_timestep: int = 400  # where the guide picks among them
    eval_every: int = 250
    save_every: int = 250
    seed: int = 0
    workers: int = 0


def add_guide_arguments(p: argparse.ArgumentParser) -> None:
    d = GuideTrainConfig()
    p.add_argument("--model", default=d.model, help="text-to-video model folder (default: vidgen's shipped model)")
    p.add_argument("--out", default=d.out)
    p.add_argument("--steps", type=int, default=d.steps)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--clips", type=int, default=d.clips, help="training clips, encoded once by the model's VAE")
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--default-scale", type=float, default=d.default_scale,
                   help="classifier guidance strength the finished model uses by default (0 = off)")
    p.add_argument("--guided", nargs="+", default=list(d.guided), choices=list(d.guided),
                   help="attributes the finished model steers toward and selects by (default: all)")
    p.add_argument("--candidates", type=int, default=d.candidates,
                   help="videos the finished model starts per prompt by default, finishing the best (default 1)")
    p.add_argument("--select-timestep", type=int, default=d.select_timestep,
                   help="timestep (0-999) at which the best candidate is chosen (default 400)")
    p.add_argument("--eval-every", type=int, default=d.eval_every)
    p.add_argument("--save-every", type=int, default=d.save_every)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--resume", action="store_true")


def check_guide_config(cfg: GuideTrainConfig) -> None:
    """Refuse an impossible guide training run (from the CLI or Python) in one line."""
    from ..errors import OptionError

    if min(cfg.steps, cfg.batch_size, cfg.clips) < 1:
        raise OptionError("--steps, --batch-size and --clips must be at least 1")
    if cfg.default_scale < 0:
        raise OptionError("--default-scale must be 0 or more")
    if not 1 <= cfg.candidates <= 64:
        raise OptionError("--candidates must be between 1 and 64")
    if not 0 <= cfg.select_timestep <= 999:
        raise OptionError("--select-timestep must be a timestep from 0 to 999")


def guide_config_from_args(a: argparse.Namespace) -> GuideTrainConfig:
    cfg = GuideTrainConfig(model=a.model, out=a.out, steps=a.steps, batch_size=a.batch_size, clips=a.clips,
                           lr=a.lr, default_scale=a.default_scale, guided=tuple(a.guided),
                           candidates=a.candidates, select_timestep=a.select_timestep, eval_every=a.eval_every,
                           save_every=a.save_every, seed=a.seed)
    check_guide_config(cfg)
    return cfg


@dataclass
class DecoderTrainConfig:
    """Teach the VAE decoder of a text-to-video model to read the caption (``vidgen train t2v-decoder``)."""

    model: str | None = None  # model folder (default: vidgen's shipped model); its encoder stays frozen
    out: str = "runs/t2v_decoder"
    steps: int = 4000
    batch_size: int = 8  # clips per step (each with its shape twin)
    frames: int = 4  # frames of each clip decoded per step
    lr: float = 3e-4
    # Share of clips whose decoder input is a mixture of their latents and their twin's (the same draw in
    # another shape), weight uniform in [0, 1], while the target stays the clip: the caption alone then
    # says the shape, as it must where a denoiser has rounded the shape in its latents.
    mix: float = 0.8
    latent_noise: float = 0.3  # Gaussian noise of up to this std (scaled latent units) on the decoder's input
    edge_weight: float = 2.0  # L1 of the Sobel gradients beside the MSE (as the VAE's own training)
    # Extra weight of the pixels where the clip and its twin differ (the shape's outline, a few % of the
    # frame): without it the loss gains little from drawing the caption's shape.
    shape_weight: float = 10.0
    caption_dropout: float = 0.1  # share of clips decoded with the empty caption (and unmixed latents)
    textured: float = 0.0  # background and spread of the procedural clips (those of the shipped model's training)
    spread: float = 0.3
    eval_every: int = 250
    save_every: int = 250
    seed: int = 0
    workers: int = 0


def add_decoder_arguments(p: argparse.ArgumentParser) -> None:
    d = DecoderTrainConfig()
    p.add_argument("--model", default=d.model, help="text-to-video model folder with a ShapeVAE (default: vidgen's "
                                                    "shipped model)")
    p.add_argument("--out", default=d.out)
    p.add_argument("--steps", type=int, default=d.steps)
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="clips per step, each with its shape twin")
    p.add_argument("--frames", type=int, default=d.frames, help="frames of each clip decoded per step (default 4)")
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--mix", type=float, default=d.mix, metavar="SHARE",
                   help="share of clips (0-1) decoded from a random mixture of their latents and their shape "
                        "twin's, so the caption must say the shape (default 0.8)")
    p.add_argument("--latent-noise", type=float, default=d.latent_noise, metavar="STD",
                   help="noise of up to this std on the latents the decoder reads (default 0.3)")
    p.add_argument("--edge-weight", type=float, default=d.edge_weight)
    p.add_argument("--shape-weight", type=float, default=d.shape_weight, metavar="W",
                   help="the loss weighs the pixels where a clip and its shape twin differ 1 + W times (default 10)")
    p.add_argument("--caption-dropout", type=float, default=d.caption_dropout, metavar="SHARE")
    p.add_argument("--textured", type=float, default=d.textured, metavar="SHARE",
                   help="share of clips over a textured background (default 0, as the shipped model's training)")
    p.add_argument("--spread", type=float, default=d.spread, metavar="SHARE")
    p.add_argument("--eval-every", type=int, default=d.eval_every)
    p.add_argument("--save-every", type=int, default=d.save_every)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--resume", action="store_true")


def decoder_config_from_args(a: argparse.Namespace) -> DecoderTrainConfig:
    """The config of a parsed ``vidgen train t2v-decoder``; an impossible option is refused in one line."""
    from ..errors import OptionError

    if min(a.steps, a.batch_size, a.frames) < 1:
        raise OptionError("--steps, --batch-size and --frames must be at least 1")
    for name in ("mix", "caption_dropout", "textured"):
        if not 0 <= getattr(a, name) <= 1:
            raise OptionError(f"--{name.replace('_', '-')} must be a share from 0 to 1")
    if not 0 < a.spread <= 1:
        raise OptionError("--spread must be a share above 0, at most 1")
    if min(a.latent_noise, a.edge_weight, a.shape_weight) < 0:
        raise OptionError("--latent-noise, --edge-weight and --shape-weight must be 0 or more")
    return DecoderTrainConfig(model=a.model, out=a.out, steps=a.steps, batch_size=a.batch_size, frames=a.frames,
                              lr=a.lr, mix=a.mix, latent_noise=a.latent_noise, edge_weight=a.edge_weight,
                              shape_weight=a.shape_weight, caption_dropout=a.caption_dropout, textured=a.textured,
                              spread=a.spread, eval_every=a.eval_every, save_every=a.save_every, seed=a.seed)
