"""Errors a user can cause.

Every error that comes from what a user passed in (a path, an option, a broken file) is a
:class:`VidgenError`. Its message says what went wrong and what to do; the CLI prints it on one
line and exits non-zero. Anything else is a bug and keeps its traceback.
"""


class VidgenError(Exception):
    """Base class for errors a user can cause and fix."""

    exit_code = 1


class InputError(VidgenError):
    """The input path is missing, is not a video, or cannot be decoded."""


class OutputError(VidgenError):
    """The output cannot be written where it was asked for."""


class OptionError(VidgenError):
    """An option value is out of range or inconsistent with another option."""

    exit_code = 2


class WeightsError(VidgenError):
    """A checkpoint is missing, unsafe, or does not match the architecture."""
