"""Learned models. Each is a plain ``nn.Module`` with a config dataclass saved beside its weights."""
