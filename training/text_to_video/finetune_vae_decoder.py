"""Fine-tune a ShapeVAE's decoder with its encoder frozen, so a U-Net trained on its latents still fits.

The round trip of the 16-channel VAE kept the shape of 88% of centred clips (benchmarks/t2v_vae_shapes.py);
a sharper decoder of the same latents raises that without retraining the denoiser. Same frames as the
VAE phase of ``vidgen train t2v`` (Frames), decoded from posterior samples as there, MSE + edge-weight x
the L1 error of the Sobel gradients; the latent scaling factor is kept.

    python training/text_to_video/finetune_vae_decoder.py runs/t2v_s20/vae/final runs/t2v_s20/vae_dec \
        --steps 3000 --edge-weight 4 --textured 0
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("vae", help="ShapeVAE folder (diffusers layout)")
    ap.add_argument("out", help="folder for the fine-tuned VAE")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--edge-weight", type=float, default=4.0)
    ap.add_argument("--textured", type=float, default=0.5, help="share of frames over a textured background")
    ap.add_argument("--size", type=int, default=64, help="frame size (the model's)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)

    from vidgen.models.vae import ShapeVAE
    from vidgen.training.loop import lr_lambda
    from vidgen.training.text_to_video import Frames, sobel

    torch.manual_seed(a.seed)
    vae = ShapeVAE.from_pretrained(a.vae)
    vae.encoder.requires_grad_(False)  # the latents the denoiser learned stay the same
    params = [p for p in vae.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=a.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(a.steps, 50))
    data = Frames(a.size, a.steps * a.batch, a.seed + 1000, a.textured)
    t0 = time.time()
    for step in range(a.steps):
        x = torch.stack([data[step * a.batch + i] for i in range(a.batch)])
        with torch.no_grad():
            z = vae.encode(x).latent_dist.sample()
        rec = vae.decode(z).sample
        loss = F.mse_loss(rec, x) + a.edge_weight * F.l1_loss(sobel(rec), sobel(x))
        loss.backward()
        opt.step()
        sched.step()
        opt.zero_grad()
        if (step + 1) % 250 == 0:
            print(f"step {step + 1}: loss {float(loss):.5f} ({time.time() - t0:.0f} s)", flush=True)
    out = Path(a.out)
    vae.save_pretrained(out)
    (out / "training.json").write_text(json.dumps({"command": " ".join(sys.argv), "from": a.vae,
                                                   "seconds": round(time.time() - t0)}, indent=1))


if __name__ == "__main__":
    main()
