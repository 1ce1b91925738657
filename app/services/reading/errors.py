"""The one error reading raises: a file we cannot read, with a message a user can act on."""

from __future__ import annotations


class UnreadableFileError(Exception):
    """The file cannot be read at all; `code` is stable for tests and automation."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
