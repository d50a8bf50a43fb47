"""Video in and out: the only place frames enter or leave vidgen."""

from .probe import VideoInfo, probe
from .reader import VideoReader, read_frames
from .writer import EncodeSettings, VideoWriter

__all__ = ["VideoInfo", "probe", "VideoReader", "read_frames", "VideoWriter", "EncodeSettings"]
