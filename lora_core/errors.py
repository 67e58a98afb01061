"""The one error type the core raises for bad input.

Pages show it with ``st.error``; the CLI prints it and exits with status 2. The message names
the offending field and the fix, e.g. ``rank for 'q' must be a positive integer, got 0``.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input: a model id, a config, a plan field. ``field`` names what to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
