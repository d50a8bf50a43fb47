"""Score a text-to-video model on prompts it was trained on (not held out), to tell "did not learn
it" from "does not generalise to unseen combinations".

    python benchmarks/t2v_train_prompts.py MODEL_DIR [N]    # N random training prompts, one seed (default 16)

Prints the share of the N videos the detector (vidgen.training.shapes.detect, through
t2v_eval.score) reads with the prompt's colour, shape and direction, and the share moving the
opposite way.
"""

from __future__ import annotations

import sys

import numpy as np


def main() -> None:
    from t2v_eval import score  # beside this script

    from vidgen.pipelines.text_to_video import TextToVideoPipeline
    from vidgen.training.shapes import OPPOSITE, caption, training_combinations

    model = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    pipe = TextToVideoPipeline.from_pretrained(model)
    train = training_combinations()
    combos = [train[i] for i in np.random.default_rng(3).choice(len(train), n, replace=False)]
    frames = pipe([caption(*c) for c in combos], num_frames=16, num_inference_steps=25, guidance_scale=7.5,
                  seed=5).frames
    videos = [(v.permute(1, 2, 3, 0).numpy() * 255).round().astype(np.uint8) for v in frames]
    hits = score(videos, combos)
    backwards = score(videos, [(c, s, OPPOSITE[d]) for c, s, d in combos])["direction"]
    print(f"{model}: {n} training prompts: colour {hits['color']:.0%}, shape {hits['shape']:.0%}, "
          f"direction {hits['direction']:.0%}, opposite direction {backwards:.0%}, object found {hits['detected']:.0%}")


if __name__ == "__main__":
    main()
