"""Options and helpers every command shares: argument types, the input/output, encoding and device
options, and the small steps between parsed options and a job (encode settings, --adapt)."""

from __future__ import annotations

import argparse

from ..errors import OptionError

class Parser(argparse.ArgumentParser):
    """argparse that reports a bad option in one line instead of usage plus error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {v}")
    return v


def size(text: str) -> tuple[int, int]:
    try:
        w, _, h = text.lower().partition("x")
        return int(w), int(h or w)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a size: write 64 or 256x144") from None


def add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", help="video file; - for a stream on stdin (y4m, Matroska, MPEG-TS); a folder of "
                                 "videos (a batch: each one processed into the -o folder); or a folder of images "
                                 "(png, jpg, tif) in name order")
    p.add_argument("-o", "--output", default=None,
                   help="output file (.mp4 .mkv .mov .webm .avi .nut), - for y4m on stdout, or a new folder for "
                        "PNG frames (default: beside the input, named after it; for a batch, the output folder). "
                        "Never the input itself")
    p.add_argument("--input-fps", default=None, metavar="F",
                   help="frame rate of an image-folder input (default 25)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")


def add_encode_options(p: argparse.ArgumentParser, has_input: bool = True) -> None:
    g = p.add_argument_group("output encoding")
    from ..choices import CODECS

    g.add_argument("--codec", default="h264", choices=CODECS,
                   help="video codec (default h264 in .mp4). ffv1 is lossless (.mkv)"
                        + (" and keeps the input's pixel format, RGB included" if has_input else ""))
    g.add_argument("--crf", type=int, default=None,
                   help="quality for h264/h265/vp9, lower is better (defaults 18 / 20 / 24)")
    g.add_argument("--encoder-preset", default="medium", metavar="NAME",
                   help="x264/x265 speed preset: ultrafast ... veryslow (default medium)")
    g.add_argument("--pix-fmt", default=None,
                   help="output pixel format (default yuv420p" + ("; ffv1 keeps the input's)" if has_input else ")"))
    if has_input:
        g.add_argument("--no-audio", action="store_true", help="do not copy audio from the input")


def add_device_options(g) -> None:
    from ..devices import DEVICE_HELP, PRECISIONS

    g.add_argument("--device", default="auto", help=DEVICE_HELP)
    g.add_argument("--precision", default="auto", choices=PRECISIONS,
                   help="fp16/bf16 need CUDA; auto = fp16 on CUDA, fp32 on CPU")


def encode_settings(args: argparse.Namespace):
    from ..io.writer import EncodeSettings

    s = EncodeSettings(codec=args.codec, crf=args.crf, preset=args.encoder_preset, pix_fmt=args.pix_fmt)
    s.validate()
    return s


def adapted(args: argparse.Namespace, task: str, weights: str | None, input: str | None = None):
    """A context giving the weights to run with: ``weights`` as given, or, with ``--adapt N``, weights
    fine-tuned on ``input`` (default: the command's) for N steps (removed when the context ends)."""
    import contextlib

    if not args.adapt:
        return contextlib.nullcontext(weights)
    input = input if input is not None else args.input
    if input == "-":
        raise OptionError("--adapt trains on the video before running on it, so it reads it twice: it cannot "
                          "read stdin; give the file's path")
    from ..training.adapt import adapted_weights

    return adapted_weights(task, input, args.adapt, base=weights, progress=not args.quiet)


def add_model_command(models, name: str, add_options, func, defaults: dict | None = None, **parser_kw):
    """One ``vidgen train|finetune MODEL`` parser: its options (``add_options(parser)``), ``-q``, and ``func``."""
    p = models.add_parser(name, **parser_kw)
    add_options(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=func, **(defaults or {}))
    return p


def add_models_group(sub, name: str, help: str, description: str):
    """``vidgen train`` / ``vidgen finetune``: a command whose first argument names a model."""
    group = sub.add_parser(name, help=help, description=description)
    return group.add_subparsers(dest="model", metavar="MODEL", parser_class=Parser, required=True)


def run_training(train, cfg, args: argparse.Namespace, then: str = "") -> int:
    """Run a trainer's ``train(cfg, resume, progress, command)`` for a parsed command and say what it wrote."""
    import logging
    import sys

    path = train(cfg, resume=args.resume, progress=not args.quiet, command="vidgen " + " ".join(sys.argv[1:]))
    logging.getLogger("vidgen").info(f"wrote {path}" + (then.format(path=path) if then else ""))
    return 0


def shown(path) -> str:
    """An output path as a summary line names it (``-`` is stdout)."""
    return "stdout" if str(path) == "-" else str(path)


def add_job_options(p: argparse.ArgumentParser) -> None:
    """``--resume`` and ``--segment``: long jobs made in segments, continued after an interruption."""
    g = p.add_argument_group("long jobs")
    g.add_argument("--resume", action="store_true",
                   help="make the output in segments kept beside it (.NAME.resume/), so a run interrupted "
                        "for any reason continues from its last complete segment when the same command is "
                        "run again; the segments are joined without re-encoding at the end")
    g.add_argument("--segment", type=float, default=60, metavar="SECONDS",
                   help="with --resume: output seconds per segment (default 60)")


def resume_key(args: argparse.Namespace) -> str | None:
    """What must match for ``--resume`` to continue a run: every option that shapes the frames."""
    if not getattr(args, "resume", False):
        return None
    skip = {"input", "output", "quiet", "resume", "segment", "func"}
    return repr(sorted((k, str(v)) for k, v in vars(args).items() if k not in skip))


def folder_videos(path: str) -> list | None:
    """The videos of a folder given as the input (a batch), in name order; None when the input is a
    file, stdin, or a folder of images (an image sequence)."""
    from pathlib import Path

    from ..errors import InputError
    from ..io.probe import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, list_images

    p = Path(path)
    if path == "-" or not p.is_dir():
        return None
    videos = sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith(".")
                    and f.suffix.lower() in VIDEO_EXTENSIONS)
    if videos:
        return videos
    if list_images(p):
        return None
    raise InputError(f"{p} is a folder with no videos ({' '.join(VIDEO_EXTENSIONS[:6])}...) and no images "
                     f"({' '.join(IMAGE_EXTENSIONS[:3])}...)")


