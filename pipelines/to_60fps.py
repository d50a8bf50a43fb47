#!/usr/bin/env python3
"""Recipe: any video to 60 fps (or another rate), audio kept, H.264 at CRF 18.

    python pipelines/to_60fps.py in.mp4 [out.mp4] [--fps 60000/1001]
"""

import argparse

from vidgen import InterpolationPipeline
from vidgen.io import EncodeSettings


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input")
    ap.add_argument("output", nargs="?")
    ap.add_argument("--fps", default="60")
    a = ap.parse_args(argv)
    result = InterpolationPipeline()(a.input, a.output, fps=a.fps, encode=EncodeSettings(codec="h264", crf=18))
    print(f"{result.path}: {result.stats.frames_out} frames at {float(result.fps):.3f} fps")
    return result


if __name__ == "__main__":
    main()
