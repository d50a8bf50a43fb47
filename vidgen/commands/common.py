"""Options and helpers every command shares: argument types, the input/output, encoding and device
options, and the small steps between parsed options and a job (encode settings, --adapt)."""

from __future__ import annotations

import argparse

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
    p.add_argument("input", help="video file, or a folder of images (png, jpg, tif) in name order")
    p.add_argument("-o", "--output", default=None,
                   help="output file (.mp4 .mkv .mov .webm .avi) or a new folder for PNG frames "
                        "(default: beside the input, named after it). Never the input itself")
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
    g.add_argument("--preset", default="medium", help="x264/x265 speed preset (default medium)")
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

    s = EncodeSettings(codec=args.codec, crf=args.crf, preset=args.preset, pix_fmt=args.pix_fmt)
    s.validate()
    return s


def adapted(args: argparse.Namespace, task: str, weights: str | None):
    """A context giving the weights to run with: ``weights`` as given, or, with ``--adapt N``, weights
    fine-tuned on the input for N steps (removed when the context ends)."""
    import contextlib

    if not args.adapt:
        return contextlib.nullcontext(weights)
    from ..training.adapt import adapted_weights

    return adapted_weights(task, args.input, args.adapt, base=weights, progress=not args.quiet)


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
