"""Progress bars for long work: frames done, frames per second and time left, on stderr."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator


class _Silent:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, s: str) -> None:
        pass


@contextlib.contextmanager
def progress_bar(total: int | None, desc: str, enabled: bool = True, unit: str = "frame") -> Iterator:
    """A tqdm bar on stderr (or a silent stand-in when ``enabled`` is false or stderr is no terminal,
    where a bar would only fill a log with lines)."""
    if not enabled or not sys.stderr.isatty():
        yield _Silent()
        return
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, smoothing=0.1)
    try:
        yield bar
    except BaseException:
        bar.leave = False  # clear the bar, so an error message stands on its own line
        raise
    finally:
        bar.close()