def each_input(args: argparse.Namespace, task: str, job) -> int:
    """Run ``job(input, output)`` on the command's input; on each video of a folder (a batch: outputs in
    the folder ``-o`` names, default ``FOLDER_TASK`` beside it, named after the videos; a video whose
    output exists is skipped, a failing one reported and the rest still run; exit 1 if any failed)."""
    import logging
    from pathlib import Path

    from ..errors import OutputError, VidgenError
    from ..pipelines.job import output_suffix

    videos = folder_videos(args.input)
    if videos is None:
        job(args.input, args.output)
        return 0
    log = logging.getLogger("vidgen")
    src = Path(args.input)
    if args.output == "-":
        raise OptionError("a folder of videos cannot go to stdout: give an output folder with -o")
    out_dir = Path(args.output) if args.output else src.with_name(f"{src.resolve().name}_{task}")
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"{out_dir} is a file: a folder of videos needs an output folder (-o DIR)")
    if out_dir.resolve() == src.resolve():
        raise OutputError("the output folder is the input folder: pick another with -o")
    out_dir.mkdir(parents=True, exist_ok=True)
    suffix = output_suffix(args.codec)
    done, skipped, failed = 0, 0, []
    stems = [v.stem for v in videos]
    for i, video in enumerate(videos, 1):
        # clip.mp4 -> clip.mp4 in the output folder; clip.mov beside clip.mp4 -> clip_mov.mp4
        stem = video.stem if stems.count(video.stem) == 1 else f"{video.stem}_{video.suffix[1:].lower()}"
        out = out_dir / (stem + suffix)
        if out.exists():
            skipped += 1
            log.info(f"[{i}/{len(videos)}] {video.name}: {out} exists, skipped")
            continue
        log.info(f"[{i}/{len(videos)}] {video.name} -> {out}")
        try:
            job(str(video), str(out))
            done += 1
        except VidgenError as e:
            failed.append(video.name)
            log.error(f"[{i}/{len(videos)}] {video.name} failed: {e}")
    log.info(f"{len(videos)} videos in {src}: {done} done, {skipped} skipped (already in {out_dir}), "
             f"{len(failed)} failed" + (f": {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0
