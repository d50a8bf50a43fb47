"""Train the classifier-guidance model of vidgen's small text-to-video model, with accelerate.

The classifier (:class:`vidgen.models.t2v_guide.LatentAttributeClassifier`) learns to name the colour,
shape and direction of procedural clips from their noisy VAE latents at every timestep of the
model's schedule (cross-entropy per attribute). Clips come from the training combinations only;
validation reports its accuracy per noise level on the held-out combinations, which it never sees.
The latents are encoded once by the model's frozen VAE and cached in ``OUT/latents.pt``.

The finished model folder ``OUT/model`` is the input model with ``guide/`` added.

    vidgen train t2v-guide --model vidgen/weights/t2v --out runs/t2v_guide --steps 1500
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from .loop import fit, indexed_loader, latest_checkpoint, log_record, lr_lambda, resume_point, training_record
from .palette import COLORS, EXTRA_COLORS
from .shapes import DIRECTIONS, HELD_OUT, SHAPES, render_clip, training_combinations
from .t2v_options import GuideTrainConfig, add_guide_arguments, check_guide_config, guide_config_from_args

# The colour head also knows the detector's extra colours (purple, orange), which no caption of the
# model uses: trained on them as colours a red or blue object must not be, it reads "red" only for red,
# where a 5-way head called a purple-red object red and guided toward it.
ATTRIBUTES = {"color": list(COLORS) + list(EXTRA_COLORS), "shape": list(SHAPES), "direction": list(DIRECTIONS)}
EVAL_TIMESTEPS = (200, 500, 700, 800, 900)


def encode_set(vae, combos: list[tuple[str, str, str]], n: int, seed: int, frames: int, size: int,
               batch: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` rendered clips of ``combos`` -> (latents (n, C, T, h, w), labels (n, 3) in ATTRIBUTES order)."""
    from ..models.t2v import encode_clips

    rng = np.random.default_rng(seed)
    lats, labels = [], []
    for start in range(0, n, batch):
        clips = []
        for _ in range(min(batch, n - start)):
            combo = combos[int(rng.integers(len(combos)))]
            clips.append(render_clip(rng, *combo, frames, size))
            labels.append([names.index(word) for names, word in zip(ATTRIBUTES.values(), combo)])
        x = torch.from_numpy(np.stack(clips)).permute(0, 4, 1, 2, 3).float() / 127.5 - 1
        lats.append(encode_clips(vae, x))
    return torch.cat(lats), torch.tensor(labels)


def noised(latents: torch.Tensor, noise: torch.Tensor, alpha_bar: torch.Tensor) -> torch.Tensor:
    """The forward diffusion at one timestep: sqrt(alpha_bar) x0 + sqrt(1 - alpha_bar) noise."""
    return alpha_bar.sqrt() * latents + (1 - alpha_bar).sqrt() * noise


class NoisyLatents(Dataset):
    """Sample ``idx`` -> (noisy latent, timestep, labels): a cached clip noised at a random timestep,
    all drawn from a generator seeded by ``idx`` (a resumed run sees the same samples)."""

    def __init__(self, latents: torch.Tensor, labels: torch.Tensor, alphas_cumprod: torch.Tensor, length: int,
                 seed: int):
        self.latents, self.labels, self.ab, self.length, self.seed = latents, labels, alphas_cumprod, length, seed

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, idx: int):
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + idx)
        k = int(torch.randint(len(self.latents), (1,), generator=g))
        t = int(torch.randint(len(self.ab), (1,), generator=g))
        noise = torch.randn(self.latents[k].shape, generator=g)
        return noised(self.latents[k], noise, self.ab[t]), t, self.labels[k]


def accuracy_by_timestep(clf, latents: torch.Tensor, labels: torch.Tensor, alphas_cumprod: torch.Tensor,
                         timesteps=EVAL_TIMESTEPS) -> dict[str, float]:
    """Share of clips each attribute is named right at each timestep (fixed noise)."""
    out = {}
    with torch.no_grad():
        for t in timesteps:
            x = noised(latents, torch.randn(latents.shape, generator=torch.Generator().manual_seed(t)),
                       alphas_cumprod[t])
            logits = clf(x.to(clf.device), torch.full((len(x),), t, device=clf.device))
            for j, attr in enumerate(ATTRIBUTES):
                out[f"{attr}_t{t}"] = round(float((logits[attr].argmax(1).cpu() == labels[:, j]).float().mean()), 3)
    return out


