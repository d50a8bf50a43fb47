"""A `vidgen train t2v` U-Net checkpoint as a model folder, to score it or warm-start another run from it.

    python training/text_to_video/export_checkpoint.py runs/t2v_s18 1700 runs/t2v_s18/snap_1700
"""

import sys

from vidgen.training.text_to_video import export_checkpoint

if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__.strip())
    print(export_checkpoint(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
