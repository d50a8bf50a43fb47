"""The ``vidgen`` command line: the parser of the commands in :mod:`vidgen.commands`, and how a run ends.

Every subcommand prints a mistake the user can fix (a bad path, option or file) as one line on
stderr and exits non-zero; a Ctrl-C leaves no partial output and exits 130.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence

# numpy's OpenBLAS starts a spinning thread per core at import, for matrix products vidgen's frame work
# does not do: one thread saves 0.25 s of CPU on a short clip (a 20-frame 176x144 interpolation: 0.80 ->
# 0.55 CPU seconds, the same wall time), CPU the ffmpeg processes beside it can use. The user's own
# setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from . import __version__  # noqa: E402
from .commands import COMMANDS, command_module  # noqa: E402
from .commands.common import Parser  # noqa: E402
from .errors import VidgenError  # noqa: E402

log = logging.getLogger("vidgen")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The ``vidgen`` argument parser; with ``only`` (a name in :data:`COMMANDS`), just that command's part.

    :func:`main` builds only the command it was given: the whole tree of commands took 50 ms to
    build (training options and argparse's gettext lookups), a tenth of a small clip's whole run.
    """
    parser = Parser(prog="vidgen", description="Generative video synthesis and restoration.")
    parser.add_argument("--version", action="version", version=f"vidgen {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name in COMMANDS:
        if only is None or only == name:
            command_module(name).add(sub)
    return parser


class _Terminated(KeyboardInterrupt):
    """SIGTERM: unwinds like Ctrl-C (no partial output stays), but exits 143 as shells expect."""


def _on_sigterm(signum, frame):
    raise _Terminated


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # the command comes first; anything else (vidgen -h, a typo) gets the whole parser and its help
    parser = build_parser(argv[0] if argv and argv[0] in COMMANDS else None)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("vidgen: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    log.propagate = False
    signal.signal(signal.SIGTERM, _on_sigterm)
    if getattr(command_module(args.command), "PROBES_INPUT", False) and getattr(args, "input_fps", None) is None:
        from .io.probe import probe_soon

        probe_soon(args.input)  # ffmpeg probes the input while numpy and OpenCV import
    try:
        return args.func(args)
    except VidgenError as e:
        print(f"vidgen {args.command}: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt as e:
        print(f"vidgen {args.command}: {'terminated' if isinstance(e, _Terminated) else 'interrupted'}; "
              "no output was written", file=sys.stderr)
        return 143 if isinstance(e, _Terminated) else 130
    except BrokenPipeError:
        return 1
    except OSError as e:  # the system's refusal (disk full, I/O error), not a bug: one line, no traceback
        print(f"vidgen {args.command}: error: {e}", file=sys.stderr)
        return 1


def run() -> None:
    """The ``vidgen`` command: :func:`main`, then exit.

    When torch was never imported (interpolate, the classical restorers, --help, errors), everything
    is written, closed and waited for by the time main returns, so the process ends at once with
    ``os._exit`` instead of tearing down numpy and OpenCV, which took 40-60 ms, a tenth of a small
    clip's whole run. With torch (or accelerate) loaded, the normal exit runs their atexit hooks.
    """
    code = main()
    if "torch" in sys.modules:
        sys.exit(code)
    logging.shutdown()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):  # a reader that went away, or a stream already closed
        pass
    os._exit(code)


if __name__ == "__main__":
    run()
