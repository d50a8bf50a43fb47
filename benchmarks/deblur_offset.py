"""How much of deblur's gap on the shared benchmark is its kernels' random offset?

``restore_bench.py deblur`` draws each frame's shake kernel as a trajectory that starts at the
kernel's centre and wanders off, so every blurred frame is also shifted, by the kernel's centroid
offset (rms 5.4 px on the set), against the sharp frame it is scored with. No method can see that
shift in one frame. This script scores the blurred input and ``vidgen deblur``'s output as the bench
does and again with each frame's known offset undone (an oracle only the bench's seed knows):

    python benchmarks/deblur_offset.py        # VIDGEN_BENCH=path/to/shared/bench if not ../shared/bench
"""
import os, sys, subprocess, tempfile, numpy as np, cv2
from pathlib import Path
sys.path.insert(0, os.environ.get("VIDGEN_BENCH", str(Path(__file__).resolve().parents[1] / "../shared/bench")))
import restore_bench as rb
from interpolate_bench import decode, psnr, MEDIA, write_lossless, read_all

def shift(img, dx, dy):
    """``img`` moved by (dx, dy) px, bicubic, edges reflected."""
    h, w = img.shape[:2]
    M = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(img.astype(np.float32), M, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT).clip(0, 255).round().astype(np.uint8)

rows = []
for name, (file, start, n) in rb.CLIPS.items():
    frames, fps = decode(MEDIA / file, start, n)
    h, w = frames[0].shape[:2]
    frames = [f[: h // 4 * 4, : w // 4 * 4] for f in frames]
    lq, truth = rb.blur_clip(frames)
    rng = np.random.default_rng(0); offs = []  # replay blur_clip's draws to get each kernel
    for i in range(len(lq)):
        size = int(rng.integers(9, 22)) | 1
        k = rb.shake_kernel(rng, size); rng.normal(0, 2, frames[0].shape)
        ys, xs = np.mgrid[:size, :size]
        offs.append(((k * xs).sum() - size // 2, (k * ys).sum() - size // 2))
    with tempfile.TemporaryDirectory() as td:
        inp, out = Path(td) / "in.mkv", Path(td) / "out.mkv"
        write_lossless(lq, inp, fps)
        subprocess.run(["vidgen", "deblur", str(inp), "-o", str(out), "--codec", "ffv1", "--quiet"], check=True)
        pred = read_all(out)
    r = dict(clip=name,
             input=np.mean([psnr(a, t) for a, t in zip(lq, truth)]),
             input_unshifted=np.mean([psnr(shift(a, cx, cy), t) for a, t, (cx, cy) in zip(lq, truth, offs)]),
             vidgen=np.mean([psnr(a, t) for a, t in zip(pred, truth)]),
             vidgen_unshifted=np.mean([psnr(shift(a, cx, cy), t) for a, t, (cx, cy) in zip(pred, truth, offs)]),
             offset_rms_px=float(np.sqrt((np.array(offs) ** 2).sum(1).mean())))
    rows.append(r)
    print({k: (round(v, 2) if isinstance(v, float) else v) for k, v in r.items()}, flush=True)
print("mean", {k: round(float(np.mean([r[k] for r in rows])), 2) for k in rows[0] if k != "clip"})
