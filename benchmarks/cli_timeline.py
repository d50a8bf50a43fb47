"""Where a ``vidgen`` command's wall time goes: seconds since start at each ffmpeg start and finish.

Runs the command in this process with ``subprocess.Popen`` wrapped, so each line shows when the
argument parser had run and the input's probe started, when numpy and OpenCV were imported and the
decoder and encoder started, and when each ffmpeg finished.

    python benchmarks/cli_timeline.py interpolate in.mkv -o out.mkv --factor 2 --codec ffv1 --quiet
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

T0 = time.perf_counter()


class _TimedPopen(subprocess.Popen):
    def __init__(self, cmd, *args, **kwargs):
        print(f"{time.perf_counter() - T0:.3f} s  start {os.path.basename(cmd[0])} {' '.join(cmd[1:6])}",
              file=sys.stderr)
        super().__init__(cmd, *args, **kwargs)

    def wait(self, *args, **kwargs):
        code = super().wait(*args, **kwargs)
        print(f"{time.perf_counter() - T0:.3f} s  done  {' '.join(self.args[1:6])}", file=sys.stderr)
        return code


def main() -> int:
    subprocess.Popen = _TimedPopen
    from vidgen.cli import main as vidgen_main

    print(f"{time.perf_counter() - T0:.3f} s  vidgen.cli imported", file=sys.stderr)
    print("command: vidgen " + " ".join(sys.argv[1:]), file=sys.stderr)
    code = vidgen_main(sys.argv[1:])
    print(f"{time.perf_counter() - T0:.3f} s  finished (exit code {code})", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
