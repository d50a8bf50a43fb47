#!/usr/bin/env python3
"""Recipe: smooth animation drawn on twos or threes to 2x its frame rate.

Repeated drawings are found and re-timed (up to 3 repeats in a row; longer holds stay held), scene
cuts are never blended, and the result is lossless FFV1 for further editing.

    python pipelines/anime_smooth.py in.mkv [out.mkv]
"""

import argparse

from vidgen import InterpolationPipeline
from vidgen.io import EncodeSettings


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input")
    ap.add_argument("output", nargs="?")
    a = ap.parse_args(argv)
    pipe = InterpolationPipeline(dedup=True, max_duplicate_run=3, detect_cuts=True)
    result = pipe(a.input, a.output, factor=2, encode=EncodeSettings(codec="ffv1"))
    s = result.stats
    print(f"{result.path}: {s.frames_out} frames, {s.duplicates} repeated drawings re-timed, {s.cuts} cuts")
    return result


if __name__ == "__main__":
    main()
