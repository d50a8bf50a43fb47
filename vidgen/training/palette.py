"""The procedural shapes' colours, free of numpy and OpenCV so the CLI's options can name them cheaply."""

COLORS = {"red": (220, 40, 40), "green": (40, 190, 60), "blue": (40, 80, 235), "yellow": (235, 215, 40),
          "white": (245, 245, 245)}
# Colours the detector knows but the base model is never trained on (new concepts for LoRA).
EXTRA_COLORS = {"purple": (150, 50, 200), "orange": (245, 140, 20)}
PALETTE = {**COLORS, **EXTRA_COLORS}
