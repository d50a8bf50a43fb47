"""Training and fine-tuning recipes, runnable on one CPU or many GPUs through accelerate."""
