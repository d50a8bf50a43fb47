"""The accelerate training loop every vidgen recipe shares: steps, evaluation, checkpoints, resume.

A recipe builds its models, optimizers and dataset, ``accelerator.prepare``s them, and hands
:func:`fit` two functions: ``step_fn(batch)``, which computes the losses and steps the optimizers
(``fit`` wraps it in ``accelerator.accumulate``), and ``eval_fn()``, which returns validation
figures. ``fit`` logs them to ``OUT/log.jsonl`` with the loss, speed and time left, saves
``accelerator.save_state`` checkpoints (the last two are kept) and stops early when asked to, as an
interrupted run would.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Subset


def lr_lambda(steps: int, warmup: int) -> Callable[[int], float]:
    """Linear warm-up, then cosine decay to 5% of the base rate."""

    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        p = (step - warmup) / max(1, steps - warmup)
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, p)))

    return f


def latest_checkpoint(out: Path) -> Path | None:
    ckpts = sorted((out / "checkpoints").glob("step_*"), key=lambda p: int(p.name.split("_")[1]))
    return ckpts[-1] if ckpts else None


def resume_point(out: Path, resume: bool) -> tuple[int, Path | None]:
    """(step to start from, checkpoint to load) for a run in ``out``."""
    ckpt = latest_checkpoint(out) if resume else None
    if ckpt is None:
        return 0, None
    return json.loads((ckpt / "trainer.json").read_text())["step"], ckpt


def indexed_loader(dataset: Dataset, start_step: int, batch_size: int, grad_accum: int, workers: int) -> DataLoader:
    """Batches of samples ``start_step * batch * accum, ...`` onwards: a resumed run sees the data
    the uninterrupted one would have (samples are drawn by index from a seeded generator)."""
    first = start_step * batch_size * grad_accum
    return DataLoader(Subset(dataset, range(first, len(dataset))), batch_size=batch_size, num_workers=workers,
                      persistent_workers=workers > 0, drop_last=True)


def log_record(accelerator, out: Path, record: dict) -> None:
    if accelerator.is_main_process:
        with open(out / "log.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")
        figures = ", ".join(f"{k} {v}" for k, v in record.items() if k != "step")
        accelerator.print(f"step {record['step']}: {figures}")


def fit(accelerator, out: Path, steps: int, start: int, loader: DataLoader, models: list,
        step_fn: Callable[[object], float], eval_fn: Callable[[], dict], eval_every: int, save_every: int,
        progress: bool = True, stop_after: int | None = None) -> bool:
    """Train from ``start`` to ``steps``; returns False if it stopped early (``stop_after``)."""
    from ..progress import progress_bar

    t0 = time.time()
    step = start
    losses: list[float] = []
    with progress_bar(steps, "train", enabled=progress and accelerator.is_main_process, unit="step") as bar:
        bar.update(start)
        it = iter(loader)
        while step < steps:
            batch = next(it)
            with accelerator.accumulate(*models):
                loss = step_fn(batch)
            if not accelerator.sync_gradients:
                continue
            step += 1
            losses.append(loss)
            bar.update(1)
            bar.set_postfix_str(f"loss {np.mean(losses[-20:]):.4f}")
            if step % eval_every == 0 or step == steps:
                rate = (step - start) / (time.time() - t0)
                record = {"step": step, "loss": round(float(np.mean(losses[-eval_every:])), 5), **eval_fn(),
                          "steps_per_s": round(rate, 3), "eta_s": round((steps - step) / max(rate, 1e-9))}
                log_record(accelerator, out, record)
            stopping = stop_after is not None and step - start >= stop_after
            if step % save_every == 0 or step == steps or stopping:
                ck = out / "checkpoints" / f"step_{step}"
                accelerator.save_state(str(ck))
                if accelerator.is_main_process:
                    (ck / "trainer.json").write_text(json.dumps({"step": step}))
                    for old in sorted((out / "checkpoints").glob("step_*"), key=lambda p: int(p.name.split("_")[1]))[:-2]:
                        shutil.rmtree(old, ignore_errors=True)
            if stopping:
                return False
    accelerator.wait_for_everyone()
    return True


def training_record(accelerator, command: str | None, steps: int, seconds: float, data: list[str],
                    split: str | None, corpus: str | None = None) -> dict[str, str]:
    """How a weights file was made, for its safetensors metadata."""
    sources = list(data) + ([f"corpus {corpus}"] if corpus else [])
    return {"command": command or "", "steps": str(steps), "seconds": f"{seconds:.0f}",
            "hardware": f"{accelerator.num_processes}x {accelerator.device.type} "
                        f"({platform.processor() or platform.machine()}, {os.cpu_count()} CPUs)",
            "data": ", ".join(sources) or "synthetic only", "split": split or "", "torch": torch.__version__}


def optimizer_step(accelerator, loss, params, opt, sched, max_norm: float = 1.0) -> float:
    """Backward, clip the gradient norm (when the accumulated gradients are synced), step the optimiser and
    the LR schedule; returns the loss as a float (the LoRA trainers' step)."""
    accelerator.backward(loss)
    if accelerator.sync_gradients:
        accelerator.clip_grad_norm_(params, max_norm)
    opt.step()
    sched.step()
    opt.zero_grad()
    return float(loss.detach())
