"""How a run ends: its exit code, and the error that carries one."""
from __future__ import annotations

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NO_SPACE, EXIT_LOCKED, EXIT_NOT_MOUNTED = 0, 1, 2, 3, 4, 5
# Stopped at its deadline (--stop-by); what it asked for stays queued for the next run.
EXIT_DEADLINE = 6


class SyncError(Exception):
    """A failure with the message an operator needs and the exit code that classifies it."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED):
        super().__init__(message)
        self.exit_code = exit_code
