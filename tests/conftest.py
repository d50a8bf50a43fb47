"""Fixtures shared by the tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import SAMPLE, make_video


@pytest.fixture
def sample() -> Path:
    assert SAMPLE.exists(), "samples/bunny_320x180.mp4 is part of the repository"
    return SAMPLE


@pytest.fixture
def ntsc_video(tmp_path: Path) -> Path:
    """1 s at 30000/1001 fps with audio."""
    return make_video(tmp_path / "ntsc.mp4", rate="30000/1001", audio=True)