def train(cfg: GuideTrainConfig, resume: bool = False, progress: bool = True, command: str | None = None,
          stop_after: int | None = None) -> Path:
    """Returns the model folder with the guide (or the last checkpoint when stopped early)."""
    from accelerate import Accelerator
    from accelerate.utils import set_seed

    from ..models.t2v_guide import LatentAttributeClassifier
    from ..pipelines.text_to_video import TextToVideoPipeline

    check_guide_config(cfg)
    t0 = time.time()
    set_seed(cfg.seed)
    pipe = TextToVideoPipeline.from_pretrained(cfg.model)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=1))
    frames, size = 16, pipe.unet.config.sample_size * pipe.vae_scale_factor
    cache = out / "latents.pt"
    key = {"clips": cfg.clips, "seed": cfg.seed, "frames": frames, "size": size, "colors": ATTRIBUTES["color"]}
    data = torch.load(cache, weights_only=True) if cache.exists() else None
    if data is None or data["key"] != key:
        combos = training_combinations(tuple(ATTRIBUTES["color"]))
        train_lat, train_lab = encode_set(pipe.vae, combos, cfg.clips, cfg.seed, frames, size)
        val_lat, val_lab = encode_set(pipe.vae, list(HELD_OUT), 256, cfg.seed + 99, frames, size)
        data = {"key": key, "train": [train_lat, train_lab], "val": [val_lat, val_lab]}
        torch.save(data, cache)
    (train_lat, train_lab), (val_lat, val_lab) = data["train"], data["val"]
    ab = pipe.scheduler.alphas_cumprod.float()

    acc = Accelerator()
    clf = LatentAttributeClassifier(attributes=ATTRIBUTES, in_channels=train_lat.shape[1],
                                    default_scale=cfg.default_scale, guided=list(cfg.guided),
                                    candidates=cfg.candidates, select_timestep=cfg.select_timestep)
    opt = torch.optim.AdamW(clf.parameters(), lr=cfg.lr, weight_decay=1e-2)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(cfg.steps, 50))
    dataset = NoisyLatents(train_lat, train_lab, ab, cfg.steps * cfg.batch_size, cfg.seed)
    start, ckpt = resume_point(out, resume)
    loader = indexed_loader(dataset, start, cfg.batch_size, 1, cfg.workers)
    clf, opt, loader, sched = acc.prepare(clf, opt, loader, sched)
    if ckpt is not None:
        acc.load_state(str(ckpt))
    net = acc.unwrap_model(clf)

    def step_fn(batch) -> float:
        x, t, labels = batch
        logits = clf(x, t)
        loss = sum(F.cross_entropy(logits[attr], labels[:, j]) for j, attr in enumerate(ATTRIBUTES))
        acc.backward(loss)
        opt.step()
        sched.step()
        opt.zero_grad()
        return float(loss.detach())

    def eval_fn() -> dict:
        net.eval()
        result = accuracy_by_timestep(net, val_lat, val_lab, ab)
        net.train()
        return {"held_out_" + k: v for k, v in result.items()}

    if not fit(acc, out, cfg.steps, start, loader, [clf], step_fn, eval_fn, cfg.eval_every, cfg.save_every,
               progress, stop_after):
        return latest_checkpoint(out)
    pipe.guide = net.eval()
    model_dir = out / "model"
    pipe.save_pretrained(model_dir)
    record = training_record(acc, command, cfg.steps, time.time() - t0, ["procedural shapes"], None)
    record.update(held_out="vidgen.training.shapes.HELD_OUT", clips=str(cfg.clips))
    (model_dir / "guide" / "training.json").write_text(json.dumps(record, indent=1))
    log_record(acc, out, {"step": cfg.steps, "saved": str(model_dir)})
    return model_dir


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="vidgen.training.t2v_guide")
    add_guide_arguments(p)
    a = p.parse_args(argv)
    train(guide_config_from_args(a), resume=a.resume,
          command="accelerate launch -m vidgen.training.t2v_guide " + shlex.join(sys.argv[1:]))


if __name__ == "__main__":
    main()
