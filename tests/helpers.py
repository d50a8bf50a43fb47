"""Helpers for tests: small synthetic videos made with ffmpeg, and ways to inspect outputs."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np

from vidgen.io.ffmpeg import ffmpeg_exe

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "bunny_320x180.mp4"


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y", *args], check=True)


def make_video(path: Path, size: str = "160x90", rate: str = "25", seconds: float = 1.0, audio: bool = False,
               vcodec: tuple[str, ...] = ("-c:v", "libx264", "-crf", "18", "-pix_fmt", "yuv420p"),
               extra: tuple[str, ...] = (), src: str = "testsrc2") -> Path:
    """A test-pattern video (moving content) with an optional sine-tone audio track."""
    args = ["-f", "lavfi", "-i", f"{src}=size={size}:rate={rate}:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
    args += [*vcodec]
    if audio:
        args += ["-c:a", "aac", "-b:a", "64k"]
    ffmpeg(*args, *extra, str(path))
    return path


def stream_lines(path: Path) -> str:
    """The stream description ffmpeg prints for a file."""
    r = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True)
    return r.stderr


def count_frames(path: Path) -> int:
    r = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path), "-map", "0:v:0", "-f", "framecrc",
                        "-"], capture_output=True, text=True, check=True)
    return sum(1 for ln in r.stdout.splitlines() if ln and not ln.startswith("#"))


def duration(path: Path) -> float:
    m = re.search(r"Duration: (\d+):(\d+):(\d+\.\d+)", stream_lines(path))
    assert m, f"no duration for {path}"
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))


def read_rgb(path: Path) -> np.ndarray:
    """All frames of a (small) video as (T, H, W, 3) uint8, decoded by plain ffmpeg."""
    from vidgen.io.probe import probe

    info = probe(path)
    r = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:v:0", "-f", "rawvideo", "-pix_fmt",
                        "rgb24", "-"], capture_output=True, check=True)
    return np.frombuffer(r.stdout, np.uint8).reshape(-1, info.height, info.width, 3)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 99.0 if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


T2V_WORDS = ["a", "red", "blue", "purple", "circle", "square", "moving", "left", "right"]


def tiny_t2v_config():
    """A text-to-video model small enough for a test: 32x32 frames, 16x16 latents, 8/16-channel U-Net."""
    from vidgen.models.t2v import T2VConfig

    return T2VConfig(frame_size=32, vae_channels=(8, 8), unet_channels=(8, 16), head_dim=4, norm_groups=4,
                     text_dim=16, text_layers=1, text_heads=2)


def tiny_t2v_model(folder: Path) -> Path:
    """Seeded tiny components saved in the diffusers layout under ``folder / "model"``."""
    from vidgen.models.t2v import small_components
    from vidgen.pipelines.text_to_video import TextToVideoPipeline

    pipe = TextToVideoPipeline(**small_components(T2V_WORDS, folder / "tok", tiny_t2v_config(), seed=0))
    pipe.save_pretrained(folder / "model")
    return folder / "model"
