"""Model folders named by a hub id, and quiet loading: what every diffusers-based pipeline shares.

A ``--model`` that is not a local path is a hub id only when it looks like one (``org/name``); the hub
client's errors (no network, no such repo, a gated repo) become one :class:`WeightsError` line.
Example::

    repo = hub_id("cerspense/zeroscope_v2_576w")         # "cerspense/zeroscope_v2_576w"; "./x" -> None
    folder = from_hub(repo, allow_patterns=["model_index.json", "unet/*"])
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from ..errors import WeightsError


def hub_id(model: str | os.PathLike) -> str | None:
    """``model`` as a hub id (``org/name``) when it is no existing path and looks like one, else None."""
    path = Path(model).expanduser()
    text = str(model)
    if path.exists() or path.is_absolute() or text.startswith((".", "~")) or text.count("/") != 1:
        return None
    return text


def from_hub(repo_id: str, local_files_only: bool | None = None, filename: str | None = None,
             allow_patterns: list[str] | None = None) -> Path:
    """The local copy of a hub repo (``filename``: only that file, and its path is returned), fetched or
    found in the cache; any hub client error is one line saying what to do without a network."""
    from huggingface_hub import hf_hub_download, snapshot_download

    try:
        if filename is not None:
            return Path(hf_hub_download(repo_id, filename, local_files_only=bool(local_files_only)))
        return Path(snapshot_download(repo_id, local_files_only=bool(local_files_only),
                                      allow_patterns=allow_patterns))
    except Exception as e:  # hub client errors: no network, no such repo, gated repo
        raise WeightsError(f"could not get '{repo_id}' from the hub ({type(e).__name__}); with no network, "
                           "download the model folder elsewhere and pass its path to --model") from None


@contextlib.contextmanager
def quiet_loading() -> Iterator[None]:
    """transformers' and diffusers' per-file loading bars off while components load (vidgen shows its own
    progress; a model that loads in a second needs none), restored after."""
    from diffusers.utils import logging as df_logging
    from transformers.utils import logging as tf_logging

    was = tf_logging.is_progress_bar_enabled(), df_logging.is_progress_bar_enabled()
    tf_logging.disable_progress_bar()
    df_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was[0]:
            tf_logging.enable_progress_bar()
        if was[1]:
            df_logging.enable_progress_bar()
