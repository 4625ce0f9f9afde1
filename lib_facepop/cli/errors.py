"""How a command fails: the exceptions main turns into one line on stderr, and the exit
status of each outcome (docs/design.md section 3.1)."""

from __future__ import annotations

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CommandError(Exception):
    """A failure the command reports in one line and exits with status 1 for."""


class UsageError(CommandError):
    """A flag, input or output folder that can't work as given: status 2, before any work."""
