"""Score a text-to-video model on prompts it was trained on (not held out), to tell "did not learn
it" from "does not generalise to unseen combinations".

    python benchmarks/t2v_train_prompts.py MODEL_DIR [N]    # N random training prompts, one seed (default 16)

Prints how many of the N videos the detector (vidgen.training.shapes.detect) reads with the
prompt's colour, shape and direction, and how many move in the opposite direction.
"""

from __future__ import annotations

import sys

import numpy as np


def main() -> None:
    from vidgen.pipelines.text_to_video import TextToVideoPipeline
    from vidgen.training.shapes import caption, detect, training_combinations

    model = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    pipe = TextToVideoPipeline.from_pretrained(model)
    train = training_combinations()
    combos = [train[i] for i in np.random.default_rng(3).choice(len(train), n, replace=False)]
    videos = pipe([caption(*c) for c in combos], num_frames=16, num_inference_steps=25, guidance_scale=7.5,
                  seed=5).frames
    opposite = {"left": "right", "right": "left", "up": "down", "down": "up"}
    hits = {"colour": 0, "shape": 0, "direction": 0, "opposite direction": 0}
    for v, (color, shape, direction) in zip(videos, combos):
        d = detect((v.permute(1, 2, 3, 0).numpy() * 255).round().astype(np.uint8))
        if d is None:
            continue
        hits["colour"] += d["color"] == color
        hits["shape"] += d["shape"] == shape
        hits["direction"] += d["direction"] == direction
        hits["opposite direction"] += d["direction"] == opposite[direction]
    print(f"{model}: {n} training prompts: " + ", ".join(f"{k} {v}/{n}" for k, v in hits.items()))


if __name__ == "__main__":
    main()
