"""``vidgen generate``: a short video from a text prompt."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..choices import ATTENTION_BACKENDS, SCHEDULERS
from ..errors import WeightsError
from .common import add_device_options, add_encode_options, encode_settings, positive_int, size

log = logging.getLogger("vidgen")


def add(sub) -> None:
    p = sub.add_parser("generate", help="make a short video from a text prompt",
                       description="Text-to-video with latent video diffusion (3D U-Net with temporal attention). "
                                   "With no --model, vidgen's own small model runs: it knows prompts like "
                                   "'a red circle moving left' (colours red, green, blue, yellow, white; circle, "
                                   "square, triangle; left, right, up, down). --model takes a diffusers folder "
                                   "(model_index.json) "
                                   "or a hub id when online: Wan 2.x, LTX-Video, CogVideoX, AnimateDiff, "
                                   "ModelScope text-to-video or Zeroscope. For image-to-video see 'vidgen animate'.",
                       epilog="examples:\n  vidgen generate \"a yellow triangle moving up\" -o tri.mp4\n"
                              "  vidgen generate \"a boat at sea\" --model ./zeroscope_v2_576w --size 576x320 --steps 30\n"
                              "  vidgen generate \"a boat at sea\" --model ./Wan2.1-T2V-1.3B-Diffusers --size 832x480 "
                              "--frames 33",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("prompt", help="what the video shows")
    p.add_argument("-o", "--output", default=None, help="output file (default: generated.mp4) or a folder for PNGs")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    g = p.add_argument_group("generation")
    g.add_argument("--model", default=None, help="model folder or hub id (default: vidgen's small shipped model)")
    g.add_argument("--lora", default=None, metavar="FILE", help="LoRA adapter (.safetensors, from 'vidgen train lora' "
                                                                 "or diffusers) merged into the U-Net")
    g.add_argument("--lora-scale", type=float, default=1.0, help="strength of --lora (default 1.0)")
    g.add_argument("--frames", type=positive_int, default=None,
                   help="number of frames (default: 16 for vidgen's own and ModelScope-style models, else the model's)")
    g.add_argument("--size", type=size, default=None, metavar="WxH", help="frame size (default: the model's)")
    g.add_argument("--steps", type=positive_int, default=25, help="denoising steps (default 25)")
    g.add_argument("--guidance", type=float, default=None,
                   help="classifier-free guidance scale (1 = off; default: the model's own, 3 for vidgen's, else 7.5)")
    g.add_argument("--classifier-guidance", type=float, default=None, metavar="SCALE",
                   help="steer toward the colour, shape and direction the prompt names with the model's guide "
                        "classifier (vidgen models trained with one, 'vidgen train t2v-guide'; default: the "
                        "model's setting; 0 = off)")
    g.add_argument("--candidates", type=int, default=None, metavar="N",
                   help="start N videos and finish the one the guide classifier reads best for the prompt "
                        "(models with one; default: the model's setting; 1 = off)")
    g.add_argument("--negative-prompt", default=None, help="what the video should not show")
    g.add_argument("--seed", type=int, default=0, help="random seed: the same seed gives the same video (default 0)")
    g.add_argument("--scheduler", default=None, choices=SCHEDULERS,
                   help="sampler of vidgen's own and ModelScope-style models (default ddim); other families keep "
                        "their own")
    g.add_argument("--fps", default=None, help="frame rate of the output (default: the family's, 8 for vidgen's own)")
    add_memory_options(p, "attention kernel (default auto: xformers on CUDA if installed, else PyTorch SDPA; "
                          "Wan, LTX-Video and CogVideoX take sdpa, naive or xformers)")
    p.set_defaults(func=run)


def add_memory_options(p: argparse.ArgumentParser, attention_help: str) -> None:
    """The memory and speed options of generate and animate, then device and encoding."""
    r = p.add_argument_group("memory and speed")
    r.add_argument("--attention", default="auto", choices=ATTENTION_BACKENDS, help=attention_help)
    r.add_argument("--vae-slicing", action="store_true", help="decode in slices (a frame or a batch at a time)")
    r.add_argument("--vae-tiling", action="store_true", help="decode each frame in tiles (large sizes)")
    r.add_argument("--cpu-offload", action="store_true",
                   help="keep weights in RAM, move each model to the GPU as it runs")
    add_device_options(r)
    add_encode_options(p, has_input=False)


def run(args: argparse.Namespace) -> int:
    import time

    from ..devices import choose
    from ..io.tensors import video_frames
    from ..io.writer import write_video
    from ..pipelines.job import parse_rate
    from ..pipelines.text_to_video import TextToVideoPipeline

    started = time.perf_counter()
    from ..pipelines.video_models import family_class

    if family_class(args.model) is not None:
        return run_family(args, image=None)
    fps = parse_rate(args.fps or "8")
    settings = encode_settings(args)
    if args.lora and not Path(args.lora).is_file():
        raise WeightsError(f"no LoRA file at {args.lora}")
    device, dtype = choose(args.device, args.precision)
    pipe = TextToVideoPipeline.from_pretrained(args.model, torch_dtype=dtype)
    if args.lora:
        pipe.load_lora(args.lora, scale=args.lora_scale)
    if args.cpu_offload:
        pipe.enable_cpu_offload(str(device) if device.type == "cuda" else "cuda")
    else:
        pipe.to(device)
    pipe.set_scheduler(args.scheduler or "ddim")
    pipe.set_attention(args.attention)
    if args.vae_slicing:
        pipe.enable_vae_slicing()
    if args.vae_tiling:
        pipe.enable_vae_tiling()
    w, h = args.size if args.size else (None, None)
    out = pipe(args.prompt, negative_prompt=args.negative_prompt, num_frames=args.frames or 16, height=h, width=w,
               num_inference_steps=args.steps, guidance_scale=args.guidance, seed=args.seed,
               progress=not args.quiet, classifier_scale=args.classifier_guidance,
               candidates=args.candidates).frames
    path = args.output or "generated.mp4"
    n = write_video(path, video_frames(out[0].float().cpu()), fps, settings)
    if not args.quiet:
        log.info(f"wrote {path}: {n} frames, {out.shape[-1]}x{out.shape[-2]}, "
                 f"in {time.perf_counter() - started:.1f} s")
    return 0


def run_family(args: argparse.Namespace, image: str | None) -> int:
    """``generate`` / ``animate`` with a Wan, LTX-Video, CogVideoX or AnimateDiff model."""
    import time

    from ..errors import OptionError
    from ..io.writer import write_video
    from ..pipelines.job import parse_rate
    from ..pipelines.video_models import VideoModel

    started = time.perf_counter()
    for option, value in (("--scheduler", getattr(args, "scheduler", None)),
                          ("--classifier-guidance", getattr(args, "classifier_guidance", None)),
                          ("--candidates", getattr(args, "candidates", None))):
        if value is not None:
            raise OptionError(f"{option} is for vidgen's own and ModelScope-style models; this model uses its "
                              "pipeline's own")
    settings = encode_settings(args)
    model = VideoModel.load(args.model, task="t2v" if image is None else "i2v", device=args.device,
                            precision=args.precision, lora=args.lora, lora_scale=args.lora_scale,
                            attention=args.attention, vae_slicing=args.vae_slicing, vae_tiling=args.vae_tiling,
                            cpu_offload=args.cpu_offload)
    w, h = args.size if args.size else (None, None)
    video = model.generate(args.prompt, image=image, negative_prompt=args.negative_prompt, num_frames=args.frames,
                           height=h, width=w, steps=args.steps, guidance=args.guidance, seed=args.seed,
                           progress=not args.quiet)
    fps = parse_rate(args.fps) if args.fps else parse_rate(str(video.fps))
    path = args.output or ("generated.mp4" if image is None else "animated.mp4")
    n = write_video(path, video.frames, fps, settings)
    if not args.quiet:
        log.info(f"wrote {path}: {n} frames, {video.width}x{video.height} at {float(fps):g} fps "
                 f"({model.family.name}), in {time.perf_counter() - started:.1f} s")
    return 0
